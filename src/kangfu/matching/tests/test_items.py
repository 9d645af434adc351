import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from kangfu.core.models import Region, Role
from kangfu.core.tests.factories import UserFactory
from kangfu.matching import comparison
from kangfu.matching.models import Item, ItemStatus
from kangfu.matching.tests.conftest import HEXI, travel
from kangfu.subsidies.models import Grant, GrantStatus
from kangfu.subsidies.services import payroll

pytestmark = pytest.mark.django_db
M = dt.date


@pytest.fixture
def street_officer(db):
    return UserFactory(username="jd", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")


@pytest.fixture
def district_officer(db):
    return UserFactory(username="qj", role=Role.DISTRICT_ADMIN, jurisdiction_id=HEXI)


def test_a_match_stops_nothing_until_the_street_confirms_and_the_district_approves(
    death_item, street_officer, district_officer
):
    assert death_item.amount_at_stake == Decimal("200.00")
    grant = Grant.objects.get()
    assert grant.status == GrantStatus.ACTIVE
    with travel(M(2026, 11, 4)):
        comparison.item_confirm(actor=street_officer, item=death_item, note="已核实死亡证明")
        assert Grant.objects.get().status == GrantStatus.ACTIVE
        comparison.item_approve(actor=district_officer, item=Item.objects.get())
    grant.refresh_from_db()
    assert (grant.status, grant.end_month) == (GrantStatus.STOPPED, M(2026, 9, 1))
    with travel(M(2026, 11, 25)):
        november = payroll.payroll_run(actor=None, district=grant.district, month=M(2026, 11, 1))
    assert {(line.month_for, line.amount) for line in november.lines.all()} == {
        (M(2026, 10, 1), Decimal("-200.00"))
    }


def test_a_dismissal_needs_a_reason_and_closes_the_item(death_item, street_officer):
    with pytest.raises(ValidationError):
        comparison.item_dismiss(actor=street_officer, item=death_item, note=" ")
    comparison.item_dismiss(actor=street_officer, item=death_item, note="同名同姓，经核实本人健在")
    assert Item.objects.get().status == ItemStatus.DISMISSED
    assert Grant.objects.get().status == GrantStatus.ACTIVE


def test_two_streets_cannot_both_close_one_item(death_item, street_officer):
    other = UserFactory(username="jd2", role=Role.STREET_OFFICER, jurisdiction_id="120103001000")
    stale = Item.objects.get()
    comparison.item_confirm(actor=street_officer, item=death_item, note="属实")
    with pytest.raises(ValidationError) as caught:
        comparison.item_dismiss(actor=other, item=stale, note="不属实")
    assert caught.value.messages == [comparison.TAKEN]


def test_another_street_cannot_touch_the_item_until_it_is_transferred(death_item, street_officer):
    other = UserFactory(username="xwf", role=Role.STREET_OFFICER, jurisdiction_id="120103002000")
    with pytest.raises(PermissionDenied):
        comparison.item_confirm(actor=other, item=death_item, note="x")
    comparison.item_transfer(
        actor=street_officer,
        item=death_item,
        street=Region.objects.get(code="120103002000"),
        note="已迁居下瓦房",
    )
    comparison.item_confirm(actor=other, item=Item.objects.get(), note="属实")
    assert Item.objects.get().status == ItemStatus.CONFIRMED


def test_the_one_who_confirmed_cannot_approve(death_item, district_officer):
    comparison.item_confirm(actor=district_officer, item=death_item, note="区里直接核实")
    with pytest.raises(PermissionDenied):
        comparison.item_approve(actor=district_officer, item=Item.objects.get())


def test_a_run_that_fails_leaves_no_items(death_item, monkeypatch):
    from kangfu.matching import rules

    Item.objects.all().delete()

    def broken(ctx):
        raise RuntimeError("killed")

    monkeypatch.setattr(rules, "RULES", [*rules.RULES[:1], ("broken", "坏规则", "stop", broken, "")])
    run = comparison.run_start(actor=None, district=Region.objects.get(code=HEXI), period=M(2026, 11, 1))
    with pytest.raises(RuntimeError):
        comparison.run_execute(run)
    run.refresh_from_db()
    assert run.status == "failed"
    assert not Item.objects.exists()


def test_a_confirmation_needs_a_basis_and_changes_nothing_without_one(death_item, street_officer):
    for note in ("", "   "):
        with pytest.raises(ValidationError) as caught:
            comparison.item_confirm(actor=street_officer, item=death_item, note=note)
        assert caught.value.message_dict == {"note": [comparison.NEEDS_BASIS]}
    death_item.refresh_from_db()
    assert (death_item.status, death_item.version) == (ItemStatus.OPEN, 1)
