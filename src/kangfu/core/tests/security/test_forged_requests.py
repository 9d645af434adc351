"""The forged-request matrix (等保 2.0, level 3): every role, signed in with its own session, CSRF
token and API token, asks for records outside its scope and for actions outside its role. Each
request must be refused the way `core.access` answers (404 for a record outside the scope, 403 for
an ability the role lacks, 405 for a wrong method) and leave every table as it was.

The matrix reads as role × request: `test_a_forged_request_is_refused[street_officer-approve their
application]`. Where a role may legitimately open a list, a search or an export, the case instead
asserts that the answer does not name anyone of "their" side.
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction

from kangfu.core.models import Role
from kangfu.core.tests.security.forged import CATALOGUE, answer_text, csrf_client, send, texts
from kangfu.core.tests.security.world import build, changed, snapshot
from kangfu.devices.services.rentals import UNIT_NOT_AVAILABLE

SHOWS = 200  # the role may open it; the answer must not name anyone of theirs (`Forged.absent`)

# Requests every role with a session and a token is refused in the same way whatever its role.
_ALWAYS = {
    "their 精康 agreement (print)": 404,
    "DELETE their person page": 405,
    "GET the reveal action": 405,
    "API: DELETE their person": 405,
    "their 精康 case page": 404,
}
_DEVICES = {
    "another centre's unit page": 403,
    "another centre's rental page": 403,
    "another centre's rental contract (print)": 403,
    "another centre's rental receipt (print)": 403,
    "rent another centre's unit": 403,
    "retire another centre's unit": 403,
    "API: another centre's unit": 403,
    "API: another centre's rental": 403,
    "API: rent another centre's unit": 403,
    "API: return another centre's rental": 403,
}
_PAYROLL = {
    "their payroll page": 403,
    "their payroll's bank file": 403,
    "lock their payroll": 403,
    "start a payroll": 403,
    "start a comparison": 403,
    "their feed import preview page": 403,
    "confirm their feed import preview": 403,
    "discard their feed import preview": 403,
    "API: their payroll": 403,
    "API: start a payroll": 403,
}
# 两项补贴, 数据比对 and 上线迁移 for a role that reads civil affairs in another jurisdiction.
_CIVIL_OUT_OF_SCOPE = {
    "their person page": 404,
    "their person edit page": 404,
    "their person 精康 tab": 404,
    "their person 两项补贴 tab": 404,
    "their application page": 404,
    "their grant page": 404,
    "their comparison item page": 404,
    "their comparison run page": 404,
    "their go-live job page": 404,
    "their go-live job's error report": 404,
    "change their person": 404,
    "add a guardian to their person": 404,
    "approve their application": 404,
    "confirm their comparison item": 404,
    "dismiss their comparison item": 404,
    "confirm their go-live job": 404,
    "discard their go-live job": 404,
    "reveal their person's ID number": 404,
    "API: their person": 404,
    "API: change their person": 404,
    "API: their application": 404,
    "API: approve their application": 404,
    "API: their grant": 404,
    "API: their comparison run": 404,
    "API: their go-live job": 404,
    "API: confirm their go-live job": 404,
    "API: discard their go-live job": 404,
    "the people list": SHOWS,
    "their person found by ID number in the search box": SHOWS,
    "API: their person by ID number (q)": SHOWS,
    "API: the people list": SHOWS,
    "comparison items export": SHOWS,
    "the audit log": 403,
    "close their 精康 case": 403,
}
# Another district's 精康 centre: neither its register page nor its figures.
_THEIR_INSTITUTION = {"their institution's page": 404, "their institution's 精康 statistics": 404}
# Naming their person by full ID number to act: answered as for anyone unknown, never with a link.
_BY_ID_NUMBER = {
    "register their person again (new-person form)": 400,
    "API: register their person again": 409,
    "精康 application for their person by ID number": 400,
}
# A 精康 clinician: of the registry only the people its institution serves; no civil affairs.
_CLINICIAN = {
    **_ALWAYS,
    **_THEIR_INSTITUTION,
    **_DEVICES,
    **_PAYROLL,
    "their person page": 404,
    "their person 精康 tab": 404,
    "their person 两项补贴 tab": 404,
    "reveal their person's ID number": 404,
    "the people list": SHOWS,
    "their person found by ID number in the search box": SHOWS,
    "API: their person by ID number (q)": SHOWS,
    "API: the people list": SHOWS,
    "their application page": 403,
    "their grant page": 403,
    "their comparison item page": 403,
    "their comparison run page": 403,
    "their 精康 application page": 403,
    "their 精康 roster preview page": 403,
    "their go-live job page": 404,
    "their go-live job's error report": 404,
    "the audit log": 403,
    "people export searching their ID number": 403,
    "comparison items export": 403,
    "两项补贴 indicators export": 403,
    "rental statistics export": 403,
    "approve their application": 403,
    "confirm their comparison item": 403,
    "dismiss their comparison item": 403,
    "confirm their 精康 roster": 403,
    "close their 精康 case": 404,
    "confirm their go-live job": 404,
    "discard their go-live job": 404,
    "API: their person": 404,
    "API: their application": 403,
    "API: approve their application": 403,
    "API: their grant": 403,
    "API: their comparison run": 403,
    "API: confirm their 精康 roster": 403,
    "API: their go-live job": 404,
    "API: confirm their go-live job": 404,
    "API: discard their go-live job": 404,
}

# What each role is answered, request by request.
MATRIX: dict[str, dict[str, int]] = {
    # The whole city is its jurisdiction: what it is refused is what its role lacks.
    Role.CITY_ADMIN: {
        **_ALWAYS,
        **_DEVICES,
        **_PAYROLL,
        "the audit log": 403,
        "approve their application": 403,
        "close their 精康 case": 403,
        "API: approve their application": 403,
    },
    # 河西区 against 东丽区's records.
    Role.DISTRICT_ADMIN: {
        **_ALWAYS,
        **_THEIR_INSTITUTION,
        **_BY_ID_NUMBER,
        **_DEVICES,
        **_CIVIL_OUT_OF_SCOPE,
        "their payroll page": 404,
        "their payroll's bank file": 404,
        "lock their payroll": 404,
        "API: their payroll": 404,
        "their feed import preview page": 404,
        "confirm their feed import preview": 404,
        "discard their feed import preview": 404,
        "their 精康 application page": 404,
        "their 精康 roster preview page": 404,
        "confirm their 精康 roster": 404,
        "API: confirm their 精康 roster": 404,
        "people export searching their ID number": SHOWS,
    },
    # 大营门街道 against 华明街道.
    Role.STREET_OFFICER: {
        **_ALWAYS,
        **_THEIR_INSTITUTION,
        **_BY_ID_NUMBER,
        **_DEVICES,
        **_PAYROLL,
        **_CIVIL_OUT_OF_SCOPE,
        "their 精康 application page": 404,
        "their 精康 roster preview page": 404,
        "confirm their 精康 roster": 404,
        "API: confirm their 精康 roster": 404,
        "people export searching their ID number": SHOWS,
        "rental statistics export": 403,
        # A street is counted into no 精康 figure of its own: the statistics refuse it outright.
        "their institution's 精康 statistics": 403,
    },
    # 九江路社区.
    Role.COMMUNITY_WORKER: {
        **_ALWAYS,
        **_THEIR_INSTITUTION,
        # (its new-person form offers only its own community: the API is the way to name anyone)
        "API: register their person again": 409,
        "精康 application for their person by ID number": 400,
        **_DEVICES,
        **_PAYROLL,
        **_CIVIL_OUT_OF_SCOPE,
        "their 精康 application page": 404,
        "their 精康 roster preview page": 404,
        "confirm their 精康 roster": 404,
        "API: confirm their 精康 roster": 404,
        "people export searching their ID number": 403,
        "rental statistics export": 403,
        "their institution's 精康 statistics": 403,
    },
    # 西青's centre against 北辰's case.
    Role.REHAB_WORKER: {
        **_CLINICIAN,
        "their person edit page": 404,
        "change their person": 404,
        "add a guardian to their person": 404,
        "API: change their person": 404,
    },
    # 安定医院, with the whole city as its jurisdiction, against someone who is not its patient.
    Role.PSYCHIATRIST: {
        **_CLINICIAN,
        "their person edit page": 403,
        "change their person": 403,
        "add a guardian to their person": 403,
        "API: change their person": 403,
    },
    # 武清's rental centre against 河东's, and 东丽区's people; no 两项补贴 or 数据比对 at all.
    Role.DEVICE_CLERK: {
        **_ALWAYS,
        "their institution's page": 404,
        "their institution's 精康 statistics": 403,
        **_PAYROLL,
        **_CIVIL_OUT_OF_SCOPE,
        "their application page": 403,
        "their grant page": 403,
        "their comparison item page": 403,
        "their comparison run page": 403,
        "approve their application": 403,
        "confirm their comparison item": 403,
        "dismiss their comparison item": 403,
        "comparison items export": 403,
        "两项补贴 indicators export": 403,
        "API: their application": 403,
        "API: approve their application": 403,
        "API: their grant": 403,
        "API: their comparison run": 403,
        "another centre's unit page": 404,
        "another centre's rental page": 404,
        "another centre's rental contract (print)": 404,
        "another centre's rental receipt (print)": 404,
        "retire another centre's unit": 404,
        "API: another centre's unit": 404,
        "API: another centre's rental": 404,
        "API: return another centre's rental": 404,
        # The unit is not among the ones it may rent: the form and the service refuse it as such.
        "rent another centre's unit": 400,
        "API: rent another centre's unit": 400,
        "their 精康 application page": 403,
        "their 精康 roster preview page": 403,
        "confirm their 精康 roster": 403,
        "API: confirm their 精康 roster": 403,
        "people export searching their ID number": 403,
    },
    # 河西区残联: reviews applications at the county step, changes no one.
    Role.DPF_REVIEWER: {
        **_ALWAYS,
        "their institution's page": 404,
        "their institution's 精康 statistics": 403,
        **_DEVICES,
        **_PAYROLL,
        **_CIVIL_OUT_OF_SCOPE,
        "their person edit page": 403,
        "change their person": 403,
        "add a guardian to their person": 403,
        "API: change their person": 403,
        "their 精康 application page": 403,
        "their 精康 roster preview page": 403,
        "confirm their 精康 roster": 403,
        "API: confirm their 精康 roster": 403,
        "their go-live job page": 403,
        "their go-live job's error report": 403,
        "confirm their go-live job": 403,
        "discard their go-live job": 403,
        "API: their go-live job": 403,
        "API: confirm their go-live job": 403,
        "API: discard their go-live job": 403,
        "people export searching their ID number": 403,
        "rental statistics export": 403,
    },
    # Reads the audit trail and nothing else.
    Role.AUDITOR: {
        **_ALWAYS,
        **_DEVICES,
        **_PAYROLL,
        **{name: 403 for name in CATALOGUE if name not in _ALWAYS and name != "the audit log"},
        "reveal their person's ID number": 404,
        "their institution's page": 404,
    },
}

# Open holes: (role, request) → what leaks. Such a case runs as a strict xfail, so its fix fails it
# until the entry is removed. None is open: the clinicians' city-wide reads and 两项补贴/数据比对
# menus and one district's access to another's feed preview, which this matrix found, were closed
# before it was committed.
HOLES: dict[tuple[str, str], str] = {}


def _cases():
    for role, answers in MATRIX.items():
        for name, status in answers.items():
            marks = ()
            if (role, name) in HOLES:
                marks = (pytest.mark.xfail(strict=True, reason=HOLES[(role, name)]),)
            yield pytest.param(role, name, status, id=f"{role}-{name}", marks=marks)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction that is rolled back at its end; each test runs
    in a savepoint of it (pytest-django's `db`), so no request of one test is seen by the next."""
    with django_db_blocker.unblock(), transaction.atomic():
        built = build()
        # Signed in once, each with its session and CSRF cookie, in the module's transaction.
        built.clients = {role: csrf_client(built.users[role]) for role in MATRIX}
        # Every test starts from this state (its savepoint is rolled back), so one snapshot before
        # stands for all of them; the one after is taken per request.
        built.baseline = snapshot()
        yield built
        transaction.set_rollback(True)


def test_every_role_tries_at_least_twenty_forged_requests():
    assert set(MATRIX) == set(Role.values)
    assert all(name in CATALOGUE for answers in MATRIX.values() for name in answers)
    assert min(len(answers) for answers in MATRIX.values()) >= 20


@pytest.mark.parametrize(("role", "request_name", "status"), list(_cases()))
def test_a_forged_request_is_refused(world, db, role, request_name, status):
    forged = CATALOGUE[request_name]
    response = send(world.clients[role], world, role, forged)
    assert response.status_code == status
    absent, shows = texts(world, forged)
    if absent or shows:
        shown = answer_text(response)
        assert [text for text in absent if text in shown] == []
        if status in (400, 409):  # a refusal that explains itself
            assert [text for text in shows if text not in shown] == []
    if forged.api and status == 400:
        assert UNIT_NOT_AVAILABLE in json.dumps(response.json(), ensure_ascii=False)
    assert changed(world.baseline, snapshot()) == []
