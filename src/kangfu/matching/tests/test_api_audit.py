"""The comparison items handed to another system are a read of each person, audited."""

import pytest

from kangfu.core.models import AuditAction, AuditEntry, Role
from kangfu.core.services import api_token_create
from kangfu.core.tests.factories import UserFactory
from kangfu.matching.tests.conftest import HEXI

pytestmark = pytest.mark.django_db


def test_reading_the_items_leaves_a_view_row_per_item(client, death_item):
    user = UserFactory(username="qj_api", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)
    token = api_token_create(actor=None, user=user, name="测试")
    response = client.get("/api/v1/matching/items", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert [i["id"] for i in response.json()] == [death_item.pk]
    row = AuditEntry.objects.get(action=AuditAction.VIEW, actor=user)
    assert (row.object_id, row.person_id, row.channel) == (str(death_item.pk), death_item.person_id, "api")
