"""The comparison readings of DOMAIN.md (两项补贴, "Comparison readings"): each rule's effective month
and money at stake, exact, on SQLite and PostgreSQL."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison
from kangfu.matching.models import Confidence, Item, ItemStatus
from kangfu.matching.tests.test_scenario import COMMUNITY, HEXI, feed, recipient, travel
from kangfu.people.models import IncomePeriod, Person
from kangfu.people.tests.factories import PersonFactory
from kangfu.subsidies.models import (
    Grant,
    GrantPeriod,
    GrantStatus,
    HeldGrant,
    OtherBenefit,
    Policy,
    Standard,
)
from kangfu.subsidies.seed import TIANJIN, seed_tianjin
from kangfu.subsidies.services import grants, payroll

pytestmark = pytest.mark.django_db
M = dt.date
NOVEMBER = M(2026, 11, 1)


@pytest.fixture
def district(db):
    seed_tianjin()
    return Region.objects.get(code=HEXI)


@pytest.fixture
def street_officer(db):
    return UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")


@pytest.fixture
def district_officer(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


def paid_through_october(district):
    """Lock the payrolls of June to October: every grant started in June is paid for those months."""
    for month in (M(2026, 6, 1), M(2026, 7, 1), M(2026, 8, 1), M(2026, 9, 1), M(2026, 10, 1)):
        with travel(month.replace(day=25)):
            payroll.payroll_lock(
                actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=month)
            )


def run(district):
    with travel(M(2026, 11, 5)):
        comparison.run_execute(comparison.run_start(actor=None, district=district, period=NOVEMBER))
    return {(item.person_id, item.rule): item for item in Item.objects.all()}


def resolve(item, street_officer, district_officer):
    with travel(M(2026, 11, 6)):
        comparison.item_confirm(actor=street_officer, item=item, note="已核实")
        return comparison.item_approve(actor=district_officer, item=Item.objects.get(pk=item.pk))


def test_work_injury_care_stops_both_subsidies_from_the_month_after_its_start(
    district, street_officer, district_officer
):
    both = recipient(1)
    living_only = recipient(2, care=False, grade=3)
    paid_through_october(district)
    feed(
        "work_injury",
        "人社工伤",
        {"id_number": "身份证号", "event_date": "享受起始年月"},
        [f"{both.id_number},2026-08"],
    )
    OtherBenefit.objects.create(
        person=living_only, kind="work_injury_care", amount=Decimal("1500.00"), start_date=M(2026, 9, 1)
    )
    found = run(district)
    assert set(found) == {(both.pk, "work_injury"), (living_only.pk, "work_injury")}
    item = found[(both.pk, "work_injury")]
    # September and October overpaid, 300 + 200 a month
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 9, 1), Decimal("1000.00"))
    assert item.explanation == (
        "人社工伤：2026年08月起享受工伤保险生活护理费，不再享受困难残疾人生活补贴和重度残疾人护理补贴，"
        "补贴仍在发放；应自 2026年09月 起停发，已多发 1000.00 元"
    )
    alone = found[(living_only.pk, "work_injury")]
    assert (alone.effective_month, alone.amount_at_stake) == (M(2026, 10, 1), Decimal("160.00"))
    resolve(item, street_officer, district_officer)
    assert set(Grant.objects.filter(person=both).values_list("kind", "status", "end_month")) == {
        ("living", GrantStatus.STOPPED, M(2026, 8, 1)),
        ("care", GrantStatus.STOPPED, M(2026, 8, 1)),
    }
    assert set(Grant.objects.filter(person=both).values_list("changes__stop_reason", flat=True)) >= {
        "excluded"
    }


@pytest.fixture
def same_nature(district):
    """Three 护理补贴 recipients who also get an allowance of the same nature: higher on the roster,
    lower on the roster, and higher as recorded in the registry."""
    people = {
        "higher": recipient(1, living=False),
        "lower": recipient(2, living=False),
        "recorded": recipient(3, living=False),
    }
    paid_through_october(district)
    feed(
        "elderly_care",
        "老年人护理补贴",
        {"id_number": "身份证号", "event_date": "享受起始年月", "amount": "月金额"},
        [f"{people['higher'].id_number},2024-10,300", f"{people['lower'].id_number},2026-08,150"],
    )
    OtherBenefit.objects.create(
        person=people["recorded"], kind="same_nature", amount=Decimal("250.00"), start_date=M(2026, 9, 1)
    )
    return people, run(district)


def test_a_higher_allowance_of_the_same_nature_stops_the_care_subsidy_from_the_month_after_the_later_start(
    same_nature, street_officer, district_officer
):
    people, found = same_nature
    higher = found[(people["higher"].pk, "overlap")]
    # the grant (June 2026) started after the allowance (October 2024): July to October overpaid
    assert (higher.effective_month, higher.amount_at_stake) == (M(2026, 7, 1), Decimal("800.00"))
    assert higher.explanation == (
        "老年人护理补贴：2024年10月起每月 300.00 元，高于重度残疾人护理补贴每月 200.00 元，"
        "择高不再发放重度残疾人护理补贴；应自 2026年07月 起停发，已多发 800.00 元"
    )
    recorded = found[(people["recorded"].pk, "overlap")]
    assert (recorded.effective_month, recorded.amount_at_stake) == (M(2026, 10, 1), Decimal("200.00"))
    resolve(higher, street_officer, district_officer)
    grant = Grant.objects.get(person=people["higher"])
    assert (grant.status, grant.end_month) == (GrantStatus.STOPPED, M(2026, 6, 1))


def test_a_lower_allowance_of_the_same_nature_is_closed_as_kept_not_dismissed(
    same_nature, street_officer, district_officer
):
    people, found = same_nature
    assert {rule for person, rule in found if person == people["lower"].pk} == {"overlap_kept"}
    kept = found[(people["lower"].pk, "overlap_kept")]
    assert (kept.direction, kept.amount_at_stake, kept.effective_month) == ("keep", Decimal("0.00"), None)
    assert kept.explanation == (
        "老年人护理补贴：每月 150.00 元，不高于重度残疾人护理补贴每月 200.00 元，择高保留重度残疾人护理补贴"
    )
    closed = resolve(kept, street_officer, district_officer)
    assert closed.status == ItemStatus.KEPT
    assert Grant.objects.get(person=people["lower"]).status == GrantStatus.ACTIVE


def regraded(district, people: dict, *, extension: str = ""):
    """The month's changes of grade from 残联, one line per person: (grade, category, date)."""
    if extension:
        Policy.objects.filter(region_id=TIANJIN).update(care_extra_categories=extension)
        Standard.objects.create(
            region_id=TIANJIN,
            kind="care",
            grade_min=3,
            grade_max=4,
            amount=Decimal("200.00"),
            valid_from=M(2018, 1, 1),
        )
    paid_through_october(district)
    feed(
        "cert_change",
        "残联变更",
        {"id_number": "身份证号", "category": "类别", "grade": "等级", "event_date": "变更日期"},
        [
            f"{people[key].id_number},{category},{grade},{day}"
            for key, (grade, category, day) in changes.items()
        ]
        if (changes := people.pop("changes"))
        else [],
    )
    return run(district)


