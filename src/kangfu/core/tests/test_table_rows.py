"""Every list of the demo draws the same rows by the quick path for plain columns as by django-tables2's
own cell path (core.templatetags.tables): names, choices shown by their labels, dates in the column's
format, empty cells as the column's default, links and computed cells as before; and the form widgets
drawn in Python (core.widgets) as Django's templates draw them."""

from __future__ import annotations

import re
from collections import Counter

import pytest
import time_machine
from django.forms import BaseForm
from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.test import RequestFactory
from django_filters import FilterSet
from django_tables2 import A, Table, columns

from kangfu.core.models import User
from kangfu.core.templatetags.tables import _opening, _plain, table_rows
from kangfu.core.tests.demo_world import LOADED, loaded_for_module
from kangfu.core.widgets import Renderer
from kangfu.devices import demo as devices_demo
from kangfu.matching import demo as matching_demo
from kangfu.people.models import Person
from kangfu.people.tests.factories import PersonFactory
from kangfu.subsidies import demo as subsidies_demo

pytestmark = pytest.mark.django_db

# A street, a district and the city, the community worker and the device clerk: every list they open.
USERS = ["dayingmen", "hexi.admin", "shi.admin", "shequ", "wuqing.fuju"]
LIST_LINK = re.compile(r'href="(/[a-z-]+/(?:[a-z-]+/){0,2})"')
NOT_PAGES = ("export", "logout", "password", "download", "static", "/new/", "/api/")


def reference_rows(context, table) -> str:
    """The same rows through django-tables2's own cell path."""
    rows = []
    for row in table.paginated_rows:
        cells = (
            f"{_opening(column)}{render_value_in_context(cell, context)}</td>" for column, cell in row.items()
        )
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return "\n    ".join(rows)


@pytest.fixture(scope="module")
def loaded(django_db_setup, django_db_blocker):
    with loaded_for_module(django_db_blocker, subsidies_demo, matching_demo, devices_demo, people=600):
        yield


def _found(response, pick) -> list:
    """What `pick` takes from the values of the response's template contexts, each object once."""
    found: list = []
    for context in response.context or []:
        for value in context.flatten().values():
            item = pick(value)
            if item is not None and all(f is not item for f in found):
                found.append(item)
    return found


def _tables(response) -> list[Table]:
    return _found(response, lambda value: value if isinstance(value, Table) else None)


def _crawl(client):
    """(user, path, response) for the menu's pages of each of USERS and the pages they link to."""
    with time_machine.travel(LOADED, tick=False):
        for username in USERS:
            client.force_login(User.objects.get(username=username))
            seen, waiting = {"/"}, ["/"]
            while waiting:
                path = waiting.pop(0)
                response = client.get(path)
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                if path == "/" or path.count("/") == 2:
                    for link in sorted(set(LIST_LINK.findall(response.content.decode())) - seen):
                        if not any(word in link for word in NOT_PAGES):
                            seen.add(link)
                            waiting.append(link)
                yield username, path, response


def test_the_quick_rows_are_django_tables2s_rows_on_every_list_page(loaded, client):
    compared, plain_columns = [], 0
    for username, path, response in _crawl(client):
        for table in _tables(response):
            context = response.context[-1]
            assert str(table_rows(context, table)) == reference_rows(context, table), (username, path)
            compared.append((username, path, len(table.paginated_rows)))
            plain_columns += sum(_plain(column) is not None for column in table.columns)
    rows = sum(n for _user, _path, n in compared)
    assert len(compared) >= 10 and rows >= 100, compared
    assert plain_columns >= 20, "the quick path was not taken"


def _forms(response) -> list[BaseForm]:
    def form_of(value):
        form = value.form if isinstance(value, FilterSet) else value
        return form if isinstance(form, BaseForm) else None

    return _found(response, form_of)


def test_the_widgets_drawn_in_python_are_djangos_on_every_page(loaded, client):
    """core.widgets: every field of every form and filter bar on the pages, drawn by our renderer
    and by Django's own templates, is the same HTML."""
    djangos = DjangoTemplates()
    drawn: Counter[str] = Counter()
    for username, path, response in _crawl(client):
        for form in _forms(response):
            ours = form.renderer
            assert isinstance(ours, Renderer)
            for field in form:
                quick = field.as_widget()
                form.renderer = djangos
                try:
                    assert quick == field.as_widget(), (username, path, field.name)
                finally:
                    form.renderer = ours
                drawn[field.field.widget.template_name] += 1
    assert drawn["django/forms/widgets/select.html"] >= 50, drawn
    assert drawn["django/forms/widgets/text.html"] + drawn["django/forms/widgets/search.html"] >= 10, drawn


class _PersonRows(Table):
    """Plain columns of every kind the quick path reads: a choice, a relation's field, a date, an empty
    relation with a default, and a linked one it leaves to django-tables2."""

    name = columns.Column(linkify=lambda record: f"/people/{record.pk}/")
    sex = columns.Column()
    community = columns.Column(accessor="community__name")
    birth_date = columns.DateColumn(format="Y年m月d日")
    hukou_type = columns.Column(default="—")
    hukou = columns.Column(accessor="hukou_region__name", default="无")


def test_a_choice_shows_its_label_and_an_empty_cell_its_default(person):
    Person.objects.filter(pk=person.pk).update(hukou_region=None, hukou_type="")
    table = _PersonRows(Person.objects.all())
    table.request = RequestFactory().get("/")
    context = Context({})
    quick = str(table_rows(context, table))
    assert quick == reference_rows(context, table)
    assert ">男<" in quick or ">女<" in quick
    assert "1970年11月21日" in quick and "九江路" in quick and ">—<" in quick and ">无<" in quick


class _LinkedRows(Table):
    """Links to a record's page the way every list makes them, and one a lambda makes."""

    name = columns.Column(linkify=("people:detail", {"pk": A("pk")}))
    birth_date = columns.DateColumn(format="Y年m月d日", linkify=("people:detail", {"pk": A("pk")}))
    hukou = columns.Column(
        accessor="hukou_region__name", default="无", linkify=("people:detail", {"pk": A("pk")})
    )
    other = columns.Column(accessor="name", linkify=lambda record: f"/people/{record.pk}/")


def test_a_link_to_a_records_page_is_made_by_the_quick_path_with_the_rows_own_key(person):
    second = PersonFactory(name="<b>李四</b>")
    Person.objects.filter(pk=second.pk).update(hukou_region=None)
    table = _LinkedRows(Person.objects.order_by("pk"))
    table.request = RequestFactory().get("/")
    context = Context({})
    quick = str(table_rows(context, table))
    assert quick == reference_rows(context, table)
    assert [_plain(c) is not None for c in table.columns] == [True, True, True, False]
    assert f'<a href="/people/{person.pk}/">{person.name}</a>' in quick
    assert f'<a href="/people/{second.pk}/">&lt;b&gt;李四&lt;/b&gt;</a>' in quick
    assert ">无<" in quick and f'<a href="/people/{second.pk}/">无' not in quick  # an empty cell, unlinked
