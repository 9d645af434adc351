"""What the service tests share: the frozen day, and one-line ways to make an application, an
assessment, a session, a follow-up, a transfer, and to read the counters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kangfu.rehab.models import (
    Application,
    ApplicationSource,
    Assessment,
    FollowUp,
    MonthlyCount,
    ServiceType,
    Stability,
)
from kangfu.rehab.services import (
    activities,
    applications,
    assessments,
    enrolment,
    follow_ups,
    placements,
    plans,
    transfers,
)

TODAY = dt.date(2026, 11, 23)  # a Monday


NOW = dt.datetime(2026, 11, 23, 2, tzinfo=dt.UTC)  # 10:00 in Tianjin


EARLY = dt.date(2026, 10, 12)  # when the `served` case was enrolled


NOVEMBER = dt.date(2026, 11, 1)


OCTOBER = dt.date(2026, 10, 1)


BEICHEN_COMMUNITY = "120113001003"  # 北辰区 果园新村街道 果园里社区
URGENT = "患者急诊就医，出现冲动伤人行为，需了解既往诊断和用药"  # reason enough to break the glass


def apply(admin, person, *, received_on=TODAY, source=ApplicationSource.SELF) -> Application:
    return applications.application_create(
        actor=admin,
        person=person,
        data=applications.ApplicationData(source=source, received_on=received_on, applicant_name="家属"),
    )


def registered(admin, person, *, on=TODAY) -> Application:
    application = apply(admin, person, received_on=on)
    return applications.application_register(actor=admin, application=application, on=on)


def counts(**filters) -> dict[tuple, int]:
    """(institution, site, month, measure, key) → n, for the counters that are not zero."""
    return {
        (c.institution_id, c.site_id, c.month, c.measure, c.key): c.n
        for c in MonthlyCount.objects.filter(**filters)
        if c.n
    }


def counter(org, measure: str, key: str = "", month: dt.date = NOVEMBER) -> int:
    """An institution's counter, over its sites and what was held at none."""
    rows = MonthlyCount.objects.filter(institution=org, month=month, measure=measure, key=key)
    return sum(r.n for r in rows)


def messages(exc: pytest.ExceptionInfo) -> list[str]:
    return exc.value.messages


def sdss_answers(value: int = 1, **overrides) -> dict:
    definition = assessments.current_scale("sdss").definition
    return {**{item["key"]: value for item in definition["items"]}, **overrides}


def assess(worker, case, answers, *, code="sdss", on=TODAY) -> Assessment:
    return assessments.assessment_submit(
        actor=worker, case=case, scale=assessments.current_scale(code), assessed_on=on, answers=answers
    )


def plan_data(**overrides) -> plans.PlanData:
    values = {
        "starts_on": TODAY,
        "review_on": TODAY + dt.timedelta(days=90),
        "summary": "恢复社会交往",
        "goals": [{"problem": "社会性退缩", "goal": "每周参加一次小组活动"}],
        "services": [{"service_type": ServiceType.SOCIAL, "times": 1, "per": "week", "place": "site"}],
    }
    return plans.PlanData(**{**values, **overrides})


def activity(
    worker, patients, family=(), *, form="group", held_on=TODAY, service_type=ServiceType.SOCIAL, site=None
):
    return activities.activity_record(
        actor=worker,
        data=activities.ActivityData(
            form=form,
            service_type=service_type,
            mode="site",
            title="社交技能小组",
            held_on=held_on,
            site=site,
            patients=list(patients),
            family=list(family),
        ),
    )


def follow(worker, case, *, done_on=TODAY, stability=Stability.STABLE, risk=0, next_on=None) -> FollowUp:
    return follow_ups.follow_up_record(
        actor=worker,
        case=case,
        data=follow_ups.FollowUpData(
            done_on=done_on,
            mode="home",
            stability=stability,
            risk_level=risk,
            adherence="regular",
            insight="full",
            next_on=next_on,
        ),
    )


def send(worker, *, to, kind, case=None, person=None, shared=("registration",), employment_type=""):
    return transfers.transfer_send(
        actor=worker,
        person=person if person is not None else case.person,
        case=case,
        data=transfers.TransferData(
            to_org=to,
            kind=kind,
            reason="病情稳定，需要就近康复",
            shared=list(shared),
            sent_on=TODAY,
            employment_type=employment_type,
        ),
    )


def placement_data(**overrides) -> placements.PlacementData:
    values = {
        "employer": "西青区阳光庇护工场",
        "employment_type": "sheltered",
        "job": "手工包装",
        "starts_on": dt.date(2026, 11, 2),
        "monthly_subsidy": Decimal("300.00"),
    }
    return placements.PlacementData(**{**values, **overrides})


def enrolment_data(**overrides) -> enrolment.EnrolmentData:
    values = {
        "enrolled_on": TODAY,
        "worker": None,
        "rights_explained_on": TODAY,
        "agreement_signed_on": TODAY,
        "agreement_signer": "patient",
    }
    return enrolment.EnrolmentData(**{**values, **overrides})
