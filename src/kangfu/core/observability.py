"""Watching the running system: request ids, log formats, health and readiness, Prometheus metrics.

This module is imported by gunicorn's configuration (for the log formatter) before Django is set up,
so it imports no model at module level.

Metrics with several gunicorn workers: each worker counts its own requests, and `kangfu serve`
points PROMETHEUS_MULTIPROC_DIR at a fresh directory so that prometheus-client keeps every worker's
counts in files there and one scrape adds them up. Figures that live in the database (the task queue,
locked accounts, task durations) are read at scrape time instead, so they are the same whichever
process answers.
"""

from __future__ import annotations

import contextvars
import functools
import ipaddress
import json
import logging
import os
import re
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.functional import SimpleLazyObject, empty
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

# A worker that has not written its heartbeat for this long is taken to be gone.
WORKER_SEEN_WITHIN = timedelta(seconds=60)

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
# What a proxy may hand us as a request id: nginx's $request_id, a UUID, or similar; anything else
# (too long, spaces, quotes) is replaced by our own, so it cannot forge log lines or bloat a column.
_WELL_FORMED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{7,63}$")


def current_request_id() -> str:
    """The id of the request being served in this thread, or "" outside a request."""
    return _request_id.get()


def set_request_id(value: str) -> contextvars.Token[str]:
    return _request_id.set(value)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _request_id.reset(token)


def request_id_from(request: HttpRequest) -> str:
    """The proxy's X-Request-ID when we are behind one and it is well formed, else a new one. Without
    a proxy the header comes straight from the browser, so it is not taken: an audit row's request
    id must be ours or our proxy's."""
    offered = request.META.get("HTTP_X_REQUEST_ID", "")
    if settings.SECURE_PROXY_SSL_HEADER and _WELL_FORMED_ID.match(offered):
        return offered
    return uuid.uuid4().hex


# --- logs --------------------------------------------------------------------------------------

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "request_id"}


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record, so both formats can show it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", ""):
            record.request_id = current_request_id() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, any `extra=` fields and
    the traceback. A log shipper reads it without a parsing rule of its own."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", "") or current_request_id()
        if request_id and request_id != "-":
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


access_log = logging.getLogger("kangfu.access")
logger = logging.getLogger("kangfu.observability")


# --- request metrics -----------------------------------------------------------------------------

