"""What the registry's tables index is what its lookups read: a blind index is looked up whole, so on
PostgreSQL it has no pattern-matching twin (Django adds one beside every indexed text column), and a
column copied from another row carries no foreign-key check of its own."""

import pytest
from django.db import connection

from kangfu.people.models import Person
from kangfu.subsidies.models import PayrollLine

pytestmark = pytest.mark.django_db


@pytest.mark.skipif(connection.vendor != "postgresql", reason="only PostgreSQL's backend adds them")
def test_no_blind_index_has_a_pattern_matching_twin():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tablename, indexname FROM pg_indexes WHERE indexdef LIKE '%%_hash varchar_pattern_ops%%'"
            " AND tablename IN ('people_person', 'people_disabilitycertificate', 'people_guardian',"
            " 'matching_feedrow')"
        )
        assert cursor.fetchall() == []


def test_copied_columns_are_not_checked_row_by_row_but_their_sources_are():
    def constrained(model, name):
        field = model._meta.get_field(name)
        with connection.cursor() as cursor:
            constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
        return any(c["foreign_key"] and c["columns"] == [field.column] for c in constraints.values())

    assert not any(constrained(Person, name) for name in ("street", "district", "city"))
    assert constrained(Person, "community")
    assert not any(constrained(PayrollLine, name) for name in ("person", "street"))
    assert all(constrained(PayrollLine, name) for name in ("grant", "payroll"))