def lines(district, month, person):
    with travel(month.replace(day=25)):
        computed = payroll.payroll_run(actor=None, district=district, month=month)
    return sorted(
        (line.kind, line.month_for, line.amount, line.line_type)
        for line in computed.lines.filter(person=person)
    )


def test_a_change_of_grade_within_a_band_raises_nothing(district):
    severe, moderate = recipient(1, grade=2), recipient(2, grade=3, care=False)
    found = regraded(
        district,
        {
            "severe": severe,
            "moderate": moderate,
            "changes": {"severe": (1, 4, "2026-09-10"), "moderate": (4, 4, "2026-09-10")},
        },
    )
    assert found == {}


def test_a_downgrade_pays_the_new_rate_from_the_month_after_and_stops_the_care_subsidy(
    district, street_officer, district_officer
):
    person = recipient(1, grade=2)
    found = regraded(district, {"p": person, "changes": {"p": (3, 4, "2026-09-10")}})
    item = found[(person.pk, "grade_changed")]
    # October only: November, the month compared, is not paid yet; care 200 and living 300 − 160
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 10, 1), Decimal("340.00"))
    assert item.explanation == (
        "残联：残疾等级由2级变为3级（2026-09-10），自 2026年10月 起重度残疾人护理补贴每月 200.00 元应停发；"
        "困难残疾人生活补贴每月 300.00 元应为 160.00 元"
    )
    resolve(item, street_officer, district_officer)
    care = Grant.objects.get(person=person, kind="care")
    assert (care.status, care.end_month) == (GrantStatus.STOPPED, M(2026, 9, 1))
    assert care.changes.filter(action="stop").get().stop_reason == "grade"
    assert Grant.objects.get(person=person, kind="living").status == GrantStatus.ACTIVE
    assert lines(district, NOVEMBER, person) == [
        ("care", M(2026, 10, 1), Decimal("-200.00"), "recovery"),
        ("living", M(2026, 10, 1), Decimal("-140.00"), "recovery"),
        ("living", NOVEMBER, Decimal("160.00"), "regular"),
    ]


def test_a_downgrade_keeps_the_care_subsidy_where_the_district_extends_it_to_the_category(
    district, street_officer, district_officer
):
    person = recipient(1, grade=2)
    GrantPeriod.objects.filter(grant__person=person).update(category=6)
    found = regraded(district, {"p": person, "changes": {"p": (3, 6, "2026-09-10")}}, extension="5,6")
    item = found[(person.pk, "grade_changed")]
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 10, 1), Decimal("140.00"))
    resolve(item, street_officer, district_officer)
    assert set(Grant.objects.filter(person=person).values_list("kind", "status")) == {
        ("care", GrantStatus.ACTIVE),
        ("living", GrantStatus.ACTIVE),
    }
    assert lines(district, NOVEMBER, person) == [
        ("care", NOVEMBER, Decimal("200.00"), "regular"),
        ("living", M(2026, 10, 1), Decimal("-140.00"), "recovery"),
        ("living", NOVEMBER, Decimal("160.00"), "regular"),
    ]


def test_an_upgrade_pays_from_the_certificates_month_with_at_most_three_months_back_pay_as_arrears(
    district, street_officer, district_officer
):
    person = recipient(1, grade=3, care=False)
    found = regraded(district, {"p": person, "changes": {"p": (2, 4, "2026-06-15")}})
    item = found[(person.pk, "grade_changed")]
    # from June, but back-pay reaches only August, September and October: 3 × (300 − 160)
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 8, 1), Decimal("420.00"))
    resolve(item, street_officer, district_officer)
    assert lines(district, NOVEMBER, person) == [
        ("living", M(2026, 8, 1), Decimal("140.00"), "arrears"),
        ("living", M(2026, 9, 1), Decimal("140.00"), "arrears"),
        ("living", M(2026, 10, 1), Decimal("140.00"), "arrears"),
        ("living", NOVEMBER, Decimal("300.00"), "regular"),
    ]


def test_the_back_pay_limit_is_the_districts_policy(district):
    Policy.objects.filter(region_id=TIANJIN).update(back_pay_months=1)
    person = recipient(1, grade=3, care=False)
    found = regraded(district, {"p": person, "changes": {"p": (2, 4, "2026-06-15")}})
    item = found[(person.pk, "grade_changed")]
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 10, 1), Decimal("140.00"))


def dibao_roster(*people):
    feed("dibao", "低保名单", {"id_number": "身份证号"}, [p.id_number for p in people])


def test_leaving_dibao_stops_from_the_month_the_payroll_held_the_grant(
    district, street_officer, district_officer
):
    left, stays = recipient(1, care=False, grade=3), recipient(2, care=False, grade=3)
    IncomePeriod.objects.filter(person=left).update(end_date=M(2026, 8, 20))
    paid_through_october(district)
    held = sorted(HeldGrant.objects.filter(grant__person=left).values_list("payroll__month", flat=True))
    assert held == [M(2026, 9, 1), M(2026, 10, 1)]
    dibao_roster(stays)
    found = run(district)
    item = found[(left.pk, "left_dibao")]
    assert (item.effective_month, item.amount_at_stake) == (held[0], Decimal("0.00"))
    assert (
        item.explanation
        == "低保已于 2026-08-20 终止，2026年11月低保名单中没有此人，生活补贴应自 2026年09月 起停发"
    )
    resolve(item, street_officer, district_officer)
    # nothing owed for the months held, nothing for November
    assert lines(district, NOVEMBER, left) == []


def test_a_living_subsidy_resting_on_dibao_edge_is_not_raised_by_absence_from_the_dibao_roster(district):
    edge, dibao = recipient(1, care=False, grade=3), recipient(2, care=False, grade=3)
    IncomePeriod.objects.filter(person=edge).update(status="dibao_edge")
    paid_through_october(district)
    dibao_roster(PersonFactory(name="无证低保", community_code=COMMUNITY, n=90))
    found = run(district)
    assert set(found) == {(dibao.pk, "left_dibao")}
    assert (
        found[(dibao.pk, "left_dibao")].effective_month,
        found[(dibao.pk, "left_dibao")].amount_at_stake,
    ) == (
        NOVEMBER,
        Decimal("0.00"),
    )


def test_dibao_edge_is_a_basis_only_where_the_districts_policy_accepts_it(district):
    Policy.objects.filter(region_id=TIANJIN).update(living_income_statuses="dibao")
    edge = recipient(1, care=False, grade=3)
    IncomePeriod.objects.filter(person=edge).update(status="dibao_edge")
    dibao_roster(recipient(2, care=False, grade=3))
    assert set(run(district)) == {(edge.pk, "left_dibao")}


def test_a_name_and_birth_date_fitting_several_people_raises_an_ambiguous_item_for_each(
    district, street_officer, district_officer
):
    born = M(1955, 5, 5)
    one = recipient(1, name="张伟", born=born)
    two = recipient(2, name="张伟", born=born)
    paid_through_october(district)
    feed(
        "death",
        "公安死亡",
        {"id_number": "身份证号", "name": "姓名", "birth_date": "出生日期", "event_date": "死亡日期"},
        [",张伟,1955-05-05,2026-09-02"],
    )
    found = run(district)
    assert set(found) == {(one.pk, "death"), (two.pk, "death")}
    for item in found.values():
        # October overpaid, 300 + 200, if it is this one
        assert (item.confidence, item.effective_month, item.amount_at_stake) == (
            Confidence.AMBIGUOUS,
            M(2026, 10, 1),
            Decimal("500.00"),
        )
    resolve(found[(one.pk, "death")], street_officer, district_officer)
    with travel(M(2026, 11, 6)):
        comparison.item_dismiss(
            actor=street_officer, item=found[(two.pk, "death")], note="经核实本人健在，非同一人"
        )
    assert set(Grant.objects.filter(person=one).values_list("status", flat=True)) == {GrantStatus.STOPPED}
    assert set(Grant.objects.filter(person=two).values_list("status", flat=True)) == {GrantStatus.ACTIVE}


def test_the_tekun_roster_stops_both_subsidies_from_the_month_after_entering_it(
    district, street_officer, district_officer
):
    person = recipient(1)
    paid_through_october(district)
    feed(
        "tekun",
        "特困供养名单",
        {"id_number": "身份证号", "event_date": "纳入日期"},
        [f"{person.id_number},2026-09-05"],
    )
    item = run(district)[(person.pk, "tekun")]
    # October overpaid, 300 + 200
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 10, 1), Decimal("500.00"))
    assert item.explanation == (
        "特困供养名单：2026-09-05 起纳入特困人员救助供养，不再享受两项补贴，补贴仍在发放；"
        "应自 2026年10月 起停发，已多发 500.00 元"
    )
    resolve(item, street_officer, district_officer)
    assert set(Grant.objects.filter(person=person).values_list("kind", "status", "changes__stop_reason")) >= {
        ("living", GrantStatus.STOPPED, "excluded"),
        ("care", GrantStatus.STOPPED, "excluded"),
    }


def test_a_roster_line_with_a_date_counts_before_one_without_on_both_databases(district):
    """The same person twice on the 特困 roster, once dated and once not: the dated line sets the stop
    month and the money, on SQLite as on PostgreSQL (which sort a missing date at opposite ends)."""
    person = recipient(1)
    paid_through_october(district)
    feed(
        "tekun",
        "特困供养名单",
        {"id_number": "身份证号", "event_date": "纳入日期"},
        [f"{person.id_number},", f"{person.id_number},2026-09-05"],
    )
    item = run(district)[(person.pk, "tekun")]
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 10, 1), Decimal("500.00"))


def test_a_declaration_of_disappearance_suspends_the_grants_from_the_month_after(
    district, street_officer, district_officer
):
    person = recipient(1)
    paid_through_october(district)
    feed(
        "declared_missing",
        "法院宣告失踪",
        {"id_number": "身份证号", "event_date": "判决生效日期"},
        [f"{person.id_number},2026-09-15"],
    )
    item = run(district)[(person.pk, "missing")]
    assert (item.effective_month, item.amount_at_stake) == (M(2026, 10, 1), Decimal("500.00"))
    assert item.explanation == (
        "法院宣告失踪：2026-09-15 宣告失踪，补贴仍在发放；应自 2026年10月 起暂停发放，已多发 500.00 元"
    )
    resolve(item, street_officer, district_officer)
    assert set(Grant.objects.filter(person=person).values_list("status", flat=True)) == {
        GrantStatus.SUSPENDED
    }
    assert lines(district, NOVEMBER, person) == [
        ("care", M(2026, 10, 1), Decimal("-200.00"), "recovery"),
        ("living", M(2026, 10, 1), Decimal("-300.00"), "recovery"),
    ]


def test_a_release_from_prison_never_restores_a_grant_by_itself(district):
    person = recipient(1)
    paid_through_october(district)
    for grant in Grant.objects.filter(person=person):
        grants.grant_stop(actor=None, grant=grant, from_month=M(2026, 8, 1), stop_reason="prison")
    feed(
        "release",
        "司法刑满释放",
        {"id_number": "身份证号", "event_date": "释放日期"},
        [f"{person.id_number},2026-10-20"],
    )
    assert run(district) == {}
    assert set(Grant.objects.filter(person=person).values_list("status", flat=True)) == {GrantStatus.STOPPED}
    assert all(
        line[2] < 0 for line in lines(district, NOVEMBER, person)
    )  # only what was paid in prison comes back


def moved_to(person, community: str):
    Person.objects.filter(pk=person.pk).update(
        community_id=community, street_id=community[:9] + "000", district_id=community[:6] + "000000"
    )


def test_an_item_goes_to_the_street_the_person_lives_in_and_the_paying_district_approves_it(
    district, street_officer, district_officer
):
    within, elsewhere = recipient(1), recipient(2)
    paid_through_october(district)
    moved_to(within, "120103002001")  # 下瓦房, same district: the grant's street is still 大营门
    moved_to(elsewhere, "120110006001")  # 东丽 华明: still paid by 河西
    feed(
        "death",
        "公安死亡",
        {"id_number": "身份证号", "event_date": "死亡日期"},
        [f"{within.id_number},2026-09-15", f"{elsewhere.id_number},2026-09-15"],
    )
    found = run(district)
    near, far = found[(within.pk, "death")], found[(elsewhere.pk, "death")]
    assert (near.street_id, near.district_id) == ("120103002000", HEXI)
    assert (far.street_id, far.district_id) == ("120110006000", HEXI)
    assert Grant.objects.get(person=within, kind="care").street_id == "120103001000"
    with pytest.raises(PermissionDenied):  # the grant's street cannot visit
        comparison.item_confirm(actor=street_officer, item=near, note="x")
    xiawafang = UserFactory(username="xwf", role=Role.STREET_OFFICER, jurisdiction_id="120103002000")
    huaming = UserFactory(username="hm", role=Role.STREET_OFFICER, jurisdiction_id="120110006000")
    dongli = UserFactory(username="dl", role=Role.DISTRICT_ADMIN, jurisdiction_id="120110000000")
    with travel(M(2026, 11, 6)):
        comparison.item_confirm(actor=xiawafang, item=near, note="已入户核实")
        comparison.item_confirm(actor=huaming, item=far, note="已入户核实")
        with pytest.raises(PermissionDenied):  # the district of residence does not pay
            comparison.item_approve(actor=dongli, item=Item.objects.get(pk=far.pk))
        for item in (near, far):
            assert comparison.item_approve(
                actor=district_officer, item=Item.objects.get(pk=item.pk)
            ).status == (ItemStatus.APPROVED)
    assert set(Grant.objects.filter(person__in=[within, elsewhere]).values_list("status", flat=True)) == {
        GrantStatus.STOPPED
    }


def test_an_allowance_kept_is_not_raised_again_the_next_month(district, street_officer, district_officer):
    person = recipient(1, living=False)
    OtherBenefit.objects.create(
        person=person, kind="elderly_care", amount=Decimal("100.00"), start_date=M(2026, 9, 1)
    )
    item = run(district)[(person.pk, "overlap_kept")]
    assert (
        item.explanation
        == "登记的同类补贴：每月 100.00 元，不高于重度残疾人护理补贴每月 200.00 元，择高保留重度残疾人护理补贴"
    )
    resolve(item, street_officer, district_officer)
    with travel(M(2026, 12, 5)):
        december = comparison.run_execute(
            comparison.run_start(actor=None, district=district, period=M(2026, 12, 1))
        )
    assert not Item.objects.filter(run=december).exists()


def test_a_move_to_another_district_of_the_city_moves_the_grants_there_from_the_next_month(
    district, street_officer, district_officer
):
    moving, leaving, vague = recipient(1), recipient(2), recipient(3)
    paid_through_october(district)
    feed(
        "move",
        "公安迁移",
        {"id_number": "身份证号", "event_date": "迁出日期", "region": "迁入地"},
        [
            f"{moving.id_number},2026-10-05,120110006001",  # 东丽区 华明街道
            f"{leaving.id_number},2026-10-05,130102",  # 石家庄市长安区: out of the city
            f"{vague.id_number},2026-10-08,120107",  # 塘沽区, abolished: 滨海新区, no street
        ],
    )
    found = run(district)
    assert set(found) == {
        (moving.pk, "moved_within"),
        (leaving.pk, "moved_out"),
        (vague.pk, "moved_within"),
    }
    item = found[(moving.pk, "moved_within")]
    # paid by 河西 until the item is resolved: nothing at stake, the grants move from December
    assert (item.direction, item.effective_month, item.amount_at_stake) == (
        "transfer",
        M(2026, 12, 1),
        Decimal("0.00"),
    )
    assert item.explanation == (
        "公安迁移：2026-10-05 户籍迁往东丽区，补贴仍由本区发放；应自 2026年12月 起转由迁入区发放"
    )
    assert "滨海新区" in found[(vague.pk, "moved_within")].explanation
    assert resolve(item, street_officer, district_officer).status == ItemStatus.APPROVED
    # still 河西's until it locks November, which it still owes
    assert set(Grant.objects.filter(person=moving).values_list("district_id", "moving_from")) == {
        (HEXI, M(2026, 12, 1))
    }
    assert lines(district, NOVEMBER, moving) == [
        ("care", NOVEMBER, Decimal("200.00"), "regular"),
        ("living", NOVEMBER, Decimal("300.00"), "regular"),
    ]
    with travel(M(2026, 11, 25)):
        payroll.payroll_lock(
            actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=NOVEMBER)
        )
    assert set(
        Grant.objects.filter(person=moving).values_list("status", "district_id", "street_id", "moving_from")
    ) == {(GrantStatus.ACTIVE, "120110000000", "120110006000", None)}
    # from December 东丽 pays at the same standard, and nothing twice
    december = M(2026, 12, 1)
    assert lines(district, december, moving) == []
    assert lines(Region.objects.get(code="120110000000"), december, moving) == [
        ("care", december, Decimal("200.00"), "regular"),
        ("living", december, Decimal("300.00"), "regular"),
    ]

    # a move naming only an abolished district cannot be placed in a street: refused, nothing moved
    vague_item = found[(vague.pk, "moved_within")]
    with travel(M(2026, 11, 6)):
        comparison.item_confirm(actor=street_officer, item=vague_item, note="已核实")
        with pytest.raises(ValidationError, match="无法确定迁入街道"):
            comparison.item_approve(actor=district_officer, item=Item.objects.get(pk=vague_item.pk))
    assert Item.objects.get(pk=vague_item.pk).status == ItemStatus.CONFIRMED
    assert set(Grant.objects.filter(person=vague).values_list("district_id", flat=True)) == {HEXI}
