"""On PostgreSQL, a payroll's lines for its own month live in a table of their own, written whole and
then attached: the month's partition of the lines is split again by payroll (LIST on `payroll_id`,
with a DEFAULT for every other line of the month: arrears, recoveries, lines written before).

Why: PostgreSQL checks a foreign key row by row as a row is written (a query per key per line, about
7 µs each: seven of the eighteen seconds of a committed payroll of a million grants), but when a table
is attached as a partition it checks the table's keys in one set-based query, and builds its indexes
in one sort instead of a million inserts. The payroll writes its month's lines into a fresh table
(`kangfu_payroll_stage`), then `kangfu_payroll_attach` puts it in place of the payroll's previous
lines; `subsidies.services.payroll` calls both.

The application's role owns no table (core.dbroles), and only a table's owner may create, attach or
drop one; the two functions are the owner's (SECURITY DEFINER), made for this one purpose: they
take a payroll's id and nothing else, refuse a caller who may not already add and delete lines, and
refuse a locked payroll. Whatever they attach has passed the same checks a line written through the
table passes (keys, the partition's bounds, the NOT NULL columns); a stage is a plain table with the
lines' grants, so the caller writes it under its own rights.

The primary key becomes (id, month_for, payroll_id): PostgreSQL wants every partition key in it. On a
table of many lines that builds the key's index again under a lock that stops writes (not reads) to
the lines: a one-off at upgrade, planned with 0017's (README, upgrade notes). Month partitions that are
empty are made again split; one holding rows stays whole and its month's payroll writes through
the table, as before. SQLite keeps the plain table."""

from django.db import migrations

from kangfu.core import partitions

LINES = "subsidies_payrollline"

