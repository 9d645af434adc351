"""Funds, contracts and milestones for the programme's tests, made through the services so that their
ledger and audit rows exist as they would in use; every value a test asserts on is set here or by it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import time_machine

from kangfu.core.models import Region
from kangfu.core.months import add_months
from kangfu.programme.models import Contract, Fund, FundSource, Milestone, Visit
from kangfu.programme.services import contracts, experts, supervision
from kangfu.rehab.models import SCORED_FIELDS
from kangfu.rehab.services import activities, assessments, follow_ups, institutions, satisfaction
from kangfu.rehab.tests import factories as f

CITY = "120100000000"


def fund(
    actor, *, region: str = f.XIQING, amount: str = "500000.00", year: int = 2026, name: str = ""
) -> Fund:
    return contracts.fund_create(
        actor=actor,
        region=Region.objects.get(code=region),
        source=FundSource.WELFARE_LOTTERY,
        year=year,
        name=name or "精康服务福彩公益金",
        amount=Decimal(amount),
    )


def contract(
    actor,
    fund: Fund,
    institution,
    *,
    amount: str = "300000.00",
    service_types=("social", "living"),
    starts_on: dt.date = dt.date(2026, 1, 1),
    ends_on: dt.date = dt.date(2026, 12, 31),
    title: str = "西青区精神障碍社区康复服务项目",
    sites=(),
    **volumes,
) -> Contract:
    values = {"people": 3, "sessions": 4, "people_times": 8, "follow_ups": 4, "staff_trained": 2, **volumes}
    return contracts.contract_create(
        actor=actor,
        data=contracts.ContractData(
            title=title,
            institution=institution,
            fund=fund,
            starts_on=starts_on,
            ends_on=ends_on,
            amount=Decimal(amount),
            service_types=list(service_types),
            sites=list(sites),
            **values,
        ),
    )


def milestone(
    actor, contract: Contract, *, amount: str = "100000.00", name: str = "", **volumes
) -> Milestone:
    return contracts.milestone_add(
        actor=actor,
        contract=contract,
        data=contracts.MilestoneData(name=name or "首期", amount=Decimal(amount), **volumes),
    )


CHECKLIST_ITEMS = [
    ("服务场所", "服务场所与设施", "10", "2"),
    ("服务质量", "个案服务与随访", "20", "1"),
    ("队伍建设", "工作人员培训", "5", "1"),
]


def checklist(actor, *, code: str = "jk-supervision", name: str = "精康服务季度督导检查表", items=None):
    items = items or [
        supervision.ItemData(text, Decimal(high), weight=Decimal(weight), section=section)
        for section, text, high, weight in CHECKLIST_ITEMS
    ]
    return supervision.checklist_create(actor=actor, code=code, name=name, items=items)


def visit(
    actor, institution, version, *, score: str = "5", quarter: int = 4, visited_on=dt.date(2026, 11, 16)
):
    """A quarter's visit with every item scored alike and one finding."""
    return supervision.visit_record(
        actor=actor,
        data=supervision.VisitData(
            institution=institution,
            year=visited_on.year,
            quarter=quarter,
            visited_on=visited_on,
            version=version,
            team="督导组",
            scores={item.pk: Decimal(score) for item in version.items.all()},
            findings=[
                supervision.FindingData("服务档案缺少随访记录", visited_on + dt.timedelta(days=30), "王主任")
            ],
        ),
    )


def shipped_standard(code: str = ""):
    """The shipped assessment standard (or `code`'s), put back first if a flush took it away."""
    from kangfu.programme.models import Standard, StandardItem, StandardVersion
    from kangfu.programme.standards import ASSESSMENT_CODE, ensure_shipped

    ensure_shipped(Standard, StandardVersion, StandardItem)
    return Standard.objects.get(code=code or ASSESSMENT_CODE)


def acceptance(actor, contract: Contract, *, score: str = "10", on: dt.date | None = None):
    """The contract's acceptance on the shipped acceptance standard, every scored item alike."""
    from kangfu.programme.services import standards
    from kangfu.programme.standards import ACCEPTANCE_CODE

    version = shipped_standard(ACCEPTANCE_CODE).versions.get(is_current=True)
    return standards.acceptance_score(
        actor=actor,
        contract=contract,
        data=standards.AcceptanceData(
            version=version,
            accepted_on=on or contract.ends_on,
            team="验收组",
            scores={i.pk: Decimal(score) for i in version.items.filter(indicator="")},
        ),
    )


