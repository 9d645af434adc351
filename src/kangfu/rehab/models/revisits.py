"""回访: the contacts an institution owes a person after closing their case, one, three and six months
after the discharge date. The schedule is not stored: it follows from the closure (date and reason),
so a closure made any way (a worker, the registry's death notice, an import) has it; only the contacts
made are rows here, one per round.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from kangfu.core.models import Region
from kangfu.core.months import add_months_to_day
from kangfu.rehab.models.cases import Case, DischargeReason

USER = settings.AUTH_USER_MODEL

# Months after the discharge date at which a contact is due.
REVISIT_MONTHS = (1, 3, 6)
# Closures that owe no 回访: the person died, or another institution now serves them.
NO_REVISIT_REASONS = (DischargeReason.DECEASED, DischargeReason.TRANSFERRED)


def revisit_due_dates(discharged_on: dt.date) -> dict[int, dt.date]:
    """{round: due date}: the same day one, three and six months after the discharge date."""
    return {months: add_months_to_day(discharged_on, months) for months in REVISIT_MONTHS}


class RevisitRound(models.IntegerChoices):
    FIRST = 1, "结案后 1 个月"
    SECOND = 3, "结案后 3 个月"
    THIRD = 6, "结案后 6 个月"


class RevisitWay(models.TextChoices):
    PHONE = "phone", "电话回访"
    VISIT = "visit", "上门回访"


class RevisitOutcome(models.TextChoices):
    STABLE = "stable", "情况稳定"
    UNSTEADY = "unsteady", "病情有波动"
    UNREACHABLE = "unreachable", "未联系上"


class Revisit(models.Model):
    """One 回访 made after discharge."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="revisits")
    district = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", db_index=False)
    round = models.PositiveSmallIntegerField("回访轮次", choices=RevisitRound.choices)
    due_on = models.DateField("应回访日期")
    done_on = models.DateField("回访日期")
    way = models.CharField("回访方式", max_length=10, choices=RevisitWay.choices)
    outcome = models.CharField("回访结果", max_length=12, choices=RevisitOutcome.choices)
    relapsed = models.BooleanField("复发", default=False)
    readmitted = models.BooleanField("再次住院", default=False)
    note = models.CharField("回访记录", max_length=500, blank=True)
    by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = verbose_name_plural = "结案回访"
        ordering = ["case", "round"]
        constraints = [
            # One contact answers a round: a double submit or two workers at once leave one row.
            models.UniqueConstraint(fields=["case", "round"], name="rehab_revisit_one_per_round"),
        ]

    def __str__(self) -> str:
        return f"{self.get_round_display()}回访 {self.done_on}"