REQUESTS = Counter(
    "kangfu_http_requests_total",
    "Requests answered, by view, method and status.",
    ["view", "method", "status"],
)
LATENCY = Histogram(
    "kangfu_http_request_duration_seconds",
    "Time to answer a request, by view.",
    ["view"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def view_label(request: HttpRequest) -> str:
    """The view's route name: a bounded set of labels, unlike paths with ids in them."""
    match = getattr(request, "resolver_match", None)
    if match is not None:
        return match.view_name or match._func_path
    if request.path.startswith(settings.STATIC_URL):
        return "static"
    return "<unmatched>"


_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def _user_id(request: HttpRequest) -> int | None:
    """The signed-in user's id if the request already looked the user up; never a query of its own
    (a public page that did not ask must not pay for the log line)."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:
        return None
    return user.pk if user is not None and user.is_authenticated else None


def observe_request(request: HttpRequest, response: HttpResponse, seconds: float) -> None:
    """Counts the request, times it and writes its access-log line. The line has the path without
    its query string: a search by ID number or phone must not leave the number in the logs."""
    from kangfu.core.middleware import client_ip

    view = view_label(request)
    method = request.method if request.method in _METHODS else "OTHER"
    REQUESTS.labels(view=view, method=method, status=str(response.status_code)).inc()
    LATENCY.labels(view=view).observe(seconds)
    path = request.path[:500]
    access_log.info(
        "%s %s %s %.0fms",
        method,
        path,
        response.status_code,
        seconds * 1000,
        extra={
            "method": method,
            "path": path,
            "status": response.status_code,
            "duration_ms": round(seconds * 1000, 1),
            "view": view,
            "ip": client_ip(request),
            "user_id": _user_id(request),
        },
    )


# --- health and readiness --------------------------------------------------------------------------


def healthz(request: HttpRequest) -> HttpResponse:
    """The process answers. Touches nothing else, so a slow database never restarts the server."""
    return HttpResponse("ok\n", content_type="text/plain")


def uses_worker() -> bool:
    """Whether queued tasks wait for `kangfu worker` (the database backend) or run in place."""
    from django_tasks import DEFAULT_TASK_BACKEND_ALIAS, task_backends
    from django_tasks_db.backend import DatabaseBackend

    return isinstance(task_backends[DEFAULT_TASK_BACKEND_ALIAS], DatabaseBackend)


def worker_seen(*, within: timedelta = WORKER_SEEN_WITHIN) -> bool:
    """Whether some task worker has written its heartbeat lately."""
    from django.utils import timezone

    from kangfu.core.models import WorkerHeartbeat

    return WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - within).exists()


def waiting_for_worker() -> bool:
    """Queued work would sit unpicked: the tasks go to the database and no worker is alive."""
    return uses_worker() and not worker_seen()


@functools.cache
def _migrations_in_code() -> dict[tuple[str, str], tuple[tuple[str, str], ...]]:
    """Every migration this code has, with the ones a squashed migration replaces. Read from disk once
    per process (a fifth of a second each time otherwise): new migrations come with a new process."""
    from django.db.migrations.loader import MigrationLoader

    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    return {key: tuple(graph.nodes[key].replaces) for key in graph.nodes}


def _unapplied_migrations() -> list[str]:
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    applied = set(MigrationRecorder(connection).applied_migrations())
    return sorted(
        f"{app}.{name}"
        for (app, name), replaces in _migrations_in_code().items()
        if (app, name) not in applied and not (replaces and applied.issuperset(replaces))
    )


def readiness() -> dict[str, str]:
    """Each check's outcome: "ok", or what is wrong (in English: probes and operators read it)."""
    from django.db import connection

    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
        checks["migrations"] = "unknown"
        checks["worker"] = "unknown"
        return checks
    pending = _unapplied_migrations()
    checks["migrations"] = "ok" if not pending else f"{len(pending)} unapplied, first {pending[0]}"
    if not uses_worker():
        checks["worker"] = "ok (tasks run in place)"
    else:
        checks["worker"] = "ok" if worker_seen() else "no worker seen in the last minute"
    from kangfu.core.dbrouting import readiness_check

    if (replica := readiness_check()) is not None:
        checks["replica"] = replica
    return checks


def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: database reachable, migrations applied, a task worker alive. 503 names what
    failed, so a load balancer stops sending work here and an operator sees why."""
    checks = readiness()
    failed = [name for name, outcome in checks.items() if not outcome.startswith("ok")]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
    response = JsonResponse(body, status=503 if failed else 200)
    # A balancer asks every few seconds: Django would log each 503 as an error; the body says it all.
    response._has_been_logged = True
    return response


# --- metrics scrape ----------------------------------------------------------------------------


def metrics_allowed(request: HttpRequest) -> bool:
    """From an allowed address (KANGFU_METRICS_ALLOWED, addresses or networks) or with the bearer
    token (KANGFU_METRICS_TOKEN). The address is the one the request came from, as the proxy tells it
    when we are behind one (the proxy must set X-Forwarded-For itself, see the README)."""
    from kangfu.core.middleware import client_ip

    token = settings.KANGFU_METRICS_TOKEN
    offered = request.META.get("HTTP_AUTHORIZATION", "")
    if token and secrets.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    address = client_ip(request)
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.KANGFU_METRICS_ALLOWED)


class DatabaseCollector:
    """Figures read from the database at scrape time: the same from every process. With the database
    down, the scrape still answers, with `kangfu_database_up 0` (an alert can fire on it)."""

    def collect(self):
        from django.db import DatabaseError

        up = GaugeMetricFamily("kangfu_database_up", "Whether the database answered this scrape.")
        try:
            figures = list(self._figures())
        except DatabaseError:
            logger.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from figures

    def _figures(self):
        from django.db.models import Count, Max, Min
        from django.utils import timezone
        from django_tasks_db.models import DBTaskResult

        from kangfu.core.models import AuditAction, AuditEntry

        now = timezone.now()
        depth = GaugeMetricFamily(
            "kangfu_task_queue_depth", "Tasks waiting for a worker, by queue.", labels=["queue"]
        )
        oldest = GaugeMetricFamily(
            "kangfu_task_oldest_ready_age_seconds",
            "Age of the oldest task waiting for a worker.",
            labels=["queue"],
        )
        for row in (
            DBTaskResult.objects.ready()
            .values("queue_name")
            .annotate(n=Count("id"), first=Min("enqueued_at"))
        ):
            depth.add_metric([row["queue_name"]], row["n"])
            oldest.add_metric([row["queue_name"]], (now - row["first"]).total_seconds())
        yield depth
        yield oldest

        running = GaugeMetricFamily("kangfu_tasks_running", "Tasks a worker is running now.")
        running.add_metric([], DBTaskResult.objects.running().count())
        yield running

        workers = GaugeMetricFamily("kangfu_workers_alive", "Task workers seen in the last minute.")
        from kangfu.core.models import WorkerHeartbeat

        workers.add_metric([], WorkerHeartbeat.objects.filter(seen_at__gte=now - WORKER_SEEN_WITHIN).count())
        yield workers

        # The payroll and the comparison run as tasks: their durations are those of their tasks, so
        # core names no app. The last finished run of each task, and how each ended.
        duration = GaugeMetricFamily(
            "kangfu_task_last_duration_seconds",
            "Duration of the last finished run of each task (payroll, comparison, imports).",
            labels=["task", "status"],
        )
        latest = (
            DBTaskResult.objects.finished()
            .filter(started_at__isnull=False, finished_at__gte=now - timedelta(days=35))
            .values("task_path", "status")
            .annotate(last=Max("finished_at"))
        )
        for row in latest:
            run = (
                DBTaskResult.objects.filter(
                    task_path=row["task_path"], status=row["status"], finished_at=row["last"]
                )
                .values("started_at", "finished_at")
                .first()
            )
            if run:
                seconds = (run["finished_at"] - run["started_at"]).total_seconds()
                duration.add_metric([row["task_path"], row["status"]], seconds)
        yield duration

        failures = GaugeMetricFamily(
            "kangfu_login_failures_15m", "Failed sign-ins in the last 15 minutes (from the audit trail)."
        )
        failures.add_metric(
            [],
            AuditEntry.objects.filter(
                at__gte=now - timedelta(minutes=15), action=AuditAction.LOGIN_FAILED
            ).count(),
        )
        yield failures

        from axes.models import AccessAttempt

        locked = GaugeMetricFamily(
            "kangfu_accounts_locked", "Accounts locked out by repeated failed sign-ins."
        )
        locked.add_metric(
            [], AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).count()
        )
        yield locked


def render_metrics() -> bytes:
    """This process's (or, under gunicorn, every worker's) request metrics, then the database's."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
        requests = generate_latest(workers)
    else:
        requests = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(DatabaseCollector())
    from kangfu.core.dbrouting import ReplicaCollector

    database.register(ReplicaCollector())
    return requests + generate_latest(database)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' text format, for allowed addresses or the bearer token only."""
    if not metrics_allowed(request):
        return HttpResponse("forbidden\n", status=403, content_type="text/plain")
    return HttpResponse(render_metrics(), content_type=CONTENT_TYPE_LATEST)


PROBES = {"/healthz": healthz, "/readyz": readyz, "/metrics": metrics}
