"""Counts of pending work beside the menu entries (core.registry.Badge): shown to the roles they are
for, computed once per request, and the home page's cost pinned."""

import contextlib
import datetime as dt

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from kangfu.core import registry
from kangfu.core.context_processors import layout
from kangfu.core.models import Role

pytestmark = pytest.mark.django_db

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def badges(monkeypatch):
    """Only the badges a test registers."""
    monkeypatch.setattr(registry, "_badges", {})
    return registry


def _request(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_a_count_is_shown_beside_its_menu_entry_with_what_it_counts(badges, owner):
    badges.register_badge(registry.Badge("people", "t.a", "待办甲", "reads_people", lambda user: 3))
    badges.register_badge(
        registry.Badge("people", "t.b", "逾期乙", "reads_people", lambda user: 2, overdue=True, order=1)
    )
    entry = next(e for e in layout(_request(owner))["nav_services"] if e[0] == "people")
    pending = entry[3]
    assert (pending.total, pending.overdue, pending.title) == (5, True, "待办甲 3；逾期乙 2")


def test_a_count_is_not_computed_for_a_role_without_its_ability(badges, colleague):
    def never(user):
        raise AssertionError("counted for a role that does not have the ability")

    badges.register_badge(registry.Badge("people", "t.a", "待办", "runs_payroll", never))
    assert all(entry[3] is None for entry in layout(_request(colleague))["nav_services"])


def test_counts_run_once_per_request_however_often_the_layout_is_drawn(badges, owner):
    calls = []
    badges.register_badge(
        registry.Badge("people", "t.a", "待办", "reads_people", lambda u: calls.append(u) or 1)
    )
    request = _request(owner)
    list(layout(request)["nav_services"])
    list(layout(request)["nav_services"])
    assert len(calls) == 1


def test_a_count_refused_for_the_user_leaves_the_entry_without_a_count(badges, owner):
    def refused(user):
        raise PermissionDenied

    badges.register_badge(registry.Badge("people", "t.a", "待办", "reads_people", refused))
    assert all(entry[3] is None for entry in layout(_request(owner))["nav_services"])


def test_a_zero_count_shows_nothing(badges, owner):
    badges.register_badge(registry.Badge("people", "t.a", "待办", "reads_people", lambda user: 0))
    assert all(entry[3] is None for entry in layout(_request(owner))["nav_services"])


def test_the_home_page_of_a_street_officer_costs_a_fixed_number_of_queries(login, owner, person):
    client = login(owner)  # signing in counts the badges (test_counts_are_taken_at_sign_in)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/")
        assert response.status_code == 200
        # The session (the menu's counts with it), the user (its jurisdiction and organisation with it),
        # the home panels' reads: nothing per badge (两项补贴 waiting at its step, 数据比对 open and
        # overdue, 精康 applications) or per row, no write.
        assert len(queries) == 4, "\n".join(q["sql"][:120] for q in queries.captured_queries)


def test_counts_are_taken_at_sign_in_once_per_badge(login, owner):
    from kangfu.core.access import policy

    with CaptureQueriesContext(connection) as queries:
        login(owner)
    # (The sign-in notice counts failed attempts in the audit trail too.)
    counts = [
        q
        for q in queries.captured_queries
        if q["sql"].startswith("SELECT COUNT(*)") and "core_auditentry" not in q["sql"]
    ]
    rights = policy(owner)
    assert len(counts) == sum(1 for b in registry.menu_badges() if getattr(rights, b.ability)) > 0


def test_counts_are_kept_in_the_session_for_a_minute(badges, login, owner):
    calls = []
    badges.register_badge(
        registry.Badge("people", "t.a", "待办", "reads_people", lambda u: calls.append(u) or 1)
    )
    with time_machine.travel(START, tick=False) as clock:
        client = login(owner)
        client.get("/")
        clock.move_to(START + dt.timedelta(seconds=30))
        client.get("/people/")
        assert len(calls) == 1
        clock.move_to(START + dt.timedelta(seconds=61))
        response = client.get("/")
    assert len(calls) == 2
    assert 'title="待办 1"' in response.content.decode()


def test_a_change_the_user_sends_is_counted_on_the_next_page(badges, login, owner):
    waiting = [2]
    badges.register_badge(registry.Badge("people", "t.a", "待办", "reads_people", lambda u: waiting[0]))
    client = login(owner)
    assert 'title="待办 2"' in client.get("/").content.decode()
    waiting[0] = 1  # what the POST below stands for: the user settled one
    client.post("/people/")
    assert 'title="待办 1"' in client.get("/").content.decode()


def test_counts_kept_for_another_role_are_counted_again(badges, login, owner):
    calls = []
    badges.register_badge(
        registry.Badge("people", "t.a", "待办", "reads_people", lambda u: calls.append(u) or 1),
        registry.Badge("people", "t.b", "付款", "runs_payroll", lambda u: calls.append(u) or 1),
    )
    client = login(owner)
    client.get("/")
    owner.role = Role.DISTRICT_ADMIN
    owner.save()
    client.get("/")
    assert len(calls) == 1 + 2


@pytest.mark.parametrize("role", list(Role))
def test_every_registered_count_costs_at_most_one_query_for_every_role(role):
    from kangfu.core.access import policy
    from kangfu.core.tests.factories import OrganisationFactory, UserFactory

    user = UserFactory(
        username=f"u_{role}",
        role=role,
        jurisdiction_id="120103001000",
        organisation=OrganisationFactory(region_id="120103001000"),
    )
    # Loaded once per request by the layout itself (the menu shows both), not by each count.
    user.jurisdiction, user.organisation  # noqa: B018
    rights = policy(user)
    for badge in registry.menu_badges():
        if not getattr(rights, badge.ability):
            continue
        with CaptureQueriesContext(connection) as queries, contextlib.suppress(PermissionDenied):
            assert badge.count(user) == 0
        assert len(queries) <= 1, (badge.key, [q["sql"] for q in queries.captured_queries])


def test_a_page_fragment_for_htmx_does_not_count(badges, login, owner):
    calls = []
    badges.register_badge(
        registry.Badge("people", "t.a", "待办", "reads_people", lambda u: calls.append(u) or 1)
    )
    with time_machine.travel(START, tick=False) as clock:
        client = login(owner)
        assert len(calls) == 1  # at sign-in
        clock.move_to(START + dt.timedelta(seconds=61))  # the counts kept then are stale
        client.get("/people/", HTTP_HX_REQUEST="true")
        assert len(calls) == 1
        client.get("/people/")
    assert len(calls) == 2
