"""Two database roles on PostgreSQL: an owner that runs the migrations and owns every table, and the
role the application runs as, which owns nothing. Owning nothing, the running application (or
anyone who takes it over) cannot TRUNCATE, ALTER or DROP a table, nor disable the trigger that
keeps the audit trail append-only; on the audit table it may only read and add."""

from __future__ import annotations

from django.db import connection

AUDIT_TABLE = "core_auditentry"


def grants(app_role: str) -> list[str]:
    """The statements the owner runs after every migrate (`kangfu dbroles grant ROLE`): what the
    application may do with the tables that exist and, by default, with those later migrations add."""
    role = connection.ops.quote_name(app_role)
    in_literal = role.replace("'", "''")
    return [
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {role}",
        # the trail: read and add only (the trigger refuses UPDATE and DELETE even to the owner)
        f"REVOKE UPDATE, DELETE, TRUNCATE ON {AUDIT_TABLE} FROM {role}",
        # … and on each of its partitions on PostgreSQL (core.partitions), tables of their own that the
        # grant on all tables reaches and the revoke on the trail does not; whichever exist in the
        # database it runs in (a restored one has the archive's).
        "DO $$ DECLARE part regclass; BEGIN"  # noqa: S608  (names of ours, the role quoted)
        f" FOR part IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = '{AUDIT_TABLE}'::regclass"
        f" LOOP EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON %s FROM {in_literal}', part);"
        " END LOOP; END $$",
        f"REVOKE TRUNCATE, REFERENCES, TRIGGER ON ALL TABLES IN SCHEMA public FROM {role}",
    ]


def apply_grants(app_role: str) -> list[str]:
    """Run `grants` on the current connection (which must be the owner's); return what was run."""
    statements = grants(app_role)
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return statements
