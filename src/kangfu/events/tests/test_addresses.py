"""Webhook addresses (SSRF): a receiver on the server itself, the metadata service or a private
network is refused when registered, with the reason, unless the settings allow it; the address is
checked again before each connection and the connection goes to the address checked, so a name whose
DNS is changed afterwards cannot point the deliveries inside."""

import datetime as dt
import socket

import pytest
import time_machine
from django.core.exceptions import ValidationError

from kangfu.core import events
from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.events import delivery, services
from kangfu.events.models import Delivery, DeliveryState, Webhook
from kangfu.events.tests.receiver import Receiver

pytestmark = pytest.mark.django_db
TIANJIN = "120100000000"
HEXI = "120103000000"


@pytest.fixture(autouse=True)
def strict(settings):
    """As in production: no private address unless a network is named."""
    settings.KANGFU_WEBHOOK_ALLOW_PRIVATE = False
    settings.KANGFU_WEBHOOK_ALLOWED_NETWORKS = []
    return settings


@pytest.fixture
def admin(db):
    return UserFactory(username="city", role=Role.CITY_ADMIN, jurisdiction_id=TIANJIN)


@pytest.fixture
def dns(monkeypatch):
    """Names of our own (*.test) resolve to what the test says; every other one as usual."""
    table: dict[str, str] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in table:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (table[host], port))]
        if str(host).endswith(".test"):
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return table


def register(admin, url):
    return services.webhook_create(
        actor=admin,
        data=services.WebhookData(name="残联系统", url=url, region=Region.objects.get(code=TIANJIN)),
    )


@pytest.mark.parametrize(
    ("url", "address"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.5/hook", "10.0.0.5"),
        ("https://192.168.1.20/hook", "192.168.1.20"),
        ("http://[::1]:8000/hook", "::1"),
        ("http://[::ffff:127.0.0.1]/hook", "::ffff:127.0.0.1"),
        ("http://0.0.0.0/hook", "0.0.0.0"),  # noqa: S104  (an address refused, not one listened on)
    ],
)
def test_a_receiver_on_the_server_or_a_private_network_is_refused(admin, url, address):
    host = (
        url.split("//")[1].split("/")[0].rsplit(":", 1)[0]
        if "[" not in url
        else url.split("[")[1].split("]")[0]
    )
    with pytest.raises(ValidationError) as caught:
        register(admin, url)
    assert caught.value.message_dict == {"url": [delivery.PRIVATE_ADDRESS.format(host=host, address=address)]}
    assert not Webhook.objects.exists()


def test_a_name_that_resolves_to_a_private_address_is_refused(admin, dns):
    dns["dpf.test"] = "172.16.3.4"
    with pytest.raises(ValidationError) as caught:
        register(admin, "https://dpf.test/hooks")
    assert caught.value.message_dict == {
        "url": [delivery.PRIVATE_ADDRESS.format(host="dpf.test", address="172.16.3.4")]
    }


def test_a_name_that_does_not_resolve_is_refused(admin, dns):
    with pytest.raises(ValidationError) as caught:
        register(admin, "https://nowhere.test/hooks")
    assert caught.value.message_dict == {"url": [delivery.UNRESOLVED.format(host="nowhere.test")]}


def test_a_public_receiver_is_registered(admin, dns):
    dns["dpf.test"] = "8.8.4.4"
    webhook, _ = register(admin, "https://dpf.test/hooks")
    assert webhook.url == "https://dpf.test/hooks"


def test_a_network_the_settings_name_is_allowed_and_no_other(admin, dns, strict):
    strict.KANGFU_WEBHOOK_ALLOWED_NETWORKS = ["10.20.0.0/16"]
    dns["exchange.test"], dns["other.test"] = "10.20.1.5", "10.30.1.5"
    assert register(admin, "http://exchange.test/hooks")[0].pk
    with pytest.raises(ValidationError):
        register(admin, "http://other.test/hooks")


def test_allowing_private_addresses_lets_any_receiver_be_registered(admin, strict):
    strict.KANGFU_WEBHOOK_ALLOW_PRIVATE = True
    assert register(admin, "http://127.0.0.1:9/hook")[0].pk


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def test_a_name_turned_inside_after_registration_gets_nothing_and_waits(admin, dns, receiver, strict):
    with time_machine.travel(dt.datetime(2026, 11, 20, 2, tzinfo=dt.UTC), tick=False):
        dns["dpf.test"] = "8.8.4.4"
        webhook, secret = register(admin, f"http://dpf.test:{receiver.port}/hooks/kangfu")
        receiver.secret = secret
        events.record(
            kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district=HEXI, payload={}
        )
        # Its DNS now points at the server itself.
        dns["dpf.test"] = "127.0.0.1"
        report = delivery.deliver_due()
        assert (report.delivered, report.failed, receiver.posts) == (0, 1, 0)
        waiting = Delivery.objects.get(webhook=webhook)
        assert waiting.state == DeliveryState.PENDING
        assert waiting.last_error == delivery.PRIVATE_ADDRESS.format(host="dpf.test", address="127.0.0.1")


def test_a_delivery_goes_to_the_address_that_was_checked(admin, dns, receiver, strict):
    # The receiver's name exists only in the checked table: the connection reaches it only because
    # it is made to the checked address, and the receiver is still sent its own name as the host.
    strict.KANGFU_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.1/32"]
    dns["dpf.test"] = "127.0.0.1"
    webhook, secret = register(admin, f"http://dpf.test:{receiver.port}/hooks/kangfu")
    receiver.secret = secret
    event = events.record(
        kind="subsidies.grant.changed", subject=("subsidies.grant", 1), district=HEXI, payload={}
    )
    assert delivery.deliver_due().delivered == 1
    assert list(receiver.accepted) == [str(event.key)]
    assert Delivery.objects.get(webhook=webhook).state == DeliveryState.DELIVERED
