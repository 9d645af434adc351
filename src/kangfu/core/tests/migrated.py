"""A migrated database made once per `make test` and copied wherever another is needed.

Migrating from nothing takes most of a minute here (Django renders the models' states again for each of
some 130 migrations), and a run of the suite needs many: one per test process, one for the run of the
tests that empty every table, and the SQLite files of the tests that start `kangfu` in a process of its
own. `make test` names a folder in `KANGFU_TEST_DB_CACHE` for the run and removes it (and the
PostgreSQL template it names) when the run ends, so nothing migrated outlives the code that migrated it.
Without the variable every database is migrated, as before.

A SQLite copy is the test database written out through SQLite's online backup; a PostgreSQL copy is a
database made with `CREATE DATABASE … TEMPLATE`, the server copying the files itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

SQLITE_FILE = "migrated.sqlite3"
PG_TEMPLATE_FILE = "postgresql-template"


def cache_dir() -> Path | None:
    folder = os.environ.get("KANGFU_TEST_DB_CACHE")
    return Path(folder) if folder and Path(folder).is_dir() else None


def _publish(data: Path, name: str) -> None:
    """Another process may be reading the cache: a file appears whole or not at all."""
    folder = cache_dir()
    if folder is None:
        return
    partial = folder / f".{name}.{uuid.uuid4().hex}"
    shutil.copyfile(data, partial)
    os.replace(partial, folder / name)


# ---------------------------------------------------------------------- the test databases


def install(connection) -> None:
    """Make the connection's test database from the run's copy when there is one, and leave a copy
    when this process had to migrate."""
    if cache_dir() is None or connection.vendor not in {"sqlite", "postgresql"}:
        return
    creation = connection.creation
    migrate = creation.create_test_db

    def create_test_db(verbosity=1, autoclobber=False, serialize=True, keepdb=False):
        if keepdb:
            return migrate(verbosity, autoclobber, serialize, keepdb)
        original_name = connection.settings_dict["NAME"]
        copied = _copy_in(connection)
        if copied is None:
            name = migrate(verbosity, autoclobber, serialize, keepdb)
            _copy_out(connection, original_name)
            return name
        if serialize:
            connection._test_serialized_contents = creation.serialize_db_to_string()
        return copied

    creation.create_test_db = create_test_db


def _point_at(connection, name: str) -> None:
    from django.conf import settings

    connection.close()
    settings.DATABASES[connection.alias]["NAME"] = name
    connection.settings_dict["NAME"] = name


def _copy_in(connection) -> str | None:
    creation = connection.creation
    name = creation._get_test_db_name()
    folder = cache_dir()
    if connection.vendor == "sqlite":
        source = folder / SQLITE_FILE
        if not source.exists():
            return None
        creation._create_test_db(verbosity=0, autoclobber=True)  # removes an old file database
        _point_at(connection, name)
        connection.ensure_connection()
        with contextlib.closing(sqlite3.connect(source)) as disk:
            disk.backup(connection.connection)
        return name
    marker = folder / PG_TEMPLATE_FILE
    if not marker.exists():
        return None
    template = marker.read_text().strip()
    quote = connection.ops.quote_name
    with creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {quote(name)}")
        cursor.execute(f"CREATE DATABASE {quote(name)} TEMPLATE {quote(template)}")
    _point_at(connection, name)
    connection.ensure_connection()
    return name


def _copy_out(connection, original_name: str) -> None:
    folder = cache_dir()
    if connection.vendor == "sqlite":
        partial = folder / f".{SQLITE_FILE}.{uuid.uuid4().hex}"
        connection.ensure_connection()
        with contextlib.closing(sqlite3.connect(partial)) as disk:
            connection.connection.backup(disk)
        os.replace(partial, folder / SQLITE_FILE)
        return
    if (folder / PG_TEMPLATE_FILE).exists():
        return
    # Named after the real database, so that whatever drops that one's test databases drops this too.
    template = f"test_{original_name}_migrated_{uuid.uuid4().hex[:8]}"
    test_name = connection.settings_dict["NAME"]
    quote = connection.ops.quote_name
    connection.close()  # PostgreSQL copies only a database nobody is connected to
    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"CREATE DATABASE {quote(template)} TEMPLATE {quote(test_name)}")
    partial = folder / f".{PG_TEMPLATE_FILE}.{uuid.uuid4().hex}"
    partial.write_text(template)
    try:
        os.link(partial, folder / PG_TEMPLATE_FILE)  # fails if another process named one meanwhile
    except FileExistsError:
        with connection.creation._nodb_cursor() as cursor:
            cursor.execute(f"DROP DATABASE IF EXISTS {quote(template)}")
    finally:
        partial.unlink()


# ---------------------------------------------------------------------- files for `kangfu` processes


def sqlite_file(dest: Path, env: dict[str, str]) -> None:
    """A migrated SQLite database at `dest` for a `kangfu` started with `env` (whose DATABASE_URL names
    it): the run's copy if there is one, else migrated here and kept for the next test."""
    folder = cache_dir()
    if folder is not None and (folder / SQLITE_FILE).exists():
        shutil.copyfile(folder / SQLITE_FILE, dest)
        return
    kangfu = Path(sys.executable).parent / "kangfu"
    subprocess.run([str(kangfu), "migrate", "-v0", "--noinput"], env=env, check=True, capture_output=True)
    _publish(dest, SQLITE_FILE)


# ---------------------------------------------------------------------- the end of the run


def drop() -> None:
    """Drop the run's PostgreSQL template (`python -m kangfu.core.tests.migrated`)."""
    folder = cache_dir()
    marker = folder / PG_TEMPLATE_FILE if folder else None
    if marker is None or not marker.exists():
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kangfu.test_settings")
    import django

    django.setup()
    from django.db import connection

    with connection.creation._nodb_cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {connection.ops.quote_name(marker.read_text().strip())}")


if __name__ == "__main__":
    drop()
