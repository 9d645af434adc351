# ruff: noqa: S608  (queries built from table names and fixed fragments; every value is a parameter)
"""Every shipped report's figures held to a second count over the records of a scenario: each
measure written again in plain SQL (or, for 应享, by the per-person rules an application is judged by),
row by row and in total."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.db import connection

from kangfu.devices.models import Charge, Disinfection, Rental
from kangfu.people.models import DisabilityCertificate, Person
from kangfu.rehab.models import Activity, Attendance, Case, FollowUp, RegisteredPerson, StaffMember, Training
from kangfu.reports import measures, services
from kangfu.reports.models import ReportDefinition
from kangfu.reports.rules import Period
from kangfu.reports.tests import factories as w
from kangfu.subsidies.models import Document, Grant, GrantChange, GrantPeriod, Payroll, PayrollLine
from kangfu.subsidies.services import facts

pytestmark = pytest.mark.django_db

T = {
    m.__name__: m._meta.db_table
    for m in (
        PayrollLine,
        Payroll,
        DisabilityCertificate,
        Grant,
        GrantChange,
        GrantPeriod,
        Document,
        Activity,
        Attendance,
        Case,
        FollowUp,
        RegisteredPerson,
        StaffMember,
        Training,
        Rental,
        Charge,
        Disinfection,
    )
}
ORG = "core_organisation"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(w.TODAY, tick=False):
        yield


def sql(query: str, params: list) -> dict:
    """{key: value} from a two-column query."""
    with connection.cursor() as cursor:
        cursor.execute(query.format(**T, ORG=ORG), params)
        return {str(k): v for k, v in cursor.fetchall()}


def one(query: str, params: list):
    with connection.cursor() as cursor:
        cursor.execute(query.format(**T, ORG=ORG), params)
        return cursor.fetchone()[0]


def street(code: str) -> str:
    return code[:9] + "000"


# ------------------------------------------------------------------ 两项补贴, by street, SQL


def subsidy_expected(month: dt.date, district: str) -> dict[str, dict[str, object]]:
    like = district[:6] + "%"
    locked = (
        "FROM {PayrollLine} l JOIN {Payroll} p ON p.id = l.payroll_id WHERE p.status = 'locked' AND p.month = %s"
        " AND l.street_id LIKE %s"
    )
    out: dict[str, dict] = {}
    for kind in ("living", "care"):
        out[f"subsidy.recipients.{kind}"] = sql(
            f"SELECT l.street_id, COUNT(DISTINCT l.grant_id) {locked} AND l.kind = %s AND l.line_type = 'regular'"
            " AND l.month_for = %s GROUP BY l.street_id",
            [month, like, kind, month],
        )
        out[f"subsidy.paid.{kind}"] = sql(
            f"SELECT l.street_id, SUM(l.amount) {locked} AND l.kind = %s AND l.line_type IN ('regular', 'arrears')"
            " GROUP BY l.street_id",
            [month, like, kind],
        )
    out["subsidy.recovered"] = {
        k: -Decimal(v)
        for k, v in sql(
            f"SELECT l.street_id, SUM(l.amount) {locked} AND l.line_type = 'recovery' GROUP BY l.street_id",
            [month, like],
        ).items()
    }
    for action, code in (("start", "subsidy.new"), ("stop", "subsidy.stopped")):
        out[code] = sql(
            "SELECT g.street_id, COUNT(*) FROM {GrantChange} c JOIN {Grant} g ON g.id = c.grant_id"
            " WHERE c.action = %s AND c.effective_month = %s AND g.street_id LIKE %s GROUP BY g.street_id",
            [action, month, like],
        )
    payable = (
        "FROM {Grant} g WHERE g.street_id LIKE %s AND g.start_month <= %s"
        " AND (g.end_month IS NULL OR g.end_month >= %s) AND EXISTS (SELECT 1 FROM {GrantPeriod} gp"
        " WHERE gp.grant_id = g.id AND gp.paid = %s AND gp.from_month <= %s"
        " AND (gp.to_month IS NULL OR gp.to_month >= %s))"
    )
    payable_params = [like, month, month, True, month, month]
    paid_line = (
        " AND EXISTS (SELECT 1 FROM {PayrollLine} l JOIN {Payroll} p ON p.id = l.payroll_id WHERE l.grant_id = g.id"
        " AND l.line_type = 'regular' AND l.month_for = %s AND p.status = 'locked' AND p.month = %s)"
    )
    out["subsidy.payable"] = sql(
        f"SELECT g.street_id, COUNT(*) {payable} GROUP BY g.street_id", payable_params
    )
    out["subsidy.paid_of_payable"] = sql(
        f"SELECT g.street_id, COUNT(*) {payable}{paid_line} GROUP BY g.street_id",
        [*payable_params, month, month],
    )
    out["subsidy.paid_grants"] = sql(
        f"SELECT g.street_id, COUNT(*) FROM {{Grant}} g WHERE g.street_id LIKE %s{paid_line} GROUP BY g.street_id",
        [like, month, month],
    )
    out["subsidy.filed"] = sql(
        f"SELECT g.street_id, COUNT(*) FROM {{Grant}} g WHERE g.street_id LIKE %s{paid_line}"
        " AND EXISTS (SELECT 1 FROM {Document} d WHERE d.application_id = g.application_id AND d.uploaded_at < %s)"
        " GROUP BY g.street_id",
        [like, month, month, measures.end_instant(Period("month", month))],
    )
    out.update(due_and_covered(month, district, lambda person, place: street(place)))
    return out


def due_and_covered(month: dt.date, district: str, row_of) -> dict[str, dict[str, int]]:
    """应享 / 已享 by the rules an application is judged by, person by person (facts.explain), each
    person in the row `row_of(person, place)` names."""
    out: dict[str, dict[str, int]] = {}
    end = Period("month", month).end
    for kind in ("living", "care"):
        due: dict[str, int] = {}
        covered: dict[str, int] = {}
        for person in Person.objects.all():
            place = facts.hukou_community(person).code
            if not place.startswith(district[:6]):
                continue
            if not facts.explain(person=person, kind=kind, on=end, district=place[:6] + "000000").ok:
                continue
            row = row_of(person, place)
            due[row] = due.get(row, 0) + 1
            if one(
                "SELECT COUNT(*) FROM {PayrollLine} l JOIN {Payroll} p ON p.id = l.payroll_id WHERE l.person_id = %s"
                " AND l.kind = %s AND l.line_type = 'regular' AND l.month_for = %s AND p.status = 'locked'"
                " AND p.month = %s AND p.district_id LIKE %s",
                [person.pk, kind, month, month, district[:6] + "%"],
            ):
                covered[row] = covered.get(row, 0) + 1
        out[f"subsidy.due.{kind}"] = due
        out[f"subsidy.covered.{kind}"] = covered
    return out


def _as(measure: str, value):
    kind = measures.get(measure).kind
    if value is None:
        return Decimal("0.00") if kind == "money" else 0
    return Decimal(value).quantize(Decimal("0.01")) if kind == "money" else int(value)


def assert_figures(report, expected: dict[str, dict[str, object]]) -> None:
    """Every row and the total of every base measure equal the second count; every rate equals its
    parts' division."""
    figures = report.figures
    for code, by_key in expected.items():
        for row in figures["rows"]:
            got = services.from_json(measures.get(code), row["values"][code])
            assert got == _as(code, by_key.get(row["key"])), (code, row["key"])
        total = sum((_as(code, v) for v in by_key.values()), _as(code, None))
        assert services.from_json(measures.get(code), figures["total"][code]) == total, code
    for column in figures["definition"]["columns"]:
        measure = measures.get(column["measure"])
        if measure.parts:
            for values in [*(r["values"] for r in figures["rows"]), figures["total"]]:
                num, den = (expected[p] for p in measure.parts)
                assert values[measure.code] == (
                    str(measures.rate(values[measure.parts[0]], values[measure.parts[1]]))
                    if values[measure.parts[1]]
                    else None
                )
                assert num is not None and den is not None


