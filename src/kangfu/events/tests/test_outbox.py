"""Each service writes its event in the same transaction as its change: committed with it, gone
with it, and numbered for readers in the order of commit."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from kangfu.core import events
from kangfu.core.models import OutboxEvent, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.transitions import Conflict
from kangfu.subsidies.models import Grant, Kind, StopReason
from kangfu.subsidies.services import grants
from kangfu.subsidies.tests.factories import approve, submit

pytestmark = pytest.mark.django_db
HEXI = "120103000000"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def grant(standards, applicant, shequ, jiedao, quju):
    approve(applicant, shequ, jiedao, quju, care=False)
    return Grant.objects.get(person=applicant, kind=Kind.LIVING)


def kinds():
    return list(OutboxEvent.objects.order_by("id").values_list("kind", flat=True))


def test_an_approval_tells_of_each_decision_and_of_the_grant_it_starts(grant):
    assert kinds() == [
        "subsidies.application.decided",
        "subsidies.application.decided",
        "subsidies.grant.started",
        "subsidies.application.decided",
    ]
    started = OutboxEvent.objects.get(kind="subsidies.grant.started")
    assert (started.subject_type, started.subject_id, started.district_id) == (
        "subsidies.grant",
        str(grant.pk),
        HEXI,
    )
    assert started.payload["person"] == grant.person_id
    assert started.payload["effective_month"] == "2026-09-01"


def test_a_stop_is_one_event_with_its_month_and_reason(grant, quju):
    grants.grant_stop(actor=quju, grant=grant, from_month=dt.date(2026, 12, 1), stop_reason=StopReason.DEATH)
    stopped = OutboxEvent.objects.get(kind="subsidies.grant.stopped")
    assert stopped.payload["effective_month"] == "2026-12-01"
    assert stopped.payload["stop_reason"] == StopReason.DEATH


def test_a_refused_change_writes_no_event(grant, quju):
    grants.grant_stop(actor=quju, grant=grant, from_month=dt.date(2026, 12, 1), stop_reason=StopReason.DEATH)
    before = OutboxEvent.objects.count()
    with pytest.raises(Conflict):
        grants.grant_stop(
            actor=quju, grant=grant, from_month=dt.date(2026, 12, 1), stop_reason=StopReason.DEATH
        )
    assert OutboxEvent.objects.count() == before


def test_an_event_is_undone_with_the_change_that_failed_after_it(grant, quju, monkeypatch):
    before = OutboxEvent.objects.count()

    def fail(**kwargs):
        raise RuntimeError("the audit row could not be written")

    # The audit row is written after the event, in the same transaction: its failure undoes both.
    monkeypatch.setattr(grants.audit, "record", fail)
    with pytest.raises(RuntimeError):
        grants.grant_regrade(actor=quju, grant=grant, from_month=dt.date(2026, 12, 1), grade=1, reason="换证")
    assert OutboxEvent.objects.count() == before
    assert grant.periods.filter(grade=1).count() == 0


def test_a_returned_application_is_decided_too(standards, applicant, shequ):
    app = submit(applicant)
    from kangfu.subsidies.services import applications

    applications.application_decide(actor=shequ, application=app, decision="return", opinion="缺材料")
    event = OutboxEvent.objects.get()
    assert event.kind == "subsidies.application.decided"
    assert event.payload["decision"] == "return"
    assert event.payload["status"] == "returned"


def test_every_event_has_its_own_key_and_no_id_number(grant, applicant):
    rows = list(OutboxEvent.objects.all())
    assert len({r.key for r in rows}) == len(rows)
    assert all(applicant.id_number not in str(r.payload) for r in rows)


def test_a_batch_costs_the_same_statements_however_many_events(db):
    def statements(n):
        batch = [events.Event(("subsidies.grant", i), HEXI, {"i": i}) for i in range(n)]
        with CaptureQueriesContext(connection) as captured:
            events.record_many(kind="subsidies.grant.changed", events=batch)
        return len(captured.captured_queries)

    assert statements(5) == statements(50)
    assert OutboxEvent.objects.count() == 55
    assert OutboxEvent.objects.values("key").distinct().count() == 55


def test_positions_follow_the_order_of_numbering_and_are_given_once(db):
    first = events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district=HEXI)
    assert events.sequence() == 1
    second = events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", 2), district=HEXI)
    third = events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", 3), district=HEXI)
    assert events.sequence() == 2
    assert events.sequence() == 0
    positions = dict(OutboxEvent.objects.values_list("pk", "position"))
    assert positions == {first.pk: 1, second.pk: 2, third.pk: 3}


def test_an_unknown_kind_is_refused(db):
    with pytest.raises(ValueError):
        events.record(kind="subsidies.grant.exploded", subject=("subsidies.grant", 1), district=HEXI)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="two writers at once need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_an_event_that_commits_after_a_later_one_is_still_read_after_the_cursor():
    """The case the position exists for: the lower id commits last, after a reader has moved on."""
    reader = UserFactory(username="city", role=Role.CITY_ADMIN, jurisdiction_id="120100000000")
    drawn, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                events.record(
                    kind="subsidies.grant.changed", subject=("subsidies.grant", "slow"), district=HEXI
                )
                drawn.set()
                release.wait(20)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert drawn.wait(20)
    events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", "quick"), district=HEXI)
    events.sequence()
    first = list(events.events_for(reader, after=0))
    release.set()
    writer.join()
    events.sequence()
    then = list(events.events_for(reader, after=first[-1].position))
    assert [e.subject_id for e in first + then] == ["quick", "slow"]
    slow = then[0]
    assert slow.pk < first[0].pk  # drawn first, committed last
