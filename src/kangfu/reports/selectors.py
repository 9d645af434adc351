"""Aggregates over the registry, scoped like every other read."""

from __future__ import annotations

from django.db.models import Count

from kangfu.core import access
from kangfu.core.models import Region, RegionLevel, User
from kangfu.people.models import CertificateStatus, DisabilityCategory, DisabilityCertificate, Person

_CHILD_FIELD = {
    RegionLevel.PROVINCE: "city_id",
    RegionLevel.CITY: "district_id",
    RegionLevel.DISTRICT: "street_id",
    RegionLevel.STREET: "community_id",
    RegionLevel.COMMUNITY: "community_id",
}


def people_by_subregion(*, user: User) -> list[tuple[str, int]]:
    """(region name, people) for each region one level below the user's jurisdiction."""
    region = user.jurisdiction
    if region is None:
        return []
    field = _CHILD_FIELD[RegionLevel(region.level)]
    rows = (
        access.scope_people(Person.objects.all(), user).values(field).annotate(n=Count("id")).order_by(field)
    )
    names = dict(Region.objects.filter(code__in=[r[field] for r in rows]).values_list("code", "name"))
    return [(names.get(r[field], r[field]), r["n"]) for r in rows]


def certificates_by_category(*, user: User) -> list[tuple[str, int]]:
    rows = (
        access.scope_people(
            DisabilityCertificate.objects.filter(status=CertificateStatus.VALID), user, prefix="person__"
        )
        .values("category")
        .annotate(n=Count("id"))
        .order_by("category")
    )
    labels = dict(DisabilityCategory.choices)
    return [(labels[r["category"]], r["n"]) for r in rows]