def expert(
    actor,
    *,
    region: str = CITY,
    name: str = "李明",
    field: str = "psychiatry",
    available=(dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    phone: str = "13812345678",
):
    """An expert of a bank (the city's unless told), available over `available` (None: never)."""
    from kangfu.programme.services import experts

    made = experts.expert_create(
        actor=actor,
        data=experts.ExpertData(
            region=Region.objects.get(code=region),
            name=name,
            field=field,
            level="city",
            organisation="天津市安定医院",
            title="主任医师",
            phone=phone,
        ),
    )
    if available:
        experts.expert_window_add(actor=actor, expert=made, starts_on=available[0], ends_on=available[1])
    return made


def training(actor, trainers, *, held_on=dt.date(2026, 11, 10), hours: str = "6", topic: str = "危机干预"):
    from kangfu.programme.services import experts

    return experts.training_create(
        actor=actor,
        data=experts.TrainingData(
            held_on=held_on, hours=Decimal(hours), topic=topic, trainers=list(trainers)
        ),
    )


# ------------------------------------------------------------------ a year of the programme
# The world of test_year_scenario: a district's 2027, delivered month by month through rehab's services
# with the clock following, and the scenario's own bookkeeping of what it recorded.

YEAR = 2027
FIRST, LAST = dt.date(YEAR, 1, 1), dt.date(YEAR, 12, 31)
TENTH = Decimal("0.1")


def tenth(value) -> Decimal:
    return Decimal(value).quantize(TENTH, rounding=ROUND_HALF_UP)


@contextmanager
def on(day: dt.date) -> Iterator[None]:
    """Today is `day`, 10:00 in Tianjin."""
    with time_machine.travel(dt.datetime.combine(day, dt.time(2), tzinfo=dt.UTC), tick=False):
        yield


@dataclass(frozen=True)
class Plan:
    """What one institution does each month of the year."""

    names: tuple[str, ...]
    enrol_months: range  # one person enrolled on the 6th of each of these months
    group: str  # a group session on the 12th for everyone enrolled so far
    group_family: int  # with the families of the first n of them
    individual: str  # an individual session on the 20th, each person in turn
    extra: tuple[str, range, int, int]  # (type, months, first n patients, family of the first)
    outside: tuple[str, tuple[int, ...], int]  # out of the contract's scope: (type, months, family)
    late_first: tuple[int, ...]  # whose first follow-up comes after its due day
    improves: int  # the first n improve on the SDSS by November
    surveys: tuple[tuple[int, str, int], ...]  # (person, respondent, overall score) in December


PLANS = {
    "A": Plan(
        names=("张伟", "王芳", "李娜", "刘洋", "陈静", "杨帆"),
        enrol_months=range(1, 7),
        group="social",
        group_family=0,
        individual="living",
        extra=("vocational", range(4, 13), 3, 1),
        outside=("family", (3, 6, 9, 12), 2),
        late_first=(),
        improves=4,
        surveys=((0, "user", 5), (1, "user", 4), (2, "user", 5), (3, "user", 4)),
    ),
    "B": Plan(
        names=("赵磊", "孙丽", "周强", "吴敏", "郑浩"),
        enrol_months=range(1, 6),
        group="family",
        group_family=2,
        individual="medication",
        extra=("peer", range(3, 13), 2, 0),
        outside=("social", (2, 4, 6, 8, 10, 12), 0),
        late_first=(0,),
        improves=2,
        surveys=((0, "user", 4), (1, "user", 3), (0, "family", 5)),
    ),
}
SCOPES = {"A": ("social", "living", "vocational"), "B": ("family", "medication", "peer")}


@dataclass
class Book:
    """What the scenario recorded, kept by the scenario itself."""

    enrolled: list[tuple[str, dt.date]] = field(default_factory=list)
    # (institution, day, service type, patients, family)
    sessions: list[tuple[str, dt.date, str, int, int]] = field(default_factory=list)
    follow_ups: list[tuple[str, dt.date, bool]] = field(default_factory=list)  # (institution, day, late)
    trainings: list[tuple[str, str, dt.date, Decimal, bool]] = field(default_factory=list)
    outcomes: dict[str, list[int]] = field(default_factory=dict)  # institution: [improved, compared]
    surveys: list[tuple[str, int]] = field(default_factory=list)  # (institution, overall)

    def delivered(self, key: str, first: dt.date, last: dt.date) -> dict[str, int]:
        """A contract of institution `key` over [first, last]: what its scope delivered."""
        scope = SCOPES[key]
        inside = [s for s in self.sessions if s[0] == key and first <= s[1] <= last and s[2] in scope]
        return {
            "people": sum(1 for k, day in self.enrolled if k == key and first <= day <= last),
            "sessions": len(inside),
            "people_times": sum(patients + family for *_, patients, family in inside),
            "follow_ups": sum(1 for k, day, _ in self.follow_ups if k == key and first <= day <= last),
            "staff_trained": len(
                {n for k, n, day, *_ in self.trainings if k == key and first <= day <= last}
            ),
        }


def month_end(month: int) -> dt.date:
    return add_months(dt.date(YEAR, month, 1), 1) - dt.timedelta(days=1)


# ------------------------------------------------------------------ the world


@dataclass
class Year:
    admin: object
    colleague: object
    city_admin: object
    inst: dict
    site: dict
    worker: dict
    staff: dict
    expert: object
    funds: dict
    contract: dict
    milestones: dict
    book: Book = field(default_factory=Book)
    cases: dict = field(default_factory=lambda: {"A": [], "B": []})
    due: dict = field(default_factory=dict)  # case id: the day its next follow-up is due
    done: int = 0  # months delivered so far

    # -------------------------------------------------------------- a month of delivery

    def through(self, month: int) -> None:
        """Deliver every month up to `month`, each on its own last day."""
        while self.done < month:
            self.done += 1
            with on(month_end(self.done)):
                for key in ("A", "B"):
                    self._month(key, self.done)
                self._trainings(self.done)

    def _month(self, key: str, m: int) -> None:
        plan, worker, inst = PLANS[key], self.worker[key], self.inst[key]
        if m in plan.enrol_months:
            n = len(self.cases[key])
            day = dt.date(YEAR, m, 6)
            case = f.enrolled_case(
                admin=self.admin,
                rehab_worker=worker,
                institution_org=inst,
                person=f.patient(name=plan.names[n]),
                on=day,
            )
            self.cases[key].append(case)
            self.book.enrolled.append((key, day))
            self.due[case.pk] = day + dt.timedelta(days=14)  # enrolment sets the first in two weeks
            self._sdss(key, case, day, 1)
        cases = self.cases[key]
        self._session(key, "group", plan.group, dt.date(YEAR, m, 12), cases, cases[: plan.group_family])
        self._session(key, "individual", plan.individual, dt.date(YEAR, m, 20), [cases[(m - 1) % len(cases)]])
        kind, months, patients, family = plan.extra
        if m in months:
            self._session(key, "group", kind, dt.date(YEAR, m, 22), cases[:patients], cases[:family])
        kind, months, family = plan.outside
        if m in months:
            self._session(key, "group", kind, dt.date(YEAR, m, 25), cases, cases[:family])
        for n, case in enumerate(cases):
            enrolled_in = case.enrolled_on.month
            if (m - enrolled_in) % 3 == 0:
                first = m == enrolled_in
                self._follow_up(key, case, dt.date(YEAR, m, 24 if first and n in plan.late_first else 16))
        if m == 11:
            for n, case in enumerate(cases):
                self._sdss(key, case, dt.date(YEAR, 11, 10), 0 if n < plan.improves else 1)
            self.book.outcomes[key] = [plan.improves, len(cases)]
        if m == 12:
            for n, respondent, overall in plan.surveys:
                satisfaction.survey_record(
                    actor=worker,
                    case=cases[n],
                    data=satisfaction.SurveyData(
                        filled_on=dt.date(YEAR, 12, 5),
                        respondent=respondent,
                        scores=dict.fromkeys(SCORED_FIELDS, overall),
                    ),
                )
                self.book.surveys.append((key, overall))

    def _session(self, key, form, service_type, day, patients, family=()) -> None:
        activities.activity_record(
            actor=self.worker[key],
            data=activities.ActivityData(
                form=form,
                service_type=service_type,
                mode="site",
                title="康复服务",
                held_on=day,
                site=self.site[key],
                patients=[c.pk for c in patients],
                family=[{"case": c.pk, "name": "家属", "relation": "母亲"} for c in family],
            ),
        )
        self.book.sessions.append((key, day, service_type, len(patients), len(family)))

    def _follow_up(self, key: str, case, day: dt.date) -> None:
        follow_ups.follow_up_record(
            actor=self.worker[key],
            case=case,
            data=follow_ups.FollowUpData(
                done_on=day,
                mode="home",
                stability="stable",
                risk_level=0,
                adherence="regular",
                insight="full",
            ),
        )
        self.book.follow_ups.append((key, day, day > self.due[case.pk]))
        # Stable, risk 0: the next one is due in three months (91 days) at the latest.
        self.due[case.pk] = day + dt.timedelta(days=91)

    def _sdss(self, key: str, case, day: dt.date, rating: int) -> None:
        scale = assessments.current_scale("sdss")
        assessments.assessment_submit(
            actor=self.worker[key],
            case=case,
            scale=scale,
            assessed_on=day,
            answers={item["key"]: rating for item in scale.definition["items"]},
        )

    def _trainings(self, m: int) -> None:
        """The institutions' own trainings, and in June one the district holds with an expert: 社工甲
        is trained three times (24 hours) and counts once."""
        own = {
            3: [("A", "社工甲", 8)],
            5: [("A", "康复师丙", 6)],
            9: [("A", "社工甲", 8)],
            10: [("B", "社工丁", 12), ("B", "护士戊", 4)],
        }
        for key, name, hours in own.get(m, []):
            day = dt.date(YEAR, m, 8)
            institutions.training_add(
                actor=self.worker[key],
                staff=self.staff[name],
                held_on=day,
                hours=Decimal(hours),
                topic="服药管理",
            )
            self._trained(key, name, day, hours)
        if m == 6:
            day = dt.date(YEAR, 6, 15)
            training = experts.training_create(
                actor=self.admin,
                data=experts.TrainingData(
                    held_on=day, hours=Decimal(8), topic="危机干预", trainers=[self.expert]
                ),
            )
            attended = [("A", "社工甲"), ("A", "社工乙"), ("B", "社工丁")]
            experts.attendance_record(
                actor=self.admin, training=training, staff_ids=[self.staff[n].pk for _, n in attended]
            )
            for key, name in attended:
                self._trained(key, name, day, 8)

    def _trained(self, key: str, name: str, day: dt.date, hours) -> None:
        self.book.trainings.append((key, name, day, Decimal(hours), self.staff[name].direct_service))

    # -------------------------------------------------------------- supervision

    def supervise_second_quarter(self, checklist) -> dict[str, Visit]:
        """June's visits: both 西青 institutions by the district, 北辰's by the city."""
        version = checklist.versions.get(is_current=True)
        visits = {}
        for key, actor, day, scores, finding in (
            ("A", self.admin, dt.date(YEAR, 6, 10), SCORES["A"], "个案档案缺少随访记录"),
            ("B", self.admin, dt.date(YEAR, 6, 17), SCORES["B"], "家属活动签到不全"),
            ("C", self.city_admin, dt.date(YEAR, 6, 24), SCORES["C"], "消防通道堆放杂物"),
        ):
            with on(day):
                visits[key] = supervision.visit_record(
                    actor=actor,
                    data=supervision.VisitData(
                        institution=self.inst[key],
                        year=YEAR,
                        quarter=2,
                        visited_on=day,
                        version=version,
                        team="区民政局、区卫健委督导组",
                        scores=item_scores(version.items.all(), scores),
                        findings=[
                            supervision.FindingData(finding, day + dt.timedelta(days=30), "机构负责人")
                        ],
                        contract=self.contract.get(key),
                    ),
                )
        return visits


# The checklist's items (CHECKLIST_ITEMS): 服务场所与设施 0–10 ×2, 个案服务与随访 0–20 ×1, 工作人员培训 0–5 ×1.
SCORES = {"A": (8, 15, 4), "B": (10, 12, 3), "C": (6, 14, 5)}
CHECKLIST = ((10, 2), (20, 1), (5, 1))  # (max score, weight)


def item_scores(items, values) -> dict[int, int]:
    """{item id: score} for the items in their order."""
    return dict(zip(items.order_by("seq").values_list("pk", flat=True), values, strict=True))


def weighted(scores) -> Decimal:
    """A visit's score out of 100, worked out from the checklist's items by hand."""
    got = sum(Decimal(s) / high * weight for s, (high, weight) in zip(scores, CHECKLIST, strict=True))
    return tenth(got * 100 / sum(w for _, w in CHECKLIST))


def _year_milestone(admin, contract, name, amount, *, final=False, **volumes) -> Milestone:
    return contracts.milestone_add(
        actor=admin,
        contract=contract,
        data=contracts.MilestoneData(name=name, amount=Decimal(amount), final=final, **volumes),
    )


def year_world(admin, colleague, city_admin) -> Year:
    """The district's world on 4 January 2027 (call it then): institutions, staff, an expert, funds,
    contracts and their milestones; nothing delivered yet."""
    inst = {
        "A": f.institution(),
        "B": f.institution(name="西青区阳光康复驿站"),
        "C": f.institution(name="北辰区精神障碍社区康复服务中心", region=f.BEICHEN),
    }
    site = {
        "A": f.site(inst["A"]),
        "B": f.site(inst["B"], name="张家窝康复站点", region="120111001000"),
    }
    worker = {"A": f.worker(inst["A"]), "B": f.worker(inst["B"], username="rehab.b")}
    staff = {}
    # A site's staff count with its institution; 护士戊 does not serve clients directly.
    for key, org, name, profession, direct in (
        ("A", inst["A"], "社工甲", "social_worker", True),
        ("A", inst["A"], "社工乙", "social_worker", True),
        ("A", site["A"], "康复师丙", "therapist", True),
        ("B", inst["B"], "社工丁", "social_worker", True),
        ("B", site["B"], "护士戊", "nurse", False),
        ("B", inst["B"], "社工己", "social_worker", True),
    ):
        staff[name] = institutions.staff_save(
            actor=worker[key],
            organisation=org,
            values={"name": name, "profession": profession, "direct_service": direct},
        )
    trainer = expert(admin, region=f.XIQING, available=(FIRST, LAST))
    funds = {
        "lottery": fund(admin, year=YEAR, amount="300000.00", name="精康服务福彩公益金"),
        "budget": contracts.fund_create(
            actor=admin,
            region=Region.objects.get(code=f.XIQING),
            source=FundSource.BUDGET_DISTRICT,
            year=YEAR,
            name="区级财政精康经费",
            amount=Decimal("200000.00"),
        ),
    }
    bought = {
        "A": contract(
            admin,
            funds["lottery"],
            inst["A"],
            amount="236800.50",
            service_types=SCOPES["A"],
            starts_on=FIRST,
            ends_on=LAST,
            title="社交与生活技能、职业康复服务项目",
            sites=[site["A"]],
            people=6,
            sessions=30,
            people_times=100,
            follow_ups=20,
            staff_trained=3,
        ),
        "B": contract(
            admin,
            funds["budget"],
            inst["B"],
            amount="158400.80",
            service_types=SCOPES["B"],
            starts_on=FIRST,
            ends_on=LAST,
            title="家庭支持、服药训练与同伴支持项目",
            sites=[site["B"]],
            people=6,
            sessions=30,
            people_times=120,
            follow_ups=18,
            staff_trained=3,
        ),
    }
    milestones = {
        "A": [
            _year_milestone(admin, bought["A"], "一期", "71040.15", people=3, sessions=6, follow_ups=3),
            _year_milestone(
                admin,
                bought["A"],
                "二期",
                "94720.20",
                people=6,
                sessions=15,
                people_times=36,
                follow_ups=9,
                staff_trained=2,
            ),
            _year_milestone(
                admin,
                bought["A"],
                "尾款",
                "71040.15",
                final=True,
                people=6,
                sessions=30,
                people_times=100,
                follow_ups=20,
                staff_trained=3,
            ),
        ],
        "B": [
            _year_milestone(admin, bought["B"], "一期", "47520.24", people=2, sessions=5, people_times=8),
            _year_milestone(
                admin,
                bought["B"],
                "二期",
                "63360.32",
                people=5,
                sessions=16,
                people_times=45,
                follow_ups=8,
                staff_trained=1,
            ),
            _year_milestone(
                admin,
                bought["B"],
                "尾款",
                "47520.24",
                final=True,
                people=6,
                sessions=30,
                people_times=120,
                follow_ups=18,
                staff_trained=3,
            ),
        ],
    }
    return Year(
        admin=admin,
        colleague=colleague,
        city_admin=city_admin,
        inst=inst,
        site=site,
        worker=worker,
        staff=staff,
        expert=trainer,
        funds=funds,
        contract=bought,
        milestones=milestones,
    )
