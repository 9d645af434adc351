"""A comparison runs with whatever feeds came in for the month.

Each rule reads the feeds of a few kinds and nothing else, so a run over every combination of the kinds
one rule reads, each kind alone, all of them and none covers what running every subset of the kinds
would (2^18 runs). Which kinds a rule reads is found by watching it ask, so a new rule is covered
without touching this test.
"""

import datetime as dt
import itertools
from unittest import mock

import pytest
from django.db import transaction
from django.utils import timezone

from kangfu.core.models import Region
from kangfu.matching import comparison, rules, services
from kangfu.matching.models import FeedImport, FeedKind, ImportStatus, Item, source_kinds
from kangfu.matching.tests.test_scenario import COMMUNITY, HEXI, recipient, travel
from kangfu.people.tests.factories import CertificateFactory, PersonFactory
from kangfu.rehab.tests import factories as rf
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import payroll

pytestmark = pytest.mark.django_db
M = dt.date
MONTH = M(2026, 11, 1)
EVERY_FIELD = {
    "id_number": "身份证号",
    "name": "姓名",
    "birth_date": "出生日期",
    "event_date": "日期",
    "end_date": "终止日期",
    "region": "区划",
    "category": "残疾类别",
    "grade": "残疾等级",
    "amount": "月金额",
    "institution": "机构",
}


@pytest.fixture
def world(db):
    """A few recipients, each named by a feed of some kind, and one confirmed feed of every kind."""
    seed_tianjin()
    people = {
        key: recipient(n, **options)
        for n, (key, options) in enumerate(
            [
                ("dead", {}),
                ("moved", {}),
                ("regraded", {}),
                ("expired", {"expires": M(2026, 7, 31)}),
                ("poor", {"care": False, "grade": 3}),
                ("allowance", {"living": False}),
            ],
            start=1,
        )
    }
    people["new"] = PersonFactory(name="新持证", community_code=COMMUNITY, n=40)
    people["unpaid"] = PersonFactory(name="低保未领", community_code=COMMUNITY, n=41)
    CertificateFactory(person=people["unpaid"], digits="43")
    institution = rf.institution(name="河西区精神障碍社区康复服务中心", region=HEXI)
    staff = rf.worker(institution, username="hexi.rehab", jurisdiction=HEXI)
    admin = rf.district_admin("hexi.rehab.admin", district=HEXI)
    for key in ("dead", "moved"):
        rf.enrolled_case(
            admin=admin, rehab_worker=staff, institution_org=institution, person=people[key], on=M(2026, 6, 1)
        )
    district = Region.objects.get(code=HEXI)
    for month in (M(2026, 9, 1), M(2026, 10, 1)):
        with travel(month.replace(day=25)):
            payroll.payroll_lock(
                actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=month)
            )

    def line(key, *, event="2026-09-15", region="", category="肢体", grade="三级", business=""):
        p = people[key]
        cells = [p.id_number, p.name, "", event, "", region, category, grade, "300", "某机构"]
        return ",".join([*cells, business] if business else cells)

    everyone = list(people)
    lines = {
        FeedKind.DEATH: [line("dead")],
        FeedKind.DECLARED_DEATH: [line("dead")],
        FeedKind.DECLARED_MISSING: [line("regraded")],
        FeedKind.CREMATION: [line("dead")],
        FeedKind.PRISON: [line("regraded")],
        FeedKind.RELEASE: [line("regraded")],
        FeedKind.MOVE: [line("moved", region="130102")],
        FeedKind.CERT_NEW: [line("new", grade="一级")],
        FeedKind.CERT_CANCEL: [line("allowance")],
        FeedKind.CERT_CHANGE: [line("regraded", category="")],
        FeedKind.CERT_RENEW: [line("expired")],
        FeedKind.CERT_TRANSFER: [line("moved", region="120110006001")],
        FeedKind.CERT_MIXED: [
            line("new", grade="1", business="新办"),
            line("allowance", business="注销"),
            line("regraded", category="", business="等级变更"),
            line("expired", business="换领"),
            line("moved", region="120110006001", business="迁移"),
        ],
        FeedKind.DIBAO: [line(k) for k in everyone if k != "poor"],
        FeedKind.DIBAO_EDGE: [line("unpaid")],
        FeedKind.TEKUN: [line("dead")],
        FeedKind.ELDERLY_CARE: [line("allowance", event="2024-10")],
        FeedKind.WORK_INJURY: [line("allowance", event="202112")],
        FeedKind.CARE_HOME: [line("dead")],
    }
    assert set(lines) == set(FeedKind.values)
    for kind, rows in lines.items():
        mapping = dict(EVERY_FIELD)
        if kind == FeedKind.CERT_MIXED:
            mapping["business"] = "业务类型"
        source = services.feed_source_save(actor=None, name=f"来源-{kind}", kind=kind, mapping=mapping)
        raw = ",".join(mapping.values()) + "\n" + "\n".join(rows) + "\n"
        feed = services.feed_preview(
            actor=None, source=source, raw=raw.encode(), file_name=f"{kind}.csv", period=MONTH
        )
        assert feed.errors == [], (kind, feed.errors)
        services.feed_confirm(actor=None, feed=feed)
    return district


