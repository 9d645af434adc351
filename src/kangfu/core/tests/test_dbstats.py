"""Tables filled in bulk (a go-live import, the demo city) are planned from statistics at once on
PostgreSQL, not after autovacuum's next round, nor never where it is off (core.dbstats)."""

import pytest
from django.db import connection

from kangfu.core.dbstats import refresh_statistics
from kangfu.people.tests.factories import PersonFactory


def _statistics(table: str) -> tuple[float, int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reltuples, (SELECT count(*) FROM pg_stats s WHERE s.tablename = c.relname)"
            " FROM pg_class c WHERE c.oid = %s::regclass",
            [table],
        )
        return cursor.fetchone()


@pytest.mark.django_db(transaction=True)
def test_a_table_just_filled_is_analyzed_and_its_rows_are_known_to_the_planner():
    if connection.vendor != "postgresql":
        assert refresh_statistics() == []  # SQLite plans without them
        return
    PersonFactory.create_batch(80)
    assert _statistics("people_person")[1] == 0
    analyzed = refresh_statistics()
    assert "people_person" in analyzed
    rows, columns = _statistics("people_person")
    assert rows >= 80 and columns > 0
    assert "people_guardian" not in analyzed  # empty: nothing to learn, nothing done


@pytest.mark.django_db
def test_inside_a_transaction_nothing_is_analyzed():
    # ANALYZE's table size outlives a rollback: a caller's transaction gets no statistics written.
    PersonFactory.create_batch(80)
    assert refresh_statistics() == []
