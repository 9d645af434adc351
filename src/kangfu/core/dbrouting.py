"""Reads from a PostgreSQL streaming replica, for statistics, reports and exports only.

With `DATABASE_REPLICA_URL` set, settings add a `replica` alias. Nothing goes there by default: a read
is sent to the replica only inside an explicit reporting scope, `replica_reads()`, which the statistics
pages, the reports and the XLSX exports enter:

    @replica_reads
    def stats(request): ...

    with replica_reads():
        rows = list(selectors.rows(user=user))

Inside the scope the primary still answers when reading the replica could show stale data or fail:

- inside a transaction on the primary (the transaction may hold uncommitted rows of its own);
- after a write in the same scope, or earlier in the same request (a page that saved then shows);
- for the tables a login, a session or the task queue live in (`PRIMARY_ONLY_APPS`);
- when the replica is unreachable, or its last replayed transaction is older than
  `KANGFU_REPLICA_MAX_LAG` seconds while it still has WAL to replay. The check is cached for
  `CHECK_SECONDS` per process; the change of state is logged once (a warning when the replica is
  dropped, an info line when it is back) and each fallback is counted in
  `kangfu_replica_fallbacks_total`.

Without a `replica` alias the router answers nothing and the scope changes nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from prometheus_client import Counter
from prometheus_client.core import GaugeMetricFamily

logger = logging.getLogger("kangfu.dbrouting")

REPLICA = "replica"
PRIMARY = "default"
# How long one process trusts its last look at the replica: one query every few seconds, not per read.
CHECK_SECONDS = 5.0
# Sessions, sign-in lockouts, second factors and the task queue are read right after they are written
# (by another request or process): a lagging copy would sign people out or hide a queued task.
PRIMARY_ONLY_APPS = frozenset(
    {"sessions", "axes", "otp_totp", "otp_static", "django_tasks_db", "admin", "contenttypes"}
)

FALLBACKS = Counter(
    "kangfu_replica_fallbacks_total",
    "Reporting reads sent to the primary because the replica was unreachable or behind.",
    ["reason"],
)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def max_lag() -> float:
    return float(getattr(settings, "KANGFU_REPLICA_MAX_LAG", 30))


# --- the scope -------------------------------------------------------------------------------------


@dataclass
class _Scope:
    wrote: bool = False
    fell_back: bool = False


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("kangfu_replica_scope", default=None)
# The request id in which this thread last wrote: a later scope in the same request reads the primary.
_wrote_in_request: contextvars.ContextVar[str] = contextvars.ContextVar("kangfu_wrote_in", default="")


class _ReplicaReads(contextlib.ContextDecorator):
    """One use of the scope. A fresh instance per `with` and per decorated call (`_recreate_cm`), so
    concurrent requests in threads never share a token."""

    def __init__(self) -> None:
        self._token: contextvars.Token | None = None

    def _recreate_cm(self):
        return type(self)()

    def __enter__(self):
        outer = _scope.get()
        # A nested scope shares the outer one's state: a write inside it still pins the outer scope.
        self._token = _scope.set(outer if outer is not None else _Scope())
        return self

    def __exit__(self, *exc) -> bool:
        _scope.reset(self._token)
        return False


def replica_reads(func=None):
    """The reporting scope: `@replica_reads` or `@replica_reads()` on a view or function, or
    `with replica_reads():` around the reads of a report or an export."""
    if func is None:
        return _ReplicaReads()

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _ReplicaReads():
            return func(*args, **kwargs)

    return wrapper


def in_replica_scope() -> bool:
    return _scope.get() is not None


# --- the replica's state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaState:
    usable: bool
    reason: str  # "ok", or what is wrong, in English (logs, /readyz)
    kind: str  # "ok", "down" or "lagging": the metric's label
    lag_seconds: float | None
    checked_at: float


_LAG_SQL = """
SELECT pg_is_in_recovery(),
       CASE WHEN pg_last_wal_receive_lsn() IS NOT NULL
                 AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE EXTRACT(EPOCH FROM (clock_timestamp() - pg_last_xact_replay_timestamp()))
       END
