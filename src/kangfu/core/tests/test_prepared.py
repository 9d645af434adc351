"""On PostgreSQL the statements a page repeats are prepared on the server once a connection has run
them five times (settings: KANGFU_PG_PREPARED), and an operator behind a pooler that cannot keep
them turns that off."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.db import connection

from kangfu.core.models import User
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.production import production_env

SHOW_OPTIONS = (
    "import json; from django.conf import settings; "
    "print(json.dumps({k: v.get('OPTIONS', {}) for k, v in settings.DATABASES.items()}, default=str))"
)


def _options(**env: str) -> dict[str, dict]:
    done = subprocess.run(
        [sys.executable, "-c", SHOW_OPTIONS],
        env=production_env(**env),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_postgresql_connections_prepare_unless_the_operator_says_not_to():
    urls = {
        "DATABASE_URL": "postgres://kangfu@db.example/kangfu",
        "DATABASE_REPLICA_URL": "postgres://kangfu@replica.example/kangfu",
    }
    prepared = _options(**urls)
    for alias in ("default", "replica"):
        assert prepared[alias]["server_side_binding"] is True
        assert prepared[alias]["prepare_threshold"] == 5

    plain = _options(**urls, KANGFU_PG_PREPARED="0")
    for alias in ("default", "replica"):
        assert "server_side_binding" not in plain[alias] and "prepare_threshold" not in plain[alias]
        # The other connection options are kept.
        assert plain[alias] == {
            k: v for k, v in prepared[alias].items() if k not in ("server_side_binding", "prepare_threshold")
        }

    # SQLite has nothing to prepare this way and would refuse the options.
    embedded = _options(DATABASE_URL="sqlite:////tmp/kangfu-options.sqlite3")
    assert "server_side_binding" not in embedded["default"]


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_a_statement_run_five_times_is_prepared_on_the_server():
    user = UserFactory()

    def prepared() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%%core_user%%'")
            return cursor.fetchone()[0]

    before = prepared()
    for _ in range(4):
        assert User.objects.filter(pk=user.pk, is_active=True).exists()
    assert prepared() == before
    for _ in range(2):
        assert User.objects.filter(pk=user.pk, is_active=True).exists()
    assert prepared() == before + 1
