"""Health, readiness, metrics, request ids and the log format (core.observability)."""

import io
import json
import logging
import sys
from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.template import engines
from django.test import override_settings
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from kangfu.core import audit
from kangfu.core.models import AuditAction, AuditEntry, WorkerHeartbeat
from kangfu.core.observability import JsonFormatter, RequestIdFilter
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.tasks import write_marker

DATABASE_TASKS = override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}})
BEHIND_PROXY = override_settings(SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))


def _beat(*, ago: timedelta) -> None:
    WorkerHeartbeat.objects.create(worker_id=f"w-{ago.total_seconds()}", seen_at=timezone.now() - ago)


def _sample(client, name: str, **labels: str) -> float:
    body = client.get("/metrics").content.decode()
    for family in text_string_to_metric_families(body):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


# --- /healthz ------------------------------------------------------------------------------------


def test_healthz_answers_without_the_database(client):
    # No `db` mark: any query would fail the test.
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"


def test_probes_answer_whatever_host_the_prober_names(client):
    response = client.get("/healthz", HTTP_HOST="10.20.30.40:8000")
    assert response.status_code == 200


# --- /readyz ----------------------------------------------------------------------------------------


@pytest.mark.django_db
@DATABASE_TASKS
def test_readyz_is_ready_with_database_migrations_and_a_live_worker(client):
    _beat(ago=timedelta(seconds=5))
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
@DATABASE_TASKS
def test_readyz_fails_when_no_worker_was_seen_in_the_last_minute(client):
    _beat(ago=timedelta(minutes=2))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == ["worker"]


@pytest.mark.django_db
@DATABASE_TASKS
def test_readyz_fails_when_a_migration_is_not_applied(client):
    _beat(ago=timedelta(seconds=5))
    MigrationRecorder(connection).record_unapplied("core", "0009_workerheartbeat")
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["migrations"]
    assert "core.0009_workerheartbeat" in body["checks"]["migrations"]


@pytest.mark.django_db
def test_readyz_needs_no_worker_when_tasks_run_in_place(client):
    response = client.get("/readyz")
    assert response.status_code == 200


# --- /metrics ---------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_metrics_are_refused_from_an_address_not_allowed(client):
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 403


@pytest.mark.django_db
@override_settings(KANGFU_METRICS_ALLOWED=["10.0.0.0/8"])
def test_metrics_are_served_to_an_allowed_network(client):
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200


@pytest.mark.django_db
@override_settings(KANGFU_METRICS_TOKEN="s3cret-scrape-token")
def test_metrics_are_served_with_the_bearer_token_from_anywhere(client):
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 403
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")
    assert response.status_code == 200


@pytest.mark.django_db
@override_settings(KANGFU_METRICS_TOKEN="s3cret-scrape-token")
def test_metrics_refuse_a_wrong_token(client):
    response = client.get("/metrics", REMOTE_ADDR="10.1.2.3", HTTP_AUTHORIZATION="Bearer guess")
    assert response.status_code == 403


@pytest.mark.django_db
def test_metrics_count_requests_by_view_and_status(client):
    labels = {"view": "login", "method": "GET", "status": "200"}
    before = _sample(client, "kangfu_http_requests_total", **labels)
    client.get("/login/")
    client.get("/login/")
    assert _sample(client, "kangfu_http_requests_total", **labels) == before + 2
    assert _sample(client, "kangfu_http_request_duration_seconds_count", view="login") >= 2


@pytest.mark.django_db
def test_metrics_do_not_count_the_probes(client):
    before = _sample(client, "kangfu_http_requests_total", view="<unmatched>", method="GET", status="200")
    client.get("/healthz")
    assert (
        _sample(client, "kangfu_http_requests_total", view="<unmatched>", method="GET", status="200")
        == before
    )


@pytest.mark.django_db
@DATABASE_TASKS
def test_metrics_show_the_task_queue(client, tmp_path):
    write_marker.enqueue(str(tmp_path / "marker"), "queued")
    assert _sample(client, "kangfu_task_queue_depth", queue="default") == 1
    assert _sample(client, "kangfu_task_oldest_ready_age_seconds", queue="default") >= 0


@pytest.mark.django_db
def test_metrics_say_the_database_answered(client):
    assert _sample(client, "kangfu_database_up") == 1


@pytest.mark.django_db
def test_metrics_show_failed_sign_ins(client):
    client.post("/login/", {"username": "nobody", "password": "wrong-password-1"})
    assert _sample(client, "kangfu_login_failures_15m") == 1


# --- request ids ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_response_carries_a_new_request_id(client):
    first = client.get("/login/")["X-Request-ID"]
    second = client.get("/login/")["X-Request-ID"]
    assert len(first) == 32
    assert first != second


