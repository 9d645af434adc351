"""The planner's statistics of tables just filled, on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable

from django.apps import apps
from django.db import connection


def refresh_statistics(tables: Iterable[str] | None = None) -> list[str]:
    """ANALYZE the tables (by default every table of the app) whose planner statistics are missing or
    stale as autovacuum would judge them (50 rows plus a tenth of the table changed since); the names
    analyzed. Data loaded in bulk is read at once, faster than autovacuum's next round, and a server may
    run without it: a table never analyzed is planned as if nearly empty, so that a lookup of twenty
    people's certificates read every certificate (1.7 ms, not 0.1, on the demo city) and a table of a
    million rows was read whole once per import chunk where its index finds the chunk's rows."""
    if connection.vendor != "postgresql":
        return []
    if connection.in_atomic_block:
        # ANALYZE writes a table's size to pg_class in place, kept even if the transaction rolls
        # back: inside one (a caller's, or a test's) it could leave "empty" for a table that is not,
        # and later plans would loop over it row by row. The callers run this outside any transaction.
        return []
    if tables is None:
        tables = [m._meta.db_table for m in apps.get_models() if m._meta.managed and not m._meta.proxy]
    with connection.cursor() as cursor:
        # Never analyzed, or changed enough since. The activity counters reach the statistics views
        # only a moment after a commit, so a table just filled is also known by its size on disk.
        # A partitioned table (payroll lines, the audit trail) is analyzed through its partitions.
        cursor.execute(
            "WITH named AS (SELECT unnest(%s::regclass[]) AS oid),"
            " tree AS (SELECT oid FROM named"
            "          UNION SELECT t.relid FROM named, pg_partition_tree(named.oid) t WHERE t.isleaf)"
            " SELECT c.relname FROM pg_class c JOIN tree ON tree.oid = c.oid"
            " LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid"
            " WHERE pg_relation_size(c.oid) > 0"
            " AND (c.reltuples < 0 OR COALESCE(s.last_analyze, s.last_autoanalyze) IS NULL"
            "      OR s.n_mod_since_analyze > 50 + s.n_live_tup / 10)",
            [sorted(set(tables))],
        )
        stale = sorted(row[0] for row in cursor.fetchall())
        if stale:
            # A table's owner may analyze it; for another role PostgreSQL skips it with a warning.
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in stale))
    return stale
