"""Webhooks: a receiver that fails (500, then refused connections) for a day and recovers gets every
event exactly once by key, in order, signed; the pause between tries grows to an hour; a delivery
failing for three days is given up and can be sent again."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from kangfu.core import events
from kangfu.core.models import Region
from kangfu.core.tests.factories import UserFactory
from kangfu.events import delivery, services
from kangfu.events.models import Delivery, DeliveryState
from kangfu.events.tests.receiver import Receiver

pytestmark = pytest.mark.django_db
TIANJIN = "120100000000"
HEXI = "120103000000"
HEPING = "120101000000"
START = dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


@pytest.fixture
def admin(db):
    from kangfu.core.models import Role

    return UserFactory(username="city", role=Role.CITY_ADMIN, jurisdiction_id=TIANJIN)


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def hook(admin, receiver, *, region=TIANJIN, kinds=()):
    webhook, secret = services.webhook_create(
        actor=admin,
        data=services.WebhookData(
            name="残联系统", url=receiver.url, region=Region.objects.get(code=region), kinds=list(kinds)
        ),
    )
    receiver.secret = secret
    return webhook


def happen(n, *, district=HEXI, kind="subsidies.grant.changed"):
    return [
        events.record(kind=kind, subject=("subsidies.grant", i), district=district, payload={"i": i})
        for i in range(n)
    ]


def head():
    return Delivery.objects.filter(state=DeliveryState.PENDING).order_by("position").first()


def test_a_receiver_down_for_a_day_gets_every_event_once_in_order_when_it_is_back(clock, admin, receiver):
    hook(admin, receiver)
    made = happen(20)
    receiver.status = 500
    assert delivery.deliver_due().failed == 1
    receiver.stop()  # and now it refuses connections
    while timezone.now() < START + dt.timedelta(days=1):
        clock.move_to(head().next_attempt_at)
        report = delivery.deliver_due()
        assert report.delivered == 0
    assert Delivery.objects.filter(state=DeliveryState.DEAD).count() == 0
    assert head().attempts > 20  # tried all day
    receiver.start()
    receiver.status = 200
    clock.move_to(head().next_attempt_at)
    assert delivery.deliver_due().delivered == 20
    assert receiver.order == [str(e.key) for e in made]
    assert receiver.duplicates == 0
    assert receiver.bad_signatures == 0
    assert Delivery.objects.filter(state=DeliveryState.DELIVERED).count() == 20


def test_a_second_pass_sends_nothing_again(clock, admin, receiver):
    hook(admin, receiver)
    happen(5)
    delivery.deliver_due()
    assert delivery.deliver_due().delivered == 0
    assert receiver.posts == 5


def test_the_body_says_what_happened_and_the_signature_covers_it(clock, admin, receiver):
    hook(admin, receiver)
    (event,) = happen(1)
    delivery.deliver_due()
    body = receiver.accepted[str(event.key)]
    assert body["kind"] == "subsidies.grant.changed"
    assert body["subject"] == {"type": "subsidies.grant", "id": "0"}
    assert body["district"] == HEXI
    assert body["payload"] == {"i": 0}


def test_a_wrong_secret_fails_the_signature_and_the_event_waits(clock, admin, receiver):
    hook(admin, receiver)
    receiver.secret = "not the one"
    happen(1)
    assert delivery.deliver_due().failed == 1
    assert head().last_status == 401


def test_the_pause_doubles_from_ten_seconds_to_an_hour():
    pauses = [delivery.backoff(n).total_seconds() for n in range(1, 12)]
    assert pauses[:5] == [10, 20, 40, 80, 160]
    assert max(pauses) == 3600
    assert pauses[-1] == 3600


def test_an_event_failing_for_three_days_is_given_up_and_the_next_ones_go_on(clock, admin, receiver):
    hook(admin, receiver)
    first, second = happen(2)
    receiver.status = 500
    delivery.deliver_due()
    clock.move_to(START + delivery.RETRY_FOR)
    delivery.deliver_due()
    assert Delivery.objects.get(event=first).state == DeliveryState.DEAD
    receiver.status = 200
    delivery.deliver_due()
    assert list(receiver.order) == [str(second.key)]


def test_a_given_up_event_is_sent_again_on_request(
    clock, admin, receiver, django_capture_on_commit_callbacks
):
    webhook = hook(admin, receiver)
    (event,) = happen(1)
    receiver.status = 500
    delivery.deliver_due()
    clock.move_to(START + delivery.RETRY_FOR)
    delivery.deliver_due()
    receiver.status = 200
    # The replay queues a pass once committed; the tests' task backend runs it at once.
    with django_capture_on_commit_callbacks(execute=True):
        assert services.deliveries_replay(actor=admin, webhook=webhook) == 1
    assert receiver.order == [str(event.key)]
    with pytest.raises(ValidationError) as caught:
        services.deliveries_replay(actor=admin, webhook=webhook)
    assert caught.value.messages == [services.NOTHING_DEAD]


def test_a_webhook_gets_only_its_region_and_its_kinds(clock, admin, receiver):
    hook(admin, receiver, region=HEPING, kinds=["subsidies.grant.stopped"])
    happen(2, district=HEXI, kind="subsidies.grant.stopped")
    mine = happen(1, district=HEPING, kind="subsidies.grant.stopped")
    happen(1, district=HEPING, kind="subsidies.grant.changed")
    delivery.deliver_due()
    assert receiver.order == [str(mine[0].key)]


def test_a_webhook_is_sent_only_what_happens_after_it_is_registered(clock, admin, receiver):
    happen(3)
    hook(admin, receiver)
    later = happen(1)
    delivery.deliver_due()
    assert receiver.order == [str(later[0].key)]