"""

_lock = threading.Lock()
_state: ReplicaState | None = None


def _measure() -> ReplicaState:
    """One look at the replica. The replay timestamp alone would call an idle replica late (nothing to
    replay since the primary's last commit), so a replica that has replayed all it received is on time."""
    from django.db import DatabaseError, connections

    now = time.monotonic()
    connection = connections[REPLICA]
    try:
        if connection.vendor != "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            return ReplicaState(True, "ok", "ok", 0.0, now)
        with connection.cursor() as cursor:
            cursor.execute(_LAG_SQL)
            in_recovery, lag = cursor.fetchone()
    except DatabaseError as exc:
        # The next look connects afresh rather than reusing a broken connection.
        with contextlib.suppress(Exception):
            connection.close()
        return ReplicaState(False, f"unreachable: {type(exc).__name__}", "down", None, now)
    if not in_recovery:
        # Promoted or pointed at a primary: its data is as fresh as it gets.
        return ReplicaState(True, "ok (not in recovery)", "ok", 0.0, now)
    if lag is None:
        return ReplicaState(False, "lag unknown: nothing replayed yet", "lagging", None, now)
    lag = max(float(lag), 0.0)
    if lag > max_lag():
        return ReplicaState(False, f"lagging {lag:.0f}s behind (limit {max_lag():.0f}s)", "lagging", lag, now)
    return ReplicaState(True, "ok", "ok", lag, now)


def replica_state(*, fresh: bool = False) -> ReplicaState:
    """The replica's state as this process last saw it, looked at again when older than
    CHECK_SECONDS (or `fresh`). A change of state is logged once, not per read."""
    global _state
    with _lock:
        current = _state
        if not fresh and current is not None and time.monotonic() - current.checked_at < CHECK_SECONDS:
            return current
        measured = _measure()
        _state = measured
    if current is None or current.usable != measured.usable or current.kind != measured.kind:
        if measured.usable:
            if current is not None:
                logger.info("replica back in use for reporting reads", extra={"replica": measured.reason})
        else:
            logger.warning(
                "replica not used, reporting reads go to the primary: %s",
                measured.reason,
                extra={"replica": measured.reason, "lag_seconds": measured.lag_seconds},
            )
    return measured


def forget_replica_state() -> None:
    """The next read looks at the replica again (tests, and after an operator's change)."""
    global _state
    with _lock:
        _state = None


# --- the router ------------------------------------------------------------------------------------


class ReplicaRouter:
    """Listed in DATABASE_ROUTERS. Answers None (Django's default, the primary) unless a `replica`
    alias exists and the read is inside `replica_reads()`."""

    def db_for_read(self, model, **hints):
        if not replica_configured():
            return None
        scope = _scope.get()
        if scope is None:
            return PRIMARY
        if scope.wrote or model._meta.app_label in PRIMARY_ONLY_APPS:
            return PRIMARY
        from django.db import connections

        from kangfu.core.observability import current_request_id

        if connections[PRIMARY].in_atomic_block:
            return PRIMARY
        request_id = current_request_id()
        if request_id and _wrote_in_request.get() == request_id:
            return PRIMARY
        state = replica_state()
        if state.usable:
            return REPLICA
        if not scope.fell_back:
            scope.fell_back = True
            FALLBACKS.labels(reason=state.kind).inc()
        return PRIMARY

    def db_for_write(self, model, **hints):
        if not replica_configured():
            return None
        scope = _scope.get()
        if scope is not None:
            scope.wrote = True
        from kangfu.core.observability import current_request_id

        request_id = current_request_id()
        if request_id:
            _wrote_in_request.set(request_id)
        return PRIMARY

    def allow_relation(self, obj1, obj2, **hints):
        # Both aliases hold the same rows: a row read from the replica may be linked to one on the primary.
        if {obj1._state.db, obj2._state.db} <= {PRIMARY, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # A replica is read-only; it receives the schema from the primary's WAL.
        return False if db == REPLICA else None


# --- metrics ---------------------------------------------------------------------------------------


class ReplicaCollector:
    """`kangfu_replica_up` and `kangfu_replica_lag_seconds` at scrape time (only with a replica)."""

    def collect(self):
        if not replica_configured():
            return
        state = replica_state(fresh=True)
        up = GaugeMetricFamily(
            "kangfu_replica_up", "Whether reporting reads may use the replica (reachable and on time)."
        )
        up.add_metric([], 1 if state.usable else 0)
        yield up
        if state.lag_seconds is not None:
            lag = GaugeMetricFamily("kangfu_replica_lag_seconds", "How far the replica's replay is behind.")
            lag.add_metric([], state.lag_seconds)
            yield lag


def readiness_check() -> str | None:
    """For /readyz: None without a replica; otherwise "ok" or "ok (…falling back…)". A replica that is
    down never makes the site unready: the primary answers its reads. The cached look, so a replica
    whose packets are dropped costs a probe its connect timeout once per CHECK_SECONDS at most."""
    if not replica_configured():
        return None
    state = replica_state()
    if state.usable:
        return "ok" if state.lag_seconds is None else f"ok (lag {state.lag_seconds:.0f}s)"
    return f"ok (reads fall back to the primary: {state.reason})"
