"""Deterministic synthetic people for demos and benchmarks.

The same seed, size and region table give the same people: Chinese names drawn by real surname
frequencies, ID numbers whose address code, birth date, sex digit and check character agree with
the person, certificates whose numbers carry the ID, income periods, guardians and life events in
plausible shares. Rows go in with bulk inserts a batch at a time, never one query per person.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.ids import check_character
from kangfu.core.models import LEVEL_DIGITS, AuditAction, Region, RegionLevel, level_of_code
from kangfu.people.models import (
    CertificateStatus,
    DisabilityCertificate,
    Guardian,
    GuardianRelation,
    HukouType,
    IncomePeriod,
    IncomeStatus,
    LifeEvent,
    LifeEventKind,
    Person,
    VitalStatus,
)
from kangfu.people.services import certificate_hash, id_hash, phone_hash

# Most common surnames, most frequent first (they cover most of the population).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪"
    "范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_CHARS = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国淑珍玉凤红梅德文辉力斌宇浩凯鹏飞鑫波宁"
    "海燕俊峰志琳晶丹萍雪颖慧欣婷怡瑶春秋冬松柏林森立新永福寿庆喜祥瑞嘉佳一子晨阳思雨梓涵浩然宏"
)
OTHER_ADDRESS_CODES = (
    "130102",
    "370102",
    "410102",
    "210102",
    "230102",
    "510104",
    "340102",
    "320102",
    "131082",
    "130203",
)
CATEGORY_WEIGHTS = {4: 45, 1: 8, 2: 10, 3: 2, 5: 10, 6: 15, 7: 10}
GRADE_WEIGHTS = {1: 15, 2: 25, 3: 30, 4: 30}
START_OF_RECORDS = dt.date(2012, 1, 1)


@dataclass
class SynthReport:
    people: int = 0
    certificates: int = 0
    guardians: int = 0
    income_periods: int = 0
    life_events: int = 0
    skipped_duplicates: int = 0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Focus:
    """A share of the people placed in one region's subtree, so demo users have a full caseload."""

    code: str
    share: float


def _plus_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _days(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, max(0, (end - start).days)))


class _Maker:
    def __init__(self, seed: int, today: dt.date):
        self.rng = random.Random(seed)
        self.today = today
        weights = [1 / (i + 8) for i in range(len(SURNAMES))]
        self.surname_weights = weights

    def name(self, surname: str | None = None) -> str:
        rng = self.rng
        surname = surname or rng.choices(SURNAMES, weights=self.surname_weights)[0]
        given = "".join(rng.choice(GIVEN_CHARS) for _ in range(1 if rng.random() < 0.3 else 2))
        return surname + given

    def birth_date(self) -> dt.date:
        rng = self.rng
        # Disabled people are older than the population: the weights lean to the over-sixties.
        age = rng.choices(
            [rng.randint(3, 17), rng.randint(18, 44), rng.randint(45, 59), rng.randint(60, 95)],
            weights=[6, 24, 28, 42],
        )[0]
        born_year = self.today.year - age
        return dt.date(born_year, rng.randint(1, 12), rng.randint(1, 28))

    def id_number(self, address: str, born: dt.date, male: bool) -> str:
        seq = self.rng.randint(0, 499) * 2 + (1 if male else 0)
        first17 = f"{address}{born:%Y%m%d}{seq:03d}"
        return first17 + check_character(first17)

    def phone(self) -> str:
        rng = self.rng
        return f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"


