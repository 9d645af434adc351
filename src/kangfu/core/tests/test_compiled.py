"""Every request reads its session and its signed-in user through statements compiled once per
connection (core.compiled): what they read must be what the ORM reads, row by row, and always the
row as it is now, on both databases."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kangfu.core import backends, sessions
from kangfu.core.backends import UserBackend
from kangfu.core.models import Role
from kangfu.core.sessions import SessionStore
from kangfu.core.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()


def _values(instance):
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_the_signed_in_user_is_the_row_the_orm_reads_with_its_jurisdiction_and_organisation(owner):
    owner.last_login = timezone.now().replace(microsecond=123456)
    owner.save()
    expected = User.objects.select_related("jurisdiction", "organisation").get(pk=owner.pk)
    for _ in range(3):  # the first read compiles, the later ones reuse the statement
        with CaptureQueriesContext(connection) as queries:
            user = UserBackend().get_user(owner.pk)
            jurisdiction, organisation = user.jurisdiction, user.organisation
        assert len(queries) == 1
        assert _values(user) == _values(expected)
        assert _values(jurisdiction) == _values(expected.jurisdiction)
        assert _values(organisation) == _values(expected.organisation)
        assert user.last_login == owner.last_login and timezone.is_aware(user.last_login)
        assert not user._state.adding and user._state.db == "default"
    assert backends._SIGNED_IN.compiled()  # not the ORM's fallback


def test_a_user_without_an_organisation_reads_none_without_a_query(owner):
    UserBackend().get_user(owner.pk)  # compiled with an organisation
    lone = UserFactory(username="lone", organisation=None, jurisdiction_id=None, role=Role.CITY_ADMIN)
    with CaptureQueriesContext(connection) as queries:
        user = UserBackend().get_user(lone.pk)
        assert user.organisation is None and user.jurisdiction is None
    assert len(queries) == 1


def test_a_change_to_the_account_shows_on_the_next_request(owner):
    """The statement is kept, never the row: a role, a jurisdiction or a deactivation is seen at once."""
    assert UserBackend().get_user(owner.pk).role == Role.STREET_OFFICER
    User.objects.filter(pk=owner.pk).update(role=Role.DISTRICT_ADMIN, jurisdiction_id="120103000000")
    user = UserBackend().get_user(owner.pk)
    assert (user.role, user.jurisdiction.code) == (Role.DISTRICT_ADMIN, "120103000000")
    User.objects.filter(pk=owner.pk).update(is_active=False)
    assert UserBackend().get_user(owner.pk) is None


@pytest.mark.parametrize("key", [987654321, "12ab", None])
def test_an_unknown_or_malformed_user_key_signs_no_one_in(owner, key):
    UserBackend().get_user(owner.pk)
    assert UserBackend().get_user(key) is None


def test_a_session_is_read_while_live_and_dropped_once_expired():
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        store = SessionStore()
        store["seen"] = "是"
        store.set_expiry(600)
        store.create()
        key = store.session_key
        assert SessionStore(key).load() == {"seen": "是", "_session_expiry": 600}
        clock.move_to(start + dt.timedelta(seconds=599))
        assert SessionStore(key)["seen"] == "是"
        clock.move_to(start + dt.timedelta(seconds=601))  # the same statement, a later "now"
        late = SessionStore(key)
        assert late.load() == {}
        assert late.session_key is None  # as Django's: the next save starts a new session
        assert sessions._LIVE.compiled()
    assert Session.objects.filter(session_key=key).exists()  # expired rows go with clearsessions


def test_an_unknown_session_key_reads_nothing():
    assert SessionStore("x" * 32).load() == {}
