"""The world of the acceptance scenario (test_acceptance_agency_files.py), built once per module:
go-live through `kangfu import`, October's payroll, November's files through `kangfu feed import`,
the comparison, the streets' and the district's decisions on what it raised, and November's payroll.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import time_machine
from django.core.management import call_command

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.golive.models import ImportJob
from kangfu.matching import comparison, services
from kangfu.matching.models import ComparisonRun, FeedImport, Item
from kangfu.matching.tests.agency_files import (
    DAYINGMEN,
    EVERYONE,
    FEEDS,
    FILES,
    HEXI,
    XIAWAFANG,
    people_file,
    recipients_file,
)
from kangfu.people.models import Person
from kangfu.people.services import id_hash
from kangfu.subsidies.models import Payroll
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import payroll as payroll_services

M = dt.date
LIVE = "2026-10"
OCTOBER, NOVEMBER, DECEMBER = M(2026, 10, 1), M(2026, 11, 1), M(2026, 12, 1)


def travel(when: dt.date):
    return time_machine.travel(dt.datetime(when.year, when.month, when.day, 10, tzinfo=dt.UTC), tick=False)


def months(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], first
    while month <= last:
        out.append(month)
        month = M(month.year + month.month // 12, month.month % 12 + 1, 1)
    return out


@dataclass
class World:
    people: dict[str, Person]
    key_of: dict[int, str]
    users: dict[str, object]
    jobs: dict[str, ImportJob]
    feeds: dict[str, FeedImport]
    outputs: dict[str, str]
    run: ComparisonRun
    raised: dict[tuple[str, str], Item]
    october: Payroll
    november: Payroll
    problems: dict[str, str] = field(default_factory=dict)

    def person(self, key: str) -> Person:
        return self.people[key]

    def items_of(self, key: str) -> dict[str, Item]:
        return {rule: item for (k, rule), item in self.raised.items() if k == key}

    def lines(self, key: str, payroll: Payroll | None = None) -> list[tuple[str, dt.date, Decimal, str]]:
        payroll = payroll or self.november
        return sorted(
            (line.kind, line.month_for, line.amount, line.line_type)
            for line in payroll.lines.filter(person=self.people[key])
        )


def _user(username: str, role: str, region: str):
    organisation = OrganisationFactory(name=f"{username}的单位", region_id=region)
    return UserFactory(username=username, role=role, jurisdiction_id=region, organisation=organisation)


def _command(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def _resolve(world: World, key: str, item: Item, when: dt.date) -> None:
    """As the street and the district would: the namesake who is alive is dismissed; everything
    else planted is confirmed by the street of residence and approved by the paying district."""
    street = {DAYINGMEN: world.users["dayingmen"], XIAWAFANG: world.users["xiawafang"]}.get(item.street_id)
    if street is None:
        world.problems[key] = f"item sent to street {item.street_id}"
        return
    try:
        with travel(when):
            if key == "namesake_b":
                comparison.item_dismiss(actor=street, item=item, note="经入户核实本人健在，非同一人")
                return
            comparison.item_confirm(actor=street, item=item, note="已入户核实")
        with travel(when + dt.timedelta(days=1)):
            comparison.item_approve(actor=world.users["hexi"], item=Item.objects.get(pk=item.pk))
    except Exception as exc:
        world.problems[key] = f"{item.rule}: {type(exc).__name__}: {exc}"


def build(tmp: Path, *, planted: Iterable[tuple[str, str]]) -> World:
    """The whole scenario; `planted` are the (person, rule) items the streets and the district act on."""
    planted = set(planted)
    seed_tianjin()
    users = {
        "dayingmen": _user("acc_dayingmen", Role.STREET_OFFICER, DAYINGMEN),
        "xiawafang": _user("acc_xiawafang", Role.STREET_OFFICER, XIAWAFANG),
        "hexi": _user("acc_hexi", Role.DISTRICT_ADMIN, HEXI),
        "hexi_lock": _user("acc_hexi_lock", Role.DISTRICT_ADMIN, HEXI),
    }
    hexi = Region.objects.get(code=HEXI)
    outputs: dict[str, str] = {}
    # Go-live: the registry, then the former system's recipients with the months it paid.
    with travel(M(2026, 9, 28)):
        (tmp / "名册.xlsx").write_bytes(people_file())
        (tmp / "享受对象.csv").write_bytes(recipients_file())
        outputs["people"] = _command("import", "people", str(tmp / "名册.xlsx"), "--confirm")
        outputs["recipients"] = _command(
            "import", "recipients", str(tmp / "享受对象.csv"), "--confirm", "--live-from", LIVE
        )
    jobs = {kind: ImportJob.objects.filter(kind=kind).latest("pk") for kind in ("people", "recipients")}
    people = {}
    for p in EVERYONE:
        people[p.key] = Person.objects.get(id_number_hash=id_hash(p.number))
    key_of = {person.pk: key for key, person in people.items()}
    # October: Kangfu's first payroll, computed by one officer and locked by another.
    with travel(M(2026, 10, 20)):
        october = payroll_services.payroll_run(actor=users["hexi"], district=hexi, month=OCTOBER)
    with travel(M(2026, 10, 21)):
        october = payroll_services.payroll_lock(actor=users["hexi_lock"], payroll=october)
    # November's files, each through `kangfu feed import … --confirm`.
    feeds = {}
    with travel(M(2026, 11, 3)):
        for name, (kind, mapping, file_name, month) in FEEDS.items():
            services.feed_source_save(actor=users["hexi"], name=name, kind=kind, mapping=mapping)
            path = tmp / file_name
            path.write_bytes(FILES[name]())
            outputs[name] = _command("feed", "import", name, str(path), "--month", month, "--confirm")
            feeds[name] = FeedImport.objects.filter(source__name=name).latest("pk")
    with travel(M(2026, 11, 5)):
        run = comparison.run_execute(
            comparison.run_start(actor=users["hexi"], district=hexi, period=NOVEMBER)
        )
    raised = {(key_of.get(i.person_id, f"?{i.person_id}"), i.rule): i for i in Item.objects.filter(run=run)}
    world = World(people, key_of, users, jobs, feeds, outputs, run, raised, october, october)
    for (key, rule), item in raised.items():
        if (key, rule) in planted or key == "namesake_b":
            _resolve(world, key, item, M(2026, 11, 6))
    # November's payroll, after the items were settled.
    with travel(M(2026, 11, 20)):
        november = payroll_services.payroll_run(actor=users["hexi"], district=hexi, month=NOVEMBER)
    with travel(M(2026, 11, 21)):
        world.november = payroll_services.payroll_lock(actor=users["hexi_lock"], payroll=november)
    return world