def test_the_monthly_subsidy_report_equals_a_second_count_street_by_street():
    w.subsidies_world()
    hexi = w.admin("hexi", w.HEXI)
    report = services.report_generate(actor=hexi, code="subsidy-monthly", period=Period("month", w.NOV))
    expected = subsidy_expected(w.NOV, w.HEXI)
    assert_figures(report, expected)
    # The scenario's own sense check, so that a vacuous world cannot pass.
    total = report.figures["total"]
    assert (total["subsidy.recipients.living"], total["subsidy.recipients.care"]) == (2, 1)
    assert (total["subsidy.paid.living"], total["subsidy.paid.care"]) == ("600.00", "400.00")
    assert (total["subsidy.new"], total["subsidy.stopped"], total["subsidy.recovered"]) == (1, 1, "300.00")
    assert (total["subsidy.payable"], total["subsidy.paid_of_payable"]) == (4, 3)
    assert total["subsidy.payment_rate"] == "75.0"
    assert (total["subsidy.filed"], total["subsidy.paid_grants"], total["subsidy.file_rate"]) == (
        1,
        3,
        "33.3",
    )
    assert (total["subsidy.covered.living"], total["subsidy.due.living"]) == (2, 4)


# ------------------------------------------------------------------ 两项补贴 by grade, category and stop reason


