"""The idle and absolute session limits hold while a page no longer writes its session row on every
request: the idle expiry is pushed forward at most once a minute (core.middleware)."""

import datetime as dt

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kangfu.core.middleware import SESSION_TOO_OLD
from kangfu.core.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def _signed_in(client, clock):
    """Signed in with the password at START, as a user does (the login sets the limits' clocks)."""
    response = client.post("/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    return client


def _session_writes(client, path="/"):
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path)
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("UPDATE", "INSERT"))]
    return response, [sql for sql in writes if "django_session" in sql]


def _expiry(client):
    return Session.objects.get(session_key=client.session.session_key).expire_date


def test_pages_within_a_minute_of_the_last_refresh_do_not_write_the_session(client, owner, clock):
    _signed_in(client, clock)
    client.get("/")  # the first page keeps the menu's counts in the session (test_menu_counts.py)
    for seconds in (1, 20, 59):
        clock.move_to(START + dt.timedelta(seconds=seconds))
        response, writes = _session_writes(client)
        assert response.status_code == 200
        assert writes == []


def test_a_page_a_minute_after_the_last_refresh_pushes_the_idle_expiry_forward(client, owner, clock):
    _signed_in(client, clock)
    assert _expiry(client) == START + dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS)
    later = START + dt.timedelta(seconds=settings.SESSION_REFRESH_SECONDS)
    clock.move_to(later)
    response, writes = _session_writes(client)
    assert response.status_code == 200
    assert len(writes) == 1
    assert _expiry(client) == later + dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS)


def test_a_session_idle_for_thirty_minutes_is_signed_out(client, owner, clock):
    _signed_in(client, clock)
    clock.move_to(START + dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS + 1))
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_session_idle_since_a_page_that_did_not_refresh_ends_within_the_idle_limit(client, owner, clock):
    """The last page came 59 s after the last refresh and wrote nothing: the session still ends no
    later than thirty minutes after that page (it ends up to a minute sooner)."""
    _signed_in(client, clock)
    last_page = START + dt.timedelta(seconds=59)
    clock.move_to(last_page)
    assert client.get("/").status_code == 200
    clock.move_to(last_page + dt.timedelta(seconds=settings.SESSION_IDLE_SECONDS))
    assert client.get("/").status_code == 302


def test_a_session_used_every_five_minutes_outlives_the_idle_limit(client, owner, clock):
    _signed_in(client, clock)
    for minutes in range(5, 65, 5):
        clock.move_to(START + dt.timedelta(minutes=minutes))
        assert client.get("/").status_code == 200, f"signed out after {minutes} active minutes"


def test_a_session_used_all_along_still_ends_at_the_absolute_limit(client, owner, clock):
    _signed_in(client, clock)
    for minutes in range(20, settings.SESSION_MAX_SECONDS // 60, 20):
        clock.move_to(START + dt.timedelta(minutes=minutes))
        assert client.get("/").status_code == 200
    clock.move_to(START + dt.timedelta(seconds=settings.SESSION_MAX_SECONDS + 1))
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login")
    assert SESSION_TOO_OLD in response.content.decode()


def test_signing_out_ends_the_session_at_once(client, owner, clock):
    _signed_in(client, clock)
    key = client.session.session_key
    client.post("/logout/")
    assert not Session.objects.filter(session_key=key).exists()
    assert client.get("/").status_code == 302
