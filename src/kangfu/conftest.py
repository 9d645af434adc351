"""Shared fixtures: the shipped regions (all of China's counties, Tianjin's five levels), and
named users per role.

The users follow one pattern: an owner (the street officer of 大营门街道), a colleague with
read-only rights over the same street, and an outsider, the street officer of 华明街道 in another
district, who must never see the owner's people.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kangfu.browser import page  # noqa: F401  (the browser-test fixture)
from kangfu.core.models import Region, Role
from kangfu.core.services import shipped_regions_load
from kangfu.core.tests import migrated
from kangfu.core.tests.factories import OrganisationFactory, UserFactory
from kangfu.people.tests.factories import PersonFactory

# The fixtures after which pytest-django empties every table (as its own test ordering knows them).
FLUSHING_FIXTURES = frozenset(
    {"transactional_db", "live_server", "django_db_reset_sequences", "django_db_serialized_rollback"}
)

TIANJIN = "120100000000"
HEXI = "120103000000"
DAYINGMEN = "120103001000"
XIAWAFANG = "120103002000"
HUAMING = "120110006000"


def pytest_collection_modifyitems(items):
    """Mark the tests that empty every table when they end (transactional ones, the browser's live
    server) `flushes`. Run in one process, pytest-django puts them last; spread over processes
    (pytest-xdist), one would empty the shipped regions and definitions under the next file's tests.
    So `make test` runs the others in parallel first, then these in one process."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        transactional = marker is not None and marker.kwargs.get("transaction")
        if transactional or FLUSHING_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.flushes)


def load_regions() -> None:
    """The regions `migrate` loads (the national counties, Tianjin's five levels, abolished
    regions), loaded again after a transactional test has emptied the tables."""
    if not Region.objects.exists():
        shipped_regions_load()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    from django.db import connections

    migrated.install(connections["default"])


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        load_regions()
    yield
    # The live server answers a browser's keep-alive connections on daemon threads that may still
    # hold a database session when the run ends; PostgreSQL will not drop a database in use.
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _regions_in_transactional_tests(request):
    """A transactional test empties every table when it ends; the next one loads the regions again."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        request.getfixturevalue("transactional_db")
        load_regions()


@pytest.fixture(autouse=True, scope="module")
def _people_numbered_from_zero():
    """Each test file numbers its factory-made people from 0, whatever files its process ran before
    (the number makes the ID number): a test that also names numbers (`n=`) then collides every time
    or never, not by the luck of how the files were shared out among the processes."""
    PersonFactory.reset_sequence(0)


@pytest.fixture(autouse=True)
def _fresh_caches():
    from django.core.cache import cache

    cache.clear()


def _user(username: str, role: str, jurisdiction: str, org_region: str | None = None):
    org = OrganisationFactory(name=f"{username}所在机构", region_id=org_region or jurisdiction)
    return UserFactory(username=username, role=role, jurisdiction_id=jurisdiction, organisation=org)


@pytest.fixture
def owner(db):
    """大营门街道的街道工作人员。"""
    return _user("owner", Role.STREET_OFFICER, DAYINGMEN)


@pytest.fixture
def colleague(db):
    """A 残联 reviewer whose jurisdiction covers the same street: may read, not write or reveal."""
    return _user("colleague", Role.DPF_REVIEWER, DAYINGMEN)


@pytest.fixture
def outsider(db):
    """华明街道（东丽区）的街道工作人员。"""
    return _user("outsider", Role.STREET_OFFICER, HUAMING)


@pytest.fixture
def district_admin(db):
    return _user("hexi_admin", Role.DISTRICT_ADMIN, HEXI)


@pytest.fixture
def city_admin(db):
    return _user("city_admin", Role.CITY_ADMIN, TIANJIN)


@pytest.fixture
def auditor(db):
    return _user("auditor", Role.AUDITOR, TIANJIN)


@pytest.fixture
def person(db):
    """Someone living in 大营门街道 九江路社区."""
    return PersonFactory(name="张三", born=dt.date(1970, 11, 21))


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
