"""The counters the statistics page reads, kept in step by the services."""

from __future__ import annotations

from django.db import models
from django.db.models import Value
from django.db.models.functions import Coalesce

from kangfu.core.models import Organisation, Region
from kangfu.people.models import Person
from kangfu.rehab.models.assessments import Outcome


class MonthlyCount(models.Model):
    """Counters for the statistics page, kept in the same transaction as what they count, so the page
    reads a few hundred rows instead of millions of attendances. `kangfu rehab recount` rebuilds them.

    The measures of activities (`SITE_MEASURES`) are kept per service site as well, the site the
    activity was held at (none for one held elsewhere): a purchased-service contract that names sites
    counts only the sessions at them. Readers sum over sites; every other measure has no site."""

    # Indexed by `rehab_count_institution_cover`, which leads with it.
    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    site = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()
    measure = models.CharField(max_length=20)
    key = models.CharField(max_length=20, blank=True, default="")
    n = models.IntegerField(default=0)

    class Meta:
        # A unique index holds NULLs distinct, so the site (none for most counters) takes part as
        # COALESCE(site, 0): one row per institution, month, measure, key and site, and the index
        # still leads with the institution for an institution's (or a contract's) months.
        constraints = [
            models.UniqueConstraint(
                "institution",
                "month",
                "measure",
                "key",
                Coalesce("site", Value(0)),
                name="rehab_count_unique",
            )
        ]
        # Covering, so that a city's year of counters is read from the index alone.
        indexes = [
            models.Index(
                fields=["district", "month", "measure", "key", "n"], name="rehab_count_district_cover"
            ),
            # Covering too, so that the contracts of a city (their institutions' delivery measures
            # over their periods, per site) are summed from the index alone: on PostgreSQL at 100,000
            # people 150 → 52 ms against the institution's plain index and the table.
            models.Index(
                fields=["institution", "measure", "month", "key", "site", "n"],
                name="rehab_count_institution_cover",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.month} {self.measure}:{self.key}={self.n}"


# The counters kept per site too: those of activities, which are held at a site.
SITE_MEASURES = ("activities", "patient_times", "family_times", "forms")


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


class ServedMonth(models.Model):
    """A person served by an institution in a month: they attended one of its services in person (not
    as a family member) or were followed up on one of its cases. Kept by the services that record
    attendance and follow-ups, in the same transaction, and rebuilt by `recount`, so that "people
    served" (distinct people over any run of months) is read from a few rows per person a month
    instead of from every attendance. `district` is the case's (the serving institution's)."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="+", db_index=False)
    institution = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+", db_index=False)
    district = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="+", db_index=False)
    month = models.DateField()

    class Meta:
        constraints = [
            # Person first: "was this person served in these months, anywhere" (the register's
            # coverage) and re-deriving one person's months read it.
            models.UniqueConstraint(
                fields=["person", "month", "institution", "district"], name="rehab_served_once"
            )
        ]
        # Covering, so that a district's (or a city's) distinct people over a quarter and an
        # institution's over a contract's months are counted from an index alone.
        indexes = [
            models.Index(fields=["district", "month", "person"], name="rehab_served_district"),
            models.Index(fields=["institution", "month", "person"], name="rehab_served_institution"),
        ]

    def __str__(self) -> str:
        return f"{self.month} {self.institution_id}:{self.person_id}"
