"""Effective-dated standards. A change applies from its month and makes the months from there on
recalculated at the next payroll, which pays the difference; a locked payroll never changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.months import month_start
from kangfu.subsidies.models import Grant, Kind, Standard

OVERLAP = "与已有标准（{grades}级，{start} 起）的期间重叠，请先给原标准设截止月份。"
NOT_A_MONTH = "请填写月份的第一天。"
BAD_GRADES = "残疾等级应在 1 至 4 之间，且起不大于至。"
NEGATIVE = "金额不能为负数。"
BAD_REGION = "标准只能按市或区设定。"
BAD_KIND = "补贴类别应为生活补贴（living）或护理补贴（care）。"


def mark_for_recalculation(grants, month: dt.date) -> int:
    """Grants whose months from `month` on must be recalculated at the next payroll (one UPDATE)."""
    now = timezone.now()
    marked = grants.filter(Q(recalc_from__isnull=True) | Q(recalc_from__gt=month)).update(
        recalc_from=month, recalc_marked_at=now
    )
    # Already marked from an earlier month: the mark is refreshed, so the next lock keeps it.
    grants.filter(recalc_from__lte=month).update(recalc_marked_at=now)
    return marked


def standard_save(
    *,
    actor: User | None,
    standard: Standard | None,
    region: Region,
    kind: str,
    grade_min: int,
    grade_max: int,
    amount: Decimal,
    valid_from: dt.date,
    valid_to: dt.date | None = None,
    note: str = "",
) -> Standard:
    if actor is not None and not access.policy(actor).sets_standards:
        raise PermissionDenied(access.NOT_ALLOWED)
    if region is None or region.level not in (RegionLevel.CITY, RegionLevel.DISTRICT):
        raise ValidationError({"region": [BAD_REGION]})
    if kind not in Kind.values:
        raise ValidationError({"kind": [BAD_KIND]})
    if not (1 <= grade_min <= grade_max <= 4):
        raise ValidationError({"grade_max": [BAD_GRADES]})
    if amount < 0:
        raise ValidationError({"amount": [NEGATIVE]})
    if valid_from != month_start(valid_from) or (valid_to is not None and valid_to != month_start(valid_to)):
        raise ValidationError({"valid_from": [NOT_A_MONTH]})
    with transaction.atomic():
        clash = (
            Standard.objects.select_for_update()
            .filter(region=region, kind=kind, grade_min__lte=grade_max, grade_max__gte=grade_min)
            .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=valid_from))
        )
        if valid_to is not None:
            clash = clash.filter(valid_from__lte=valid_to)
        if standard is not None:
            clash = clash.exclude(pk=standard.pk)
        other = clash.first()
        if other is not None:
            raise ValidationError(
                {
                    "valid_from": [
                        OVERLAP.format(
                            grades=f"{other.grade_min}–{other.grade_max}", start=f"{other.valid_from:%Y-%m}"
                        )
                    ]
                }
            )
        earliest = valid_from if standard is None else min(valid_from, standard.valid_from)
        values = {
            "region": region,
            "kind": kind,
            "grade_min": grade_min,
            "grade_max": grade_max,
            "amount": amount,
            "valid_from": valid_from,
            "valid_to": valid_to,
            "note": note,
        }
        if standard is None:
            standard = Standard.objects.create(**values, created_by=actor)
            action = AuditAction.CREATE
        else:
            for key, value in values.items():
                setattr(standard, key, value)
            standard.save()
            action = AuditAction.UPDATE
        affected = Grant.objects.filter(kind=kind)
        if region.level == RegionLevel.DISTRICT:
            affected = affected.filter(district=region)
        else:
            affected = affected.filter(district__code__startswith=region.code[:4])
        count = mark_for_recalculation(affected, earliest)
        audit.record(
            actor=actor,
            action=action,
            obj=standard,
            summary=f"{region.label} {standard}，自 {valid_from:%Y-%m} 起；{count} 项资格将在下次发放时重算",
        )
    return standard
