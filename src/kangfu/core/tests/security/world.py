"""The small city the security suite attacks, built once per module through the real services.

Every role has one account on "our" side (河西区 大营门街道 九江路社区, the 西青 rehab centre, the
安定 hospital, the 武清 rental centre). "Their" side holds one record of every kind the forged
requests aim at: a person, an application, a grant, a payroll, a comparison item and a feed preview
in 东丽区 华明街道; a 精康 case of the 北辰 centre; a unit and a rental of the 河东 rental centre; a
go-live job and a 精康 roster of 东丽区.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from dataclasses import dataclass, field

import time_machine
from django.apps import apps
from django.db import connection, models

from kangfu.core.models import OrganisationKind, Region, Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory

M = dt.date
TIANJIN = "120100000000"
HEXI = "120103000000"
DAYINGMEN = "120103001000"
JIUJIANGLU = "120103001001"
DONGLI = "120110000000"
HUAMING = "120110006000"
HUAMING_1 = "120110006001"
HUAMING_2 = "120110006002"
XIQING = "120111000000"
XIQING_COMMUNITY = "120111001001"
BEICHEN = "120113000000"
BEICHEN_COMMUNITY = "120113001003"
WUQING = "120114000000"
YANGCUN = "120114001000"
WUQING_COMMUNITY = "120114001007"  # 杨村街道 文华巷社区
HEDONG = "120102000000"
HEDONG_STREET = "120102001000"
HEDONG_COMMUNITY = "120102001001"

ROLES = (
    Role.CITY_ADMIN,
    Role.DISTRICT_ADMIN,
    Role.STREET_OFFICER,
    Role.COMMUNITY_WORKER,
    Role.REHAB_WORKER,
    Role.PSYCHIATRIST,
    Role.DEVICE_CLERK,
    Role.DPF_REVIEWER,
    Role.AUDITOR,
)


def travel(day: dt.date):
    return time_machine.travel(dt.datetime(day.year, day.month, day.day, 10, tzinfo=dt.UTC), tick=False)


@dataclass
class World:
    users: dict[str, object]  # by role, the attacker; plus named helpers ("dongli", "beichen", …)
    tokens: dict[str, str]  # by role: the attacker's own API bearer token
    ours: dict[str, object] = field(default_factory=dict)
    theirs: dict[str, object] = field(default_factory=dict)

    def pk(self, key: str) -> int:
        return self.theirs[key].pk


def _user(username: str, role: str, jurisdiction: str, *, kind=OrganisationKind.CIVIL_AFFAIRS, org=None):
    org = org or OrganisationFactory(name=f"{username}的单位", kind=kind, region_id=jurisdiction)
    return UserFactory(username=username, role=role, jurisdiction_id=jurisdiction, organisation=org)


def _rehab(world: World) -> None:
    from kangfu.rehab.tests import factories as rehab

    xiqing = rehab.institution()
    beichen = rehab.institution("北辰区精神障碍社区康复服务中心", BEICHEN)
    anding = rehab.hospital()
    world.users[Role.REHAB_WORKER] = rehab.worker(xiqing, "sec_rehab")
    world.users[Role.PSYCHIATRIST] = rehab.worker(
        anding, "sec_doctor", role=Role.PSYCHIATRIST, jurisdiction=TIANJIN
    )
    beichen_admin = rehab.district_admin("sec_beichen_admin", BEICHEN)
    beichen_worker = rehab.worker(beichen, "sec_beichen_rehab", jurisdiction=BEICHEN)
    world.users["beichen_worker"] = beichen_worker
    person = rehab.patient(name="北辰康复对象", community_code=BEICHEN_COMMUNITY, county="120113")
    world.theirs["case"] = rehab.enrolled_case(
        admin=beichen_admin,
        rehab_worker=beichen_worker,
        institution_org=beichen,
        person=person,
        on=M(2026, 11, 2),
    )
    world.theirs["rehab_application"] = world.theirs["case"].application
    world.theirs["rehab_person"] = person
    world.theirs["institution"] = beichen


def _subsidies(world: World) -> None:
    from kangfu.matching import comparison, services
    from kangfu.matching.models import Item
    from kangfu.subsidies.models import Application, Grant
    from kangfu.subsidies.seed import seed_tianjin
    from kangfu.subsidies.services import grants, payroll
    from kangfu.subsidies.tests.factories import submit

    seed_tianjin()
    dongli = world.users["dongli"]
    district = Region.objects.get(code=DONGLI)
    # Their recipient (paid, then reported dead: a comparison item) and their applicant.
    dead = PersonFactory(name="华明故人", community_code=HUAMING_1, county="120110")
    CertificateFactory(person=dead, digits="41")
    IncomePeriodFactory(person=dead)
    grants.grant_migrate(
        actor=None,
        person=dead,
        kind="care",
        district=DONGLI,
        street=HUAMING,
        start_month=M(2026, 9, 1),
        grade=1,
        category=4,
        bank_name="银行",
        bank_account="6222020000001234567",
    )
    for month in (M(2026, 9, 1), M(2026, 10, 1)):
        with travel(month.replace(day=25)):
            locked = payroll.payroll_lock(
                actor=None, payroll=payroll.payroll_run(actor=None, district=district, month=month)
            )
    world.theirs["payroll"] = locked
    with travel(M(2026, 11, 25)):
        world.theirs["open_payroll"] = payroll.payroll_run(
            actor=None, district=district, month=M(2026, 11, 1)
        )
    world.theirs["grant"] = Grant.objects.get(person=dead)
    world.theirs["grant_person"] = dead
    source = services.feed_source_save(
        actor=None, name="公安死亡", kind="death", mapping={"id_number": "身份证号", "event_date": "死亡日期"}
    )
    raw = f"身份证号,死亡日期\n{dead.id_number},2026-09-15\n".encode()
    world.theirs["feed"] = services.feed_confirm(
        actor=None,
        feed=services.feed_preview(
            actor=None, source=source, raw=raw, file_name="d.csv", period=M(2026, 11, 1)
        ),
    )
    with travel(M(2026, 11, 3)):
        world.theirs["run"] = comparison.run_execute(
            comparison.run_start(actor=None, district=district, period=M(2026, 11, 1))
        )
    world.theirs["item"] = Item.objects.get(person=dead)
    # A preview 东丽区 uploaded and has not confirmed: its business alone.
    raw = f"身份证号,死亡日期\n{dead.id_number},2026-09-16\n".encode()
    world.theirs["preview"] = services.feed_preview(
        actor=dongli, source=source, raw=raw, file_name="东丽死亡.csv", period=M(2026, 12, 1)
    )
    applicant = PersonFactory(name="华明申请人", community_code=HUAMING_2, county="120110")
    CertificateFactory(person=applicant, digits="42")
    IncomePeriodFactory(person=applicant)
    world.theirs["person"] = applicant
    with travel(M(2026, 11, 10)):
        world.theirs["application"] = submit(applicant)
    world.theirs["application"] = Application.objects.get(pk=world.theirs["application"].pk)
    # Ours: an applicant of 九江路社区 waiting at the community step.
    mine = PersonFactory(name="九江路申请人", community_code=JIUJIANGLU)
    CertificateFactory(person=mine, digits="42")
    IncomePeriodFactory(person=mine)
    world.ours["person"] = mine
    with travel(M(2026, 11, 10)):
        world.ours["application"] = submit(mine)


def _devices(world: World) -> None:
    from kangfu.devices.services import rentals
    from kangfu.devices.tests.factories import CentreFactory, ProductFactory, UnitFactory

    wuqing = CentreFactory()
    world.users[Role.DEVICE_CLERK] = _user("sec_clerk", Role.DEVICE_CLERK, WUQING, org=wuqing)
    world.ours["product"] = ProductFactory(centre=wuqing, needs_fitting=False)
    world.ours["unit"] = UnitFactory(product=world.ours["product"])
    world.ours["renter"] = PersonFactory(name="武清租户", community_code=WUQING_COMMUNITY, county="120114")
    hedong = CentreFactory(name="河东区康复辅助器具租赁服务中心", region_id=HEDONG_STREET)
    hedong_clerk = _user("sec_hedong_clerk", Role.DEVICE_CLERK, HEDONG, org=hedong)
    product = ProductFactory(centre=hedong, needs_fitting=False, name="河东轮椅")
    world.theirs["product"] = product
    world.theirs["unit"] = UnitFactory(product=product)
    world.theirs["free_unit"] = UnitFactory(product=product)
    renter = PersonFactory(name="河东租户", community_code=HEDONG_COMMUNITY, county="120102")
    world.theirs["renter"] = renter
    with travel(M(2026, 11, 20)):
        world.theirs["rental"] = rentals.rental_create(
            actor=hedong_clerk,
            person=renter,
            data=rentals.RentalData(
                unit_id=world.theirs["unit"].pk, start_date=M(2026, 11, 23), end_date=M(2026, 12, 22)
            ),
        )


def _golive(world: World) -> None:
    from kangfu.golive import services as golive
    from kangfu.rehab.models import ApplicationSource
    from kangfu.rehab.services import rosters

    dongli = world.users["dongli"]
    people = "姓名,身份证号,现住社区\n华明新人,{},{}\n".format(
        PersonFactory.build(community_code=HUAMING_1, county="120110").id_number, HUAMING_1
    )
    world.theirs["job"] = golive.job_create(
        actor=dongli, kind="people", file_name="东丽名册.csv", content=people.encode()
    )
    roster = "姓名,身份证号,现住社区,联系电话,诊断\n东丽名单人,{},{},13900000000,精神分裂症\n".format(
        PersonFactory.build(community_code=HUAMING_2, county="120110").id_number, HUAMING_2
    )
    with travel(M(2026, 11, 12)):
        world.theirs["roster"] = rosters.roster_preview(
            actor=dongli,
            district=Region.objects.get(code=DONGLI),
            source=ApplicationSource.HEALTH_LIST,
            file_name="东丽名单.csv",
            raw=roster.encode(),
            received_on=M(2026, 11, 12),
        )


def build() -> World:
    users = {
        Role.CITY_ADMIN: _user("sec_city", Role.CITY_ADMIN, TIANJIN),
        Role.DISTRICT_ADMIN: _user("sec_hexi", Role.DISTRICT_ADMIN, HEXI),
        Role.STREET_OFFICER: _user(
            "sec_dayingmen", Role.STREET_OFFICER, DAYINGMEN, kind=OrganisationKind.STREET_OFFICE
        ),
        Role.COMMUNITY_WORKER: _user(
            "sec_shequ", Role.COMMUNITY_WORKER, JIUJIANGLU, kind=OrganisationKind.COMMUNITY_COMMITTEE
        ),
        Role.DPF_REVIEWER: _user(
            "sec_canlian", Role.DPF_REVIEWER, HEXI, kind=OrganisationKind.DISABLED_FEDERATION
        ),
        Role.AUDITOR: _user("sec_auditor", Role.AUDITOR, TIANJIN),
        "dongli": _user("sec_dongli", Role.DISTRICT_ADMIN, DONGLI),
    }
    world = World(users=users, tokens={})
    _rehab(world)
    _subsidies(world)
    _devices(world)
    _golive(world)
    for role in ROLES:
        world.tokens[role] = api_token_create(actor=None, user=world.users[role], name="安全测试")
    return world


# ------------------------------------------------------------------ the database, before and after

# Rows a forged request may leave without having changed anything: the audit trail (a refusal is
# recorded there on purpose), sessions, sign-in and throttle bookkeeping.
_SKIPPED = {"core.auditentry", "core.publicattempt", "sessions.session"}
# Columns that move on every authenticated request, not because of what it asked.
_VOLATILE = {"core.user": {"last_login"}, "core.apitoken": {"last_used_at"}}
# Shipped reference tables, thousands of rows, which no forged request reaches: counted only, so
# that a snapshot after each of hundreds of requests stays cheap.
_LARGE = {"core.region", "core.calendarday"}


def _models() -> list[type[models.Model]]:
    chosen = []
    for model in apps.get_models():
        label = model._meta.label_lower
        app = model._meta.app_config.name
        if label in _SKIPPED or not (app.startswith("kangfu.") or app == "django.contrib.auth"):
            continue
        if model._meta.proxy or not model._meta.managed:
            continue
        chosen.append(model)
    return chosen


@functools.cache
def _queries() -> tuple[tuple[str, str, tuple], ...]:
    """One SELECT per table, compiled once: a snapshot runs after every forged request."""
    out = []
    for model in _models():
        label = model._meta.label_lower
        if label in _LARGE:
            continue
        volatile = _VOLATILE.get(label, set())
        names = [f.attname for f in model._meta.concrete_fields if f.name not in volatile]
        sql, params = model._base_manager.order_by("pk").values_list(*names).query.sql_with_params()
        out.append((label, sql, params))
    return tuple(out)


def snapshot() -> dict[str, tuple[int, str]]:
    """Every project table (but the audit trail, sessions and throttle rows): its count and a digest
    of all its rows ordered by pk; the shipped reference tables by their count."""
    out = {}
    for label in sorted(_LARGE):
        out[label] = (apps.get_model(label)._base_manager.count(), "")
    with connection.cursor() as cursor:
        for label, sql, params in _queries():
            cursor.execute(sql, params)
            rows = cursor.fetchall()
            out[label] = (len(rows), hashlib.sha256(repr(rows).encode()).hexdigest())
    return out


def changed(before: dict, after: dict) -> list[str]:
    return sorted(label for label in before.keys() | after.keys() if before.get(label) != after.get(label))
