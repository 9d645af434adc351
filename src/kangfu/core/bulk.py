"""Writing many new rows at the speed of the database's bulk path.

`bulk_create` compiles every value of every row through the ORM's SQL compiler, which costs more than
the insert itself when an import writes a million rows. Here the primary keys are taken from the
table's sequence in one statement, every value goes through its field's own conversion (encrypted
columns are encrypted, dates and money adapted for the database) chosen once per column, and the
rows are sent with COPY on PostgreSQL and one `executemany` per batch on SQLite. Only for new rows inside the caller's transaction;
no signals are sent (the models here have none, by design).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, models

BATCH = 5000

# Fields whose Python value is already what the driver takes (exact classes: a subclass such as an
# encrypted text field converts its value and must not be passed through).
_AS_IS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BigIntegerField,
    models.SmallIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.PositiveBigIntegerField,
    models.BooleanField,
    models.AutoField,
    models.BigAutoField,
)


def _converter(field: models.Field, connection) -> Callable[[Any], Any] | None:
    """How a value of `field` becomes what the driver takes; None when it already is."""
    if type(field) in _AS_IS or isinstance(field, models.ForeignKey):
        return None
    if type(field) is models.DateField:
        # PostgreSQL's driver takes a date as it is (a call per date of 3.6 million payroll lines);
        # SQLite's backend makes it text.
        probe = dt.date(2000, 1, 1)
        return (
            None
            if connection.ops.adapt_datefield_value(probe) is probe
            else connection.ops.adapt_datefield_value
        )
    if type(field) is models.DecimalField:
        probe = Decimal("0.00")
        if connection.ops.adapt_decimalfield_value(probe, field.max_digits, field.decimal_places) is probe:
            return None
        return lambda value: connection.ops.adapt_decimalfield_value(
            value, field.max_digits, field.decimal_places
        )
    if isinstance(field, models.DateTimeField | models.GenericIPAddressField):
        return _same_as_last(lambda value: field.get_db_prep_save(value, connection))
    return lambda value: field.get_db_prep_save(value, connection)


def _same_as_last(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A batch stamps its rows with one time and one address: convert each distinct value once."""
    last: list[Any] = [object(), None]

    def cached(value: Any) -> Any:
        if value is not last[0]:
            last[0], last[1] = value, convert(value)
        return last[1]

    return cached


def _copy_type(field: models.Field, connection) -> str:
    """The column's PostgreSQL type as COPY names it: 'varchar(50)' → 'varchar'."""
    return field.db_type(connection).split("(")[0].strip()


def _allocate(model: type[models.Model], count: int, connection) -> list[int]:
    """`count` fresh primary keys. On SQLite the caller's transaction holds the write lock, so the
    next ids cannot be taken by anyone else; on PostgreSQL they come from the sequence."""
    table = model._meta.db_table
    column = model._meta.pk.column
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The sequence is named once: `nextval(pg_get_serial_sequence(…))` in the select list
            # looked the name up and cast it to a relation again for every key (7× slower: 160 ms
            # against 20 ms for the 24,000 keys of a chunk's payroll lines).
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, column])
            (sequence,) = cursor.fetchone()
            # Alone on the sequence (the usual case) the keys come out in one run: only its ends
            # cross the wire. Interleaved with another writer, they are drawn again, one by one.
            taken = "SELECT nextval(%s::regclass) AS v FROM generate_series(1, %s)"
            cursor.execute(f"SELECT min(v), max(v) FROM ({taken}) t", [sequence, count])  # noqa: S608
            low, high = cursor.fetchone()
            if high - low + 1 == count:
                return list(range(low, high + 1))
            cursor.execute(taken, [sequence, count])
            return [row[0] for row in cursor.fetchall()]
        cursor.execute(f'SELECT COALESCE(MAX("{column}"), 0) FROM "{table}"')  # noqa: S608
        start = cursor.fetchone()[0]
        cursor.execute("SELECT seq FROM sqlite_sequence WHERE name = %s", [table])
        row = cursor.fetchone()
        start = max(start, row[0] if row else 0)
    return list(range(start + 1, start + 1 + count))


def insert(model: type[models.Model], objects: Sequence[models.Model | dict[str, Any]]) -> list[int]:
    """Insert new rows of `model`, given as unsaved instances (which get their primary key) or as
    dicts of attribute names (a missing one takes the field's default); return the keys in order."""
    if not objects:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    ids = _allocate(model, len(objects), connection)
    pk_name = model._meta.pk.attname
    fields = list(model._meta.concrete_fields)
    defaults = {f.attname: f.get_default() for f in fields if f.attname != pk_name}
    converters = [(f.attname, _converter(f, connection)) for f in fields]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    table = connection.ops.quote_name(model._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608

    def rows() -> Iterator[tuple]:
        # A list comprehension, and no call for the columns taken as they are: this loop runs once per
        # value of every row an import writes.
        for obj, pk in zip(objects, ids, strict=True):
            if isinstance(obj, dict):
                values = {**defaults, **obj, pk_name: pk}
                yield tuple([values[n] if c is None else c(values[n]) for n, c in converters])
            else:
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias
                yield tuple([getattr(obj, n) if c is None else c(getattr(obj, n)) for n, c in converters])

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # COPY is PostgreSQL's bulk path; the values are already what the driver dumps. Rows are
            # built as the COPY runs: the server stores what the driver has sent (every 32 kB or so)
            # while this process converts and encrypts the next rows, rather than one waiting on the
            # other.
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                # Told the column types once, the driver skips choosing a dumper for every value.
                copy.set_types([_copy_type(f, connection) for f in fields])
                for row in rows():
                    copy.write_row(row)
        else:
            built = list(rows())
            for start in range(0, len(built), BATCH):
                cursor.executemany(sql, built[start : start + BATCH])
    return ids
