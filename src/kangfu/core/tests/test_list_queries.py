"""The audit log costs the same statements for 3 entries as for 9 (issue 16): it reads
its columns from the entry itself, never the actor's account or the record it names."""

from __future__ import annotations

import itertools

import pytest

from kangfu.core import audit
from kangfu.core.models import AuditAction, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.core.tests.querycount import at_two_sizes

pytestmark = pytest.mark.django_db

_n = itertools.count()


def _entries(n: int) -> None:
    """n entries, each by another clerk, about another record, with changes."""
    for _ in range(n):
        i = next(_n)
        actor = UserFactory(username=f"clerk{i}", role=Role.COMMUNITY_WORKER, jurisdiction_id="120103001001")
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=actor,
            person_id=1000 + i,
            summary=f"修改 {i}",
            changes={"phone": ["1", "2"]},
        )


def test_the_audit_log_costs_the_same_queries_for_three_entries_as_for_nine(client):
    client.force_login(UserFactory(username="auditor", role=Role.AUDITOR, jurisdiction_id="120100000000"))
    assert at_two_sizes(client, "/audit/", _entries) == (5, 5)