FUNCTIONS = r"""
-- The month of a payroll whose lines may be written (its row locked), for a caller who may already
-- add and delete lines; an error otherwise. Called by the two below, as their owner.
CREATE FUNCTION kangfu_payroll_month(p_payroll bigint) RETURNS date
LANGUAGE plpgsql SET search_path FROM CURRENT AS $fn$
DECLARE
    v_month date;
BEGIN
    IF NOT (has_table_privilege(session_user, 'subsidies_payrollline', 'INSERT')
            AND has_table_privilege(session_user, 'subsidies_payrollline', 'DELETE')) THEN
        RAISE EXCEPTION 'permission denied for table subsidies_payrollline';
    END IF;
    SELECT month INTO v_month FROM subsidies_payroll WHERE id = p_payroll AND status <> 'locked' FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'payroll % cannot be written', p_payroll;
    END IF;
    RETURN v_month;
END
$fn$;

CREATE FUNCTION kangfu_payroll_stage(p_payroll bigint) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    v_month date;
    v_part text;
    v_stage text := 'subsidies_payrollline_stage_' || p_payroll;
    v_grant record;
BEGIN
    v_month := kangfu_payroll_month(p_payroll);
    v_part := 'subsidies_payrollline_p' || to_char(v_month, 'YYYYMM');
    IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(quote_ident(v_part))) THEN
        RETURN NULL;  -- no split partition for the month: the lines go through the table
    END IF;
    -- Runs of one month go one after the other from here: each one's attach waits for the month's
    -- DEFAULT part, which another run's first DELETE below may hold until it commits, while that run's
    -- own attach would wait for this one — a deadlock, were they not taken in this order.
    EXECUTE format('LOCK TABLE ONLY %I IN SHARE UPDATE EXCLUSIVE MODE', v_part);
    -- The payroll's earlier lines outside its own table go now; its own table goes at the attach.
    DELETE FROM subsidies_payrollline WHERE payroll_id = p_payroll
        AND (month_for < v_month OR month_for >= (v_month + interval '1 month')::date);
    EXECUTE format('DELETE FROM %I WHERE payroll_id = $1', v_part || '_default') USING p_payroll;
    EXECUTE format('DROP TABLE IF EXISTS %I', v_stage);
    EXECUTE format('CREATE TABLE %I (LIKE subsidies_payrollline INCLUDING DEFAULTS)', v_stage);
    -- The partition's bounds as a constraint, so that the attach need not read the table to check them.
    EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (payroll_id = %s AND month_for >= %L AND month_for < %L)',
                   v_stage, v_stage || '_bounds', p_payroll, v_month, (v_month + interval '1 month')::date);
    FOR v_grant IN
        SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(r.rolname) END AS grantee, a.privilege_type
        FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a LEFT JOIN pg_roles r ON r.oid = a.grantee
        WHERE c.oid = 'subsidies_payrollline'::regclass AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('GRANT %s ON %I TO %s', v_grant.privilege_type, v_stage, v_grant.grantee);
    END LOOP;
    RETURN v_stage;
END
$fn$;

CREATE FUNCTION kangfu_payroll_attach(p_payroll bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
    v_month date;
    v_part text;
    v_stage text := 'subsidies_payrollline_stage_' || p_payroll;
    v_leaf text;
    v_row record;
BEGIN
    v_month := kangfu_payroll_month(p_payroll);
    IF to_regclass(quote_ident(v_stage)) IS NULL THEN
        RAISE EXCEPTION 'payroll % has no staged lines', p_payroll;
    END IF;
    v_part := 'subsidies_payrollline_p' || to_char(v_month, 'YYYYMM');
    v_leaf := v_part || '_r' || p_payroll;
    -- The lines' key and indexes, built on the stage while it is still the run's alone (the attach
    -- takes them as they are rather than building its own).
    FOR v_row IN
        SELECT c.contype, pg_get_constraintdef(c.oid) AS def, pg_get_indexdef(i.indexrelid) AS index_def
        FROM pg_index i LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
        WHERE i.indrelid = 'subsidies_payrollline'::regclass ORDER BY i.indexrelid
    LOOP
        IF v_row.contype IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I ADD %s', v_stage, v_row.def);
        ELSE
            EXECUTE regexp_replace(v_row.index_def, '^CREATE (UNIQUE )?INDEX \S+ ON ONLY \S+ ',
                                   'CREATE \1INDEX ON ' || quote_ident(v_stage) || ' ');
        END IF;
    END LOOP;
    -- Attaching adds the lines' foreign keys to the table, which takes a SHARE ROW EXCLUSIVE lock on
    -- each table they point to (grants, payrolls: writes to them wait until this run commits). Taken
    -- first, in one order, before the month's DEFAULT part is locked: a writer of grants that then
    -- reads lines cannot be waiting for this run while it waits for that writer.
    FOR v_row IN
        SELECT DISTINCT confrelid::regclass::text AS name FROM pg_constraint
        WHERE conrelid = 'subsidies_payrollline'::regclass AND contype = 'f' ORDER BY 1
    LOOP
        EXECUTE format('LOCK TABLE %s IN SHARE ROW EXCLUSIVE MODE', v_row.name);
    END LOOP;
    IF to_regclass(quote_ident(v_leaf)) IS NOT NULL THEN
        BEGIN
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', v_part, v_leaf);
            EXECUTE format('DROP TABLE %I', v_leaf);
        EXCEPTION WHEN object_in_use THEN
            -- Lines written into it earlier in this same transaction still have their key checks
            -- pending (a payroll run twice in one transaction), and such a table cannot be detached:
            -- its rows are replaced instead, each checked as it is written.
            EXECUTE format('DELETE FROM %I', v_leaf);
            EXECUTE format('INSERT INTO %I SELECT * FROM %I', v_leaf, v_stage);
            EXECUTE format('DROP TABLE %I', v_stage);
            RETURN;
        END;
    END IF;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%s)', v_part, v_stage, p_payroll);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', v_stage, v_leaf);
END
$fn$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        _primary_key(cursor, "id, month_for, payroll_id")
        cursor.execute(FUNCTIONS)
    partitions.split_months(schema_editor, table=LINES)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    partitions.join_months(schema_editor, table=LINES)
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP FUNCTION IF EXISTS kangfu_payroll_stage(bigint)")
        cursor.execute("DROP FUNCTION IF EXISTS kangfu_payroll_attach(bigint)")
        cursor.execute("DROP FUNCTION IF EXISTS kangfu_payroll_month(bigint)")
        _primary_key(cursor, "id, month_for")


def _primary_key(cursor, columns: str) -> None:
    cursor.execute(
        "SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'", [LINES]
    )
    name = cursor.db.ops.quote_name(cursor.fetchone()[0])
    cursor.execute(f"ALTER TABLE {LINES} DROP CONSTRAINT {name}")
    cursor.execute(f"ALTER TABLE {LINES} ADD CONSTRAINT {name} PRIMARY KEY ({columns})")


class Migration(migrations.Migration):
    dependencies = [("subsidies", "0018_foreign_keys_checked_once")]

    operations = [migrations.RunPython(forward, backward)]
