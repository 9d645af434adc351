"""Submission up the chain: generate, submit (on time or late), return, resubmit, correct, aggregate;
and every refusal on the way."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal, InvalidOperation

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import load_workbook

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.transitions import Conflict
from kangfu.reports import measures, selectors, services
from kangfu.reports.models import Generation, Report, ReportStatus
from kangfu.reports.rules import Period
from kangfu.reports.tests import factories as w

pytestmark = pytest.mark.django_db

NOV = Period("month", w.NOV)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(w.TODAY, tick=False) as traveller:
        yield traveller


@pytest.fixture
def hexi(db):
    return w.admin("hexi", w.HEXI)


@pytest.fixture
def dongli(db):
    return w.admin("dongli", w.DONGLI)


@pytest.fixture
def city(db):
    return w.admin("city", w.TIANJIN, role=Role.CITY_ADMIN)


def generate(actor, code="devices-monthly", period=NOV, **kw):
    return services.report_generate(actor=actor, code=code, period=period, **kw)


# ------------------------------------------------------------------ refusals


def test_a_period_that_has_not_ended_is_refused(hexi):
    with pytest.raises(ValidationError) as exc:
        generate(hexi, period=Period("month", dt.date(2026, 12, 1)))
    assert exc.value.messages == [services.PERIOD_NOT_CLOSED]
    assert not Report.objects.exists()


def test_a_definition_naming_an_unknown_measure_is_refused(hexi):
    data = {
        "code": "bad",
        "name": "有误的报表",
        "period": "month",
        "rows": "unit",
        "columns": ["devices.rentals_new", "devices.no_such", "subsidy.nothing"],
    }
    with pytest.raises(ValidationError) as exc:
        services.definition_publish(actor=hexi, data=data)
    assert exc.value.messages == [measures.UNKNOWN_MEASURE.format(codes="devices.no_such、subsidy.nothing")]


def test_a_measure_that_cannot_be_grouped_by_the_rows_is_refused(hexi):
    data = {
        "code": "bad",
        "name": "按街道的辅具",
        "period": "month",
        "rows": "region",
        "columns": ["devices.rentals_new"],
    }
    with pytest.raises(ValidationError) as exc:
        services.definition_publish(actor=hexi, data=data)
    assert exc.value.messages == [measures.ROWS_NOT_SUPPORTED.format(label="新增租赁（笔）", rows="下级区划")]


def test_a_changed_definition_is_a_new_version_and_old_reports_keep_theirs(hexi):
    old = generate(hexi)
    definition = services.definition_publish(
        actor=hexi,
        data={
            "code": "devices-monthly",
            "name": "辅具月报（新）",
            "period": "month",
            "rows": "unit",
            "columns": ["devices.returned"],
        },
    )
    assert definition.version == 2
    old.refresh_from_db()
    assert old.definition.version == 1
    assert old.figures["definition"]["version"] == 1
    assert len(old.figures["definition"]["columns"]) == 9


def test_a_street_officer_files_nothing(owner):
    with pytest.raises(PermissionDenied):
        generate(owner)


def test_submitting_twice_submits_once(hexi):
    report = generate(hexi)
    services.report_submit(actor=hexi, report=report, note="无异常")
    with pytest.raises(Conflict):
        services.report_submit(actor=hexi, report=report, note="再点一次")
    report.refresh_from_db()
    assert (report.status, report.note) == (ReportStatus.SUBMITTED, "无异常")
    assert AuditEntry.objects.filter(object_type="reports.report", summary__startswith="上报").count() == 1


def test_a_submitted_report_is_not_regenerated_without_a_correction(hexi):
    services.report_submit(actor=hexi, report=generate(hexi))
    with pytest.raises(ValidationError) as exc:
        generate(hexi)
    assert exc.value.messages == [services.ALREADY_SUBMITTED]


# ------------------------------------------------------------------ on time, late, returned, corrected


def test_a_report_submitted_by_its_due_day_is_on_time_and_after_it_late(hexi, dongli, frozen):
    on_time = services.report_submit(actor=hexi, report=generate(hexi))
    frozen.move_to(dt.datetime(2026, 12, 6, 2, tzinfo=dt.UTC))
    late = services.report_submit(actor=dongli, report=generate(dongli))
    assert (on_time.due_on, on_time.is_late, late.is_late) == (dt.date(2026, 12, 5), False, True)
    assert selectors.status_label([late]) == ("late", "已上报（逾期上报）")


def test_the_city_returns_a_report_and_the_district_submits_a_new_version(hexi, city):
    first = services.report_submit(actor=hexi, report=generate(hexi))
    services.report_return(actor=city, report=first, reason="消毒次数与台账不符")
    first.refresh_from_db()
    assert (first.status, first.return_reason) == (ReportStatus.RETURNED, "消毒次数与台账不符")
    second = generate(hexi)
    assert second.version == 2
    services.report_submit(actor=hexi, report=second)
    versions = selectors.versions_of(second)
    assert [(v.version, v.status) for v in versions] == [(2, "submitted"), (1, "returned")]


def test_only_the_level_above_returns_a_report(hexi, dongli):
    report = services.report_submit(actor=hexi, report=generate(hexi))
    with pytest.raises(PermissionDenied):
        services.report_return(actor=dongli, report=report, reason="越权")
    with pytest.raises(PermissionDenied):
        services.report_return(actor=hexi, report=report, reason="自己退回")


def test_a_correction_is_a_new_version_with_its_reason_and_the_old_one_stays_counted_until_it_is_submitted(
    hexi, city
):
    first = services.report_submit(actor=hexi, report=generate(hexi))
    with pytest.raises(ValidationError):
        services.report_correct(actor=hexi, report=first, reason=" ")
    correction = services.report_correct(actor=hexi, report=first, reason="漏报一笔租赁")
    assert (correction.version, correction.status, correction.correction_reason) == (
        2,
        "draft",
        "漏报一笔租赁",
    )
    first.refresh_from_db()
    assert first.status == ReportStatus.SUBMITTED
    standing = selectors.submitted_snapshots(code="devices-monthly", period=NOV, units=[w.HEXI])
    assert standing[w.HEXI].pk == first.pk
    services.report_submit(actor=hexi, report=correction)
    standing = selectors.submitted_snapshots(code="devices-monthly", period=NOV, units=[w.HEXI])
    assert standing[w.HEXI].pk == correction.pk


def test_a_submitted_snapshot_does_not_move_when_the_records_do(hexi):
    w.subsidies_world()
    report = services.report_submit(actor=hexi, report=generate(hexi, code="subsidy-monthly"))
    frozen_figures = dict(report.figures["total"])
    from kangfu.subsidies.models import PayrollLine

    PayrollLine.objects.all().delete()
    report.refresh_from_db()
    assert report.figures["total"] == frozen_figures


# ------------------------------------------------------------------ the city


def test_the_city_aggregate_adds_up_the_submitted_districts_and_leaves_out_the_others(hexi, dongli, city):
    w.subsidies_world()
    a = services.report_submit(actor=hexi, report=generate(hexi, code="subsidy-monthly"))
    b = services.report_submit(actor=dongli, report=generate(dongli, code="subsidy-monthly"))
    services.report_return(actor=city, report=b, reason="请核对")
    with_one = generate(city, code="subsidy-monthly")
    assert with_one.figures["total"] == a.figures["total"]
    assert w.DONGLI in with_one.figures["missing"]
    b2 = services.report_submit(actor=dongli, report=generate(dongli, code="subsidy-monthly"))
    aggregate = generate(city, code="subsidy-monthly")
    assert aggregate.pk == with_one.pk and aggregate.version == 1  # the draft, regenerated
    for code in ("subsidy.recipients.living", "subsidy.paid.living", "subsidy.new", "subsidy.payable"):
        measure = measures.get(code)
        parts = [services.from_json(measure, r.figures["total"][code]) for r in (a, b2)]
        assert services.from_json(measure, aggregate.figures["total"][code]) == sum(parts[1:], parts[0])
    rows = {r["key"]: r["values"] for r in aggregate.figures["rows"]}
    assert rows[w.HEXI]["subsidy.recipients.living"] == a.figures["total"]["subsidy.recipients.living"]
    total = aggregate.figures["total"]
    assert total["subsidy.payment_rate"] == str(
        measures.rate(total["subsidy.paid_of_payable"], total["subsidy.payable"])
    )


def test_the_city_cannot_aggregate_before_any_district_submits(city):
    with pytest.raises(ValidationError) as exc:
        generate(city)
    assert exc.value.messages == [services.NOTHING_SUBMITTED]


def test_the_board_shows_each_districts_state(hexi, dongli, city, frozen):
    services.report_submit(actor=hexi, report=generate(hexi))
    returned = services.report_submit(actor=dongli, report=generate(dongli))
    services.report_return(actor=city, report=returned, reason="请核对")
    definition = selectors.definition_current("devices-monthly")
    rows = {r["unit"].code: r for r in selectors.board(city, definition=definition, period=NOV)["districts"]}
    assert rows[w.HEXI]["label"] == "已上报（按时上报）"
    assert rows[w.DONGLI]["state"] == "returned"
    assert rows[w.XIQING]["label"] == "未开始"


# ------------------------------------------------------------------ pages


def test_a_district_walks_its_report_day_through_the_pages(login, hexi, django_capture_on_commit_callbacks):
    w.subsidies_world()
    client = login(hexi)
    page = client.get("/reports/filing/")
    assert page.status_code == 200
    with django_capture_on_commit_callbacks(execute=True):  # the task, run as the worker would
        response = client.post("/reports/filing/subsidy-monthly/2026-11/generate/")
    generation = Generation.objects.get()
    assert response.url == f"/reports/generations/{generation.pk}/"
    report = Report.objects.get()
    assert client.get(response.url).url == f"/reports/r/{report.pk}/"
    page = client.get(f"/reports/r/{report.pk}/")
    assert (
        "已生成困难残疾人生活补贴和重度残疾人护理补贴月报表（2026年11月，第 1 版）" in page.content.decode()
    )
    html = page.content.decode()
    # Every figure of a district's report leads to the records behind it.
    assert "/subsidies/payroll/?month_from=2026-11-01" in html
    assert "/subsidies/grants/?status=stopped&amp;street=120103002000" in html
    client.post(f"/reports/r/{report.pk}/submit/", {"note": "已核对"})
    report.refresh_from_db()
    assert (report.status, report.note) == ("submitted", "已核对")


def test_the_workbook_holds_the_pages_figures_in_its_fixed_layout(login, hexi):
    w.subsidies_world()
    report = services.report_submit(actor=hexi, report=generate(hexi, code="subsidy-monthly"), note="无")
    client = login(hexi)
    page = client.get(f"/reports/r/{report.pk}/")
    shown = page.context["table"]
    response = client.get(f"/reports/r/{report.pk}/xlsx/")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][0] == "困难残疾人生活补贴和重度残疾人护理补贴月报表"
    assert rows[1][:2] == ["填报单位：河西区", "报告期：2026年11月"]
    assert rows[2] == [shown["rows_label"], *(c["label"] for c in shown["columns"])]
    body = rows[3 : 3 + len(shown["rows"]) + 1]
    expected = [[r["label"], *(c["value"] for c in r["cells"])] for r in shown["rows"]]
    expected.append(["合计", *(c["value"] for c in shown["total"])])
    assert [[_plain(v) for v in row] for row in body] == [[_plain(v) for v in row] for row in expected]
    assert rows[-1][0].startswith("填报人：hexi") and rows[-1][1:3] == ["审核人：", "负责人："]
    assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="reports.report").count() == 1
    printed = client.get(f"/reports/r/{report.pk}/print/").content.decode()
    assert "填报人：hexi" in printed and "负责人" in printed


def _plain(value):
    """A cell as a comparable value: numbers by value (the workbook keeps 600.00 as 600), text as it is."""
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def test_a_forged_request_for_another_districts_report_is_not_found(login, hexi, dongli):
    report = services.report_submit(actor=hexi, report=generate(hexi))
    draft = generate(hexi, period=Period("month", w.OCT))
    client = login(dongli)
    assert client.get(f"/reports/r/{report.pk}/").status_code == 404
    assert client.get(f"/reports/r/{report.pk}/xlsx/").status_code == 404
    assert client.post(f"/reports/r/{draft.pk}/submit/", {"note": "冒名"}).status_code == 404
    assert client.post(f"/reports/r/{report.pk}/correct/", {"reason": "冒名"}).status_code == 404
    draft.refresh_from_db()
    assert draft.status == ReportStatus.DRAFT


def test_the_city_reads_its_districts_reports_and_returns_them_by_page(login, hexi, city):
    report = services.report_submit(actor=hexi, report=generate(hexi))
    client = login(city)
    assert client.get(f"/reports/r/{report.pk}/").status_code == 200
    assert client.get("/reports/filing/devices-monthly/2026-11/").status_code == 200
    client.post(f"/reports/r/{report.pk}/return/", {"reason": "请补充说明"})
    report.refresh_from_db()
    assert report.status == ReportStatus.RETURNED
    assert client.get("/reports/dashboard/").status_code == 200


@pytest.mark.parametrize("who", ["owner", "colleague", "auditor"])
def test_the_filing_pages_are_for_district_and_city_administrators(login, request, who):
    assert login(request.getfixturevalue(who)).get("/reports/filing/").status_code == 403


def test_a_province_publishes_a_definition_from_a_file_and_a_bad_one_is_refused(tmp_path):
    from django.core.management import CommandError, call_command

    good = tmp_path / "street.yaml"
    good.write_text(
        "code: subsidy-by-kind\nname: 两项补贴按类别\nperiod: month\nrows: subsidy_kind\n"
        "columns: [subsidy.recipients.living, subsidy.new, {measure: subsidy.payment_rate, label: 发放率}]\n",
        encoding="utf-8",
    )
    call_command("reports", "define", str(good))
    definition = selectors.definition_current("subsidy-by-kind")
    assert [c["label"] for c in definition.columns] == ["生活补贴人数", "新增（人次）", "发放率"]
    bad = tmp_path / "bad.json"
    bad.write_text('{"code": "x", "name": "x", "period": "month", "rows": "unit", "columns": ["no.such"]}')
    with pytest.raises(CommandError, match=r"不存在的指标：no\.such"):
        call_command("reports", "define", str(bad))


def test_saving_a_definition_in_the_admin_publishes_a_new_version(admin_client):
    definition = selectors.definition_current("devices-monthly")
    data = {
        "code": "devices-monthly",
        "name": "辅具租赁月报（调整）",
        "period": "month",
        "rows": "unit",
        "columns": '["devices.rentals_new", "devices.returned"]',
        "due_day": 6,
        "city_due_day": 12,
        "note": "",
        "is_active": "on",
    }
    response = admin_client.post(f"/admin/reports/reportdefinition/{definition.pk}/change/", data)
    assert response.status_code == 302
    assert selectors.definition_current("devices-monthly").version == 2
    definition.refresh_from_db()
    assert definition.name == "康复辅助器具社区租赁月报表"
    data["columns"] = '["devices.nothing"]'
    response = admin_client.post("/admin/reports/reportdefinition/add/", data)
    assert "不存在的指标" in response.content.decode()


MEASURED_TABLES = (
    "subsidies_payrollline",
    "subsidies_grant",
    "subsidies_grantchange",
    "subsidies_grantperiod",
    "subsidies_document",
    "rehab_activity",
    "rehab_attendance",
    "rehab_followup",
    "rehab_case",
    "rehab_monthlycount",
    "rehab_registeredperson",
    "devices_rental",
    "devices_charge",
    "devices_disinfection",
)


def test_a_reports_page_reads_its_snapshot_and_no_record_of_the_services(login, hexi, city):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    w.subsidies_world()
    report = services.report_submit(actor=hexi, report=generate(hexi, code="subsidy-monthly"))
    aggregate = generate(city, code="subsidy-monthly")
    for user, pk in ((hexi, report.pk), (city, aggregate.pk), (city, report.pk)):
        client = login(user)
        for path in (f"/reports/r/{pk}/", f"/reports/r/{pk}/xlsx/", f"/reports/r/{pk}/print/"):
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            # The tables the measures read (the menu's own counts, drawn on every page, are not the report's).
            touched = [q["sql"] for q in queries if any(f'"{t}"' in q["sql"] for t in MEASURED_TABLES)]
            assert touched == [], path
            assert len(queries) <= 16, (path, len(queries))
