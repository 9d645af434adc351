"""Run as a role that owns nothing, the application can read and add to the audit trail, and can
neither truncate it, change or delete its rows, nor disable its trigger (PostgreSQL)."""

import pytest
from django.db import connection, transaction
from django.db.utils import DatabaseError

from kangfu.core import audit, dbroles
from kangfu.core.models import AuditAction, AuditEntry

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="database roles are PostgreSQL's"),
]
APP = "kangfu_app_test"


@pytest.fixture
def as_app_role(db):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {APP}")  # left by an earlier killed run: same cluster
        cursor.execute(f"CREATE ROLE {APP} NOLOGIN")
    dbroles.apply_grants(APP)
    yield
    with connection.cursor() as cursor:
        cursor.execute("RESET ROLE")
        cursor.execute(f"DROP OWNED BY {APP}")
        cursor.execute(f"DROP ROLE {APP}")


def _as_app(statement: str, params=()):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {APP}")
        cursor.execute(statement, params)


@pytest.mark.parametrize(
    "statement",
    [
        "TRUNCATE core_auditentry",
        "ALTER TABLE core_auditentry DISABLE TRIGGER ALL",
        "DELETE FROM core_auditentry",
        "UPDATE core_auditentry SET summary = 'forged'",
        "DROP TABLE core_auditentry",
        "TRUNCATE people_person CASCADE",
    ],
)
def test_the_application_role_cannot_erase_or_unguard_the_trail(as_app_role, statement):
    audit.record(actor=None, action=AuditAction.VIEW, summary="kept")
    with pytest.raises(DatabaseError):
        _as_app(statement)
    assert AuditEntry.objects.filter(summary="kept").count() == 1


def test_the_application_role_reads_and_adds_to_the_trail_and_works_with_the_data(as_app_role):
    audit.record(actor=None, action=AuditAction.VIEW, summary="before")
    _as_app(
        "INSERT INTO core_auditentry (at, actor_username, action, object_type, object_id, ip, channel,"
        " summary, changes) VALUES (now(), '', 'view', '', '', NULL, 'web', 'added by the app role', '{}')"
    )
    _as_app("SELECT count(*) FROM core_auditentry")
    _as_app("UPDATE core_region SET name = name WHERE code = %s", ["120000000000"])
    assert AuditEntry.objects.filter(summary="added by the app role").count() == 1
