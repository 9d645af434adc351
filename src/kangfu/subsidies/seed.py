"""Tianjin's standards and policy (津民发〔2023〕23号 and the 2017/2018 raises, per DOMAIN.md)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from kangfu.core.models import Region
from kangfu.subsidies.models import Kind, Policy, Standard

TIANJIN = "120100000000"
SINCE = dt.date(2018, 1, 1)
NOTE = "天津市现行标准（2018 年提标后）；此前标准可按文件补录"

TIANJIN_STANDARDS = [
    (Kind.LIVING, 1, 2, Decimal("300.00")),
    (Kind.LIVING, 3, 4, Decimal("160.00")),
    (Kind.CARE, 1, 2, Decimal("200.00")),
]


@transaction.atomic
def seed_tianjin() -> int:
    """Create Tianjin's policy and standards if the city is loaded and has none; return how many."""
    if (
        not Region.objects.filter(code=TIANJIN).exists()
        or Standard.objects.filter(region_id=TIANJIN).exists()
    ):
        return 0
    Policy.objects.get_or_create(region_id=TIANJIN)
    for kind, low, high, amount in TIANJIN_STANDARDS:
        Standard.objects.create(
            region_id=TIANJIN,
            kind=kind,
            grade_min=low,
            grade_max=high,
            amount=amount,
            valid_from=SINCE,
            note=NOTE,
        )
    return len(TIANJIN_STANDARDS)
