"""The 辅具租赁 endpoints answer with the pages' rules: a centre's own rows, the page's filters, the
counter's services, masked numbers, and 400/403/404/409 in the API's shapes."""

import datetime as dt
import json
import threading

import pytest
import time_machine
from django.db import connection
from django.test import Client

from kangfu.core.ids import mask_id_number, mask_phone
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.services import api_token_create
from kangfu.devices.models import Rental, RentalRequest, RequestStatus, Unit, UnitStatus
from kangfu.devices.services import fittings, rental_requests, rentals, units
from kangfu.devices.tests.factories import ProductFactory, UnitFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC), tick=False):
        yield


def token_for(user) -> str:
    return api_token_create(actor=None, user=user, name="测试")


def call(client, token, method, path, payload=None, **params):
    kwargs = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if payload is not None:
        kwargs.update(data=json.dumps(payload, default=str), content_type="application/json")
    elif params:
        kwargs["data"] = params
    return getattr(client, method)(f"/api/v1/devices{path}", **kwargs)


@pytest.fixture
def api(client):
    def as_user(user):
        token = token_for(user)
        return lambda method, path, payload=None, **params: call(
            client, token, method, path, payload, **params
        )

    return as_user


def fit(clerk, person, product):
    fittings.fitting_record(
        actor=clerk,
        person=person,
        category=product.category,
        values={"assessed_on": TODAY, "needs": "行走困难", "recommendation": "手动轮椅", "suitable": True},
    )


def rental_payload(person, unit, **extra):
    return {
        "person_id": person.pk,
        "unit_id": unit.pk,
        "start_date": "2026-11-23",
        "end_date": "2026-12-22",
        **extra,
    }


@pytest.fixture
def elsewhere(other_clerk):
    """A unit and a rental of the other district's centre."""
    centre = other_clerk.organisation
    unit = UnitFactory(product=ProductFactory(centre=centre, name="河东轮椅", needs_fitting=False))
    return unit