def synthesise(
    *,
    people: int,
    seed: int,
    focus: tuple[Focus, ...] = (),
    batch_size: int = 5000,
    progress: Callable[[int], None] | None = None,
) -> SynthReport:
    """Add `people` synthetic people (and their sub-records) to the registry."""
    communities = list(
        Region.objects.filter(level=RegionLevel.COMMUNITY).order_by("code").values_list("code", flat=True)
    )
    if not communities:
        raise ValueError("尚未导入行政区划，请先运行 kangfu regions import。")
    focus_pools = []
    for f in focus:
        prefix = f.code[: LEVEL_DIGITS[level_of_code(f.code)]]
        focus_pools.append(([c for c in communities if c.startswith(prefix)], f.share))
    today = timezone.localdate()
    maker = _Maker(seed, today)
    rng = maker.rng
    report = SynthReport()
    seen: set[str] = set()
    now = timezone.now()
    made = 0
    while made < people:
        size = min(batch_size, people - made)
        persons: list[Person] = []
        extras: list[dict] = []
        while len(persons) < size:
            pick = rng.random()
            pool = communities
            for candidates, share in focus_pools:
                if pick < share and candidates:
                    pool = candidates
                    break
                pick -= share
            community = rng.choice(pool)
            local = rng.random() < 0.9
            address = community[:6] if local else rng.choice(OTHER_ADDRESS_CODES)
            born = maker.birth_date()
            male = rng.random() < 0.53
            number = maker.id_number(address, born, male)
            if number in seen:
                continue
            seen.add(number)
            phone = maker.phone() if rng.random() < 0.85 else ""
            persons.append(
                Person(
                    name=maker.name(),
                    id_number=number,
                    id_number_hash=id_hash(number),
                    birth_date=born,
                    sex="M" if male else "F",
                    phone=phone,
                    phone_hash=phone_hash(phone),
                    community_id=community,
                    street_id=community[:9] + "000",
                    district_id=community[:6] + "000000",
                    city_id=community[:4] + "00000000",
                    address=f"{rng.randint(1, 120)}号{rng.randint(1, 30)}门{rng.randint(101, 1802)}",
                    hukou_region_id=community if local else None,
                    hukou_type=rng.choice([HukouType.URBAN, HukouType.RESIDENT, HukouType.RURAL]),
                    created_at=now,
                    updated_at=now,
                )
            )
            extras.append({"number": number, "born": born, "male": male})
        with transaction.atomic():
            existing = set(
                Person.objects.filter(id_number_hash__in=[p.id_number_hash for p in persons]).values_list(
                    "id_number_hash", flat=True
                )
            )
            keep = [(p, x) for p, x in zip(persons, extras, strict=True) if p.id_number_hash not in existing]
            report.skipped_duplicates += len(persons) - len(keep)
            Person.objects.bulk_create([p for p, _ in keep], batch_size=1000)
            _sub_records(maker, keep, report)
        made += size
        report.people += len(keep)
        if progress:
            progress(made)
    with transaction.atomic():
        audit.record(
            actor=None,
            action=AuditAction.IMPORT,
            object_type="people.person",
            summary=f"生成合成数据：{report.people} 人（种子 {seed}）",
            changes={"people": report.people, "seed": seed},
        )
    return report


