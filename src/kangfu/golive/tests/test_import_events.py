"""Go-live imports announce what they bring in as the services would, marked `migrated`: a grant
brought in is `grant.started`, a grant a later file changes `grant.changed`, a 精康 case
`case.enrolled`, a rental in progress `rental.started`; written for a whole batch in one statement,
and a file that changes nothing announces nothing."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kangfu.core.models import OutboxEvent
from kangfu.devices.models import Rental
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED
from kangfu.golive.models import JobStatus
from kangfu.golive.tests import test_golive_scenario as scenario
from kangfu.golive.tests.helpers import csv_bytes, run
from kangfu.golive.tests.test_devices_import import (  # noqa: F401  (fixtures)
    RENTALS,
    _rental,
    _stock,
    centre,
    clerk,
    outlet,
    renter,
    wheelchair,
)
from kangfu.golive.tests.test_rehab_import import HEADER, _row
from kangfu.rehab.models import Case
from kangfu.rehab.tests.factories import institution, patient, worker
from kangfu.subsidies.models import Grant
from kangfu.subsidies.seed import seed_tianjin

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(dt.datetime(2026, 11, 20, 10, tzinfo=dt.UTC), tick=False):
        yield


def outbox(kind: str) -> list[OutboxEvent]:
    return list(OutboxEvent.objects.filter(kind=kind).order_by("id"))


@pytest.fixture
def recipients_text():
    """河西's recipients file as text, so that a test can send it again in other bytes or changed."""
    seed_tianjin()
    with scenario.travel(dt.date(2026, 11, 28)):
        assert run("people", scenario._people_file(), name="名册.xlsx").status == JobStatus.DONE
    return scenario._recipients_file().decode("gb18030")


def _recipients(text: str):
    with scenario.travel(dt.date(2026, 11, 28)):
        job = run("recipients", text.encode("utf-8-sig"), live_from="2026-12")
    assert job.status == JobStatus.DONE, job.message
    return job


def test_each_grant_brought_in_is_announced_as_started_and_migrated_in_one_statement(recipients_text):
    table = OutboxEvent._meta.db_table
    with CaptureQueriesContext(connection) as queries:
        job = _recipients(recipients_text)
    assert job.counts[NEW] == 8
    started = outbox("subsidies.grant.started")
    grants = {g.pk: g for g in Grant.objects.all()}
    assert sorted(int(e.subject_id) for e in started) == sorted(grants)
    for event in started:
        grant = grants[int(event.subject_id)]
        assert (event.subject_type, event.district_id) == ("subsidies.grant", scenario.HEXI)
        assert event.payload == {
            "person": grant.person_id,
            "kind": grant.kind,
            "action": "start",
            "effective_month": "2024-01-01",
            "stop_reason": "",
            "migrated": True,
        }
    # One INSERT for the batch, not one per grant (PostgreSQL writes it by COPY, which the
    # capture does not see).
    writes = [q for q in queries.captured_queries if table in q["sql"] and q["sql"].startswith("INSERT")]
    assert len(writes) <= 1


def test_the_same_recipients_again_announce_nothing(recipients_text):
    _recipients(recipients_text)
    before = OutboxEvent.objects.count()
    # The same lines in other bytes (UTF-8, not GB18030): read and compared again, all unchanged.
    job = _recipients(recipients_text.replace("\r\n", "\n"))
    assert (job.counts[NEW], job.counts[CHANGED], job.counts[UNCHANGED]) == (0, 0, 8)
    assert OutboxEvent.objects.count() == before


def test_a_grant_the_file_changes_is_announced_as_changed_naming_what_changed(recipients_text):
    _recipients(recipients_text)
    job = _recipients(recipients_text.replace("农商银行", "建设银行", 1))
    assert (job.counts[CHANGED], job.counts[UNCHANGED]) == (1, 7)
    (changed,) = outbox("subsidies.grant.changed")
    grant = Grant.objects.get(pk=changed.subject_id)
    assert grant.bank_name == "建设银行"
    assert changed.payload == {
        "person": grant.person_id,
        "kind": grant.kind,
        "action": "migrated_update",
        "changed": "bank_name",
        "effective_month": None,
        "migrated": True,
    }
    assert len(outbox("subsidies.grant.started")) == 8  # none again


def test_a_case_brought_in_is_announced_as_enrolled_and_migrated_once():
    centre_ = institution()
    rehab_worker = worker(centre_, username="zhang.worker")
    people = [patient(name="王一"), patient(name="王二")]
    content = csv_bytes([HEADER, *(_row(p, centre_) for p in people)])
    run("rehab_cases", content, actor=rehab_worker)
    enrolled = outbox("rehab.case.enrolled")
    cases = {c.pk: c for c in Case.objects.all()}
    assert sorted(int(e.subject_id) for e in enrolled) == sorted(cases)
    event = enrolled[0]
    case = cases[int(event.subject_id)]
    assert event.district_id == case.district_id
    assert event.payload == {
        "person": case.person_id,
        "enrolled_on": "2025-03-01",
        "status": "active",
        "migrated": True,
    }
    run("rehab_cases", content.replace(b"\r\n", b"\n"), actor=rehab_worker)
    assert len(outbox("rehab.case.enrolled")) == 2


def test_a_rental_in_progress_brought_in_is_announced_as_started_and_migrated_once(
    clerk,  # noqa: F811  (the fixtures imported above)
    outlet,  # noqa: F811
    wheelchair,  # noqa: F811
    renter,  # noqa: F811
):
    _stock(clerk, outlet, "WQ-001")
    content = csv_bytes([RENTALS, _rental("WQ-001", renter)])
    run("device_rentals", content, actor=clerk)
    rental = Rental.objects.get()
    (event,) = outbox("devices.rental.started")
    assert (event.subject_type, event.subject_id, event.district_id) == (
        "devices.rental",
        str(rental.pk),
        renter.district_id,
    )
    assert event.payload == {
        "number": rental.number,
        "person": renter.pk,
        "start_date": "2026-10-01",
        "end_date": "2027-03-31",
        "migrated": True,
    }
    run("device_rentals", content.replace(b"\r\n", b"\n"), actor=clerk)
    assert len(outbox("devices.rental.started")) == 1
