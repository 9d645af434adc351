"""Reads of the expert bank and the programme's trainings, scoped to the user.

An administrator draws from the banks of their jurisdiction and from the city's bank above it (a
district uses the city's experts; the city uses every district's). An institution's staff see the
trainings their own staff attended, with the trainers' phones masked: they do not arrange them.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import Count, Q, QuerySet
from django.http import Http404

from kangfu.core import access
from kangfu.core.ids import mask_phone
from kangfu.core.models import RegionLevel, User
from kangfu.programme import selectors
from kangfu.programme.models import Expert, ExpertWindow, ProgrammeTraining, TrainingAttendance
from kangfu.rehab import selectors as rehab_selectors


def _bank_q(user: User, field: str) -> Q:
    """The user's jurisdiction and the city above it."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None:
        return Q(pk__in=[])
    return selectors._jurisdiction_q(user, field) | Q(**{f"{field}_id": region.ancestor(RegionLevel.CITY)})


def experts_for(user: User) -> QuerySet[Expert]:
    """The experts an administrator may draw (active, in reach)."""
    if not selectors.manages(user):
        return Expert.objects.none()
    return Expert.objects.filter(_bank_q(user, "region"), is_active=True).select_related("region")


def expert_list_for(user: User) -> QuerySet[Expert]:
    return experts_for(user).annotate(n_windows=Count("windows")).order_by("region_id", "field", "name")


def expert_get_for_user(*, user: User, pk) -> Expert:
    try:
        return experts_for(user).get(pk=pk)
    except (Expert.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def windows_of(expert: Expert) -> QuerySet[ExpertWindow]:
    return expert.windows.order_by("starts_on")


def available_on(expert_ids: list[int], day: dt.date) -> set[int]:
    """Those of the experts with an availability window covering `day`."""
    return set(
        ExpertWindow.objects.filter(expert_id__in=expert_ids, starts_on__lte=day, ends_on__gte=day)
        .values_list("expert_id", flat=True)
        .distinct()
    )


def shows_phone(user: User) -> bool:
    """Administrators arrange visits and trainings with the experts; nobody else needs their phone."""
    return selectors.manages(user)


def phone_for(user: User, expert: Expert) -> str:
    return expert.phone if shows_phone(user) else mask_phone(expert.phone)


def staff_for(user: User):
    """The staff of the rehab institutions (and their sites) in the administrator's jurisdiction who
    may attend a training: those not yet gone."""
    if not selectors.manages(user):
        return rehab_selectors.staff_of([]).none()
    institutions = selectors.institutions_for(user)
    sites = selectors.sites_for(user)
    return (rehab_selectors.staff_of(institutions) | rehab_selectors.staff_of(sites)).select_related(
        "organisation"
    )


def training_q(user: User) -> Q:
    q = Q(pk__in=[])
    if selectors.manages(user):
        q |= _bank_q(user, "district")
    ids = access.rehab_org_ids(user)
    if ids:
        q |= Q(
            pk__in=TrainingAttendance.objects.filter(
                Q(staff__organisation_id__in=ids) | Q(staff__organisation__parent_id__in=ids)
            ).values("training_id")
        )
    return q


def trainings_for(user: User) -> QuerySet[ProgrammeTraining]:
    return (
        ProgrammeTraining.objects.filter(training_q(user))
        .prefetch_related("trainers")
        .annotate(n_attended=Count("attendance", distinct=True))
    )


def training_get_for_user(*, user: User, pk) -> ProgrammeTraining:
    try:
        return ProgrammeTraining.objects.filter(training_q(user)).select_related("district").get(pk=pk)
    except (ProgrammeTraining.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def attendance_of(user: User, training: ProgrammeTraining) -> QuerySet[TrainingAttendance]:
    """Who attended: all of them for the organisers, their own staff for an institution."""
    rows = training.attendance.select_related("staff", "staff__organisation").order_by(
        "staff__organisation__name", "staff__name"
    )
    if selectors.manages(user):
        return rows
    ids = access.rehab_org_ids(user)
    return rows.filter(Q(staff__organisation_id__in=ids) | Q(staff__organisation__parent_id__in=ids))


def attended_names(training: ProgrammeTraining, staff_ids: list[int]) -> list[str]:
    return list(
        training.attendance.filter(staff_id__in=staff_ids).values_list("staff__name", flat=True).order_by()
    )