def kinds_each_rule_reads(district) -> list[set[str]]:
    """The source kinds each rule asks for, watched while it runs over the month."""
    read: list[set[str]] = []
    feeds = rules.Context.feeds

    def watched(self, *kinds):
        read[-1].update(source_kinds(kinds))
        return feeds(self, *kinds)

    ctx = rules.Context(district=district.code, period=MONTH)
    with mock.patch.object(rules.Context, "feeds", watched):
        for _code, _name, _direction, rule, _reason in rules.RULES:
            read.append(set())
            rule(ctx)
    return read


def combinations(district) -> set[frozenset[str]]:
    every = frozenset(FeedKind.values)
    found = {frozenset(), every, *(frozenset([kind]) for kind in every)}
    for kinds in kinds_each_rule_reads(district):
        for size in range(len(kinds) + 1):
            found.update(frozenset(c) for c in itertools.combinations(sorted(kinds), size))
    return found


def run_with(district, kinds: frozenset[str]) -> str:
    """Run the month's comparison with only the feeds of these kinds confirmed."""
    FeedImport.objects.update(status=ImportStatus.PREVIEW)
    FeedImport.objects.filter(source__kind__in=kinds).update(
        status=ImportStatus.CONFIRMED, confirmed_at=timezone.now()
    )
    Item.objects.all().delete()  # so that every run writes what it finds
    try:
        with transaction.atomic():  # on PostgreSQL a failed statement must not spoil the next run
            return comparison.run_execute(
                comparison.run_start(actor=None, district=district, period=MONTH)
            ).status
    except Exception as exc:
        while exc.__context__ is not None:  # the statement that failed, not what failed after it
            exc = exc.__context__
        return f"{type(exc).__name__}: {exc}"


def test_watching_the_rules_finds_the_kinds_they_read_together(world):
    read = kinds_each_rule_reads(world)
    assert len(read) == len(rules.RULES)
    # 主动发现 reads the certificate feeds and the 低保 rosters together (where the run once failed)
    assert any({"cert_new", "cert_change", "cert_mixed", "dibao", "dibao_edge"} <= kinds for kinds in read)


def test_a_comparison_runs_to_the_end_with_any_set_of_feeds(world):
    with travel(M(2026, 11, 5)):
        failed = {
            ", ".join(sorted(kinds)) or "（无）": status
            for kinds in sorted(combinations(world), key=lambda k: (len(k), sorted(k)))
            if (status := run_with(world, kinds)) != "done"
        }
    assert failed == {}


def test_a_run_with_every_feed_finds_what_each_feed_says(world):
    with travel(M(2026, 11, 5)):
        assert run_with(world, frozenset(FeedKind.values)) == "done"
    found = set(Item.objects.values_list("person__name", "rule"))
    assert {
        ("受助1", "death"),
        ("受助1", "rehab_ended"),
        ("受助2", "moved_out"),
        ("受助2", "rehab_ended"),
        ("受助3", "grade_changed"),
        ("受助3", "prison"),
        ("受助5", "left_dibao"),
        ("受助6", "cert_cancelled"),
        ("受助6", "overlap"),
        ("新持证", "entitled"),
        ("低保未领", "entitled"),
    } <= found
    assert ("受助4", "cert_expired") not in found  # 换领 this month