def test_the_openapi_document_renders_with_the_devices_endpoints(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ["catalogue", "units", "units/{unit_id}", "rentals", "rentals/{rental_id}", "requests"]:
        assert f"/api/v1/devices/{path}" in paths, path


class TestScope:
    def test_a_clerk_sees_only_their_own_centres_catalogue_and_units(self, api, clerk, unit, elsewhere):
        call = api(clerk)
        catalogue = call("get", "/catalogue").json()
        assert [p["name"] for p in catalogue["items"]] == [unit.product.name]
        assert catalogue["items"][0]["units"]["available"] == 1
        listed = call("get", "/units").json()
        assert [u["serial"] for u in listed["items"]] == [unit.serial]
        assert call("get", f"/units/{elsewhere.pk}").status_code == 404

    def test_a_clerk_sees_only_their_own_centres_rentals(self, api, clerk, other_clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rentals.rental_create(
            actor=clerk,
            person=renter,
            data=rentals.RentalData(unit_id=unit.pk, start_date=TODAY, end_date=dt.date(2026, 12, 22)),
        )
        assert api(other_clerk)("get", "/rentals").json()["items"] == []
        assert api(other_clerk)("get", f"/rentals/{rental.pk}").status_code == 404
        mine = api(clerk)("get", "/rentals").json()["items"]
        assert [r["number"] for r in mine] == [rental.number]
        assert mine[0]["person"]["id_number"] == mask_id_number(renter.id_number)

    def test_reading_a_rental_is_audited(self, api, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rentals.rental_create(
            actor=clerk,
            person=renter,
            data=rentals.RentalData(unit_id=unit.pk, start_date=TODAY, end_date=dt.date(2026, 12, 22)),
        )
        body = api(clerk)("get", f"/rentals/{rental.pk}").json()
        assert body["rent_total"] == "100.00" and body["deposit_held"] == "300.00"
        entry = AuditEntry.objects.get(action=AuditAction.VIEW, person_id=renter.pk)
        assert entry.channel == "api"

    def test_a_street_officer_is_refused(self, api, owner):
        response = api(owner)("get", "/units")
        assert response.status_code == 403
        assert response.json()["detail"]


class TestFilters:
    def test_the_units_filter_is_the_pages_filter(self, api, clerk, wheelchair):
        UnitFactory(product=wheelchair, serial="WC0001")
        UnitFactory(product=wheelchair, serial="WC0002", status=UnitStatus.REPAIR)
        body = api(clerk)("get", "/units", status="repair").json()
        assert [u["serial"] for u in body["items"]] == ["WC0002"]
        assert body["count"] == 1

    def test_a_filter_value_it_cannot_read_is_a_400(self, api, clerk, unit):
        response = api(clerk)("get", "/units", status="broken", outlet="abc")
        assert response.status_code == 400
        assert set(response.json()["errors"]) == {"status", "outlet"}

    def test_the_rentals_list_opens_on_open_rentals_and_refuses_an_unknown_view(self, api, clerk):
        assert api(clerk)("get", "/rentals", view="sometime").status_code == 400
        assert api(clerk)("get", "/rentals").status_code == 200


class TestRentals:
    def test_a_rental_is_made_handed_over_and_returned_through_the_counters_services(
        self, api, clerk, poor_disabled, unit
    ):
        fit(clerk, poor_disabled, unit.product)
        call = api(clerk)
        created = call("post", "/rentals", rental_payload(poor_disabled, unit))
        assert created.status_code == 201
        body = created.json()
        assert body["rent_total"] == "50.00"  # the subsidy, as at the counter
        assert {c["kind"] for c in body["charges"]} == {"rent", "subsidy", "deposit"}
        rental_id = body["id"]
        assert (
            call("post", f"/rentals/{rental_id}/handover", {"training_content": "操作方法"}).status_code
            == 200
        )
        returned = call(
            "post", f"/rentals/{rental_id}/return", {"returned_on": "2026-11-23", "condition": "good"}
        )
        assert returned.status_code == 200
        assert returned.json()["status"] == "returned"
        assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RETURNED

    def test_renting_a_unit_already_rented_is_a_409(self, api, clerk, renter, poor_disabled, unit):
        fit(clerk, renter, unit.product)
        fit(clerk, poor_disabled, unit.product)
        call = api(clerk)
        assert call("post", "/rentals", rental_payload(renter, unit)).status_code == 201
        second = call("post", "/rentals", rental_payload(poor_disabled, unit))
        assert second.status_code == 409
        assert second.json()["errors"]["unit"] == [units.UNIT_NOT_AVAILABLE]
        assert Rental.objects.count() == 1

    def test_a_refusal_is_a_400_with_the_counters_message(self, api, clerk, renter, unit):
        response = api(clerk)("post", "/rentals", rental_payload(renter, unit))
        assert response.status_code == 400
        assert "适配评估" in response.json()["detail"]

    def test_renting_to_someone_outside_the_scope_is_a_404(self, api, clerk, centre):
        from kangfu.people.tests.factories import PersonFactory

        unit = UnitFactory(product=ProductFactory(centre=centre, needs_fitting=False))
        response = api(clerk)("post", "/rentals", rental_payload(PersonFactory(), unit))  # lives in 河西区
        assert response.status_code == 404
        assert not Rental.objects.exists()

    def test_another_centres_unit_cannot_be_rented(self, api, clerk, renter, elsewhere):
        response = api(clerk)("post", "/rentals", rental_payload(renter, elsewhere))
        assert response.status_code == 400
        assert not Rental.objects.exists()


class TestRequests:
    @pytest.fixture
    def waiting(self, unit, centre):
        return rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=unit.product_id,
                outlet_id=centre.pk,
                name="赵市民",
                id_number="120114198105050010",
                phone="13700001111",
                address="文华巷 1 号",
                desired_start=dt.date(2026, 11, 25),
            )
        )

    def test_the_list_shows_waiting_requests_masked(self, api, clerk, other_clerk, waiting):
        item = api(clerk)("get", "/requests").json()["items"][0]
        assert item["reference"] == waiting.reference
        assert item["id_number"] == mask_id_number("120114198105050010")
        assert item["phone"] == mask_phone("13700001111")
        assert api(other_clerk)("get", "/requests").json()["items"] == []

    def test_a_request_is_declined_once(self, api, clerk, waiting):
        call = api(clerk)
        first = call("post", f"/requests/{waiting.pk}/decline", {"reason": "暂无库存"})
        assert first.status_code == 200 and first.json()["status"] == RequestStatus.DECLINED
        second = call("post", f"/requests/{waiting.pk}/decline", {"reason": "再次"})
        assert second.status_code == 409
        assert second.json()["detail"] == rental_requests.REQUEST_DONE
        assert RentalRequest.objects.get(pk=waiting.pk).decline_reason == "暂无库存"

    def test_another_centre_cannot_decide_a_request(self, api, other_clerk, waiting):
        response = api(other_clerk)("post", f"/requests/{waiting.pk}/decline", {"reason": "x"})
        assert response.status_code == 404


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two real concurrent transactions need PostgreSQL"
)
def test_two_clerks_renting_one_unit_through_the_api_at_once_get_one_201_and_one_409(
    clerk, renter, poor_disabled, unit, centre
):
    from kangfu.core.models import Role
    from kangfu.core.tests.factories import UserFactory

    colleague = UserFactory(
        username="clerk2", role=Role.DEVICE_CLERK, organisation=centre, jurisdiction_id="120114000000"
    )
    fit(clerk, renter, unit.product)
    fit(clerk, poor_disabled, unit.product)
    tokens = {renter.pk: token_for(clerk), poor_disabled.pk: token_for(colleague)}
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def attempt(person):
        from django.db import connection as thread_connection

        try:
            client = Client()
            barrier.wait()
            response = call(client, tokens[person.pk], "post", "/rentals", rental_payload(person, unit))
            statuses.append(response.status_code)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=attempt, args=(p,)) for p in (renter, poor_disabled)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [201, 409]
    assert Rental.objects.filter(unit=unit).count() == 1
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RESERVED
