import datetime as dt
import threading
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from kangfu.core.transitions import Conflict
from kangfu.devices.models import (
    DISINFECTION_STEPS,
    ChargeKind,
    Fitting,
    Rental,
    RentalStatus,
    Unit,
    UnitStatus,
)
from kangfu.devices.services import (
    catalogue,
    common,
    disinfection,
    fittings,
    pricing,
    rental_requests,
    rentals,
    units,
)
from kangfu.devices.tests.factories import ProductFactory, UnitFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
ALL_STEPS = [key for key, _label in DISINFECTION_STEPS]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC), tick=False):
        yield


def fit(clerk, person, product, suitable=True):
    return fittings.fitting_record(
        actor=clerk,
        person=person,
        category=product.category,
        values={
            "assessed_on": TODAY,
            "needs": "行走困难",
            "recommendation": "手动轮椅",
            "suitable": suitable,
        },
    )


def rent(clerk, person, unit, *, start=TODAY, end=dt.date(2026, 12, 22), **extra):
    return rentals.rental_create(
        actor=clerk,
        person=person,
        data=rentals.RentalData(unit_id=unit.pk, start_date=start, end_date=end, **extra),
    )


def hand_over(clerk, rental):
    return rentals.rental_handover(actor=clerk, rental=rental, training_content="操作方法和安全注意事项")


def disinfect(clerk, unit, *, steps=ALL_STEPS, passed=True):
    now = timezone.now()
    return disinfection.disinfection_record(
        actor=clerk,
        unit=Unit.objects.get(pk=unit.pk),
        method="wipe",
        agent="含氯消毒剂 500 mg/L",
        steps=steps,
        started_at=now - dt.timedelta(hours=1),
        finished_at=now,
        passed=passed,
    )


def kinds(rental):
    return {c.kind: c.amount for c in rental.charges.all()}


class TestFitting:
    def test_a_first_rental_of_a_class_needs_a_fitting(self, clerk, renter, unit):
        with pytest.raises(ValidationError) as caught:
            rent(clerk, renter, unit)
        assert "适配评估" in caught.value.messages[0]
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE

    def test_an_unsuitable_fitting_blocks_the_rental(self, clerk, renter, unit):
        fit(clerk, renter, unit.product, suitable=False)
        with pytest.raises(ValidationError) as caught:
            rent(clerk, renter, unit)
        assert "不适合" in caught.value.messages[0]

    def test_a_product_without_fitting_rents_straight_away(self, clerk, renter, centre):
        unit = UnitFactory(product=ProductFactory(centre=centre, needs_fitting=False))
        assert rent(clerk, renter, unit).status == RentalStatus.RESERVED


