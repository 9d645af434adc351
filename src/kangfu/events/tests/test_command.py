"""`kangfu events deliver` runs one pass and says what it did; the worker runs the same pass on its
own timer (registered with core.registry)."""

import io

import pytest
from django.core.management import call_command

from kangfu.core import events
from kangfu.core.models import Region
from kangfu.core.registry import periodic_jobs
from kangfu.events.models import Webhook
from kangfu.events.tests.receiver import Receiver

pytestmark = pytest.mark.django_db


def test_one_pass_from_the_command_delivers_what_is_waiting():
    receiver = Receiver(secret="s")
    try:
        Webhook.objects.create(
            name="x", url=receiver.url, secret="s", region=Region.objects.get(code="120100000000")
        )
        events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district="120103000000")
        out = io.StringIO()
        call_command("events", "deliver", stdout=out)
    finally:
        receiver.stop()
    assert "送达 1 条" in out.getvalue()
    assert len(receiver.accepted) == 1


def test_the_worker_runs_a_delivery_pass_every_few_seconds():
    (job,) = [j for j in periodic_jobs() if j.key == "events.deliver"]
    assert job.every <= 10