def diversify_subsidies() -> None:
    """The subsidies world with grades, categories and reasons that differ, so that a report which
    put everyone in one row could not pass: 甲's 护理补贴 is regraded from November (its October
    arrears stay at the old grade), 乙's new 生活补贴 is paid at grade 3 for an intellectual
    disability, 丁's stopped grant is a grade-4 visual one, and two more stops this month, one for a
    move and one from before reasons were recorded."""
    a, b, c, d, _e = w.subsidies_world()["people"]
    care_a = Grant.objects.get(person=a, kind="care")
    GrantPeriod.objects.filter(grant=care_a).update(to_month=w.OCT)
    GrantPeriod.objects.create(
        grant=care_a, from_month=w.NOV, grade=1, category=6, paid=True, reason="换发残疾人证"
    )
    GrantPeriod.objects.filter(grant__person=b, grant__kind="living").update(grade=3, category=5)
    GrantPeriod.objects.filter(grant__person=d).update(grade=4, category=1)
    care_c = Grant.objects.get(person=c, kind="care")
    GrantChange.objects.create(
        grant=care_c, action="stop", effective_month=w.NOV, reason="迁出", stop_reason="moved"
    )
    living_c = Grant.objects.get(person=c, kind="living")
    GrantChange.objects.create(grant=living_c, action="stop", effective_month=w.NOV, reason="原系统停发")


# The grant's period in force in a month, written as a join on the latest period begun by then.
IN_FORCE = (
    " JOIN {GrantPeriod} gp ON gp.grant_id = {grant} AND gp.from_month = (SELECT MAX(p2.from_month)"
    " FROM {GrantPeriod} p2 WHERE p2.grant_id = {grant} AND p2.from_month <= {month})"
)


def in_force(grant: str, month: str) -> str:
    return IN_FORCE.replace("{grant}", grant).replace("{month}", month)


