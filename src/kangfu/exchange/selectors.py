"""Reads of 数据交换, scoped: a district office sees its own batches, the city office its city's."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from kangfu.core import access
from kangfu.core.models import Region, RegionLevel, User
from kangfu.exchange.models import Batch, Layout
from kangfu.exchange.sources import district_range

NOT_ALLOWED = "数据交换文件由区、市民政局生成和报送。"


def may_exchange(user: User) -> bool:
    """District offices (who run the payroll) and the city office: the ones who send the files."""
    region = user.jurisdiction if user.is_authenticated else None
    rights = access.policy(user)
    return (
        region is not None
        and (rights.runs_payroll or rights.sets_standards)
        and region.level in (RegionLevel.CITY, RegionLevel.DISTRICT)
    )


def require(user: User) -> None:
    if not may_exchange(user):
        raise PermissionDenied(NOT_ALLOWED)


def batches_for(user: User) -> QuerySet[Batch]:
    if not may_exchange(user):
        return Batch.objects.none()
    return Batch.objects.filter(district_range("region_id", user.jurisdiction_id)).select_related(
        "layout", "region", "requested_by"
    )


def batch_for(user: User, pk: int) -> Batch:
    """One batch the user may see; another region's (or a forged id) is a 404, as if absent."""
    return get_object_or_404(batches_for(user), pk=pk)


def layouts_current() -> QuerySet[Layout]:
    return Layout.objects.filter(is_current=True).order_by("code")


def layout_current(code: str) -> Layout | None:
    return layouts_current().filter(code=code).first()


def regions_for(user: User) -> list[Region]:
    """The regions the user may generate a file for: a district its own; a city itself and its
    current districts."""
    if not may_exchange(user):
        return []
    region = user.jurisdiction
    if region.level == RegionLevel.DISTRICT:
        return [region]
    districts = access.regions_in_jurisdiction(user).filter(level=RegionLevel.DISTRICT).order_by("code")
    return [region, *districts]
