"""Benchmark: the outbox delivers N events to a local webhook receiver.

    .venv/bin/python bench/events.py --n 10000                  # SQLite file under var/bench/
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/kangfu_bench_events .venv/bin/python bench/events.py --n 10000

Registers a webhook (once; reused) pointing at a stdlib HTTP receiver on this machine
(`kangfu.events.tests.receiver`, which checks every signature and keeps events by idempotency key),
writes N events through `core.events.record_many` in batches of 1,000 (the batch path: grants moved at
a payroll lock, imports), then runs delivery passes (`events.delivery.deliver_due`, what the worker
runs every 5 s) until all N have been accepted. It times the writing and the delivering, checks that
the receiver got every event once with a good signature, in order, and prints one JSON object as its
last line. Goal (issue 18): 10,000 events a minute or more.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

GOAL_PER_MINUTE = 10_000
DISTRICTS = ("120101000000", "120103000000", "120104000000", "120105000000", "120110000000")


def configure() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")
    os.environ.setdefault("KANGFU_ENV_FILE", "/nonexistent")
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-not-for-production-0123456789abcdefghijkl")
    os.environ.setdefault("KANGFU_INSECURE_HTTP", "1")
    os.environ.setdefault("KANGFU_DATA_KEYS", "bench:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=")
    os.environ.setdefault("KANGFU_INDEX_KEY", "aW5kZXgta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    # The bench's receiver listens on this machine, an address webhooks are refused by default.
    os.environ.setdefault("KANGFU_WEBHOOK_ALLOW_PRIVATE", "1")
    if not os.environ.get("DATABASE_URL"):
        (ROOT / "var" / "bench").mkdir(parents=True, exist_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{ROOT / 'var' / 'bench' / 'events.sqlite3'}"
    import django

    django.setup()


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000, help="events to write and deliver")
    args = parser.parse_args()
    configure()

    from django.core.management import call_command
    from django.db import connection, transaction

    from kangfu.core import events
    from kangfu.core.models import Region
    from kangfu.events.delivery import deliver_due
    from kangfu.events.models import Delivery, DeliveryState, Webhook
    from kangfu.events.tests.receiver import Receiver

    call_command("migrate", verbosity=0)
    if not Region.objects.filter(code="120100000000").exists():
        call_command("regions", "import", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115
    secret = "bench-webhook-secret"  # noqa: S105  (the bench's own local receiver)
    receiver = Receiver(secret=secret)
    webhook = Webhook.objects.filter(name="bench").first()
    if webhook is None:
        webhook = Webhook.objects.create(
            name="bench",
            url=receiver.url,
            secret=secret,
            region_id="120100000000",
            cursor=events.last_position(),
        )
    # Earlier runs' events are delivered already; this run's receiver listens on a new port.
    events.sequence()
    Webhook.objects.filter(pk=webhook.pk).update(
        url=receiver.url, cursor=events.last_position(), lease_until=None
    )
    Delivery.objects.filter(webhook=webhook, state=DeliveryState.PENDING).update(state=DeliveryState.DEAD)

    log(f"writing {args.n} events …")
    started = time.perf_counter()
    for start in range(0, args.n, 1000):
        batch = [
            events.Event(
                ("subsidies.grant", i),
                DISTRICTS[i % len(DISTRICTS)],
                {"person": i, "action": "regrade", "effective_month": "2026-12-01"},
            )
            for i in range(start, min(start + 1000, args.n))
        ]
        with transaction.atomic():
            events.record_many(kind="subsidies.grant.changed", events=batch)
    write_seconds = time.perf_counter() - started

    log("delivering …")
    started = time.perf_counter()
    passes = 0
    while len(receiver.accepted) < args.n and passes < 1000:
        report = deliver_due(budget=50.0)
        passes += 1
        if report.failed:
            raise SystemExit(f"a delivery failed: {report}")
    deliver_seconds = time.perf_counter() - started
    receiver.stop()

    positions = [body["position"] for body in (receiver.accepted[k] for k in receiver.order)]
    per_minute = args.n / deliver_seconds * 60 if deliver_seconds else 0.0
    result = {
        "bench": "events",
        "database": connection.vendor,
        "n": args.n,
        "write_seconds": round(write_seconds, 2),
        "written_per_minute": round(args.n / write_seconds * 60) if write_seconds else None,
        "deliver_seconds": round(deliver_seconds, 2),
        "delivered_per_minute": round(per_minute),
        "passes": passes,
        "accepted": len(receiver.accepted),
        "duplicates": receiver.duplicates,
        "bad_signatures": receiver.bad_signatures,
        "in_order": positions == sorted(positions),
        "goal_per_minute": GOAL_PER_MINUTE,
        "goal_met": per_minute >= GOAL_PER_MINUTE and len(receiver.accepted) == args.n,
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