def subsidy_by_expected(month: dt.date, district: str, column: str) -> dict[str, dict[str, object]]:
    """The base measures of the grade and category reports, grouped by the period's `column`."""
    like = district[:6] + "%"
    key = f"gp.{column}"
    locked = (
        "FROM {PayrollLine} l JOIN {Payroll} p ON p.id = l.payroll_id"
        + in_force("l.grant_id", "l.month_for")
        + " WHERE p.status = 'locked' AND p.month = %s AND l.street_id LIKE %s"
    )
    out: dict[str, dict] = {}
    for kind in ("living", "care"):
        out[f"subsidy.recipients.{kind}"] = sql(
            f"SELECT {key}, COUNT(DISTINCT l.grant_id) {locked} AND l.kind = %s AND l.line_type = 'regular'"
            f" AND l.month_for = %s GROUP BY {key}",
            [month, like, kind, month],
        )
        out[f"subsidy.paid.{kind}"] = sql(
            f"SELECT {key}, SUM(l.amount) {locked} AND l.kind = %s AND l.line_type IN ('regular', 'arrears')"
            f" GROUP BY {key}",
            [month, like, kind],
        )
    out["subsidy.recovered"] = {
        k: -Decimal(v)
        for k, v in sql(
            f"SELECT {key}, SUM(l.amount) {locked} AND l.line_type = 'recovery' GROUP BY {key}", [month, like]
        ).items()
    }
    for action, code in (("start", "subsidy.new"), ("stop", "subsidy.stopped")):
        out[code] = sql(
            f"SELECT {key}, COUNT(*) FROM {{GrantChange}} c JOIN {{Grant}} g ON g.id = c.grant_id"
            + in_force("g.id", "c.effective_month")
            + f" WHERE c.action = %s AND c.effective_month = %s AND g.street_id LIKE %s GROUP BY {key}",
            [action, month, like],
        )
    payable = (
        "FROM {Grant} g"
        + in_force("g.id", "%s")
        + " WHERE g.street_id LIKE %s AND g.start_month <= %s AND (g.end_month IS NULL OR g.end_month >= %s)"
        " AND EXISTS (SELECT 1 FROM {GrantPeriod} q WHERE q.grant_id = g.id AND q.paid = %s"
        " AND q.from_month <= %s AND (q.to_month IS NULL OR q.to_month >= %s))"
    )
    params = [month, like, month, month, True, month, month]
    out["subsidy.payable"] = sql(f"SELECT {key}, COUNT(*) {payable} GROUP BY {key}", params)
    out["subsidy.paid_of_payable"] = sql(
        f"SELECT {key}, COUNT(*) {payable} AND EXISTS (SELECT 1 FROM {{PayrollLine}} l JOIN {{Payroll}} p"
        " ON p.id = l.payroll_id WHERE l.grant_id = g.id AND l.line_type = 'regular' AND l.month_for = %s"
        f" AND p.status = 'locked' AND p.month = %s) GROUP BY {key}",
        [*params, month, month],
    )
    return out


@pytest.mark.parametrize(
    ("code", "column"), [("subsidy-by-grade", "grade"), ("subsidy-by-category", "category")]
)
def test_the_subsidy_report_by_grade_or_category_equals_a_second_count(code, column):
    diversify_subsidies()
    hexi = w.admin("hexi", w.HEXI)
    report = services.report_generate(actor=hexi, code=code, period=Period("month", w.NOV))
    expected = subsidy_by_expected(w.NOV, w.HEXI, column)
    # 应发 and 实发 are not in these reports but may be grouped so by a province's own definition.
    scope = measures.Scope(period=Period("month", w.NOV), unit=w.HEXI, rows=f"disability_{column}")
    for code in ("subsidy.payable", "subsidy.paid_of_payable"):
        assert measures.get(code).compute(scope) == {k: int(v) for k, v in expected.pop(code).items()}
    assert_figures(report, expected)
    # The regraded 护理补贴 is paid in November at grade 1 (a mental disability), its October
    # arrears at grade 2 (physical), as each month's period says.
    care = {
        r["key"]: (r["values"]["subsidy.recipients.care"], r["values"]["subsidy.paid.care"])
        for r in report.figures["rows"]
    }
    if column == "grade":
        assert (care["1"], care["2"]) == ((1, "200.00"), (0, "200.00"))
    else:
        assert (care["6"], care["4"]) == ((1, "200.00"), (0, "200.00"))
    assert [r["label"] for r in report.figures["rows"]][:2] == (
        ["一级", "二级"] if column == "grade" else ["视力残疾", "听力残疾"]
    )
    assert report.figures["total"]["subsidy.stopped"] == 3


@pytest.mark.parametrize("column", ["grade", "category"])
def test_coverage_by_grade_or_category_equals_a_second_count(column):
    """A province's own definition may put 覆盖率 in rows of grade or category: each eligible person
    counts in the row of their valid certificate, and the rate is worked out row by row."""
    a, *_ = w.subsidies_world()["people"]
    DisabilityCertificate.objects.filter(person=a, status="valid").update(grade=1, category=6)
    scope = measures.Scope(period=Period("month", w.NOV), unit=w.HEXI, rows=f"disability_{column}")

    def certificate(person, place):
        query = "SELECT " + column + " FROM {DisabilityCertificate} WHERE person_id = %s AND status = 'valid'"
        return str(one(query, [person.pk]))

    expected = due_and_covered(w.NOV, w.HEXI, certificate)
    for code, by_key in expected.items():
        assert measures.get(code).compute(scope) == by_key, code
    assert len(expected["subsidy.due.living"]) == 2, "the scenario must put people in two rows"
    assert "subsidy.coverage.living" in {
        c for c, m in measures.MEASURES.items() if f"disability_{column}" in m.dims
    }
    table = measures.compute(
        scope,
        ["subsidy.coverage.living"],
        [(k, k) for k in sorted(expected["subsidy.due.living"])],
    )
    for row in table.rows:
        key = row["key"]
        assert row["values"]["subsidy.coverage.living"] == measures.rate(
            expected["subsidy.covered.living"].get(key, 0), expected["subsidy.due.living"][key]
        )


