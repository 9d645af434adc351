"""What every service of the rental business shares: who acts for which centre, today's date, and the
messages more than one concept gives."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.utils import timezone

from kangfu.core import access
from kangfu.core.models import Organisation, User

NOT_A_CENTRE_CLERK = "您不是辅具租赁中心的工作人员。"
NEGATIVE_MONEY = "金额不能为负数。"
FUTURE = "日期不能晚于今天。"

MAX_MONTHS = 12


def local_today() -> dt.date:
    return timezone.localdate()


def require_centre(actor: User) -> Organisation:
    centre = access.device_centre(actor)
    if centre is None:
        raise PermissionDenied(NOT_A_CENTRE_CLERK)
    return centre


def check_same_centre(actor: User | None, centre_id: int) -> None:
    if actor is None:
        return
    if require_centre(actor).pk != centre_id:
        raise PermissionDenied(access.NOT_ALLOWED)
