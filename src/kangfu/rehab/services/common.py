"""What every 精康 write shares: who may act, dates that may not lie ahead, the conditional status
change (the row must still be in the state the service expects, so a double click or two workers at
once cannot both succeed), and the messages more than one write gives.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import Organisation, RegionLevel, User
from kangfu.core.transitions import Conflict
from kangfu.rehab.models import Case

CHECK_DAYS = getattr(settings, "KANGFU_REHAB_CHECK_DAYS", 5)
REFER_DAYS = getattr(settings, "KANGFU_REHAB_REFER_DAYS", 5)
STATE_CHANGED = "该事项的状态已经改变（可能已被他人处理），请刷新后再试。"
SECOND_OPEN_CASE = "{name}在“{institution}”已有未结案的服务档案，不能重复建档。"
NOT_YOUR_CASE = "该档案不属于您的机构。"
NOT_SERVED = "该人员目前不在服务中（{status}），不能登记。"
FUTURE = "日期不能晚于今天。"
BEFORE_ENROLMENT = "日期不能早于建档日期 {day}。"
NOT_REHAB_STAFF = "您不是康复机构或医疗机构的工作人员。"


def _today() -> dt.date:
    return timezone.localdate()


def _not_future(day: dt.date, field_name: str = "") -> None:
    if day > _today():
        raise ValidationError({field_name: FUTURE} if field_name else FUTURE)


def _district_of(org: Organisation) -> str:
    return org.region.ancestor(RegionLevel.DISTRICT)


def require_home(actor: User) -> Organisation:
    access.require(actor, "runs_rehab")
    home = access.rehab_home(actor)
    if home is None:
        raise PermissionDenied(NOT_REHAB_STAFF)
    return home


def require_own_case(actor: User, case: Case) -> None:
    require_home(actor)
    if case.institution_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(NOT_YOUR_CASE)


def _advance(model, pk: int, *, expected: Iterable[str], field_name: str = "status", **updates) -> None:
    """The conditional UPDATE of `core.transitions.advance` for one row by primary key, raising its
    `Conflict(STATE_CHANGED)` (a 409 in the API). Written out rather than delegated because rehab
    bumps `version` with an F() expression, which `advance` would read as the version to compare."""
    rows = model.objects.filter(pk=pk, **{f"{field_name}__in": list(expected)})
    if rows.update(**updates) != 1:
        raise Conflict(STATE_CHANGED, code="stale")
