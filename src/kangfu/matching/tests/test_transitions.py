"""core.transitions.advance, the one conditional transition, on an item: a row moves only from the
state the caller saw."""

import pytest

from kangfu.core.models import Region
from kangfu.core.transitions import Conflict, advance
from kangfu.matching import comparison
from kangfu.matching.models import Item, ItemStatus

pytestmark = pytest.mark.django_db


def test_a_row_moves_from_the_state_seen_and_a_second_try_is_a_conflict(matching_item):
    rows = Item.objects.filter(pk=matching_item.pk)
    advance(rows, expected=ItemStatus.OPEN, version=1, message="已被他人办理", status=ItemStatus.CONFIRMED)
    item = Item.objects.get(pk=matching_item.pk)
    assert (item.status, item.version) == (ItemStatus.CONFIRMED, 2)
    with pytest.raises(Conflict) as caught:  # the same click again: the row is no longer open
        advance(
            rows, expected=ItemStatus.OPEN, version=1, message="已被他人办理", status=ItemStatus.DISMISSED
        )
    assert caught.value.messages == ["已被他人办理"]
    assert Item.objects.get(pk=matching_item.pk).status == ItemStatus.CONFIRMED


def test_a_stale_version_changes_nothing_even_in_the_expected_state(matching_item):
    with pytest.raises(Conflict):
        advance(
            Item.objects.filter(pk=matching_item.pk),
            expected=[ItemStatus.OPEN, ItemStatus.CONFIRMED],
            version=7,
            message=comparison.TAKEN,
            status=ItemStatus.DISMISSED,
        )
    assert Item.objects.get(pk=matching_item.pk).status == ItemStatus.OPEN


@pytest.fixture
def matching_item(db):
    from kangfu.conftest import load_regions
    from kangfu.matching.models import ComparisonRun
    from kangfu.people.tests.factories import PersonFactory

    load_regions()
    district = Region.objects.get(code="120103000000")
    person = PersonFactory()
    run = ComparisonRun.objects.create(district=district, period="2026-11-01")
    return Item.objects.create(
        run=run,
        period="2026-11-01",
        district=district,
        street_id=person.street_id,
        person=person,
        rule="death",
        direction="stop",
        confidence="high",
        explanation="测试",
        due_date="2026-11-10",
    )
