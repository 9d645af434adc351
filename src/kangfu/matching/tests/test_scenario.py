"""Planted truths: a run finds every one of them, and nothing else, with the exact money at stake."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine

from kangfu.core.models import Region
from kangfu.matching import comparison, services
from kangfu.matching.models import Confidence, Item
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory
from kangfu.rehab.services import cases as rehab_cases
from kangfu.rehab.tests import factories as rf
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import grants, payroll

pytestmark = pytest.mark.django_db
M = dt.date
HEXI = "120103000000"
COMMUNITY = "120103001001"


def travel(day):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


def recipient(n, *, living=True, care=True, grade=2, name=None, born=None, expires=None):
    person = PersonFactory(
        name=name or f"受助{n}", community_code=COMMUNITY, born=born or M(1960, 1, 1 + n % 28), n=n
    )
    CertificateFactory(
        person=person, digits=f"4{grade}", issued_on=M(2020, 1, 1), expires_on=expires or M(2030, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=M(2019, 1, 1))
    for kind, wanted in (("living", living), ("care", care)):
        if wanted:
            grants.grant_migrate(
                actor=None,
                person=person,
                kind=kind,
                district=HEXI,
                street=person.street_id,
                start_month=M(2026, 6, 1),
                grade=grade,
                category=4,
                bank_name="银行",
                bank_account="6222020000001234567",
            )
    return person


def feed(kind, name, mapping, lines):
    source = services.feed_source_save(actor=None, name=name, kind=kind, mapping=mapping)
    header = ",".join(mapping.values())
    raw = (header + "\n" + "\n".join(lines) + "\n").encode()
    services.feed_confirm(
        actor=None,
        feed=services.feed_preview(
            actor=None, source=source, raw=raw, file_name=f"{kind}.csv", period=M(2026, 11, 1)
        ),
    )


@pytest.fixture
def world(db):
    seed_tianjin()
    people = {
        "dead": recipient(1),
        "prison": recipient(2),
        "moved": recipient(3),
        "cancelled": recipient(4, living=False),
        "regraded": recipient(5),
        "expired": recipient(6, expires=M(2026, 7, 31)),
        "off_dibao": recipient(7, care=False, grade=3),
        "overlap": recipient(8, living=False),
        "name_only": recipient(9, name="欧阳独一", born=M(1955, 5, 5)),
    }
    quiet = [recipient(20 + i) for i in range(25)]
    new_cert = PersonFactory(name="新持证", community_code=COMMUNITY, n=60)
    poor = PersonFactory(name="低保未领", community_code=COMMUNITY, n=61)
    CertificateFactory(person=poor, digits="43")
    people.update(new_cert=new_cert, poor=poor)
    # 精康: clients still served who died or moved out of the institution's district; one who moved
    # within it and one whose case is closed are nothing.
    institution = rf.institution(name="河西区精神障碍社区康复服务中心", region=HEXI)
    staff = rf.worker(institution, username="hexi.rehab", jurisdiction=HEXI)
    admin = rf.district_admin("hexi.rehab.admin", district=HEXI)

    def served(person):
        return rf.enrolled_case(
            admin=admin, rehab_worker=staff, institution_org=institution, person=person, on=M(2026, 6, 1)
        )

    rehab = {
        "served_dead": PersonFactory(name="康复亡", community_code=COMMUNITY, n=62),
        "discharged": PersonFactory(name="已结案", community_code=COMMUNITY, n=63),
    }
    cases = {key: served(p) for key, p in [*rehab.items(), ("moved", people["moved"]), ("quiet", quiet[0])]}
    rehab_cases.case_discharge(actor=staff, case=cases["discharged"], on=M(2026, 9, 1), reason="recovered")
    district = Region.objects.get(code=HEXI)
    for month in (M(2026, 6, 1), M(2026, 7, 1), M(2026, 8, 1), M(2026, 9, 1), M(2026, 10, 1)):
        with travel(month.replace(day=25)):
            payroll.payroll_lock(
                actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=month)
            )
    ids = {k: p.id_number for k, p in people.items()}
    feed(
        "death",
        "公安死亡",
        {"id_number": "身份证号", "name": "姓名", "birth_date": "出生日期", "event_date": "死亡日期"},
        [
            f"{ids['dead']},受助1,,2026-08-15",
            ",欧阳独一,1955-05-05,2026-09-02",
            f"{rehab['served_dead'].id_number},康复亡,,2026-09-10",
            f"{rehab['discharged'].id_number},已结案,,2026-10-01",
        ],
    )
    feed(
        "prison",
        "司法服刑",
        {"id_number": "身份证号", "event_date": "判决生效日期"},
        [f"{ids['prison']},2026-09-20"],
    )
    feed(
        "move",
        "公安迁移",
        {"id_number": "身份证号", "event_date": "迁出日期", "region": "迁入地"},
        [f"{ids['moved']},2026-10-05,130102", f"{quiet[0].id_number},2026-10-05,120103002001"],
    )
    feed(
        "cert_cancel",
        "残联注销",
        {"id_number": "身份证号", "event_date": "注销日期"},
        [f"{ids['cancelled']},2026-08-31"],
    )
    feed(
        "cert_change",
        "残联变更",
        {"id_number": "身份证号", "category": "类别", "grade": "等级", "event_date": "变更日期"},
        [f"{ids['regraded']},4,3,2026-09-10"],
    )
    feed(
        "cert_new",
        "残联新证",
        {"id_number": "身份证号", "category": "类别", "grade": "等级"},
        [f"{ids['new_cert']},6,1"],
    )
    # Those without a 生活补贴 by design (care only) stay off the roster, or they would be 应享未享.
    roster = [p.id_number for k, p in people.items() if k not in ("off_dibao", "cancelled", "overlap")] + [
        q.id_number for q in quiet
    ]
    feed("dibao", "低保名单", {"id_number": "身份证号"}, roster)
    feed(
        "elderly_care",
        "老年人护理补贴",
        {"id_number": "身份证号", "event_date": "享受起始年月", "amount": "月金额"},
        [f"{ids['overlap']},2026-09,300"],
    )
    with travel(M(2026, 11, 5)):
        run = comparison.run_execute(
            comparison.run_start(actor=None, district=district, period=M(2026, 11, 1))
        )
    people.update(rehab, cases=cases)
    return people, run


def test_every_planted_item_is_found_and_nothing_else(world):
    people, run = world
    found = {(item.person_id, item.rule): item for item in Item.objects.filter(run=run)}
    expected = {
        (people["dead"].pk, "death"): Decimal("1000.00"),  # Sept and Oct, 300 + 200
        (people["name_only"].pk, "death"): Decimal("500.00"),  # Oct
        (people["prison"].pk, "prison"): Decimal("500.00"),  # Oct
        (people["moved"].pk, "moved_out"): Decimal("0.00"),  # stops from Nov, nothing paid yet
        (people["cancelled"].pk, "cert_cancelled"): Decimal("400.00"),  # care 200 for Sept and Oct
        # (care 200 stopped, living 300 → 160) × Oct; November, the month compared, not paid yet
        (people["regraded"].pk, "grade_changed"): Decimal("340.00"),
        (people["expired"].pk, "cert_expired"): Decimal("0.00"),  # the payroll held it from August
        (people["off_dibao"].pk, "left_dibao"): Decimal("0.00"),
        (people["overlap"].pk, "overlap"): Decimal("200.00"),  # 300 a month is higher: care for Oct
        (people["new_cert"].pk, "entitled"): Decimal("200.00"),
        (people["poor"].pk, "entitled"): Decimal("160.00"),
        (people["served_dead"].pk, "rehab_ended"): Decimal("0.00"),  # no money: the case is to close
        (people["moved"].pk, "rehab_ended"): Decimal("0.00"),  # beside the grant's moved_out item
    }
    assert set(found) == set(expected)
    for key, amount in expected.items():
        assert found[key].amount_at_stake == amount, (key, found[key].explanation)
    assert found[(people["name_only"].pk, "death")].confidence == Confidence.LOW
    cases = people["cases"]
    assert {(i.person_id, i.case_id) for i in found.values() if i.case_id} == {
        (people["served_dead"].pk, cases["served_dead"].pk),
        (people["moved"].pk, cases["moved"].pk),
    }
    assert all(i.grant_id is None for i in found.values() if i.rule == "rehab_ended")


def test_a_rerun_raises_nothing_twice(world):
    _people, run = world
    before = Item.objects.count()
    assert sum(run.found.values()) == before  # the first run reports, rule by rule, what it raised
    with travel(M(2026, 11, 6)):
        again = comparison.run_execute(
            comparison.run_start(actor=None, district=run.district, period=M(2026, 11, 1))
        )
    assert Item.objects.count() == before
    assert again.status == "done" and not any(again.found.values())  # nothing new to report


def test_each_item_says_why_in_chinese_with_its_dates_and_money(world):
    """The rules spell their explanations in SQL, dates and money included, the same on SQLite and
    PostgreSQL; the street reads them, and the effective month is where the grant will stop."""
    people, run = world
    found = {(item.person_id, item.rule): item for item in Item.objects.filter(run=run)}

    def said(key, rule):
        return found[(people[key].pk, rule)].explanation

    assert (
        said("dead", "death")
        == "公安死亡：2026-08-15 死亡，补贴仍在发放；应自 2026年09月 起停发，已多发 1000.00 元"
    )
    assert (
        said("prison", "prison")
        == "司法服刑：2026-09-20 判决生效服刑，补贴仍在发放；应自 2026年10月 起停发，已多发 500.00 元"
    )
    assert (
        said("moved", "moved_out")
        == "公安迁移：2026-10-05 户籍迁出本市，补贴仍在发放；应自 2026年11月 起停发"
    )
    assert said("cancelled", "cert_cancelled").startswith("残联：2026-08-31 残疾人证注销，")
    assert said("regraded", "grade_changed") == (
        "残联：残疾等级由2级变为3级（2026-09-10），自 2026年10月 起重度残疾人护理补贴每月 200.00 元应停发；"
        "困难残疾人生活补贴每月 300.00 元应为 160.00 元"
    )
    assert said("expired", "cert_expired") == "残疾人证已于 2026-07-31 到期未换发；应自 2026年08月 起停发"
    assert said("off_dibao", "left_dibao") == "2026年11月低保名单中没有此人，生活补贴应自本月起停发"
    assert said("overlap", "overlap") == (
        "老年人护理补贴：2026年09月起每月 300.00 元，高于重度残疾人护理补贴每月 200.00 元，"
        "择高不再发放重度残疾人护理补贴；应自 2026年10月 起停发，已多发 200.00 元"
    )
    assert (
        said("new_cert", "entitled") == "新办或变更为1级残疾人证，未享受重度残疾人护理补贴（每月 200.00 元）"
    )
    assert (
        said("poor", "entitled") == "在低保名单中且持有效残疾人证，未享受困难残疾人生活补贴（每月 160.00 元）"
    )
    months = {key: found[key].effective_month for key in found}
    assert months[(people["dead"].pk, "death")] == M(2026, 9, 1)
    assert months[(people["regraded"].pk, "grade_changed")] == M(2026, 10, 1)
    assert months[(people["expired"].pk, "cert_expired")] == M(2026, 8, 1)
    assert months[(people["moved"].pk, "moved_out")] == M(2026, 11, 1)
    dead = found[(people["dead"].pk, "death")]
    assert dead.street_id == people["dead"].street_id and dead.grant_id is not None
    assert dead.feed_row.event_date == M(2026, 8, 15)
