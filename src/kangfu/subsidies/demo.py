"""The demo district (河西区) pays both subsidies: recipients brought over from the system used before,
new applications through the chain, and a year of locked payrolls with bank results, so the worklists,
the payroll pages and the indicators all show something real. Two 生活补贴 were stopped by mistake;
one appeal against such a stop was upheld this month (this month's payroll, which the demo leaves to
be run, back-pays the months withheld) and one waits for the district, past its due date."""

from __future__ import annotations

import datetime as dt
import random

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db.models import Q
from django.utils import timezone

from kangfu.core.demo import DAYINGMEN, HEXI, JIUJIANGLU
from kangfu.core.models import Region, User
from kangfu.core.months import add_months, month_start
from kangfu.people.models import CertificateStatus, DisabilityCertificate, IncomePeriod, Person, VitalStatus
from kangfu.subsidies.models import Grant, Kind, StopReason
from kangfu.subsidies.seed import seed_tianjin
from kangfu.subsidies.services import appeals, applications, facts, grants, payroll

SEED = 4
# A tiny PNG standing in for a scanned certificate.
DEMO_SCAN = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def load(out) -> None:
    seed_tianjin()
    district = Region.objects.filter(code=HEXI).first()
    runner = User.objects.filter(username="hexi.admin").first()
    checker = User.objects.filter(username="hexi.fuhe").first()
    if (
        district is None
        or runner is None
        or checker is None
        or Grant.objects.filter(district=district).exists()
    ):
        return
    out.write("建立河西区两项补贴的享受人员和一年的月度发放 …")
    rng = random.Random(SEED)
    today = timezone.localdate()
    this_month = month_start(today)
    first = add_months(this_month, -12)
    _migrate_existing(district, first, rng)
    shequ = User.objects.get(username="shequ")
    jiedao = User.objects.get(username="dayingmen")
    canlian = _with_county_review(district)
    poor = IncomePeriod.objects.filter(status__in=["dibao", "dibao_edge"], end_date__isnull=True).values(
        "person_id"
    )
    severe = DisabilityCertificate.objects.filter(status=CertificateStatus.VALID, grade__lte=2).values(
        "person_id"
    )
    newcomers = list(
        _eligible(district)
        .filter(community_id=JIUJIANGLU)
        .filter(Q(pk__in=poor) | Q(pk__in=severe))
        .exclude(subsidy_grants__isnull=False)[:32]
    )
    mistaken: list[Grant | None] = []
    upheld = None
    for index, month in enumerate(add_months(first, i) for i in range(12)):
        for person in newcomers[index * 2 : index * 2 + 2]:
            _apply_and_approve(person, month, rng, (shequ, jiedao, canlian, runner))
        if index == 6:
            with _on(month.replace(day=20)):
                _stop_the_dead(district, month, runner)
        if index in (8, 10):
            with _on(month.replace(day=20)):
                mistaken.append(_stop_by_mistake(district, month, runner, skip=len(mistaken)))
        if index == 11 and mistaken[0] is not None:
            with _on(month.replace(day=20)):
                upheld = _lodge(mistaken[0], jiedao, UPHELD_REASON)
        with _on(add_months(month, 0).replace(day=25)):
            run = payroll.payroll_run(actor=runner, district=district, month=month)
            run = payroll.payroll_lock(actor=checker, payroll=run)
            _bank_answers(run, rng, checker)
    if upheld is not None:
        with _on(max(upheld.lodged_on, min(upheld.due_on, today))):
            appeals.appeal_decide(
                actor=runner,
                appeal=upheld,
                upheld=True,
                opinion="经核低保系统，本人低保资格连续有效，停发有误；自停发月份起恢复发放，停发期间各月随下次发放补发。",
            )
    if mistaken[1] is not None:
        _lodge(mistaken[1], jiedao, OPEN_REASON, on=today - dt.timedelta(days=16))
    _review_and_visit(district, today, rng, runner, jiedao)
    # Some applications wait at each step, for the worklists.
    waiting_at = [0, 1, 2, 3]
    for person in newcomers[24:]:
        if not waiting_at:
            break
        # The one waiting at the community was filed at its counter by shequ, so shequ2 accepts it.
        filer = shequ if waiting_at[0] == 0 else None
        if _apply_and_approve(
            person, this_month, rng, (shequ, jiedao, canlian, runner), steps=waiting_at[0], filer=filer
        ):
            waiting_at.pop(0)


