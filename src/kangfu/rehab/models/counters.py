"""The counters the statistics page reads, kept in step by the services."""

from __future__ import annotations

from django.db import models

from kangfu.core.models import Organisation, Region
from kangfu.rehab.models.assessments import Outcome


class MonthlyCount(models.Model):
    """Counters for the statistics page, kept in the same transaction as what they count, so the page
    reads a few hundred rows instead of millions of attendances. `kangfu rehab recount` rebuilds them."""

    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()
    measure = models.CharField(max_length=20)
    key = models.CharField(max_length=20, blank=True, default="")
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "month", "measure", "key"], name="rehab_count_unique"
            )
        ]
        # Covering, so that a city's year of counters is read from the index alone.
        indexes = [
            models.Index(
                fields=["district", "month", "measure", "key", "n"], name="rehab_count_district_cover"
            )
        ]

    def __str__(self) -> str:
        return f"{self.month} {self.measure}:{self.key}={self.n}"


class OutcomeCount(models.Model):
    """How many cases of an institution stand improved, unchanged or worse on a scale now, kept with
    `CaseOutcome` (baseline against latest) so that a city's page does not group every case's outcome."""

    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    scale_code = models.CharField(max_length=30)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    n = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["institution", "scale_code", "outcome"], name="rehab_outcome_count_unique"
            )
        ]
        indexes = [models.Index(fields=["district"], name="rehab_outcome_count_district")]

    def __str__(self) -> str:
        return f"{self.scale_code}:{self.outcome}={self.n}"