def test_the_stop_reason_report_equals_a_second_count():
    diversify_subsidies()
    hexi = w.admin("hexi", w.HEXI)
    report = services.report_generate(actor=hexi, code="subsidy-stop-reasons", period=Period("month", w.NOV))
    stops = (
        "SELECT c.stop_reason, COUNT(*) FROM {GrantChange} c JOIN {Grant} g ON g.id = c.grant_id"
        " WHERE c.action = 'stop' AND c.effective_month = %s AND g.street_id LIKE %s"
    )
    params = [w.NOV, w.HEXI[:6] + "%"]
    expected = {"subsidy.stopped": sql(stops + " GROUP BY c.stop_reason", params)}
    for kind in ("living", "care"):
        expected[f"subsidy.stopped.{kind}"] = sql(
            stops + " AND g.kind = %s GROUP BY c.stop_reason", [*params, kind]
        )
    assert_figures(report, expected)
    by_reason = {r["label"]: r["values"]["subsidy.stopped"] for r in report.figures["rows"]}
    assert (by_reason["死亡"], by_reason["户籍迁出"], by_reason["其他"], by_reason["服刑"]) == (1, 1, 1, 0)
    assert report.figures["total"]["subsidy.stopped.care"] == 1


def test_the_city_adds_up_its_districts_stops_reason_by_reason():
    diversify_subsidies()
    hexi, dongli = w.admin("hexi", w.HEXI), w.admin("dongli", w.DONGLI)
    period = Period("month", w.NOV)
    GrantChange.objects.create(
        grant=Grant.objects.get(street_id=w.HUAMING),
        action="stop",
        effective_month=w.NOV,
        reason="死亡",
        stop_reason="death",
    )
    for admin in (hexi, dongli):
        report = services.report_generate(actor=admin, code="subsidy-stop-reasons", period=period)
        services.report_submit(actor=admin, report=report)
    city = w.admin("tianjin", w.TIANJIN, role="city_admin")
    report = services.report_generate(actor=city, code="subsidy-stop-reasons", period=period)
    by_reason = {r["key"]: r["values"]["subsidy.stopped"] for r in report.figures["rows"]}
    assert (by_reason["death"], by_reason["moved"], by_reason[""]) == (2, 1, 1)
    assert report.figures["total"]["subsidy.stopped"] == 4


# ------------------------------------------------------------------ 精康, SQL over the raw rows


