"""Reads of the go-live pages, scoped to the user."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.shortcuts import get_object_or_404

from kangfu.core import access
from kangfu.core.models import LEVEL_DIGITS, Region, RegionLevel, User
from kangfu.golive.kinds import KINDS, Kind
from kangfu.golive.models import ImportJob


def kinds_for(user: User) -> list[type[Kind]]:
    rights = access.policy(user)
    return [k for k in KINDS.values() if getattr(rights, k.ability)]


def jobs_for(user: User) -> QuerySet[ImportJob]:
    """Jobs of the kinds the user may import, uploaded by someone within the user's jurisdiction (a
    job's report names people, so it is scoped like them)."""
    region = user.jurisdiction
    kinds = [k.name for k in kinds_for(user)]
    if region is None or not kinds:
        return ImportJob.objects.none()
    digits = LEVEL_DIGITS[RegionLevel(region.level)]
    within = Q(created_by__jurisdiction__code__startswith=region.code[:digits])
    if region.level <= RegionLevel.CITY:
        within |= Q(created_by__isnull=True)  # imports run by an operator's `kangfu import`
    return ImportJob.objects.filter(within, kind__in=kinds).select_related("created_by")


def region_by_code(code: str) -> Region:
    """The region a reconciliation is asked for, by its exact code, or 404 (whether the user may
    reconcile it is `reconcile.districts_for`'s to say)."""
    return get_object_or_404(Region, code=code)
