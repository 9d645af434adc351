"""Every operation of the OpenAPI document, fuzzed in-process by schemathesis as a city-level and as a
street-level user: no answer may be a server error or a status the document does not declare."""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from kangfu.api.api import api
from kangfu.core.services import api_token_create

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]

# Small and reproducible: CI runs the suite on two databases; the coverage phase adds the boundary
# values (huge numbers, wrong types, missing fields) whatever this says.
FUZZ = settings(max_examples=10, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """Django's WSGI handler closes the database connection when a request ends, which on PostgreSQL
    ends the test's transaction; Django's own test client unhooks the same receiver around a request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def _bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token_create(actor=None, user=user, name='schemathesis')}"}


@pytest.fixture
def city_level(city_admin, person):
    """天津's city administrator, with one person (大营门) in the database."""
    return _bearer(city_admin)


@pytest.fixture
def street_level(owner, person):
    """大营门's street officer, whose street that person lives in."""
    return _bearer(owner)


# The document the API serves, built without a request, so that collection needs no database (and
# schemathesis's fixture-based loader does not run under pytest 9); requests go to the app in-process.
schema = schemathesis.openapi.from_dict(api.get_openapi_schema())
schema.app = get_wsgi_application()


@schema.parametrize()
@FUZZ
def test_a_city_level_user_gets_only_documented_answers(case, city_level):
    case.call_and_validate(headers=city_level, checks=CHECKS)


@schema.parametrize()
@FUZZ
def test_a_street_level_user_gets_only_documented_answers(case, street_level):
    case.call_and_validate(headers=street_level, checks=CHECKS)
