"""django-tables2 reads a cell method's parameters once per function, not once per cell
(core.tables.remember_cell_signatures), and still calls each with what it asks for."""

import inspect

import django_tables2 as tables
from django.test import RequestFactory


class Shown(tables.Table):
    name = tables.Column()
    note = tables.Column(empty_values=())

    def render_name(self, value, record):
        return f"{value}（{record['n']}）"

    def render_note(self, record):
        return f"第{record['n']}行"


def _cells(rows):
    table = Shown(rows)
    table.request = RequestFactory().get("/")
    return [list(row) for row in table.rows]


def test_each_cell_gets_what_its_method_asks_for():
    assert _cells([{"name": "张三", "n": 1}, {"name": "李四", "n": 2}]) == [
        ["张三（1）", "第1行"],
        ["李四（2）", "第2行"],
    ]


def test_a_methods_parameters_are_read_once_however_many_rows(monkeypatch):
    asked = []
    real = inspect.signature
    monkeypatch.setattr(inspect, "signature", lambda fn, **kw: asked.append(fn) or real(fn, **kw))
    _cells([{"name": f"人员{n}", "n": n} for n in range(50)])
    assert len(asked) <= 2, asked


def test_a_date_columns_template_is_compiled_once_however_many_rows():
    """core.tables.remember_column_templates: a DateColumn's template code is compiled on its first
    cell, not on every one (it was a hundred compilations on a page of fifty grants)."""
    import datetime as dt

    from django_tables2.columns import templatecolumn

    class Dated(tables.Table):
        on = tables.DateColumn(format="Y年n月j日（签到）")

    table = Dated([{"on": dt.date(2026, 2, day)} for day in range(1, 29)])
    table.request = RequestFactory().get("/")
    before = templatecolumn.Template.cache_info()
    cells = [str(cell) for row in table.rows for cell in row]
    after = templatecolumn.Template.cache_info()
    assert cells[0] == "2026年2月1日（签到）" and cells[-1] == "2026年2月28日（签到）"
    assert (after.misses - before.misses, after.hits - before.hits) == (1, 27)
