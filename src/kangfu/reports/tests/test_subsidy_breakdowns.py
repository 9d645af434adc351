"""The 两项补贴 reports by 残疾等级, 残疾类别 and 停发原因 are data like the others: their page, their
workbook in the fixed layout and their printed page show every grade, category or reason as a row
(a stop without a reason under 其他), with the total the sum of the rows."""

from __future__ import annotations

import io

import pytest
import time_machine
from openpyxl import load_workbook

from kangfu.reports import services
from kangfu.reports.rules import Period
from kangfu.reports.tests import factories as w
from kangfu.reports.tests.test_figures import diversify_subsidies

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(w.TODAY, tick=False):
        yield


@pytest.mark.parametrize(
    ("code", "rows_label", "labels"),
    [
        ("subsidy-by-grade", "残疾等级", ["一级", "二级", "三级", "四级"]),
        (
            "subsidy-by-category",
            "残疾类别",
            ["视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾", "多重残疾"],
        ),
        ("subsidy-stop-reasons", "停发原因", None),
    ],
)
def test_the_page_workbook_and_print_show_a_row_per_grade_category_or_reason(login, code, rows_label, labels):
    diversify_subsidies()
    hexi = w.admin("hexi", w.HEXI)
    report = services.report_generate(actor=hexi, code=code, period=Period("month", w.NOV))
    client = login(hexi)
    shown = client.get(f"/reports/r/{report.pk}/").context["table"]
    assert shown["rows_label"] == rows_label
    got = [r["label"] for r in shown["rows"]]
    if labels is None:  # every reason a stop may give, then 其他
        assert got[0] == "死亡" and got[-1] == "其他" and len(got) == 15
    else:
        assert got == labels
    sheet = load_workbook(io.BytesIO(client.get(f"/reports/r/{report.pk}/xlsx/").content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[2][0] == rows_label
    assert [r[0] for r in rows[3 : 3 + len(got) + 1]] == [*got, "合计"]
    printed = client.get(f"/reports/r/{report.pk}/print/").content.decode()
    assert all(label in printed for label in got)