def rehab_expected(period: Period, district: str) -> dict[str, dict[str, object]]:
    first, last = period.start, period.end
    key = district
    served_person = (
        "(EXISTS (SELECT 1 FROM {Attendance} a JOIN {Activity} v ON v.id = a.activity_id JOIN {Case} c"
        " ON c.id = a.case_id WHERE c.person_id = {p} AND a.is_family = %s AND v.held_on BETWEEN %s AND %s)"
        " OR EXISTS (SELECT 1 FROM {FollowUp} f JOIN {Case} c ON c.id = f.case_id WHERE c.person_id = {p}"
        " AND f.done_on BETWEEN %s AND %s))"
    )
    out: dict[str, dict] = {
        "rehab.registered": {
            key: one(
                "SELECT COUNT(*) FROM {RegisteredPerson} WHERE district_id = %s AND listed_on <= %s",
                [district, last],
            )
        },
        "rehab.registered_served": {
            key: one(
                "SELECT COUNT(*) FROM {RegisteredPerson} r WHERE r.district_id = %s AND r.listed_on <= %s AND "
                + served_person.replace("{p}", "r.person_id"),
                [district, last, False, first, last, first, last],
            )
        },
        "rehab.served": {
            key: one(
                "SELECT COUNT(DISTINCT k.person_id) FROM {Case} k WHERE k.district_id = %s AND ("
                "EXISTS (SELECT 1 FROM {Attendance} a JOIN {Activity} v ON v.id = a.activity_id WHERE a.case_id = k.id"
                " AND a.is_family = %s AND v.held_on BETWEEN %s AND %s) OR EXISTS (SELECT 1 FROM {FollowUp} f"
                " WHERE f.case_id = k.id AND f.done_on BETWEEN %s AND %s))",
                [district, False, first, last, first, last],
            )
        },
        "rehab.counties": {key: 1},
        "rehab.counties_served": {
            key: one(
                "SELECT COUNT(*) FROM {Activity} WHERE district_id = %s AND held_on BETWEEN %s AND %s",
                [district, first, last],
            )
            and 1
        },
        "rehab.activities": {
            key: one(
                "SELECT COUNT(*) FROM {Activity} WHERE district_id = %s AND held_on BETWEEN %s AND %s",
                [district, first, last],
            )
        },
        "rehab.patient_times": {
            key: one(
                "SELECT COUNT(*) FROM {Attendance} a JOIN {Activity} v ON v.id = a.activity_id WHERE v.district_id = %s"
                " AND a.is_family = %s AND v.held_on BETWEEN %s AND %s",
                [district, False, first, last],
            )
        },
        "rehab.family_times": {
            key: one(
                "SELECT COUNT(*) FROM {Attendance} a JOIN {Activity} v ON v.id = a.activity_id WHERE v.district_id = %s"
                " AND a.is_family = %s AND v.held_on BETWEEN %s AND %s",
                [district, True, first, last],
            )
        },
        "rehab.follow_ups": {
            key: one(
                "SELECT COUNT(*) FROM {FollowUp} f JOIN {Case} c ON c.id = f.case_id WHERE c.district_id = %s"
                " AND f.done_on BETWEEN %s AND %s",
                [district, first, last],
            )
        },
    }
    on_staff = (
        "FROM {StaffMember} s JOIN {ORG} o ON o.id = s.organisation_id WHERE o.region_id LIKE %s"
        " AND s.direct_service = %s AND (s.joined_on IS NULL OR s.joined_on <= %s)"
        " AND (s.left_on IS NULL OR s.left_on > %s)"
    )
    staff_params = [district[:6] + "%", True, last, last]
    out["rehab.staff"] = {key: one(f"SELECT COUNT(*) {on_staff}", staff_params)}
    out["rehab.staff_trained"] = {
        key: one(
            f"SELECT COUNT(*) {on_staff} AND (SELECT COALESCE(SUM(t.hours), 0) FROM {{Training}} t"
            " WHERE t.staff_id = s.id AND t.held_on BETWEEN %s AND %s)"
            " >= CASE WHEN s.profession = 'peer' THEN 12 ELSE 20 END",
            [*staff_params, dt.date(first.year, 1, 1), last],
        )
    }
    by_type = sql(
        "SELECT v.service_type, COUNT(*) FROM {Attendance} a JOIN {Activity} v ON v.id = a.activity_id"
        " WHERE v.district_id = %s AND a.is_family = %s AND v.held_on BETWEEN %s AND %s GROUP BY v.service_type",
        [district, False, first, last],
    )
    from kangfu.rehab.models import ServiceType

    for service in ServiceType:
        out[f"rehab.patient_times.{service.value}"] = {key: by_type.get(service.value, 0)}
    return out


def test_the_quarterly_rehab_report_equals_a_second_count():
    w.rehab_world()
    xiqing = w.admin("xiqing", w.XIQING)
    period = Period("quarter", w.Q3)
    report = services.report_generate(actor=xiqing, code="rehab-quarterly", period=period)
    assert_figures(report, rehab_expected(period, w.XIQING))
    total = report.figures["total"]
    assert (total["rehab.registered"], total["rehab.registered_served"], total["rehab.served"]) == (4, 4, 4)
    assert (total["rehab.patient_times"], total["rehab.family_times"]) == (4, 2)
    assert (total["rehab.coverage"], total["rehab.target"]) == ("100.0", "60")
    assert (total["rehab.staff"], total["rehab.staff_trained"], total["rehab.training_rate"]) == (
        3,
        2,
        "66.7",
    )
    assert report.figures["definition"]["version"] == 2