@pytest.mark.django_db
@BEHIND_PROXY
def test_the_proxys_request_id_is_kept(client):
    response = client.get("/login/", HTTP_X_REQUEST_ID="5f0c6f0e9b2a4c1d8e7f6a5b4c3d2e1f")
    assert response["X-Request-ID"] == "5f0c6f0e9b2a4c1d8e7f6a5b4c3d2e1f"


@pytest.mark.django_db
@BEHIND_PROXY
def test_a_malformed_request_id_is_replaced(client):
    response = client.get("/login/", HTTP_X_REQUEST_ID='x" forged=1 <script>')
    assert response["X-Request-ID"] != 'x" forged=1 <script>'
    assert len(response["X-Request-ID"]) == 32


@pytest.mark.django_db
def test_a_browsers_request_id_is_not_taken_without_a_proxy(client):
    response = client.get("/login/", HTTP_X_REQUEST_ID="5f0c6f0e9b2a4c1d8e7f6a5b4c3d2e1f")
    assert response["X-Request-ID"] != "5f0c6f0e9b2a4c1d8e7f6a5b4c3d2e1f"


@pytest.mark.django_db
def test_the_audit_row_of_a_request_carries_its_request_id(client):
    response = client.post("/login/", {"username": "nobody", "password": "wrong-password-1"})
    entry = AuditEntry.objects.get(action=AuditAction.LOGIN_FAILED)
    assert entry.request_id == response["X-Request-ID"]


@pytest.mark.django_db
def test_every_audit_writer_stamps_the_request_id():
    with audit.audit_context(ip="10.0.0.1", channel="web", request_id="req-0123456789"):
        audit.record(actor=None, action=AuditAction.VIEW, object_type="x", object_id="1")
        audit.record_many(
            actor=None, action=AuditAction.VIEW, rows=[(AuditEntry.objects.first(), None)], summary=""
        )
        audit.record_rows(actor=None, action=AuditAction.IMPORT, rows=[audit.Row("x", "2", None, "批量")])
    assert list(AuditEntry.objects.values_list("request_id", flat=True)) == ["req-0123456789"] * 3


@pytest.mark.django_db
def test_outside_a_request_audit_rows_have_no_request_id():
    entry = audit.record(actor=None, action=AuditAction.VIEW, object_type="x", object_id="1")
    assert entry.request_id == ""


# --- logs -------------------------------------------------------------------------------------------


@pytest.fixture
def json_access_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RequestIdFilter())
    logger = logging.getLogger("kangfu.access")
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


@pytest.mark.django_db
def test_a_json_access_log_line_parses_and_carries_the_request_id(client, json_access_log):
    response = client.get("/login/")
    line = json.loads(json_access_log.getvalue().splitlines()[-1])
    assert line["request_id"] == response["X-Request-ID"]
    assert line["logger"] == "kangfu.access"
    assert (line["method"], line["path"], line["status"], line["view"]) == ("GET", "/login/", 200, "login")
    assert line["duration_ms"] >= 0


@pytest.mark.django_db
def test_the_access_log_leaves_out_the_query_string(client, json_access_log):
    client.get("/login/?next=/people/%3Fq%3D120101199001011234")
    line = json.loads(json_access_log.getvalue().splitlines()[-1])
    assert "120101199001011234" not in json_access_log.getvalue()
    assert line["path"] == "/login/"


@pytest.mark.django_db
def test_the_access_log_names_the_signed_in_user(client, json_access_log):
    user = UserFactory(username="dayingmen")
    client.force_login(user)
    client.get("/")
    line = json.loads(json_access_log.getvalue().splitlines()[-1])
    assert line["user_id"] == user.pk


def test_a_json_log_line_of_an_error_carries_its_traceback():
    try:
        raise ValueError("坏数据")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord("kangfu.test", logging.ERROR, __file__, 1, "失败 %s", ("甲",), exc_info)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "失败 甲"
    assert "ValueError: 坏数据" in line["exc"]


# --- the job pages' notice ----------------------------------------------------------------------------


def _notice() -> str:
    return engines["django"].from_string("{% load serving %}{% waiting_for_worker %}").render({})


@pytest.mark.django_db
@DATABASE_TASKS
def test_queued_work_says_it_waits_when_no_worker_is_alive():
    _beat(ago=timedelta(minutes=5))
    assert "等待后台任务" in _notice()


@pytest.mark.django_db
@DATABASE_TASKS
def test_queued_work_says_nothing_more_while_a_worker_is_alive():
    _beat(ago=timedelta(seconds=10))
    assert "等待后台任务" not in _notice()


@pytest.mark.django_db
def test_work_run_in_place_never_waits_for_a_worker():
    assert "等待后台任务" not in _notice()