def _eligible(district: Region):
    today = timezone.localdate()
    valid = DisabilityCertificate.objects.filter(status=CertificateStatus.VALID).filter(
        Q(expires_on__isnull=True) | Q(expires_on__gte=today)
    )
    return Person.objects.filter(
        district=district,
        vital_status=VitalStatus.NORMAL,
        hukou_region__code__startswith=district.code[:6],
        pk__in=valid.values("person_id"),
    ).order_by("pk")


def _migrate_existing(district: Region, first: dt.date, rng: random.Random) -> None:
    today = timezone.localdate()
    start = add_months(first, -rng.randint(6, 40))
    for person in _eligible(district).exclude(street_id=JIUJIANGLU[:9] + "000"):
        cert = person.certificates.filter(status=CertificateStatus.VALID).first()
        poor = IncomePeriod.objects.filter(
            person=person, status__in=["dibao", "dibao_edge"], end_date__isnull=True
        ).exists()
        kinds = ([Kind.LIVING] if poor else []) + ([Kind.CARE] if cert.grade <= 2 else [])
        for kind in kinds:
            grants.grant_migrate(
                actor=None,
                person=person,
                kind=kind,
                district=district.code,
                street=person.street_id,
                start_month=min(start, month_start(today)),
                grade=cert.grade,
                category=cert.category,
                bank_name=rng.choice(["工商银行", "农业银行", "天津农商银行", "建设银行"]),
                bank_account=f"6222{rng.randint(10**14, 10**15 - 1)}",
                paid_through=add_months(first, -1),
            )


class _on:
    """Run the services as if on a given day: the demo's history is made in the past. The clock is
    moved with time-machine, which `make demo` installs with the development tools."""

    def __init__(self, day: dt.date):
        import time_machine

        # Ten in the morning in the office's time zone, but never later than now: a day of the
        # demo's history that is today must not be stamped with an hour yet to come (loaded early in
        # the morning, 10:00 UTC would be tomorrow's date in UTC and hours ahead in Tianjin).
        office = timezone.make_aware(dt.datetime.combine(day, dt.time(10)))
        self.travel = time_machine.travel(min(office, timezone.now()), tick=False)

    def __enter__(self):
        return self.travel.__enter__()

    def __exit__(self, *exc):
        return self.travel.__exit__(*exc)


def _with_county_review(district: Region) -> User | None:
    """河西 takes the county 残联 review (国发〔2015〕52号's 街道 → 县级残联 → 区民政局), with the
    city's policy otherwise, when its reviewer's account exists."""
    canlian = User.objects.filter(username="hexi.canlian").first()
    if canlian is None:
        return None
    policy = facts.policy_for(district.code)
    if policy.region_id != district.code:
        policy.pk, policy.region_id = None, district.code
    policy.steps = "community,street,county,district"
    policy.save()
    return canlian


def _apply_and_approve(person, month, rng, actors, *, steps=4, filer=None) -> bool:
    """File an application (online, or at the counter by `filer`) and pass it through the first
    `steps` steps; False if none was filed."""
    applied = min(month.replace(day=rng.randint(2, 20)), timezone.localdate())
    wanted = {
        kind: facts.explain(person=person, kind=kind, on=applied, district=person.district_id).ok
        for kind in (Kind.LIVING, Kind.CARE)
    }
    if not any(wanted.values()):
        return False
    with _on(applied):
        try:
            scan = ContentFile(DEMO_SCAN, name="残疾人证.png")
            app = applications.application_submit(
                actor=filer,
                applicant=applications.Applicant(
                    name=person.name,
                    id_number=person.id_number,
                    phone=person.phone or "13900000000",
                    hukou_community=person.community_id,
                ),
                data=applications.ApplicationData(
                    living=person.income_periods.filter(end_date__isnull=True).exists(),
                    care=True,
                    bank_name="天津农商银行",
                    bank_account=f"6222{rng.randint(10**14, 10**15 - 1)}",
                ),
                applied_on=applied,
                documents=[("残疾人证扫描件", scan)],
            )
        except ValidationError:  # e.g. an application already open: the demo leaves them out
            return False
    for actor in [a for a in actors if a is not None][:steps]:
        with _on(min(applied + dt.timedelta(days=rng.randint(1, 6)), timezone.localdate())):
            try:
                app = applications.application_decide(
                    actor=actor, application=app, decision="pass", opinion="材料齐全，同意"
                )
            except (ValidationError, PermissionDenied):  # not eligible after all: it stays where it stopped
                break
    return True