# ------------------------------------------------------------------ 辅具, SQL


def devices_expected(period: Period, district: str) -> dict[str, dict[str, object]]:
    first, last = period.start, period.end
    like = district[:6] + "%"
    outlet = "JOIN {ORG} o ON o.id = r.outlet_id WHERE o.region_id LIKE %s"
    key = district

    def charges(kinds: str) -> Decimal:
        return one(
            f"SELECT SUM(ch.amount) FROM {{Charge}} ch JOIN {{Rental}} r ON r.id = ch.rental_id {outlet}"
            f" AND ch.kind IN ({kinds}) AND r.start_date BETWEEN %s AND %s",
            [like, first, last],
        )

    on_rent = (
        f"FROM {{Rental}} r {outlet} AND r.status IN ('active', 'returned') AND r.start_date <= %s"
        " AND (r.returned_on IS NULL OR r.returned_on > %s)"
    )
    return {
        "devices.rentals_new": {
            key: one(
                f"SELECT COUNT(*) FROM {{Rental}} r {outlet} AND r.status <> 'cancelled' AND r.start_date BETWEEN %s AND %s",
                [like, first, last],
            )
        },
        "devices.people_new": {
            key: one(
                f"SELECT COUNT(DISTINCT r.person_id) FROM {{Rental}} r {outlet} AND r.status <> 'cancelled'"
                " AND r.start_date BETWEEN %s AND %s",
                [like, first, last],
            )
        },
        "devices.on_rent": {key: one(f"SELECT COUNT(*) {on_rent}", [like, last, last])},
        "devices.overdue": {
            key: one(f"SELECT COUNT(*) {on_rent} AND r.end_date < %s", [like, last, last, last])
        },
        "devices.returned": {
            key: one(
                f"SELECT COUNT(*) FROM {{Rental}} r {outlet} AND r.returned_on BETWEEN %s AND %s",
                [like, first, last],
            )
        },
        "devices.rent_income": {key: charges("'rent', 'subsidy', 'discount', 'overdue', 'damage'")},
        "devices.subsidy": {key: -Decimal(charges("'subsidy'") or 0)},
        "devices.discount": {key: -Decimal(charges("'discount'") or 0)},
        "devices.disinfections": {
            key: one(
                "SELECT COUNT(*) FROM {Disinfection} d JOIN devices_unit u ON u.id = d.unit_id JOIN {ORG} o"
                " ON o.id = u.outlet_id WHERE o.region_id LIKE %s AND d.passed = %s AND d.finished_at >= %s"
                " AND d.finished_at < %s",
                [
                    like,
                    True,
                    measures.end_instant(period.previous()),
                    measures.end_instant(period),
                ],
            )
        },
    }


def test_the_monthly_devices_report_equals_a_second_count():
    w.devices_world()
    wuqing = w.admin("wuqing", w.WUQING)
    period = Period("month", w.NOV)
    report = services.report_generate(actor=wuqing, code="devices-monthly", period=period)
    assert_figures(report, devices_expected(period, w.WUQING))
    total = report.figures["total"]
    assert (total["devices.rentals_new"], total["devices.people_new"], total["devices.on_rent"]) == (2, 2, 2)
    assert (total["devices.overdue"], total["devices.returned"], total["devices.disinfections"]) == (1, 1, 1)
    assert (total["devices.rent_income"], total["devices.subsidy"], total["devices.discount"]) == (
        "122.00",
        "50.00",
        "8.00",
    )


def test_shipped_definitions_name_only_known_measures():
    shipped = ReportDefinition.objects.all()
    assert {d.code for d in shipped} >= {
        "subsidy-monthly",
        "subsidy-by-grade",
        "subsidy-by-category",
        "subsidy-stop-reasons",
        "rehab-quarterly",
        "devices-monthly",
    }
    for definition in shipped:
        measures.validate_columns(definition.columns, definition.rows)
