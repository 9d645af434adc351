"""Sending the outbox's events to the webhooks.

A pass (`deliver_due`: the worker's timer every few seconds, `kangfu events deliver`, the task after a
replay) numbers newly committed events (`core.events.sequence`), makes each active webhook's
deliveries for the events it subscribes to in one INSERT … SELECT, and sends each webhook's pending
deliveries **in position order**, one POST per event over one kept-alive connection.

- A 2xx answer is delivered; anything else (an error status, a refused connection, a timeout) stops
  that webhook's sending for this pass, so that a later event never overtakes an earlier one, and the
  head is tried again after `backoff(attempts)`: 10 s doubling to at most an hour.
- A delivery still failing `RETRY_FOR` (three days) after it was made is given up (`dead`) and the
  ones behind it go on; the city administrator's page (or `kangfu events deliver --replay-dead`)
  sends it again.
- Delivered rows are marked in one UPDATE per batch, after sending. A pass killed between the two
  sends them again: the receiver recognises them by `X-Kangfu-Event-Id`, the event's idempotency key,
  which is the same on every attempt. That is the contract: at least once on the wire, exactly once by
  key.
- Two passes never send to one webhook at once: a pass takes a webhook by a conditional UPDATE of
  its `lease_until`.

A receiver's host is resolved again before each connection and every address it gives must be
allowed (`check_address`: public, unless the settings allow private networks), and the connection
goes to the address checked, not to what the name resolves to a moment later: a name that pointed
outside when the webhook was registered cannot be turned on the server's own or the intranet's
services by changing its DNS. A refused address is a failed attempt like a refused connection.

Every request carries `X-Kangfu-Event-Id`, `X-Kangfu-Event-Kind`, `X-Kangfu-Timestamp` and
`X-Kangfu-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" under the webhook's secret>`,
so a receiver can check the sender and refuse a replayed old request.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import time
import urllib.parse
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from kangfu.core import events
from kangfu.core.models import OutboxEvent
from kangfu.events.models import Delivery, DeliveryState, Webhook

logger = logging.getLogger(__name__)

FIRST_PAUSE = dt.timedelta(seconds=10)
LONGEST_PAUSE = dt.timedelta(hours=1)
RETRY_FOR = dt.timedelta(days=3)
TIMEOUT = 10.0  # seconds to connect and to answer
BATCH = 500  # deliveries read and marked at a time
LEASE = dt.timedelta(minutes=5)
USER_AGENT = "kangfu-webhooks/1"

PRIVATE_ADDRESS = (
    "接收地址的主机 {host} 指向本机、内网或保留地址（{address}），为防止借推送访问内部服务，不能向其推送。"
    "如确需推送到内网系统，请运维人员在 KANGFU_WEBHOOK_ALLOWED_NETWORKS 中登记其网段。"
)
UNRESOLVED = "无法解析接收地址的主机 {host}，请检查地址。"


class AddressRefused(Exception):
    """A receiver's host that does not resolve, or resolves to an address not allowed."""