class TestPricing:
    def test_full_price_for_someone_without_entitlements(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent(clerk, renter, unit)
        assert kinds(rental) == {ChargeKind.RENT: Decimal("100.00"), ChargeKind.DEPOSIT: Decimal("300.00")}

    def test_the_poor_disabled_get_the_subsidy_and_no_deposit(self, clerk, poor_disabled, unit):
        fit(clerk, poor_disabled, unit.product)
        rental = rent(clerk, poor_disabled, unit)
        assert kinds(rental) == {
            ChargeKind.RENT: Decimal("100.00"),
            ChargeKind.SUBSIDY: Decimal("-50.00"),
            ChargeKind.DEPOSIT: Decimal("0.00"),
        }
        assert pricing.bill(rental)["rent_total"] == Decimal("50.00")

    def test_a_subsidy_beyond_the_cap_is_refused_with_the_remaining_amount(
        self, clerk, poor_disabled, unit, centre
    ):
        policy = pricing.policy_of(centre)
        policy.subsidy_cap_per_year = Decimal("30.00")
        policy.save()
        fit(clerk, poor_disabled, unit.product)
        with pytest.raises(ValidationError) as caught:
            rent(clerk, poor_disabled, unit, subsidy=Decimal("50.00"))
        assert "本年度剩余额度 30.00 元" in caught.value.message_dict["subsidy"][0]
        assert not Rental.objects.exists()
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE

    def test_the_cap_holds_across_rentals_of_one_year(self, clerk, poor_disabled, wheelchair, centre):
        policy = pricing.policy_of(centre)
        policy.subsidy_cap_per_year = Decimal("80.00")
        policy.save()
        fit(clerk, poor_disabled, wheelchair)
        first = rent(clerk, poor_disabled, UnitFactory(product=wheelchair))
        second = rent(clerk, poor_disabled, UnitFactory(product=wheelchair))
        assert kinds(first)[ChargeKind.SUBSIDY] == Decimal("-50.00")
        assert kinds(second)[ChargeKind.SUBSIDY] == Decimal("-30.00")
        assert pricing.subsidy_used(person=poor_disabled, year=2026) == Decimal("80.00")

    def test_a_local_elderly_person_gets_the_discount(self, clerk, unit):
        from kangfu.devices.tests.factories import WENHUAXIANG
        from kangfu.people.tests.factories import PersonFactory

        elder = PersonFactory(community_code=WENHUAXIANG, born=dt.date(1950, 1, 1), county="120114")
        fit(clerk, elder, unit.product)
        assert kinds(rent(clerk, elder, unit))[ChargeKind.DISCOUNT] == Decimal("-20.00")

    @pytest.mark.parametrize(
        ("start", "end", "field"),
        [
            (dt.date(2026, 12, 1), dt.date(2026, 11, 30), "end_date"),
            (dt.date(2026, 11, 23), dt.date(2027, 12, 1), "end_date"),
            (dt.date(2026, 9, 1), dt.date(2026, 12, 1), "start_date"),
        ],
    )
    def test_impossible_periods_are_refused(self, clerk, renter, unit, start, end, field):
        fit(clerk, renter, unit.product)
        with pytest.raises(ValidationError) as caught:
            rent(clerk, renter, unit, start=start, end=end)
        assert field in caught.value.message_dict

    def test_a_delivery_window_must_fit_the_rental(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        start = dt.datetime(2027, 1, 5, 9, tzinfo=dt.UTC)
        with pytest.raises(ValidationError) as caught:
            rent(
                clerk,
                renter,
                unit,
                delivery_mode="home",
                delivery_address="文华巷",
                delivery_from=start,
                delivery_to=start + dt.timedelta(hours=2),
            )
        assert caught.value.message_dict["delivery_from"] == [rentals.DELIVERY_AFTER_END]
        with pytest.raises(ValidationError) as caught:
            rent(clerk, renter, unit, delivery_mode="home", delivery_address="")
        assert caught.value.message_dict["delivery_address"] == [rentals.DELIVERY_ADDRESS]

    def test_negative_prices_are_refused(self, clerk, wheelchair):
        with pytest.raises(ValidationError) as caught:
            catalogue.product_save(actor=clerk, product=wheelchair, values={"rent_per_month": Decimal("-1")})
        assert caught.value.message_dict["rent_per_month"] == [common.NEGATIVE_MONEY]


class TestLifecycle:
    def test_a_full_cycle_brings_the_unit_back_to_available(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RENTED
        rentals.rental_return(actor=clerk, rental=rental, returned_on=TODAY, condition="good")
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RETURNED
        disinfect(clerk, unit)
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE
        history = list(Unit.objects.get(pk=unit.pk).events.order_by("pk").values_list("to_status", flat=True))
        assert history == ["reserved", "rented", "returned", "cleaning", "available"]

    def test_a_rental_handed_over_before_its_start_begins_that_day_and_can_be_returned_today(
        self, clerk, renter, unit
    ):
        fit(clerk, renter, unit.product)
        rental = rent(clerk, renter, unit, start=dt.date(2026, 11, 30), end=dt.date(2026, 12, 29))
        billed = pricing.bill(rental)["rent_total"]
        rental = hand_over(clerk, rental)
        assert (rental.start_date, rental.end_date) == (TODAY, dt.date(2026, 12, 22))
        assert pricing.bill(rental)["rent_total"] == billed
        rental = rentals.rental_return(actor=clerk, rental=rental, returned_on=TODAY, condition="good")
        assert rental.status == "returned"

    def test_a_rental_handed_over_late_keeps_its_dates(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent(clerk, renter, unit, start=dt.date(2026, 11, 20), end=dt.date(2026, 12, 19))
        rental = hand_over(clerk, rental)
        assert (rental.start_date, rental.end_date) == (dt.date(2026, 11, 20), dt.date(2026, 12, 19))

    def test_a_unit_not_yet_disinfected_cannot_go_out(self, clerk, renter, poor_disabled, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        rentals.rental_return(actor=clerk, rental=rental, returned_on=dt.date(2026, 11, 23), condition="good")
        fit(clerk, poor_disabled, unit.product)
        with pytest.raises(ValidationError) as caught:
            rent(clerk, poor_disabled, unit)
        assert caught.value.message_dict["unit"] == [rentals.NOT_CLEANED]

    def test_a_disinfection_with_missing_steps_cannot_pass(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        rentals.rental_return(actor=clerk, rental=rental, returned_on=dt.date(2026, 11, 23), condition="good")
        with pytest.raises(ValidationError) as caught:
            disinfect(clerk, unit, steps=["sort", "clean"])
        assert "消毒（按材质" in caught.value.message_dict["steps"][0]
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RETURNED

    def test_a_failed_check_keeps_the_unit_in_cleaning(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        rentals.rental_return(actor=clerk, rental=rental, returned_on=dt.date(2026, 11, 23), condition="good")
        disinfect(clerk, unit, passed=False)
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.CLEANING

    def test_an_available_unit_cannot_be_disinfected_or_returned(self, clerk, unit):
        with pytest.raises(ValidationError) as caught:
            disinfect(clerk, unit)
        assert caught.value.messages == [disinfection.NOT_WAITING_FOR_CLEANING]

    def test_a_rental_that_is_not_out_cannot_be_returned(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent(clerk, renter, unit)
        with pytest.raises(ValidationError) as caught:
            rentals.rental_return(actor=clerk, rental=rental, returned_on=TODAY, condition="good")
        assert caught.value.messages == [rentals.RENTAL_NOT_OPEN]

    @pytest.mark.parametrize(
        ("start", "to"),
        [
            (UnitStatus.AVAILABLE, UnitStatus.CLEANING),
            (UnitStatus.RENTED, UnitStatus.REPAIR),
            (UnitStatus.RESERVED, UnitStatus.RETIRED),
            (UnitStatus.RETIRED, UnitStatus.REPAIR),
            (UnitStatus.REPAIR, UnitStatus.AVAILABLE),
        ],
    )
    def test_forbidden_manual_moves_are_refused(self, clerk, wheelchair, start, to):
        unit = UnitFactory(product=wheelchair, status=start)
        with pytest.raises(ValidationError) as caught:
            units.unit_set_status(actor=clerk, unit=unit, to=to)
        assert "不能从" in caught.value.messages[0]
        assert Unit.objects.get(pk=unit.pk).status == start

    def test_a_repaired_unit_goes_through_disinfection(self, clerk, unit):
        units.unit_set_status(actor=clerk, unit=unit, to=UnitStatus.REPAIR)
        units.unit_set_status(actor=clerk, unit=unit, to=UnitStatus.CLEANING)
        disinfect(clerk, unit)
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE

    def test_a_rented_unit_cannot_be_moved_to_another_outlet(self, clerk, renter, unit, outlet):
        fit(clerk, renter, unit.product)
        rent(clerk, renter, unit)
        with pytest.raises(ValidationError):
            units.unit_transfer(actor=clerk, unit=Unit.objects.get(pk=unit.pk), to_outlet=outlet)

    def test_moves_are_kept_in_the_history(self, clerk, unit, outlet):
        units.unit_transfer(actor=clerk, unit=unit, to_outlet=outlet)
        event = Unit.objects.get(pk=unit.pk).events.first()
        assert (event.from_outlet_id, event.to_outlet_id) == (unit.product.centre_id, outlet.pk)

    def test_duplicate_serials_are_refused(self, clerk, wheelchair, centre):
        with pytest.raises(ValidationError) as caught:
            units.units_add(
                actor=clerk, product=wheelchair, outlet=centre, serials=["A1", "A1"], acquired_on=TODAY
            )
        assert "A1" in caught.value.message_dict["serials"][0]


class TestReturnsAndChanges:
    def test_an_early_return_is_repriced_and_the_deposit_refunded(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit, end=dt.date(2027, 2, 22)))  # 3 months, 300 元
        with time_machine.travel(dt.datetime(2026, 12, 30, 10, tzinfo=dt.UTC), tick=False):
            rentals.rental_return(
                actor=clerk, rental=rental, returned_on=dt.date(2026, 12, 30), condition="good"
            )
        bill = pricing.bill(rental)
        assert bill["rent_total"] == Decimal("140.00")  # one month 100 (to 12-22) + 8 days × 5
        assert bill["deposit_held"] == Decimal("0.00")

    def test_a_late_return_pays_the_overdue_fee(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit, end=dt.date(2026, 11, 30)))
        with time_machine.travel(dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC), tick=False):
            rentals.rental_return(
                actor=clerk, rental=rental, returned_on=dt.date(2026, 12, 3), condition="good"
            )
        assert kinds(rental)[ChargeKind.OVERDUE] == Decimal("15.00")

    def test_damage_is_charged_up_to_the_replacement_value(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        with pytest.raises(ValidationError) as caught:
            rentals.rental_return(
                actor=clerk,
                rental=rental,
                returned_on=TODAY,
                condition="damaged",
                damage_note="车架断裂",
                damage_charge=Decimal("9999"),
            )
        assert "1,500.00" in caught.value.message_dict["damage_charge"][0]
        rentals.rental_return(
            actor=clerk,
            rental=rental,
            returned_on=TODAY,
            condition="damaged",
            damage_note="刹车损坏",
            damage_charge=Decimal("80"),
        )
        assert kinds(rental)[ChargeKind.DAMAGE] == Decimal("80.00")

    def test_an_extension_costs_what_one_longer_rental_costs(self, clerk, poor_disabled, unit):
        fit(clerk, poor_disabled, unit.product)
        rental = hand_over(clerk, rent(clerk, poor_disabled, unit))
        rentals.rental_extend(actor=clerk, rental=rental, new_end=dt.date(2027, 1, 22))
        bill = pricing.bill(rental)
        assert bill["rent_total"] == Decimal("100.00")  # 200 rent − 100 subsidy
        assert pricing.subsidy_used(person=poor_disabled, year=2026) == Decimal("100.00")

    def test_an_extension_must_end_later(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        with pytest.raises(ValidationError) as caught:
            rentals.rental_extend(actor=clerk, rental=rental, new_end=dt.date(2026, 12, 1))
        assert "晚于原到期日期" in caught.value.message_dict["new_end"][0]

    def test_cancelling_a_reservation_reverses_the_bill_and_frees_the_unit(self, clerk, poor_disabled, unit):
        fit(clerk, poor_disabled, unit.product)
        rental = rent(clerk, poor_disabled, unit)
        rentals.rental_cancel(actor=clerk, rental=rental, reason="本人放弃")
        assert pricing.bill(rental)["rent_total"] == Decimal("0.00")
        assert pricing.subsidy_used(person=poor_disabled, year=2026) == Decimal("0.00")
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE


class TestConflicts:
    """Two clerks acting on one thing at once: the second is told someone acted first (a Conflict,
    the API's 409), and nothing of theirs is kept."""

    def test_renting_a_unit_someone_has_just_rented_is_a_conflict(self, clerk, renter, poor_disabled, unit):
        fit(clerk, renter, unit.product)
        fit(clerk, poor_disabled, unit.product)
        rent(clerk, renter, unit)
        with pytest.raises(Conflict) as caught:
            rent(clerk, poor_disabled, unit)
        assert caught.value.message_dict["unit"] == [units.UNIT_NOT_AVAILABLE]
        assert Rental.objects.filter(unit=unit).count() == 1

    def test_a_rental_handed_over_twice_is_a_conflict(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent(clerk, renter, unit)
        stale = Rental.objects.get(pk=rental.pk)
        hand_over(clerk, rental)
        with pytest.raises(Conflict) as caught:
            hand_over(clerk, stale)
        assert caught.value.messages == [rentals.RENTAL_NOT_RESERVED]
        assert Unit.objects.get(pk=unit.pk).events.filter(to_status=UnitStatus.RENTED).count() == 1

    def test_an_extension_of_an_end_date_already_changed_is_a_conflict(self, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = hand_over(clerk, rent(clerk, renter, unit))
        stale = Rental.objects.get(pk=rental.pk)
        rentals.rental_extend(actor=clerk, rental=rental, new_end=dt.date(2027, 1, 22))
        with pytest.raises(Conflict):
            rentals.rental_extend(actor=clerk, rental=stale, new_end=dt.date(2027, 2, 22))
        assert Rental.objects.get(pk=rental.pk).end_date == dt.date(2027, 1, 22)

    def test_a_unit_moved_meanwhile_is_refused_with_the_state_it_is_in_now(self, clerk, unit):
        stale = Unit.objects.get(pk=unit.pk)
        units.unit_set_status(actor=clerk, unit=unit, to=UnitStatus.RETIRED)
        with pytest.raises(Conflict) as caught:
            units.unit_set_status(actor=clerk, unit=stale, to=UnitStatus.REPAIR)
        assert caught.value.messages == ["设备状态不能从“已报废”改为“维修中”。"]

    def test_a_unit_rented_meanwhile_is_not_transferred(self, clerk, renter, unit, outlet):
        fit(clerk, renter, unit.product)
        stale = Unit.objects.select_related("product").get(pk=unit.pk)
        rent(clerk, renter, unit)
        with pytest.raises(Conflict) as caught:
            units.unit_transfer(actor=clerk, unit=stale, to_outlet=outlet)
        assert caught.value.messages == [units.MOVE_BUSY]

    def test_a_request_is_answered_once(self, clerk, renter, unit, centre):
        request = rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=unit.product_id,
                outlet_id=centre.pk,
                name=renter.name,
                id_number=renter.id_number,
                phone="13700001111",
                address="x",
                desired_start=TODAY,
            )
        )
        fit(clerk, renter, unit.product)
        rent(clerk, renter, unit, request_id=request.pk)
        with pytest.raises(Conflict) as caught:
            rental_requests.request_decline(actor=clerk, request=request, reason="暂无库存")
        assert caught.value.messages == [rental_requests.REQUEST_DONE]
        with pytest.raises(Conflict):
            rent(clerk, renter, UnitFactory(product=unit.product), request_id=request.pk)


class TestAccess:
    def test_a_clerk_of_another_centre_cannot_act_on_this_centres_rental(
        self, clerk, other_clerk, renter, unit
    ):
        fit(clerk, renter, unit.product)
        rental = rent(clerk, renter, unit)
        with pytest.raises(PermissionDenied):
            rentals.rental_handover(actor=other_clerk, rental=rental, training_content="x")

    def test_a_clerk_cannot_rent_to_someone_outside_the_jurisdiction(self, clerk, unit):
        from kangfu.people.tests.factories import PersonFactory

        outsider_person = PersonFactory()  # lives in 河西区
        Fitting.objects.create(
            person=outsider_person,
            category=unit.product.category,
            centre=unit.product.centre,
            assessor=clerk,
            assessed_on=TODAY,
            needs="x",
            recommendation="x",
        )
        with pytest.raises(PermissionDenied):
            rent(clerk, outsider_person, unit)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two real concurrent transactions need PostgreSQL"
)
def test_two_clerks_renting_one_unit_at_once_exactly_one_succeeds(clerk, renter, poor_disabled, unit):
    fit(clerk, renter, unit.product)
    fit(clerk, poor_disabled, unit.product)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt(person):
        from django.db import connection as thread_connection

        try:
            barrier.wait()
            rent(clerk, person, unit)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.message_dict["unit"][0])
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in (renter, poor_disabled)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == sorted(["ok", units.UNIT_NOT_AVAILABLE])
    assert Rental.objects.filter(unit=unit).count() == 1
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED
