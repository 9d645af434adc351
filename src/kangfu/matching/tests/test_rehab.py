"""精康 clients still served who died or moved out: found from the registry feeds, handed to the street
of residence, and on approval the case is closed through rehab's service, with nothing clinical shown."""

import datetime as dt

import pytest

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison, rules, services
from kangfu.matching.models import Direction, Item, ItemStatus
from kangfu.matching.tests.conftest import HEXI, travel
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.rehab.models import Case, CaseStatus
from kangfu.rehab.services import cases as rehab_cases
from kangfu.rehab.services import enrolment as rehab_enrolment
from kangfu.rehab.tests import factories as rf
from kangfu.subsidies.models import Grant, GrantStatus
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import grants

pytestmark = pytest.mark.django_db
M = dt.date
COMMUNITY = "120103001001"  # 河西区 大营门街道
STREET = "120103001000"
ENROLLED = M(2026, 6, 1)


def feed(kind, name, mapping, lines):
    source = services.feed_source_save(actor=None, name=name, kind=kind, mapping=mapping)
    raw = (",".join(mapping.values()) + "\n" + "\n".join(lines) + "\n").encode()
    services.feed_confirm(
        actor=None,
        feed=services.feed_preview(
            actor=None, source=source, raw=raw, file_name=f"{kind}.csv", period=M(2026, 11, 1)
        ),
    )


def run():
    with travel(M(2026, 11, 5)):
        return comparison.run_execute(
            comparison.run_start(actor=None, district=Region.objects.get(code=HEXI), period=M(2026, 11, 1))
        )


@pytest.fixture
def world(db):
    institution = rf.institution(name="河西区精神障碍社区康复服务中心", region=HEXI)
    admin = rf.district_admin("hexi.rehab.admin", district=HEXI)
    staff = rf.worker(institution, username="hexi.rehab", jurisdiction=HEXI)

    def client(n, **kwargs):
        return rf.patient(name=f"康{n}", community_code=COMMUNITY, county="120103", n=300 + n, **kwargs)

    def enrolled(n):
        return rf.enrolled_case(
            admin=admin, rehab_worker=staff, institution_org=institution, person=client(n), on=ENROLLED
        )

    cases = {
        "dead": enrolled(1),
        "declared": enrolled(2),
        "moved": enrolled(3),  # suspended, still served
        "moved_nearby": enrolled(4),  # within the institution's district
        "discharged": enrolled(5),
        "moved_nowhere": enrolled(6),  # no destination given: out
    }
    rehab_cases.case_suspend(actor=staff, case=cases["moved"], on=M(2026, 8, 1), reason="住院")
    rehab_cases.case_discharge(actor=staff, case=cases["discharged"], on=M(2026, 9, 1), reason="recovered")
    declined = rf.referred_case(admin=admin, institution_org=institution, person=client(7), on=ENROLLED)
    rehab_enrolment.screening_decide(
        actor=staff, case=declined, eligible=False, on=ENROLLED, decline_reason="unwilling"
    )
    referred = rf.referred_case(admin=admin, institution_org=institution, person=client(8), on=ENROLLED)
    no_case = PersonFactory(name="无档", community_code=COMMUNITY, n=309)
    ids = {k: c.person.id_number for k, c in cases.items()}
    ids.update(
        declined=declined.person.id_number, referred=referred.person.id_number, no_case=no_case.id_number
    )
    death = {"id_number": "身份证号", "event_date": "死亡日期"}
    feed(
        "death",
        "公安死亡",
        death,
        [f"{ids[k]},2026-10-15" for k in ("dead", "discharged", "declined", "referred", "no_case")],
    )
    feed("declared_death", "法院宣告死亡", death, [f"{ids['declared']},2026-09-30"])
    feed(
        "move",
        "公安迁移",
        {"id_number": "身份证号", "event_date": "迁出日期", "region": "迁入地"},
        [
            f"{ids['moved']},2026-10-05,120110006001",
            f"{ids['moved_nearby']},2026-10-05,120103002001",
            f"{ids['moved_nowhere']},2026-10-06,",
        ],
    )
    return cases, run()


@pytest.fixture
def street_officer(db):
    return UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id=STREET)


