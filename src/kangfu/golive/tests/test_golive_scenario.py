"""A district goes live: its legacy export comes in through the imports, is reconciled, and the first
comparison and payroll recover, to the fen, the legacy months paid after a death; a recipient whose
certificate expired is held and listed, never silently."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.golive.kinds import NEW
from kangfu.golive.models import JobStatus
from kangfu.golive.services.reconcile import reconcile
from kangfu.golive.tests.helpers import check, csv_bytes, lines_with_errors, run, xlsx_bytes
from kangfu.matching import comparison
from kangfu.matching import services as feeds
from kangfu.matching.models import Item
from kangfu.people.tests.factories import make_id_number
from kangfu.subsidies.models import Grant, HeldGrant, LineType, Payroll, PayrollLine, PayrollSource
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import payroll

pytestmark = pytest.mark.django_db
M = dt.date
HEXI = "120103000000"
DAYINGMEN = "120103001000"
JIUJIANGLU = "120103001001"
LIVE = M(2026, 12, 1)

# Five recipients of 河西: two with both subsidies, one dead in September, one whose certificate
# expired in October, and one whose legacy amount matches no standard.
PEOPLE = {
    "both": (make_id_number(1, born=M(1960, 1, 1)), "甲一", "42"),
    "dead": (make_id_number(2, born=M(1961, 2, 2)), "乙二", "41"),
    "expired": (make_id_number(3, born=M(1962, 3, 3)), "丙三", "42"),
    "living": (make_id_number(4, born=M(1963, 4, 4)), "丁四", "43"),
    "odd": (make_id_number(5, born=M(1964, 5, 5)), "戊五", "43"),
}


def travel(day):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


def _people_file() -> bytes:
    header = [
        "序号",
        "姓名",
        "公民身份号码",
        "社区",
        "街道",
        "残疾人证号",
        "残疾类别",
        "残疾等级",
        "发证日期",
        "有效期至",
        "低保类型",
        "纳入日期",
    ]
    rows = [["河西区持证残疾人名册（截至2026年11月）"], header]
    for n, (key, (id_number, name, digits)) in enumerate(PEOPLE.items(), start=1):
        expires = "2026-10-31" if key == "expired" else "2031-01-01"
        grade = {"1": "一级", "2": "二级", "3": "三级"}[digits[1]]
        rows.append(
            [
                n,
                name,
                id_number,
                "九江路社区",
                "大营门街道",
                id_number + digits,
                "肢体",
                grade,
                "2016/1/1",
                expires,
                "低保",
                "2015年3月1日",
            ]
        )
    return xlsx_bytes(rows)


def _recipients_file() -> bytes:
    header = [
        "身份证号",
        "姓名",
        "补贴类型",
        "享受起始年月",
        "发放至",
        "月金额",
        "街道",
        "开户银行",
        "银行账号",
    ]
    rows = [header]
    for key, (id_number, name, digits) in PEOPLE.items():
        grade = int(digits[1])
        living = "300" if grade <= 2 else "160"
        if key == "odd":
            living = "150"
        rows.append(
            [
                id_number,
                name,
                "困难残疾人生活补贴",
                "2024年1月",
                "2026.11",
                living,
                "大营门街道",
                "农商银行",
                "6228480000000000" + str(grade),
            ]
        )
        if grade <= 2:
            rows.append(
                [
                    id_number,
                    name,
                    "重度残疾人护理补贴",
                    "202401",
                    "2026/11",
                    "200",
                    "大营门街道",
                    "农商银行",
                    "6228480000000000" + str(grade),
                ]
            )
    return csv_bytes(rows, encoding="gb18030")


@pytest.fixture
def live_district(db):
    seed_tianjin()
    district = Region.objects.get(code=HEXI)
    with travel(M(2026, 11, 28)):
        people = run("people", _people_file(), name="名册.xlsx")
        assert people.status == JobStatus.DONE and people.counts[NEW] == 5, people.errors
        recipients = run("recipients", _recipients_file(), live_from="2026-12")
        assert recipients.status == JobStatus.DONE, recipients.message
        assert recipients.error_count == 0, recipients.errors
        assert recipients.counts[NEW] == 8
    return district, recipients


def test_twelve_months_of_legacy_payments_come_in_as_locked_legacy_payrolls(live_district):
    _district, _job = live_district
    legacy = Payroll.objects.filter(source=PayrollSource.LEGACY)
    assert legacy.count() == 12 + 23  # the first months: 2024-01 .. 2026-11, as far as 36 back
    assert {p.status for p in legacy} == {"locked"}
    lines = PayrollLine.objects.filter(grant__person__name="乙二", month_for__gte=M(2026, 9, 1))
    assert sorted((line.month_for, line.kind, line.amount) for line in lines) == [
        (M(2026, 9, 1), "care", Decimal("200.00")),
        (M(2026, 9, 1), "living", Decimal("300.00")),
        (M(2026, 10, 1), "care", Decimal("200.00")),
        (M(2026, 10, 1), "living", Decimal("300.00")),
        (M(2026, 11, 1), "care", Decimal("200.00")),
        (M(2026, 11, 1), "living", Decimal("300.00")),
    ]


def test_an_amount_that_matches_no_standard_is_kept_and_flagged(live_district):
    _district, job = live_district
    flagged = [f["message"] for f in job.flags if "150" in f["message"]]
    assert flagged and "160" in flagged[0]
    line = PayrollLine.objects.get(grant__person__name="戊五", month_for=M(2026, 11, 1))
    assert line.amount == Decimal("150.00")


def test_reconciliation_lists_every_grant_that_differs_with_its_reason(live_district):
    district, _job = live_district
    with travel(M(2026, 12, 2)):
        result = reconcile(actor=None, month=LIVE, districts=[district])
    reasons = {(d.name, d.kind): " ".join(d.reasons) for d in result.differences}
    assert set(reasons) == {("丙三", "living"), ("丙三", "care"), ("戊五", "living")}
    assert "暂缓" in reasons[("丙三", "care")] and "残疾人证" in reasons[("丙三", "care")]
    assert "150.00" in reasons[("戊五", "living")] and "160.00" in reasons[("戊五", "living")]
    living = next(r for r in result.rows if r.kind == "living")
    assert (living.legacy_count, living.legacy_total) == (5, Decimal("1210.00"))
    assert (living.ours_count, living.ours_total) == (4, Decimal("920.00"))
    assert living.held == 1
    # Nothing of the computed payroll was kept.
    assert not Payroll.objects.filter(month=LIVE).exists()


def test_the_first_comparison_and_payroll_recover_exactly_what_was_paid_after_the_death(live_district):
    district, _job = live_district
    street = UserFactory(
        username="dym",
        role=Role.STREET_OFFICER,
        jurisdiction_id=DAYINGMEN,
        organisation=OrganisationFactory(name="大营门街道办事处", region_id=DAYINGMEN),
    )
    admin = UserFactory(
        username="hexi",
        role=Role.DISTRICT_ADMIN,
        jurisdiction_id=HEXI,
        organisation=OrganisationFactory(name="河西区民政局", region_id=HEXI),
    )
    source = feeds.feed_source_save(
        actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号", "event_date": "死亡日期"}
    )
    raw = f"身份证号,死亡日期\n{PEOPLE['dead'][0]},2026-09-10\n".encode()
    with travel(M(2026, 12, 3)):
        feeds.feed_confirm(
            actor=None,
            feed=feeds.feed_preview(actor=None, source=source, raw=raw, file_name="d.csv", period=LIVE),
        )
        comparison.run_execute(comparison.run_start(actor=None, district=district, period=LIVE))
    death = Item.objects.get(rule="death")
    # Paid after the death: October and November, 300 + 200 each.
    assert death.amount_at_stake == Decimal("1000.00")
    assert death.effective_month == M(2026, 10, 1)
    expired = Item.objects.get(rule="cert_expired")
    assert expired.amount_at_stake == Decimal("500.00")  # November, paid by the former system
    with travel(M(2026, 12, 4)):
        comparison.item_confirm(actor=street, item=death, note="已核实死亡")
        comparison.item_approve(actor=admin, item=Item.objects.get(pk=death.pk))
    with travel(M(2026, 12, 20)):
        first = payroll.payroll_run(actor=None, district=district, month=LIVE)
    lines = PayrollLine.objects.filter(payroll=first)
    dead = lines.filter(grant__person__name="乙二")
    assert sorted((line.month_for, line.kind, line.amount, line.line_type) for line in dead) == [
        (M(2026, 10, 1), "care", Decimal("-200.00"), LineType.RECOVERY),
        (M(2026, 10, 1), "living", Decimal("-300.00"), LineType.RECOVERY),
        (M(2026, 11, 1), "care", Decimal("-200.00"), LineType.RECOVERY),
        (M(2026, 11, 1), "living", Decimal("-300.00"), LineType.RECOVERY),
    ]
    assert not lines.filter(line_type=LineType.ARREARS).exists()
    regular = {
        (line.grant.person.name, line.kind): line.amount for line in lines.filter(line_type=LineType.REGULAR)
    }
    assert regular == {
        ("甲一", "living"): Decimal("300.00"),
        ("甲一", "care"): Decimal("200.00"),
        ("丁四", "living"): Decimal("160.00"),
        ("戊五", "living"): Decimal("160.00"),
    }
    held = set(HeldGrant.objects.filter(payroll=first).values_list("grant__person__name", "grant__kind"))
    assert held == {("丙三", "living"), ("丙三", "care")}
    assert Grant.objects.get(person__name="乙二", kind="care").status == "stopped"


def test_a_basis_that_differs_from_the_registry_is_flagged(live_district):
    header = ["身份证号", "补贴类别", "享受依据", "享受起始年月", "发放至", "月金额"]
    rows = [header, [PEOPLE["both"][0], "生活补贴", "低保边缘", "2024-01", "2026-11", "300"]]
    with travel(M(2026, 11, 28)):
        job = check("recipients", csv_bytes(rows), live_from="2026-12")
    assert any("低保边缘" in f["message"] and "低保" in f["message"] for f in job.flags)


def test_paid_months_after_the_cut_over_are_refused_by_line(live_district):
    header = ["身份证号", "补贴类别", "享受起始年月", "发放至", "月金额"]
    other = make_id_number(9, born=M(1970, 1, 1))
    job = check(
        "recipients",
        csv_bytes(
            [
                header,
                [PEOPLE["both"][0], "生活补贴", "2024-01", "2026-12", "300"],
                [other, "护理补贴", "2024-01", "2026-11", "200"],
            ]
        ),
        live_from="2026-12",
    )
    errors = lines_with_errors(job)
    assert "2026-12" in errors[2] and "上线" in errors[2]
    assert "请先导入人员" in errors[3]


def test_the_same_recipients_file_twice_changes_nothing(live_district):
    _district, _first = live_district
    lines = PayrollLine.objects.count()
    with travel(M(2026, 11, 28)):
        again = run("recipients", _recipients_file(), live_from="2026-12")
    assert again.counts == {"new": 0, "changed": 0, "unchanged": 8}
    assert PayrollLine.objects.count() == lines


def test_a_payments_file_corrects_a_legacy_month(live_district):
    with travel(M(2026, 11, 28)):
        job = run(
            "payments",
            csv_bytes(
                [
                    ["身份证号", "补贴类别", "所属月份", "金额"],
                    [PEOPLE["living"][0], "生活补贴", "2026年10月", "0"],
                ]
            ),
            live_from="2026-12",
        )
    assert job.counts == {"new": 0, "changed": 1, "unchanged": 0}
    line = PayrollLine.objects.get(grant__person__name="丁四", month_for=M(2026, 10, 1))
    assert line.amount == Decimal("0.00")
    line.payroll.refresh_from_db()
    others = PayrollLine.objects.filter(payroll=line.payroll).exclude(pk=line.pk)
    assert line.payroll.total == sum((x.amount for x in others), Decimal("0.00"))


def test_the_demo_export_of_nankai_imports_without_a_refused_line(tmp_path, city_admin):
    from kangfu.core.demo import NANKAI, ensure_organisations
    from kangfu.core.models import Organisation
    from kangfu.golive import demo

    seed_tianjin()
    ensure_organisations(community_code=JIUJIANGLU)
    nankai = UserFactory(
        username="nk",
        role=Role.DISTRICT_ADMIN,
        jurisdiction_id=NANKAI,
        organisation=Organisation.objects.get(name="南开区民政局"),
    )
    people_file, recipients_file, staff_file = demo.write_samples(tmp_path, live_from=LIVE)
    with travel(M(2026, 12, 1)):
        jobs = [
            run("people", people_file.read_bytes(), actor=nankai, name=people_file.name),
            run(
                "recipients",
                recipients_file.read_bytes(),
                actor=nankai,
                name=recipients_file.name,
                live_from="2026-12",
            ),
            run("accounts", staff_file.read_bytes(), actor=city_admin, name=staff_file.name),
        ]
    for job in jobs:
        assert job.status == JobStatus.DONE and job.error_count == 0, (job.kind, job.message, job.errors[:3])
    assert jobs[0].counts[NEW] == 40 and jobs[2].counts[NEW] == 2
    assert not [f for f in jobs[1].flags if "不符" in f["message"]]


def test_the_reconciliation_reads_the_same_from_the_command_and_the_api(live_district, client):
    import io

    from django.core.management import call_command

    from kangfu.core.services import api_token_create

    admin = UserFactory(
        username="hexi.api",
        role=Role.DISTRICT_ADMIN,
        jurisdiction_id=HEXI,
        organisation=OrganisationFactory(name="河西区民政局", region_id=HEXI),
    )
    token = api_token_create(actor=None, user=admin, name="对账")
    out = io.StringIO()
    with travel(M(2026, 12, 2)):
        call_command("import", "reconcile", "--month", "2026-12", "--district", "120103", stdout=out)
        answer = client.get(
            "/api/v1/golive/reconcile", {"month": "2026-12"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200
    body = answer.json()
    living = next(r for r in body["rows"] if r["kind"] == "living")
    assert (living["legacy_total"], living["ours_total"], living["held"]) == ("1210.00", "920.00", 1)
    assert len(body["differences"]) == 3
    text = out.getvalue()
    assert "河西区\t困难残疾人生活补贴\t5\t1210.00\t4\t920.00" in text
    assert text.count("丙三") == 2 and "戊五" in text


def test_a_district_named_like_one_elsewhere_in_china_means_the_one_served_here(live_district):
    from kangfu.golive.kinds.people import Regions

    regions = Regions()
    assert regions.any("和平区") == "120101000000"  # not 沈阳市和平区 (210102)
    assert regions.any("塘沽区") is None  # abolished: only its successor is offered by name
    assert regions.any("120107") == "120116000000"  # but its code still leads to 滨海新区


def test_the_city_reconciles_every_district_that_has_grants(live_district, client):
    """A city-level account asks without naming a district and gets each district with grants (the
    districts are found by code prefix across the grant's foreign key, which once answered 500)."""
    from kangfu.core.services import api_token_create

    city = UserFactory(username="tj.api", role=Role.CITY_ADMIN, jurisdiction_id="120100000000")
    token = api_token_create(actor=None, user=city, name="对账")
    with travel(M(2026, 12, 2)):
        answer = client.get(
            "/api/v1/golive/reconcile", {"month": "2026-12"}, headers={"Authorization": f"Bearer {token}"}
        )
    assert answer.status_code == 200
    assert {r["district"] for r in answer.json()["rows"]} == {HEXI}
