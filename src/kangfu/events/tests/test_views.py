"""事件推送 pages: the city administrator registers a receiver and is shown its secret once, sees its
deliveries, pauses it and sends given-up events again; every change is audited; the lists cost the
same statements for 3 rows as for 9."""

import itertools

import pytest

from kangfu.core import events
from kangfu.core.models import AuditEntry, Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes
from kangfu.events import delivery, services
from kangfu.events.models import Delivery, DeliveryState, Webhook

pytestmark = pytest.mark.django_db
TIANJIN = "120100000000"
HEXI = "120103000000"
_serial = itertools.count()


@pytest.fixture
def admin(db):
    return UserFactory(username="city", role=Role.CITY_ADMIN, jurisdiction_id=TIANJIN)


@pytest.fixture
def signed_in(client, admin):
    client.force_login(admin)
    return client


def make(admin, n=1):
    return [
        services.webhook_create(
            actor=admin,
            data=services.WebhookData(
                name=f"系统{next(_serial)}",
                url="http://127.0.0.1:9/hook",
                region=Region.objects.get(code=TIANJIN),
            ),
        )[0]
        for _ in range(n)
    ]


def test_registering_shows_the_secret_once_and_stores_it_encrypted(signed_in):
    response = signed_in.post(
        "/events/", {"name": "市残联系统", "url": "https://dpf.example.cn/hooks", "region": TIANJIN}
    )
    assert response.status_code == 200
    secret = response.context["new_secret"][1]
    assert secret in response.content.decode()
    webhook = Webhook.objects.get()
    assert webhook.secret == secret
    assert secret not in str(Webhook.objects.values_list("secret", flat=True).query)
    assert AuditEntry.objects.filter(object_type="events.webhook", action="create").count() == 1
    assert secret not in signed_in.get("/events/").content.decode()


def test_a_bad_address_is_a_400_and_nothing_is_registered(signed_in):
    response = signed_in.post("/events/", {"name": "x", "url": "ftp://dpf.example.cn", "region": TIANJIN})
    assert response.status_code == 400
    assert not Webhook.objects.exists()


def test_a_district_admin_may_not_register(client):
    client.force_login(UserFactory(username="hexi", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI))
    assert client.post("/events/", {"name": "x", "url": "https://a.cn", "region": HEXI}).status_code == 403


def test_pausing_keeps_events_waiting_and_is_audited(signed_in, admin):
    (webhook,) = make(admin)
    response = signed_in.post(
        f"/events/{webhook.pk}/action/", {"action": "pause", "version": webhook.version}
    )
    assert response.status_code == 302
    webhook.refresh_from_db()
    assert not webhook.active
    events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district=HEXI)
    assert delivery.deliver_due().made == 0
    # A second click on the page as it was is refused, and changes nothing.
    signed_in.post(f"/events/{webhook.pk}/action/", {"action": "pause", "version": 1})
    webhook.refresh_from_db()
    assert webhook.version == 2
    assert AuditEntry.objects.filter(object_type="events.webhook", action="update").count() == 1


def test_given_up_events_are_queued_again_from_the_page(signed_in, admin):
    (webhook,) = make(admin)
    event = events.record(kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district=HEXI)
    events.sequence()
    event.refresh_from_db()
    Delivery.objects.create(webhook=webhook, event=event, position=event.position, state=DeliveryState.DEAD)
    response = signed_in.post(f"/events/{webhook.pk}/action/", {"action": "replay"})
    assert response.status_code == 302
    assert Delivery.objects.get().state == DeliveryState.PENDING


def test_the_list_of_webhooks_costs_the_same_for_3_as_for_9(signed_in, admin):
    few, many = at_two_sizes(signed_in, "/events/", lambda n: make(admin, n))
    assert few == many


def test_a_webhooks_deliveries_cost_the_same_for_3_as_for_9(signed_in, admin):
    (webhook,) = make(admin)

    def grow(n):
        for _ in range(n):
            event = events.record(
                kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district=HEXI
            )
            events.sequence()
            event.refresh_from_db()
            Delivery.objects.create(webhook=webhook, event=event, position=event.position)

    few, many = at_two_sizes(signed_in, f"/events/{webhook.pk}/", grow)
    assert few == many