@pytest.fixture
def district_officer(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


def test_served_clients_who_died_or_moved_out_are_found_and_no_one_else(world):
    cases, the_run = world
    items = {i.person_id: i for i in Item.objects.filter(run=the_run)}
    expected = {cases[k].person_id: cases[k] for k in ("dead", "declared", "moved", "moved_nowhere")}
    assert set(items) == set(expected)
    assert the_run.found["rehab_ended"] == 4
    for person_id, item in items.items():
        assert item.rule == "rehab_ended"
        assert item.direction == Direction.STOP
        assert (item.case_id, item.grant_id) == (expected[person_id].pk, None)
        assert item.amount_at_stake == 0
        assert (item.district_id, item.street_id) == (HEXI, STREET)
        assert "河西区精神障碍社区康复服务中心" in item.explanation
    assert items[cases["dead"].person_id].explanation == (
        "公安死亡：2026-10-15 死亡；仍为河西区精神障碍社区康复服务中心的精康服务对象，应结案（死亡）"
    )
    assert items[cases["declared"].person_id].explanation.startswith("法院宣告死亡：2026-09-30 宣告死亡；")
    assert items[cases["moved"].person_id].explanation.endswith("应结案（迁出）")


def test_the_rule_reads_with_one_query(world, django_assert_num_queries):
    ctx = rules.Context(district=HEXI, period=M(2026, 11, 1))
    with django_assert_num_queries(1):
        assert len(rules.rehab_case_ended(ctx)) == 4


def test_a_rerun_raises_each_client_once(world):
    before = Item.objects.count()
    run()
    assert Item.objects.count() == before == 4


@pytest.mark.parametrize(
    ("key", "reason", "day"),
    [
        ("dead", "deceased", M(2026, 10, 15)),
        ("declared", "deceased", M(2026, 9, 30)),
        ("moved", "moved", M(2026, 10, 5)),
    ],
)
def test_confirmed_and_approved_the_case_is_closed_as_of_the_event(
    world, street_officer, district_officer, key, reason, day
):
    cases, _run = world
    case = cases[key]
    item = Item.objects.get(person_id=case.person_id)
    with travel(M(2026, 11, 6)):
        comparison.item_confirm(actor=street_officer, item=item, note="已核实")
        assert Case.objects.get(pk=case.pk).status != CaseStatus.DISCHARGED  # not before the district
        comparison.item_approve(actor=district_officer, item=Item.objects.get(pk=item.pk))
    case.refresh_from_db()
    assert (case.status, case.discharge_reason, case.discharged_on) == (CaseStatus.DISCHARGED, reason, day)
    assert case.events.last().reason.startswith("数据比对：")
    assert Item.objects.get(pk=item.pk).status == ItemStatus.APPROVED


def test_a_dismissed_item_leaves_the_case_open(world, street_officer):
    cases, _run = world
    item = Item.objects.get(person_id=cases["dead"].person_id)
    comparison.item_dismiss(actor=street_officer, item=item, note="同名同姓，本人健在")
    assert Case.objects.get(pk=cases["dead"].pk).status == CaseStatus.ENROLLED


def test_a_case_the_institution_closed_meanwhile_does_not_block_approval(
    world, street_officer, district_officer
):
    cases, _run = world
    case = cases["dead"]
    item = Item.objects.get(person_id=case.person_id)
    with travel(M(2026, 11, 6)):
        comparison.item_confirm(actor=street_officer, item=item, note="已核实")
        rehab_cases.case_discharge(actor=None, case=case, on=M(2026, 10, 20), reason="deceased")
        comparison.item_approve(actor=district_officer, item=Item.objects.get(pk=item.pk))
    case.refresh_from_db()
    assert (case.discharged_on, Item.objects.get(pk=item.pk).status) == (M(2026, 10, 20), ItemStatus.APPROVED)


def test_the_street_sees_the_institution_and_the_evidence_but_nothing_clinical(world, street_officer, login):
    cases, _run = world
    case = Case.objects.get(pk=cases["dead"].pk)
    assert (case.diagnosis, case.diagnosis_code) == ("精神分裂症", "F20")  # on record, never shown here
    item = Item.objects.get(person_id=case.person_id)
    with travel(M(2026, 11, 6)):
        page = login(street_officer).get(f"/matching/items/{item.pk}/").content.decode()
    assert "服务机构" in page and "河西区精神障碍社区康复服务中心" in page
    assert "公安死亡" in page and "2026-10-15" in page
    for clinical in ("精神分裂症", "F20", "监护人甲", f"/rehab/cases/{case.pk}/", "已建档"):
        assert clinical not in page


def test_a_declared_death_also_stops_grants_with_its_own_reason(db, district_officer, street_officer):
    seed_tianjin()
    person = PersonFactory(name="宣亡", community_code=COMMUNITY, n=320)
    CertificateFactory(person=person, digits="41")
    IncomePeriodFactory(person=person)
    grants.grant_migrate(
        actor=None,
        person=person,
        kind="care",
        district=HEXI,
        street=person.street_id,
        start_month=M(2026, 9, 1),
        grade=1,
        category=4,
        bank_name="银行",
        bank_account="6222020000001234567",
    )
    feed(
        "declared_death",
        "法院宣告死亡",
        {"id_number": "身份证号", "event_date": "宣告日期"},
        [f"{person.id_number},2026-10-20"],
    )
    run()
    item = Item.objects.get()
    assert item.rule == "death"
    assert item.explanation.startswith("法院宣告死亡：2026-10-20 宣告死亡，补贴仍在发放")
    with travel(M(2026, 11, 6)):
        comparison.item_confirm(actor=street_officer, item=item, note="已核实判决书")
        comparison.item_approve(actor=district_officer, item=Item.objects.get())
    grant = Grant.objects.get()
    assert grant.status == GrantStatus.STOPPED
    assert grant.changes.get(action="stop").stop_reason == "declared_death"
