"""Reads of 回访, scoped like the cases they follow: the worklist of contacts due and overdue, and a
case's schedule with what was recorded.

A closure owes 回访 unless the person died or was transferred (`NO_REVISIT_REASONS`), and stops owing it
once the person is served again somewhere: then that institution follows them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from kangfu.core.models import User
from kangfu.rehab.models import (
    NO_REVISIT_REASONS,
    SERVED_STATES,
    Case,
    CaseStatus,
    Revisit,
    RevisitRound,
    revisit_due_dates,
)
from kangfu.rehab.selectors import cases_for

# How long an unrecorded round stays on the worklist after its due date; older ones are counted as
# missed in the programme's figures, not chased.
KEPT_OVERDUE_DAYS = 183
# The six-month round is the last: a closure older than this plus the kept days owes nothing listed.
LAST_ROUND_DAYS = 186


def owed_q(prefix: str = "") -> Q:
    """Closed cases that owe 回访: discharged for a reason that calls for it, and the person not
    being served again."""
    served_again = Case.objects.filter(person_id=OuterRef(f"{prefix}person_id"), status__in=SERVED_STATES)
    return (
        Q(**{f"{prefix}status": CaseStatus.DISCHARGED, f"{prefix}discharged_on__isnull": False})
        & ~Q(**{f"{prefix}discharge_reason__in": NO_REVISIT_REASONS})
        & ~Exists(served_again)
    )


@dataclass(frozen=True)
class DueRevisit:
    case: Case
    round: int
    due_on: dt.date

    @property
    def label(self) -> str:
        return RevisitRound(self.round).label

    def overdue(self, today: dt.date) -> bool:
        return self.due_on < today


def revisits_due(user: User, *, until: dt.date, mine: bool = False, limit: int = 300) -> list[DueRevisit]:
    """The rounds of 回访 not yet recorded that fall due by `until` (and not more than half a year
    ago), earliest first, for the cases of the user's institution: two statements."""
    today = timezone.localdate()
    oldest = today - dt.timedelta(days=KEPT_OVERDUE_DAYS)
    cases = (
        cases_for(user)
        .filter(
            owed_q(), discharged_on__gte=oldest - dt.timedelta(days=LAST_ROUND_DAYS), discharged_on__lte=until
        )
        .select_related("person", "worker")
    )
    if mine:
        cases = cases.filter(worker=user)
    cases = list(cases.order_by("discharged_on", "pk")[: limit * 3])
    done = set(Revisit.objects.filter(case__in=[c.pk for c in cases]).values_list("case_id", "round"))
    rows = [
        DueRevisit(case, round_, due_on)
        for case in cases
        for round_, due_on in revisit_due_dates(case.discharged_on).items()
        if (case.pk, round_) not in done and oldest <= due_on <= until
    ]
    rows.sort(key=lambda r: (r.due_on, r.case.pk))
    return rows[:limit]


@dataclass(frozen=True)
class ScheduledRevisit:
    round: int
    due_on: dt.date
    revisit: Revisit | None

    @property
    def label(self) -> str:
        return RevisitRound(self.round).label


def revisit_schedule(case: Case) -> list[ScheduledRevisit]:
    """A closed case's three rounds with the contact recorded for each (none before closure)."""
    if case.status != CaseStatus.DISCHARGED or case.discharged_on is None:
        return []
    made = {r.round: r for r in Revisit.objects.filter(case=case).select_related("by")}
    return [
        ScheduledRevisit(round_, due_on, made.get(round_))
        for round_, due_on in revisit_due_dates(case.discharged_on).items()
    ]