def _sub_records(maker: _Maker, batch: list[tuple[Person, dict]], report: SynthReport) -> None:
    rng, today = maker.rng, maker.today
    certs: list[DisabilityCertificate] = []
    guardians: list[Guardian] = []
    periods: list[IncomePeriod] = []
    events: list[LifeEvent] = []
    vital: dict[str, list[int]] = {}
    for person, extra in batch:
        number = extra["number"]
        if rng.random() < 0.85:
            category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
            grade = rng.choices(list(GRADE_WEIGHTS), weights=list(GRADE_WEIGHTS.values()))[0]
            # Certificates last ten years and are renewed, so most on file are current; a few lapsed.
            earliest = START_OF_RECORDS if rng.random() < 0.08 else today - dt.timedelta(days=3600)
            issued = _days(rng, max(earliest, extra["born"]), today - dt.timedelta(days=30))
            if rng.random() < 0.06 and grade < 4:
                old_issued = _days(rng, max(START_OF_RECORDS, extra["born"]), issued)
                old = f"{number}{category}{grade + 1}"
                certs.append(
                    DisabilityCertificate(
                        person=person,
                        number=old,
                        number_hash=certificate_hash(old),
                        category=category,
                        grade=grade + 1,
                        issued_on=old_issued,
                        expires_on=_plus_years(old_issued, 10),
                        status=CertificateStatus.REPLACED,
                        status_changed_on=issued,
                        status_reason="换发新证",
                    )
                )
            cert_no = f"{number}{category}{grade}"
            certs.append(
                DisabilityCertificate(
                    person=person,
                    number=cert_no,
                    number_hash=certificate_hash(cert_no),
                    category=category,
                    grade=grade,
                    issued_on=issued,
                    expires_on=_plus_years(issued, 10),
                )
            )
        roll = rng.random()
        if roll < 0.22:
            status = (
                IncomeStatus.DIBAO
                if roll < 0.15
                else IncomeStatus.DIBAO_EDGE
                if roll < 0.20
                else IncomeStatus.TEKUN
            )
            periods.append(
                IncomePeriod(
                    person=person,
                    status=status,
                    start_date=_days(rng, max(START_OF_RECORDS, extra["born"]), today),
                )
            )
        elif roll < 0.25:
            start = _days(rng, max(START_OF_RECORDS, extra["born"]), today - dt.timedelta(days=400))
            periods.append(
                IncomePeriod(
                    person=person,
                    status=IncomeStatus.DIBAO,
                    start_date=start,
                    end_date=_days(rng, start + dt.timedelta(days=90), today),
                )
            )
        if rng.random() < 0.35:
            age = today.year - extra["born"].year
            relation = (
                GuardianRelation.PARENT
                if age < 30
                else rng.choice([GuardianRelation.SPOUSE, GuardianRelation.CHILD])
            )
            phone = maker.phone()
            guardians.append(
                Guardian(
                    person=person,
                    name=maker.name(person.name[0] if relation == GuardianRelation.PARENT else None),
                    relation=relation,
                    is_guardian=age < 18 or rng.random() < 0.5,
                    is_carer=rng.random() < 0.7,
                    phone=phone,
                )
            )
        roll = rng.random()
        kind = None
        if roll < 0.02:
            kind = LifeEventKind.DEATH
        elif roll < 0.023:
            kind = LifeEventKind.DECLARED_DEATH
        elif roll < 0.026:
            kind = LifeEventKind.MISSING
        elif roll < 0.033:
            kind = LifeEventKind.IMPRISONMENT
        elif roll < 0.043:
            kind = LifeEventKind.MOVE_OUT
        if kind:
            day = _days(rng, today - dt.timedelta(days=700), today - dt.timedelta(days=1))
            events.append(LifeEvent(person=person, kind=kind, occurred_on=day))
            status = {
                LifeEventKind.DEATH: VitalStatus.DECEASED,
                LifeEventKind.DECLARED_DEATH: VitalStatus.DECLARED_DEAD,
                LifeEventKind.MISSING: VitalStatus.MISSING,
                LifeEventKind.IMPRISONMENT: VitalStatus.IMPRISONED,
            }.get(kind)
            if (
                kind == LifeEventKind.IMPRISONMENT
                and rng.random() < 0.3
                and day < today - dt.timedelta(days=60)
            ):
                events.append(
                    LifeEvent(person=person, kind=LifeEventKind.RELEASE, occurred_on=_days(rng, day, today))
                )
                status = None
            if status:
                vital.setdefault(status, []).append(person.pk)
    DisabilityCertificate.objects.bulk_create(certs, batch_size=1000)
    Guardian.objects.bulk_create(guardians, batch_size=1000)
    IncomePeriod.objects.bulk_create(periods, batch_size=1000)
    LifeEvent.objects.bulk_create(events, batch_size=1000)
    for status, pks in vital.items():
        Person.objects.filter(pk__in=pks).update(vital_status=status)
    report.certificates += len(certs)
    report.guardians += len(guardians)
    report.income_periods += len(periods)
    report.life_events += len(events)