def _allowed(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    networks = [ipaddress.ip_network(n, strict=False) for n in settings.KANGFU_WEBHOOK_ALLOWED_NETWORKS]
    if any(ip in network for network in networks):
        return True
    # Not global: loopback, private, link-local (169.254.169.254, the metadata service), shared,
    # reserved and unspecified addresses.
    return ip.is_global and not ip.is_multicast


def check_address(host: str, port: int | None) -> str | None:
    """The address to connect to for `host`: every address it resolves to must be allowed (one bad
    one refuses the host: a name answering both is someone's trick), or AddressRefused saying why.
    None when the settings allow private addresses: then nothing is checked or pinned."""
    if settings.KANGFU_WEBHOOK_ALLOW_PRIVATE:
        return None
    try:
        found = socket.getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise AddressRefused(UNRESOLVED.format(host=host)) from None
    addresses = [str(info[4][0]) for info in found]
    if not addresses:
        raise AddressRefused(UNRESOLVED.format(host=host))
    for address in addresses:
        if not _allowed(ipaddress.ip_address(address.split("%")[0])):
            raise AddressRefused(PRIVATE_ADDRESS.format(host=host, address=address))
    return addresses[0]


def check_url(url: str) -> None:
    """`check_address` for a receiver's URL (when it is registered)."""
    parts = urllib.parse.urlsplit(url)
    check_address(parts.hostname or "", parts.port)


def backoff(attempts: int) -> dt.timedelta:
    """The pause after the `attempts`-th failure: 10 s, 20 s, 40 s … at most an hour. Down for a
    day, a receiver is tried about 30 times, and once an hour after it is back at the latest."""
    if attempts <= 0:
        return dt.timedelta(0)
    return min(FIRST_PAUSE * 2 ** min(attempts - 1, 20), LONGEST_PAUSE)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def body_of(event: OutboxEvent) -> bytes:
    """What a receiver is sent: the event as the API gives it."""
    return json.dumps(
        {
            "id": str(event.key),
            "position": event.position,
            "kind": event.kind,
            "occurred_at": event.occurred_at.isoformat(),
            "district": event.district_id,
            "subject": {"type": event.subject_type, "id": event.subject_id},
            "payload": event.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


# --- making deliveries ---------------------------------------------------------------------------


def _region_range(code: str, level: int) -> tuple[str, str]:
    from kangfu.core.models import LEVEL_DIGITS, RegionLevel

    digits = LEVEL_DIGITS[RegionLevel(level)]
    prefix = code[:digits]
    upper = str(int(prefix) + 1).zfill(digits)
    return prefix.ljust(12, "0"), upper.ljust(12, "0")


def fan_out(webhook: Webhook, *, upto: int) -> int:
    """Deliveries for the webhook's events between its cursor and `upto`, in one statement; the
    cursor moves in the same transaction, so an event is never given twice (and the unique constraint
    would refuse it)."""
    if upto <= webhook.cursor:
        return 0
    low, high = _region_range(webhook.region_id, webhook.region.level)
    q = connection.ops.quote_name
    outbox, table = q(OutboxEvent._meta.db_table), q(Delivery._meta.db_table)
    kinds = [k for k in webhook.kinds if k in events.KINDS]
    kind_sql = f" AND kind IN ({', '.join(['%s'] * len(kinds))})" if kinds else ""
    now = timezone.now()
    params = [webhook.pk, DeliveryState.PENDING, now, now, webhook.cursor, upto, low, high, *kinds]
    with transaction.atomic():
        moved = Webhook.objects.filter(pk=webhook.pk, cursor=webhook.cursor).update(cursor=upto)
        if not moved:
            return 0  # another pass made them
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (webhook_id, event_id, position, state, attempts, next_attempt_at,"  # noqa: S608
                f" created_at, last_status, last_error)"
                f" SELECT %s, id, position, %s, 0, %s, %s, NULL, '' FROM {outbox}"
                f" WHERE position > %s AND position <= %s AND district_id >= %s AND district_id < %s"
                f"{kind_sql}",
                params,
            )
            made = cursor.rowcount
    webhook.cursor = upto
    return made


# --- sending -------------------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    status: int | None = None
    error: str = ""


class _PinnedHTTP(http.client.HTTPConnection):
    """A connection to the address that was checked; the Host header stays the receiver's name."""

    def __init__(self, host: str, port: int | None, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """The same over TLS: the certificate is still checked against the receiver's name."""

    def __init__(self, host: str, port: int | None, *, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


class Sender:
    """One kept-alive HTTP(S) connection to a webhook's host, opened again after an error, each time
    to an address checked again (`check_address`)."""

    def __init__(self, url: str, secret: str):
        parts = urllib.parse.urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.secret = secret
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            address = check_address(self.host, self.port or (443 if self.https else 80))
            if address is None:
                kind = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
                self.conn = kind(self.host, self.port, timeout=TIMEOUT)
            else:
                pinned = _PinnedHTTPS if self.https else _PinnedHTTP
                self.conn = pinned(self.host, self.port, address=address, timeout=TIMEOUT)
        return self.conn

    def send(self, event: OutboxEvent) -> Outcome:
        body = body_of(event)
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": USER_AGENT,
            "X-Kangfu-Event-Id": str(event.key),
            "X-Kangfu-Event-Kind": event.kind,
            "X-Kangfu-Timestamp": timestamp,
            "X-Kangfu-Signature": sign(self.secret, timestamp, body),
        }
        try:
            conn = self._connection()
            conn.request("POST", self.path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.will_close:
                self.close()
        except AddressRefused as exc:
            return Outcome(False, None, str(exc)[:300])
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            return Outcome(False, None, f"{type(exc).__name__}: {exc}"[:300])
        if 200 <= response.status < 300:
            return Outcome(True, response.status)
        return Outcome(False, response.status, f"HTTP {response.status} {response.reason}"[:300])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _failed(delivery: Delivery, outcome: Outcome, now: dt.datetime) -> None:
    attempts = delivery.attempts + 1
    dead = now - delivery.created_at >= RETRY_FOR
    Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING).update(
        attempts=attempts,
        last_status=outcome.status,
        last_error=outcome.error,
        next_attempt_at=now + backoff(attempts),
        state=DeliveryState.DEAD if dead else DeliveryState.PENDING,
    )
    if dead:
        logger.warning(
            "webhook %s: event %s given up after %s attempts",
            delivery.webhook_id,
            delivery.event_id,
            attempts,
        )


def _take(webhook: Webhook, now: dt.datetime) -> bool:
    return bool(
        Webhook.objects.filter(pk=webhook.pk, active=True)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .update(lease_until=now + LEASE)
    )


def send_pending(webhook: Webhook, *, deadline: float) -> tuple[int, int]:
    """Send the webhook's due deliveries in order until one fails, none is left or `deadline`
    (monotonic) passes; return (delivered, failed)."""
    sender = Sender(webhook.url, webhook.secret)
    delivered = failed = 0
    try:
        while time.monotonic() < deadline:
            now = timezone.now()
            batch = list(
                Delivery.objects.filter(webhook=webhook, state=DeliveryState.PENDING)
                .select_related("event")
                .order_by("position")[:BATCH]
            )
            if not batch:
                break
            sent: list[int] = []
            stopped = False
            for delivery in batch:
                if delivery.next_attempt_at > now or time.monotonic() >= deadline:
                    stopped = True
                    break
                outcome = sender.send(delivery.event)
                if outcome.ok:
                    sent.append(delivery.pk)
                    continue
                _failed(delivery, outcome, timezone.now())
                failed += 1
                stopped = True
                break
            if sent:
                Delivery.objects.filter(pk__in=sent, state=DeliveryState.PENDING).update(
                    state=DeliveryState.DELIVERED,
                    delivered_at=timezone.now(),
                    attempts=F("attempts") + 1,
                    last_status=200,
                    last_error="",
                )
                delivered += len(sent)
            if stopped:
                break
    finally:
        sender.close()
    return delivered, failed


@dataclass
class PassReport:
    numbered: int = 0
    made: int = 0
    delivered: int = 0
    failed: int = 0


def deliver_due(*, budget: float = 50.0) -> PassReport:
    """One delivery pass over every active webhook, for at most about `budget` seconds."""
    if not Webhook.objects.filter(active=True).exists():
        # Nothing to send: no write every few seconds (on SQLite, the one write lock). A reader
        # of the API numbers what it reads itself.
        return PassReport()
    report = PassReport(numbered=events.sequence())
    deadline = time.monotonic() + budget
    upto = events.last_position()
    for webhook in Webhook.objects.filter(active=True).select_related("region"):
        now = timezone.now()
        if not _take(webhook, now):
            continue
        try:
            report.made += fan_out(webhook, upto=upto)
            delivered, failed = send_pending(webhook, deadline=deadline)
            report.delivered += delivered
            report.failed += failed
        finally:
            Webhook.objects.filter(pk=webhook.pk).update(lease_until=None)
    return report
