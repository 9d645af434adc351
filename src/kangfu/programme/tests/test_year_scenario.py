"""A year of the 精康 programme in one district, end to end (issue 19's scenario): two funds (福彩公益金
and the district's budget), two contracts with two institutions of different service scopes and sites,
a year of delivery recorded month by month through rehab's own services (enrolments, sessions with
patients' and families' attendance, follow-ups, trainings, assessments, satisfaction forms), milestone
payments refused until delivered and approved by a second person, a quarter's supervision with its
findings rectified, the contract's acceptance and final payment, and the year's assessment ranked per
district.

The clock walks through 2027 with the story, so every service judges "today" as it would in use.
Every figure is checked against a count made a second way: the scenario's own bookkeeping of what
it recorded (`factories.Book`, kept by `factories.Year` as it goes) and plain SQL over the raw rows, never the selector under test.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from kangfu.core import access
from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.models import (
    Contract,
    Milestone,
    MilestoneStatus,
    MovementKind,
    PaymentRequest,
    PaymentStatus,
    RectificationStatus,
    Visit,
)
from kangfu.programme.services import contracts, standards, supervision
from kangfu.programme.standards import ACCEPTANCE_CODE
from kangfu.programme.tests import factories as pf
from kangfu.programme.tests.factories import (
    FIRST,
    LAST,
    PLANS,
    SCORES,
    YEAR,
    Year,
    item_scores,
    month_end,
    on,
    tenth,
    weighted,
)
from kangfu.rehab.models import SCORED_FIELDS
from kangfu.rehab.services import activities, satisfaction
from kangfu.rehab.tests import factories as f

pytestmark = pytest.mark.django_db

FEN = Decimal("0.01")
# The shipped assessment standard's weights from 2027 (standards.py, version 2), as a reader of the
# standard would copy them from its page.
WEIGHTS_2027 = {
    "delivery": 25,
    "follow_ups": 20,
    "outcomes": 15,
    "training": 10,
    "satisfaction": 10,
    "supervision": 20,
}
HOURS_REQUIRED = Decimal(20)  # DOMAIN.md: direct-service staff, 20 hours of training a year


@pytest.fixture(autouse=True)
def frozen():
    """The year begins on Monday 4 January 2027 (the programme's other tests stop in 2026)."""
    with time_machine.travel(dt.datetime(YEAR, 1, 4, 2, tzinfo=dt.UTC), tick=False):
        yield


def sql(query: str, *params):
    with connection.cursor() as cursor:
        cursor.execute(query, params)
        return cursor.fetchone()[0]


def sql_money(query: str, *params) -> Decimal:
    # SQLite may return a SUM of decimals as a float: read it to the fen.
    return Decimal(str(sql(query, *params) or 0)).quantize(FEN)


@pytest.fixture
def year(admin, colleague, city_admin) -> Year:
    """西青's 2027 on its first working day: nothing delivered yet (`year.through(month)` delivers)."""
    return pf.year_world(admin, colleague, city_admin)


# ------------------------------------------------------------------ independent counts in SQL


def sql_delivered(contract: Contract, first: dt.date, last: dt.date) -> dict[str, int]:
    """A contract's delivery over [first, last] counted from the raw rows: cases by enrolment day,
    activities of its scope, attendance rows (a family member's is a people-time too), follow-ups,
    and distinct staff of the institution or its sites trained."""
    inst, types = contract.institution_id, list(contract.service_types)
    marks = ", ".join(["%s"] * len(types))
    scoped = f"a.institution_id = %s AND a.held_on BETWEEN %s AND %s AND a.service_type IN ({marks})"
    return {
        "people": sql(
            "SELECT COUNT(*) FROM rehab_case WHERE institution_id = %s AND enrolled_on BETWEEN %s AND %s",
            inst,
            first,
            last,
        ),
        # Only placeholders are formatted into these two queries.
        "sessions": sql(f"SELECT COUNT(*) FROM rehab_activity a WHERE {scoped}", inst, first, last, *types),  # noqa: S608
        "people_times": sql(
            f"SELECT COUNT(*) FROM rehab_attendance t JOIN rehab_activity a ON a.id = t.activity_id WHERE {scoped}",  # noqa: S608
            inst,
            first,
            last,
            *types,
        ),
        "follow_ups": sql(
            "SELECT COUNT(*) FROM rehab_followup fu JOIN rehab_case c ON c.id = fu.case_id"
            " WHERE c.institution_id = %s AND fu.done_on BETWEEN %s AND %s",
            inst,
            first,
            last,
        ),
        "staff_trained": sql(
            "SELECT COUNT(DISTINCT t.staff_id) FROM rehab_training t"
            " JOIN rehab_staffmember s ON s.id = t.staff_id JOIN core_organisation o ON o.id = s.organisation_id"
            " WHERE (o.id = %s OR o.parent_id = %s) AND t.held_on BETWEEN %s AND %s",
            inst,
            inst,
            first,
            last,
        ),
    }


# ------------------------------------------------------------------ delivery


def test_a_years_delivery_is_counted_from_the_services_own_records(year):
    year.through(12)

    figures = selectors.deliveries([year.contract["A"], year.contract["B"]])
    listed = selectors.delivery_totals([year.contract["A"], year.contract["B"]])
    for key in ("A", "B"):
        contract = year.contract[key]
        delivery = figures[contract.pk]
        # The year as a whole: the selector, the scenario's bookkeeping and plain SQL agree.
        assert (
            delivery.totals == year.book.delivered(key, FIRST, LAST) == sql_delivered(contract, FIRST, LAST)
        )
        assert listed[contract.pk] == delivery.totals
        # Month by month, and the running totals to each month's end.
        assert [row["month"] for row in delivery.months] == [dt.date(YEAR, m, 1) for m in range(1, 13)]
        for m, row in enumerate(delivery.months, start=1):
            first = dt.date(YEAR, m, 1)
            expected = year.book.delivered(key, first, month_end(m))
            assert (
                {v: row[v] for v in selectors.VOLUMES}
                == expected
                == sql_delivered(contract, first, month_end(m))
            )
            assert row["running"] == year.book.delivered(key, FIRST, month_end(m))

    # The plan's figures, so that a slip in both the bookkeeping and the SQL cannot pass unseen.
    assert figures[year.contract["A"].pk].totals == {
        "people": 6,
        "sessions": 12 + 12 + 9,
        "people_times": (1 + 2 + 3 + 4 + 5 + 6 * 7) + 12 + (3 + 1) * 9,
        "follow_ups": 4 + 4 + 4 + 3 + 3 + 3,
        "staff_trained": 3,
    }
    # Families came to B's sessions 23 times and are people-times, never people served.
    assert figures[year.contract["B"].pk].totals == {
        "people": 5,
        "sessions": 12 + 12 + 10,
        "people_times": (1 + 2 + 3 + 4 + 5 * 8) + (1 + 2 * 11) + 12 + 2 * 10,
        "follow_ups": 4 + 4 + 4 + 3 + 3,
        "staff_trained": 2,
    }
    family = sql(
        "SELECT COUNT(*) FROM rehab_attendance t JOIN rehab_activity a ON a.id = t.activity_id"
        " WHERE a.institution_id = %s AND t.is_family",
        year.inst["B"].pk,
    )
    assert family == sum(fam for k, *_, fam in year.book.sessions if k == "B") > 0
    # Sessions out of each contract's scope were recorded, and counted for neither.
    for key, other in (("A", "family"), ("B", "social")):
        outside = sql(
            "SELECT COUNT(*) FROM rehab_activity WHERE institution_id = %s AND service_type = %s",
            year.inst[key].pk,
            other,
        )
        assert outside == len(PLANS[key].outside[1])


# ------------------------------------------------------------------ money


def _fund_figures(fund) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
    fund.refresh_from_db()
    return fund.amount, fund.allocated, fund.spent, fund.committed, fund.remaining


def _ledger(fund, kind) -> Decimal:
    return sql_money(
        "SELECT SUM(amount) FROM programme_fundmovement WHERE fund_id = %s AND kind = %s", fund.pk, kind
    )


def _shortfalls(required: Milestone, delivered: dict[str, int]) -> str:
    return "；".join(
        f"{selectors.VOLUME_LABELS[v]}要求 {getattr(required, v)}，已完成 {delivered[v]}"
        for v in selectors.VOLUMES
        if getattr(required, v) > delivered[v]
    )


def test_milestones_are_paid_only_once_delivered_and_approved_by_another(year):
    admin, colleague = year.admin, year.colleague
    a1, a2, a_final = year.milestones["A"]
    b1, b2, b_final = year.milestones["B"]
    lottery, budget = year.funds["lottery"], year.funds["budget"]
    # Signing the contracts allocated their amounts; nothing is paid yet.
    assert _fund_figures(lottery) == (
        Decimal("300000.00"),
        Decimal("236800.50"),
        Decimal("0.00"),
        Decimal("236800.50"),
        Decimal("63199.50"),
    )

    year.through(3)
    with on(dt.date(YEAR, 3, 31)):
        # June's milestone asked for at the end of March: refused, naming each shortfall.
        with pytest.raises(ValidationError) as refused:
            contracts.payment_request(actor=year.worker["A"], milestone=a2)
        so_far = year.book.delivered("A", FIRST, month_end(3))
        assert refused.value.messages == [contracts.NOT_DELIVERED.format(shortfalls=_shortfalls(a2, so_far))]
        assert Milestone.objects.get(pk=a2.pk).status == MilestoneStatus.OPEN
        # The final payment waits for the acceptance, whatever was delivered.
        with pytest.raises(ValidationError) as refused:
            contracts.payment_request(actor=year.worker["B"], milestone=b_final)
        assert refused.value.messages == [standards.FINAL_NEEDS_ACCEPTANCE]
        assert not PaymentRequest.objects.exists()

        # The first milestones: A's asked for by the institution, B's by the district's administrator.
        pay_a1 = contracts.payment_request(actor=year.worker["A"], milestone=a1)
        assert pay_a1.evidence["volumes"]["sessions"] == {"required": 6, "delivered": so_far["sessions"]}
        pay_b1 = contracts.payment_request(actor=admin, milestone=b1)
        with pytest.raises(PermissionDenied):
            contracts.payment_approve(actor=year.worker["A"], payment=pay_a1)
        with pytest.raises(PermissionDenied) as own:
            contracts.payment_approve(actor=admin, payment=pay_b1)
        assert own.value.args == (access.SAME_ACTOR,)
        assert _fund_figures(budget)[2] == Decimal("0.00")
        contracts.payment_approve(actor=colleague, payment=pay_a1, note="材料齐全")
        contracts.payment_approve(actor=colleague, payment=pay_b1)

    assert _fund_figures(lottery)[2:] == (Decimal("71040.15"), Decimal("165760.35"), Decimal("63199.50"))
    assert _fund_figures(budget)[2:] == (Decimal("47520.24"), Decimal("110880.56"), Decimal("41599.20"))

    year.through(6)
    with on(dt.date(YEAR, 6, 30)):
        for key, milestone in (("A", a2), ("B", b2)):
            payment = contracts.payment_request(actor=year.worker[key], milestone=milestone)
            delivered = year.book.delivered(key, FIRST, month_end(6))
            assert payment.evidence["volumes"] == {
                v: {"required": getattr(milestone, v), "delivered": delivered[v]} for v in selectors.VOLUMES
            }
            contracts.payment_approve(actor=admin, payment=payment)

    year.through(12)
    with on(dt.date(YEAR + 1, 1, 15)):
        # A's acceptance, scored by one administrator and confirmed by the other, opens its final payment.
        version = pf.shipped_standard(ACCEPTANCE_CODE).versions.get(is_current=True)
        team_scores = item_scores(version.items.filter(indicator=""), (9, 8, 9))
        acceptance = standards.acceptance_score(
            actor=admin,
            contract=year.contract["A"],
            data=standards.AcceptanceData(
                version=version, accepted_on=dt.date(YEAR + 1, 1, 15), team="验收组", scores=team_scores
            ),
        )
        # Delivery: every volume of A's contract met (100.0); follow-ups on time as the bookkeeping saw them.
        on_time = [late for k, _, late in year.book.follow_ups if k == "A"]
        follow_rate = tenth(Decimal(on_time.count(False)) * 100 / len(on_time))
        assert tenth(acceptance.score) == tenth(
            (Decimal(100) * 40 + follow_rate * 15 + Decimal(90) * 15 + Decimal(80) * 15 + Decimal(90) * 15)
            / 100
        )
        with pytest.raises(PermissionDenied):
            standards.acceptance_confirm(actor=admin, acceptance=acceptance)
        standards.acceptance_confirm(actor=colleague, acceptance=acceptance)
        final = contracts.payment_request(actor=year.worker["A"], milestone=a_final)
        contracts.payment_approve(actor=colleague, payment=final)
        # B's final payment still waits for its acceptance.
        with pytest.raises(ValidationError) as refused:
            contracts.payment_request(actor=year.worker["B"], milestone=b_final)
        assert refused.value.messages == [standards.FINAL_NEEDS_ACCEPTANCE]

    # A is paid in full from the lottery fund; B two of its three milestones from the budget.
    assert _fund_figures(lottery) == (
        Decimal("300000.00"),
        Decimal("236800.50"),
        Decimal("236800.50"),
        Decimal("0.00"),
        Decimal("63199.50"),
    )
    assert _fund_figures(budget) == (
        Decimal("200000.00"),
        Decimal("158400.80"),
        Decimal("110880.56"),
        Decimal("47520.24"),
        Decimal("41599.20"),
    )
    # Every running total is the sum of its ledger, counted again in SQL.
    for fund in (lottery, budget):
        assert _ledger(fund, MovementKind.APPROPRIATE) == fund.amount
        assert _ledger(fund, MovementKind.ALLOCATE) == fund.allocated
        assert _ledger(fund, MovementKind.PAY) == fund.spent
    for key in ("A", "B"):
        contract = Contract.objects.get(pk=year.contract[key].pk)
        approved = sql_money(
            "SELECT SUM(amount) FROM programme_paymentrequest WHERE contract_id = %s AND status = %s",
            contract.pk,
            PaymentStatus.APPROVED,
        )
        assert contract.paid == approved
    assert selectors.fund_totals(selectors.funds_for(admin)) == {
        "amount": Decimal("500000.00"),
        "allocated": Decimal("395201.30"),
        "spent": Decimal("347681.06"),
        "committed": Decimal("47520.24"),
        "remaining": Decimal("104798.70"),
    }
    assert [m.status for m in Milestone.objects.filter(contract=year.contract["B"]).order_by("seq")] == [
        MilestoneStatus.PAID,
        MilestoneStatus.PAID,
        MilestoneStatus.OPEN,
    ]


# ------------------------------------------------------------------ supervision


def test_a_quarters_supervision_scores_finds_and_sees_the_findings_rectified(year):
    checklist = pf.checklist(year.city_admin)
    first = checklist.versions.get()
    place = first.items.get(seq=1)
    with on(dt.date(YEAR, 6, 10)):
        # A score above its item's range is refused and leaves no visit behind.
        with pytest.raises(ValidationError) as refused:
            supervision.visit_record(
                actor=year.admin,
                data=supervision.VisitData(
                    institution=year.inst["A"],
                    year=YEAR,
                    quarter=2,
                    visited_on=dt.date(YEAR, 6, 10),
                    version=first,
                    team="督导组",
                    scores=item_scores(first.items.all(), (11, 15, 4)),
                ),
            )
        assert refused.value.message_dict == {
            "scores": [
                supervision.SCORE_OUT_OF_RANGE.format(
                    item=place.text, score=Decimal(11), low=place.min_score, high=place.max_score
                )
            ]
        }
        assert sql("SELECT COUNT(*) FROM programme_visit") == 0

    visits = year.supervise_second_quarter(checklist)
    for key, visit in visits.items():
        assert visit.score == weighted(SCORES[key])
        assert sql("SELECT COUNT(*) FROM programme_visitscore WHERE visit_id = %s", visit.pk) == 3

    # The city changes the checklist after it was scored: a second version; the first, and the
    # visits scored on it, stay as they were.
    with on(dt.date(YEAR, 7, 1)):
        second = supervision.checklist_revise(
            actor=year.city_admin,
            checklist=checklist,
            items=[
                *(
                    supervision.ItemData(text, Decimal(high), weight=Decimal(weight), section=section)
                    for section, text, high, weight in pf.CHECKLIST_ITEMS
                ),
                supervision.ItemData("安全管理与应急预案", Decimal(10), section="安全管理"),
            ],
            note="增加安全管理",
        )
    assert (second.number, second.is_current) == (2, True)
    assert sql("SELECT COUNT(*) FROM programme_checklistitem WHERE version_id = %s", first.pk) == 3
    assert sql("SELECT COUNT(*) FROM programme_checklistitem WHERE version_id = %s", second.pk) == 4
    assert set(Visit.objects.values_list("version_id", "score")) == {
        (first.pk, weighted(SCORES[key])) for key in ("A", "B", "C")
    }

    # Each institution answers its own findings only; the district verifies, or sends back.
    finding_a, finding_b = visits["A"].findings.get(), visits["B"].findings.get()
    with on(dt.date(YEAR, 7, 5)):
        with pytest.raises(PermissionDenied):
            supervision.finding_answer(actor=year.worker["B"], finding=finding_a, answer="已整改")
        supervision.finding_answer(actor=year.worker["A"], finding=finding_a, answer="已补齐全部随访记录")
        supervision.finding_answer(actor=year.worker["B"], finding=finding_b, answer="已补签")
    with on(dt.date(YEAR, 7, 12)):
        supervision.finding_verify(actor=year.admin, finding=finding_a, accepted=True)
        sent_back = supervision.finding_verify(
            actor=year.colleague, finding=finding_b, accepted=False, note="签到表照片不清晰"
        )
        assert sent_back.status == RectificationStatus.OPEN
    with on(dt.date(YEAR, 7, 19)):
        supervision.finding_answer(actor=year.worker["B"], finding=finding_b, answer="已重新拍照上传签到表")
        supervision.finding_verify(actor=year.colleague, finding=finding_b, accepted=True)

    statuses = dict(
        (visit, status) for visit, status in Visit.objects.values_list("institution_id", "findings__status")
    )
    assert statuses == {
        year.inst["A"].pk: RectificationStatus.VERIFIED,
        year.inst["B"].pk: RectificationStatus.VERIFIED,
        year.inst["C"].pk: RectificationStatus.OPEN,
    }
    # The district's list shows no finding of its own left open, as the rows say.
    open_in_sql = {
        inst: sql(
            "SELECT COUNT(*) FROM programme_finding fi JOIN programme_visit v ON v.id = fi.visit_id"
            " WHERE v.institution_id = %s AND fi.status <> %s",
            inst,
            RectificationStatus.VERIFIED,
        )
        for inst in (year.inst["A"].pk, year.inst["B"].pk)
    }
    listed = {v.institution_id: v.n_open for v in selectors.visits_for(year.admin)}
    assert listed == open_in_sql == {year.inst["A"].pk: 0, year.inst["B"].pk: 0}


# ------------------------------------------------------------------ the year's assessment


def _follow_up_rate(inst_id: int) -> tuple[Decimal, int]:
    done = sql(
        "SELECT COUNT(*) FROM rehab_followup fu JOIN rehab_case c ON c.id = fu.case_id"
        " WHERE c.institution_id = %s AND fu.done_on BETWEEN %s AND %s",
        inst_id,
        FIRST,
        LAST,
    )
    late = sql(
        "SELECT COUNT(*) FROM rehab_followup fu JOIN rehab_case c ON c.id = fu.case_id"
        " WHERE c.institution_id = %s AND fu.done_on BETWEEN %s AND %s AND fu.due_on < fu.done_on",
        inst_id,
        FIRST,
        LAST,
    )
    return tenth(Decimal(done - late) * 100 / done), late


def _training_rate(inst_id: int) -> Decimal:
    """Direct-service staff of the institution and its sites with 20 hours of the year's training."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT s.id, SUM(t.hours) FROM rehab_staffmember s"
            " JOIN core_organisation o ON o.id = s.organisation_id"
            " LEFT JOIN rehab_training t ON t.staff_id = s.id AND t.held_on BETWEEN %s AND %s"
            " WHERE (o.id = %s OR o.parent_id = %s) AND s.direct_service GROUP BY s.id",
            [FIRST, LAST, inst_id, inst_id],
        )
        hours = [Decimal(str(h or 0)) for _, h in cursor.fetchall()]
    return tenth(Decimal(sum(h >= HOURS_REQUIRED for h in hours)) * 100 / len(hours))


def _satisfaction(inst_id: int) -> Decimal:
    total = sql("SELECT SUM(overall) FROM rehab_satisfactionsurvey WHERE institution_id = %s", inst_id)
    n = sql("SELECT COUNT(*) FROM rehab_satisfactionsurvey WHERE institution_id = %s", inst_id)
    return tenth(Decimal(total) * 20 / n)


def _total(indicators: dict) -> Decimal:
    given = {k: v for k, v in indicators.items() if v is not None}
    return tenth(sum(v * WEIGHTS_2027[k] for k, v in given.items()) / sum(WEIGHTS_2027[k] for k in given))


def test_the_years_assessment_ranks_the_institutions_of_each_district(year):
    year.through(12)
    year.supervise_second_quarter(pf.checklist(year.city_admin))

    expected = {}
    for key in ("A", "B"):
        inst, contract = year.inst[key].pk, year.contract[key]
        delivered = year.book.delivered(key, FIRST, LAST)
        shares = [min(Decimal(delivered[v]) / getattr(contract, v), 1) for v in selectors.VOLUMES]
        follow_rate, late = _follow_up_rate(inst)
        assert late == sum(1 for k, _, was_late in year.book.follow_ups if k == key and was_late) > 0
        improved, compared = year.book.outcomes[key]
        overall = [o for k, o in year.book.surveys if k == key]
        assert _satisfaction(inst) == tenth(Decimal(sum(overall)) * 20 / len(overall))
        supervised = Decimal(
            str(sql("SELECT AVG(score) FROM programme_visit WHERE institution_id = %s", inst))
        )
        assert tenth(supervised) == weighted(SCORES[key])
        expected[key] = {
            "delivery": tenth(sum(shares) * 100 / len(shares)),
            "follow_ups": follow_rate,
            "outcomes": tenth(Decimal(improved) * 100 / compared),
            "training": _training_rate(inst),
            "satisfaction": _satisfaction(inst),
            "supervision": tenth(supervised),
        }
    # 北辰's centre has no contract, case or staff in Kangfu yet: only the city's visit scores it.
    expected["C"] = {k: None for k in WEIGHTS_2027} | {"supervision": weighted(SCORES["C"])}
    # The figures the plan leads to, so that the independent counts are themselves pinned.
    assert expected["A"] == {
        "delivery": Decimal("100.0"),
        "follow_ups": Decimal("57.1"),  # 12 of 21 on time
        "outcomes": Decimal("66.7"),  # 4 of 6 improved
        "training": Decimal("33.3"),  # 社工甲 24 hours; 社工乙 8, 康复师丙 6
        "satisfaction": Decimal("90.0"),  # (5 + 4 + 5 + 4) / 4 × 20
        "supervision": Decimal("78.8"),
    }
    assert expected["B"] == {
        "delivery": Decimal("87.5"),  # people 5/6, sessions 100%, people-times 105/120, follow-ups, staff 2/3
        "follow_ups": Decimal("50.0"),
        "outcomes": Decimal("40.0"),
        "training": Decimal("50.0"),  # 社工丁 20 hours, 社工己 none; 护士戊 is not direct service
        "satisfaction": Decimal("80.0"),
        "supervision": Decimal("80.0"),
    }

    with on(dt.date(YEAR + 1, 1, 20)):
        rows = standards_read.assessment(year.city_admin, year=YEAR)
        district_rows = standards_read.assessment(year.admin, year=YEAR)

    by_key = {key: next(r for r in rows if r["institution"] == year.inst[key]) for key in ("A", "B", "C")}
    for key, row in by_key.items():
        assert row["indicators"] == expected[key], key
        assert row["total"] == _total(expected[key]), key
    # Ranked within each district, by total: 西青 (120111) first, then 北辰 (120113).
    totals = {key: _total(expected[key]) for key in ("A", "B", "C")}
    assert totals["A"] > totals["B"]
    assert [(r["institution"], r["district_name"], r["rank"]) for r in rows] == [
        (year.inst["A"], "西青区", 1),
        (year.inst["B"], "西青区", 2),
        (year.inst["C"], "北辰区", 1),
    ]
    # The district's administrator sees the same figures for its own institutions only.
    assert [(r["institution"], r["total"], r["rank"]) for r in district_rows] == [
        (year.inst["A"], totals["A"], 1),
        (year.inst["B"], totals["B"], 2),
    ]


def test_the_satisfaction_indicator_rounds_once(year):
    day = dt.date(YEAR, 3, 6)
    with on(dt.date(YEAR, 3, 31)):
        for name, overall in (("甲某", 4), ("乙某", 3), ("丙某", 4)):
            case = f.enrolled_case(
                admin=year.admin,
                rehab_worker=year.worker["B"],
                institution_org=year.inst["B"],
                person=f.patient(name=name),
                on=day,
            )
            satisfaction.survey_record(
                actor=year.worker["B"],
                case=case,
                data=satisfaction.SurveyData(
                    filled_on=day, respondent="user", scores=dict.fromkeys(SCORED_FIELDS, overall)
                ),
            )
        rows = standards_read.assessment(year.admin, year=YEAR)
    got = next(r for r in rows if r["institution"] == year.inst["B"])["indicators"]["satisfaction"]
    assert got == _satisfaction(year.inst["B"].pk) == Decimal("73.3")


def test_a_session_at_a_site_outside_the_contract_does_not_count_towards_it(year):
    elsewhere = f.site(year.inst["A"], name="大寺镇康复站点", region=f.XIQING_STREET_SITE)
    year.through(1)
    with on(dt.date(YEAR, 1, 31)):
        activities.activity_record(
            actor=year.worker["A"],
            data=activities.ActivityData(
                form="group",
                service_type="social",
                mode="site",
                title="社交技能小组",
                held_on=dt.date(YEAR, 1, 26),
                site=elsewhere,
                patients=[c.pk for c in year.cases["A"]],
            ),
        )
    at_its_sites = sql(
        "SELECT COUNT(*) FROM rehab_activity a JOIN programme_contract_sites cs ON cs.organisation_id = a.site_id"
        " WHERE cs.contract_id = %s AND a.service_type IN ('social', 'living', 'vocational')",
        year.contract["A"].pk,
    )
    assert selectors.delivery_of(year.contract["A"]).totals["sessions"] == at_its_sites == 2
