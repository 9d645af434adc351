"""Reads of 满意度, scoped to the user's institution: a year's figures and the latest forms entered."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Avg, Count, Q

from kangfu.core import access
from kangfu.core.models import User
from kangfu.rehab.models import SATISFACTION_ITEMS, Case, SatisfactionSurvey


def surveys_for(user: User):
    """The forms of the cases the user's institution serves (the row carries the case's institution)."""
    return SatisfactionSurvey.objects.filter(access.case_q(user))


def surveys_of(case: Case):
    return SatisfactionSurvey.objects.filter(case=case).select_related("by")


def _mean(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.01"))


def year_summary(user: User, year: int) -> dict:
    """The year's count by respondent, the mean of each item and of the overall judgement, and the share
    satisfied (overall 4 or 5): one aggregate."""
    figures = (
        surveys_for(user)
        .filter(year=year)
        .aggregate(
            n=Count("id"),
            users=Count("id", filter=Q(respondent="user")),
            families=Count("id", filter=Q(respondent="family")),
            satisfied=Count("id", filter=Q(overall__gte=4)),
            overall=Avg("overall"),
            **{code: Avg(code) for code, _ in SATISFACTION_ITEMS},
        )
    )
    n = figures["n"]
    return {
        "n": n,
        "users": figures["users"],
        "families": figures["families"],
        "overall": _mean(figures["overall"]),
        "satisfied_share": (Decimal(figures["satisfied"] * 100) / n).quantize(Decimal("0.1")) if n else None,
        "items": [(label, _mean(figures[code])) for code, label in SATISFACTION_ITEMS],
    }