def _stop_the_dead(district: Region, month: dt.date, actor: User) -> None:
    """Two recipients die; the street learns of it late, so the stop is back-dated and the months
    paid since are recovered by the next payroll."""
    from kangfu.people.models import LifeEventKind
    from kangfu.people.services import life_event_record

    died_on = add_months(month, -2).replace(day=9)
    for grant in Grant.objects.filter(district=district, status="active").order_by("pk")[3:5]:
        if grant.person.vital_status == VitalStatus.NORMAL:
            life_event_record(actor=None, person=grant.person, kind=LifeEventKind.DEATH, occurred_on=died_on)
    for grant in Grant.objects.filter(
        district=district, person__vital_status=VitalStatus.DECEASED, status="active"
    ):
        death = grant.person.life_events.filter(kind="death").order_by("-occurred_on").first()
        stop = grants.stop_month_after(death.occurred_on) if death else month
        grants.grant_stop(
            actor=actor, grant=grant, from_month=max(stop, grant.start_month), stop_reason="death"
        )


UPHELD_REASON = "本人低保资格未中断，当月低保名单系漏报，附区民政局出具的低保证明复印件。"
OPEN_REASON = "本人一直享受低保，对停发生活补贴不服，附低保证复印件，请求复核。"


def _stop_by_mistake(district: Region, month: dt.date, actor: User, *, skip: int) -> Grant | None:
    """A 生活补贴 of 大营门街道 stopped from this month as if its recipient had left 低保, though they
    had not: the comparison read a roster that left them out. Recent recipients are taken, so the
    ones the data comparison demo picks (the street's earliest) stay as they are."""
    grant = (
        Grant.objects.filter(
            district=district,
            street_id=DAYINGMEN,
            kind=Kind.LIVING,
            status="active",
            start_month__lte=add_months(month, -1),
        )
        .order_by("-pk")[skip : skip + 1]
        .first()
    )
    if grant is None:
        return None
    return grants.grant_stop(
        actor=actor,
        grant=grant,
        from_month=month,
        stop_reason=StopReason.INCOME,
        reason="数据比对：本月低保名单中未见，停发生活补贴",
    )


def _lodge(grant: Grant, clerk: User, reason: str, *, on: dt.date | None = None):
    return appeals.appeal_lodge(
        actor=clerk, grant=grant, change=appeals.appealable_change(grant), reason=reason, lodged_on=on
    )


def _bank_answers(run, rng: random.Random, actor: User) -> None:
    paid, _owing = payroll.payments(run)
    lines = ["明细编号,金额,结果,原因"]
    for payment in paid:
        failed = rng.random() < 0.01
        lines.append(
            f"{' '.join(map(str, payment.line_ids))},{payment.amount},{'失败' if failed else '成功'},{'账户状态异常' if failed else ''}"
        )
    payroll.bank_result_import(actor=actor, payroll=run, text="\n".join(lines) + "\n")


def _review_and_visit(
    district: Region, today: dt.date, rng: random.Random, runner: User, street_user: User
) -> None:
    """This year's review is under way and half the street's recipients were seen this half-year."""
    from kangfu.subsidies.models import ReviewTask
    from kangfu.subsidies.services import reviews

    campaign = reviews.review_campaign_start(
        actor=runner, district=district, year=today.year, due_date=dt.date(today.year, 12, 31)
    )
    for task in ReviewTask.objects.filter(campaign=campaign, street_id=street_user.jurisdiction_id).order_by(
        "pk"
    ):
        if rng.random() < 0.6:
            reviews.review_task_decide(
                actor=street_user, task=task, outcome="passed", method="比对系统、本人申报"
            )
    start, _end = reviews.half_year(today)
    for grant in Grant.objects.filter(street_id=street_user.jurisdiction_id, status="active").order_by("pk")[
        ::2
    ]:
        try:
            reviews.visit_record(
                actor=street_user,
                person=grant.person,
                visited_on=start + dt.timedelta(days=rng.randint(0, max(0, (today - start).days))),
                mode=rng.choice(["home", "video"]),
                findings="本人健在，生活情况正常",
            )
        except ValidationError:  # a person with two grants is visited once
            continue
