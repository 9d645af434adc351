"""Figures of a statistics page, counted at most once every few minutes for each scope, and never by
more than one request at a time.

The overview and the 两项补贴 indicators count every person of the area (the indicators judge each by
the eligibility rules): statistics, not a worklist. Officers open them all day, and every opening
counted the district again; the figures are kept in the machine's cache and the page says when they
were counted. A worklist, a record or a payroll is never read from here.

Counting a whole city takes a while as it grows (the indicators of a million people, 18 s on SQLite),
so figures older than `SECONDS` are still shown, with their time, while they are counted again: by the
task worker where one is running, else by the one request that finds them old first. Only where a
scope has no figures yet today does a request count them itself, and any other request for that
scope meanwhile gets a page that says so and looks again shortly (`None` here), rather than counting
the same city again beside it, which held every web worker for the count's length (bench/README.md).
(The machine's file cache checks and then writes the marker of a count under way: two requests in the
same instant may still both count; one at a time is what the marker gives otherwise.)
"""

from __future__ import annotations

from django.core.cache import cache
from django.shortcuts import render
from django.utils import timezone
from django_tasks import task

from kangfu.core import access, observability, taskfaults
from kangfu.core.dbrouting import replica_reads
from kangfu.core.models import User

SECONDS = 300
# A count that never finished (its worker was stopped) no longer keeps others from counting after this.
COUNTING_SECONDS = 600
KEEP_SECONDS = 24 * 3600  # the day is in the key: kept until then, shown with their time when old


def _people_overview(user) -> dict:
    from kangfu.reports import selectors

    return {
        "by_region": selectors.people_by_subregion(user=user),
        "by_category": selectors.certificates_by_category(user=user),
    }


def _subsidy_indicators(user) -> dict:
    from kangfu.subsidies import selectors

    return selectors.indicators(user)


# Named, so that the task worker can count them again from the name and an account of the scope.
COUNTS = {"people-overview": _people_overview, "subsidy-indicators": _subsidy_indicators}


def scope_of(user) -> str:
    """All that scopes a user's figures (core.access.people_q: the role and its jurisdiction, and the
    organisation for a role that sees only whom it serves), not the account: a district's officers
    share one count, and a user moved to another area or role reads another key at once."""
    served_by = user.organisation_id if access.policy(user).serves_only else ""
    return f"{user.role}:{user.jurisdiction_id}:{served_by}"


def _key(user, name: str) -> str:
    # The day is in the key: figures of a month or "as of today" never cross midnight.
    return f"{name}:{scope_of(user)}:{timezone.localdate():%Y%m%d}"


def _count(user, name: str, key: str) -> dict:
    figures = {**COUNTS[name](user), "counted_at": timezone.localtime()}
    cache.set(key, figures, KEEP_SECONDS)
    return figures


def counted(user, name: str) -> dict | None:
    """The figures `name` for the user's scope, with `counted_at`; None while another request counts
    them for the first time today (the page says so and looks again)."""
    key = _key(user, name)
    figures = cache.get(key)
    if figures is not None and (timezone.now() - figures["counted_at"]).total_seconds() < SECONDS:
        return figures
    counting = f"{key}:counting"
    if not cache.add(counting, 1, COUNTING_SECONDS):
        return figures  # someone counts them now: the last figures meanwhile, or none yet
    if figures is not None and observability.uses_worker() and observability.worker_seen():
        recount.enqueue(name, user.pk)  # the page goes out with the last figures
        return figures
    try:
        return _count(user, name, key)
    finally:
        cache.delete(counting)


def counting(request, title: str):
    """The page shown while a scope's first figures of the day are being counted by another request."""
    return render(request, "reports/counting.html", {"title": title, "again": 5})


@task()
def recount(name: str, user_id: int) -> None:
    """Count a scope's figures again (`user_id`: an account of that scope)."""
    user = User.objects.select_related("jurisdiction").get(pk=user_id)
    key = _key(user, name)
    try:
        with replica_reads():  # as the pages read them
            _count(user, name, key)
    finally:
        cache.delete(f"{key}:counting")


# Safe to run again: it only reads and replaces the cached figures.
taskfaults.declare(recount, idempotent=True)
