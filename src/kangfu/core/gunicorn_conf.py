"""gunicorn's settings and hooks for `kangfu serve` (which passes bind, workers, threads and timeout on
the command line). Read by gunicorn's master before it starts any worker."""

from __future__ import annotations

import gc
import os

from django.conf import settings
from gunicorn import glogging

from kangfu.core.serving import clear_metrics_dir, web_workers

# Settings are read here for the log format only; each worker sets Django up after it is forked, so
# no database connection is ever shared between processes.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.settings")

wsgi_app = "kangfu.wsgi:application"
workers = web_workers()
# Longer than gunicorn's 30 s: exports and statistics of a large district take a while; the payroll
# and the comparison run as tasks and never hold a request.
timeout = int(os.environ.get("KANGFU_WEB_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests, so a slow leak never grows for long.
max_requests = 5000
max_requests_jitter = 500
# The worker heartbeat file on shared memory: a slow disk must not make gunicorn think a worker hung.
_SHM = "/dev/shm"  # noqa: S108  (gunicorn writes only its own liveness files there)
if os.path.isdir(_SHM):
    worker_tmp_dir = _SHM

# One server, one port: no control socket in the user's home directory for a second one to fight over.
control_socket_disable = True

# Every request is logged by the application (core.middleware.RequestIdMiddleware), with its request
# id, view and user, so gunicorn's access lines would only repeat them; its other lines go through
# the application's handlers and format.
accesslog = None


class Logger(glogging.Logger):
    """gunicorn's logger without its access line: given a logging configuration, gunicorn counts
    access logging as on and builds each line's fields (the request's headers and environment) only
    for the muted logger to drop it, about 1 % of a worker's time under load."""

    def access(self, resp, req, environ, request_time) -> None:
        return None


logger_class = Logger
logconfig_dict = {
    **settings.LOGGING,
    "loggers": {
        **settings.LOGGING.get("loggers", {}),
        "gunicorn.error": {"level": "INFO", "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "CRITICAL", "handlers": [], "propagate": False},
    },
}


# Python's cycle collector, tuned for a worker that serves pages: the default runs a young
# collection every 700 new objects, about twenty per page (a list page makes tens of thousands), and
# now and then a full one over every module Django and the app loaded. Measured in bench/pages.py:
# 1.4 ms of collection per page by default, 0.5 ms like this. What a worker holds after start-up is
# frozen out of the collections; garbage a page leaves in cycles is still collected, a little later,
# and a worker is replaced after `max_requests` anyway.
GC_THRESHOLDS = (20_000, 50, 100)


def post_worker_init(worker) -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def on_starting(server) -> None:
    clear_metrics_dir(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), remove=False)


def child_exit(server, worker) -> None:
    """A finished worker's live gauges no longer count; its counters stay in the totals."""
    from prometheus_client import multiprocess

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:
    clear_metrics_dir(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), remove=True)
