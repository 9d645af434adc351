import datetime as dt
import io

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.tests import files
from kangfu.devices.models import RentalRequest, RequestStatus, UnitStatus
from kangfu.devices.services import fittings, pricing, rental_requests, rentals
from kangfu.devices.tests.factories import UnitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(dt.datetime(2026, 11, 23, 10, tzinfo=dt.UTC), tick=False):
        yield


def page(response) -> str:
    return response.content.decode()


def rent_now(clerk, person, unit):
    return rentals.rental_create(
        actor=clerk,
        person=person,
        data=rentals.RentalData(
            unit_id=unit.pk, start_date=dt.date(2026, 11, 23), end_date=dt.date(2026, 12, 22)
        ),
    )


def fit(clerk, person, product):
    fittings.fitting_record(
        actor=clerk,
        person=person,
        category=product.category,
        values={"assessed_on": dt.date(2026, 11, 23), "needs": "x", "recommendation": "x", "suitable": True},
    )


class TestPublic:
    def test_the_catalogue_shows_availability_per_outlet_without_login(self, client, unit):
        body = page(client.get("/public/devices/"))
        assert unit.product.name in body
        assert "可租 1 台" in body

    def test_a_citizen_requests_a_rental_and_can_check_it(self, client, unit, centre):
        response = client.post(
            f"/public/devices/{unit.product_id}/request/",
            {
                "outlet": centre.pk,
                "name": "赵市民",
                "id_number": "120114198105050010",
                "phone": "13700001111",
                "address": "杨村街道文华巷 1 号",
                "desired_start": "2026-11-25",
                "months": 2,
                "consent": "on",
            },
        )
        request = RentalRequest.objects.get()
        assert response.status_code == 302
        assert request.reference in page(client.get(response["Location"]))
        lookup = client.post(
            "/public/devices/status/", {"reference": request.reference, "id_number": "120114198105050010"}
        )
        assert "待处理" in page(lookup)

    def test_a_bad_id_number_and_missing_consent_are_explained(self, client, unit, centre):
        response = client.post(
            f"/public/devices/{unit.product_id}/request/",
            {
                "outlet": centre.pk,
                "name": "赵市民",
                "id_number": "120114198105050011",
                "phone": "137",
                "address": "x",
                "desired_start": "2026-11-25",
                "months": 2,
            },
        )
        assert response.status_code == 400
        body = page(response)
        assert "校验位" in body and "请勾选同意" in body
        assert not RentalRequest.objects.exists()

    def test_an_overlong_note_is_refused_with_its_limit_and_nothing_is_stored(self, client, unit, centre):
        response = client.post(
            f"/public/devices/{unit.product_id}/request/",
            {
                "outlet": centre.pk,
                "name": "赵市民",
                "id_number": "120114198105050010",
                "phone": "13700001111",
                "address": "杨村街道文华巷 1 号",
                "desired_start": "2026-11-25",
                "months": 2,
                "note": "长" * 501,
                "consent": "on",
            },
        )
        assert response.status_code == 400
        assert rental_requests.TOO_LONG.format(label="情况说明", limit=500) in page(response)
        assert not RentalRequest.objects.exists()

    def test_every_free_text_field_of_the_public_forms_has_a_chinese_length_limit(self):
        from django import forms

        from kangfu.devices.forms import PublicRequestForm, RequestLookupForm

        for form_class in (PublicRequestForm, RequestLookupForm):
            for field in form_class.base_fields.values():
                if isinstance(field, forms.CharField):
                    assert field.max_length
                    assert "不能超过" in field.error_messages["max_length"]

    def test_the_service_refuses_an_overlong_note_from_any_channel(self, unit, centre):
        from django.core.exceptions import ValidationError

        with pytest.raises(ValidationError) as caught:
            rental_requests.request_submit(
                data=rental_requests.RequestData(
                    product_id=unit.product_id,
                    outlet_id=centre.pk,
                    name="赵市民",
                    id_number="120114198105050010",
                    phone="13700001111",
                    address="x",
                    desired_start=dt.date(2026, 11, 25),
                    note="长" * 501,
                )
            )
        assert caught.value.message_dict["note"] == [
            rental_requests.TOO_LONG.format(label="情况说明", limit=500)
        ]
        assert not RentalRequest.objects.exists()

    def test_the_status_lookup_needs_the_matching_id_number(self, client, unit, centre):
        request = rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=unit.product_id,
                outlet_id=centre.pk,
                name="赵市民",
                id_number="120114198105050010",
                phone="13700001111",
                address="x",
                desired_start=dt.date(2026, 11, 25),
            )
        )
        response = client.post(
            "/public/devices/status/", {"reference": request.reference, "id_number": "360121197011210013"}
        )
        assert response.status_code == 404
        assert "待处理" not in page(response)

    def test_the_acknowledgement_page_is_only_for_the_browser_that_filed_it(self, client, unit, centre):
        request = rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=unit.product_id,
                outlet_id=centre.pk,
                name="赵市民",
                id_number="120114198105050010",
                phone="13700001111",
                address="x",
                desired_start=dt.date(2026, 11, 25),
            )
        )
        response = client.get(f"/public/devices/requests/{request.reference}/")
        assert response.status_code == 302


class TestClerkPages:
    def test_every_page_of_the_centre_renders(self, login, clerk, renter, unit):
        client = login(clerk)
        fit(clerk, renter, unit.product)
        rental = rent_now(clerk, renter, unit)
        for url in [
            "/devices/",
            "/devices/catalogue/",
            "/devices/units/",
            f"/devices/units/{unit.pk}/",
            "/devices/requests/",
            "/devices/rentals/",
            "/devices/rentals/?view=overdue",
            f"/devices/rentals/{rental.pk}/",
            f"/devices/rentals/{rental.pk}/contract/",
            f"/devices/rentals/{rental.pk}/receipt/",
            "/reports/devices/",
            "/devices/products/new/",
            "/devices/units/add/",
            f"/devices/rentals/new/?person={renter.pk}",
            f"/devices/rentals/new/?person={renter.pk}&product={unit.product_id}",
            f"/devices/fittings/new/?person={renter.pk}",
            f"/people/{renter.pk}/?tab=devices",
        ]:
            assert client.get(url).status_code == 200, url

    def test_the_rental_form_rents_and_shows_the_bill(self, login, clerk, poor_disabled, unit):
        fit(clerk, poor_disabled, unit.product)
        response = login(clerk).post(
            f"/devices/rentals/new/?person={poor_disabled.pk}&product={unit.product_id}",
            {
                "unit": unit.pk,
                "start_date": "2026-11-23",
                "end_date": "2026-12-22",
                "delivery_mode": "home",
                "delivery_address": "文华巷 1 号",
                "delivery_from": "2026-11-24T09:00",
                "delivery_to": "2026-11-24T11:00",
                "action": "create",
            },
        )
        assert response.status_code == 302
        body = page(login(clerk).get(response["Location"]))
        assert "困难残疾人租赁补贴" in body and "50.00" in body

    def test_a_quote_is_a_fragment_for_htmx(self, login, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        response = login(clerk).post(
            f"/devices/rentals/new/?person={renter.pk}&product={unit.product_id}",
            {
                "unit": unit.pk,
                "start_date": "2026-11-23",
                "end_date": "2026-12-22",
                "delivery_mode": "pickup",
                "action": "quote",
            },
            HTTP_HX_REQUEST="true",
        )
        assert "<header" not in page(response) and "基础租金" in page(response)

    def test_a_reservation_not_yet_handed_over_is_cancelled_from_its_page(self, login, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent_now(clerk, renter, unit)
        client = login(clerk)
        assert "取消预订" in page(client.get(f"/devices/rentals/{rental.pk}/"))
        response = client.post(f"/devices/rentals/{rental.pk}/", {"action": "cancel", "reason": "本人放弃"})
        assert response.status_code == 302
        rental.refresh_from_db()
        assert rental.status == "cancelled"
        assert UnitStatus(unit.__class__.objects.get(pk=unit.pk).status) == UnitStatus.AVAILABLE

    def test_a_rental_handed_over_early_on_its_page_is_returned_the_same_day(
        self, login, clerk, renter, unit
    ):
        fit(clerk, renter, unit.product)
        rental = rentals.rental_create(
            actor=clerk,
            person=renter,
            data=rentals.RentalData(
                unit_id=unit.pk, start_date=dt.date(2026, 11, 28), end_date=dt.date(2026, 12, 27)
            ),
        )
        client = login(clerk)
        url = f"/devices/rentals/{rental.pk}/"
        assert "租期自今天起算" in page(client.get(url))
        assert client.post(url, {"action": "handover", "training_content": "操作方法"}).status_code == 302
        response = client.post(url, {"action": "return", "returned_on": "2026-11-23", "condition": "good"})
        assert response.status_code == 302
        rental.refresh_from_db()
        assert (rental.status, rental.start_date, rental.returned_on) == (
            "returned",
            dt.date(2026, 11, 23),
            dt.date(2026, 11, 23),
        )

    def test_a_forged_return_of_another_centres_rental_is_404(self, login, clerk, other_clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent_now(clerk, renter, unit)
        response = login(other_clerk).post(
            f"/devices/rentals/{rental.pk}/", {"action": "cancel", "reason": "冒名取消"}
        )
        assert response.status_code == 404
        assert pricing.bill(rental)["rent_total"] > 0

    def test_a_street_officer_cannot_open_the_centre(self, login, owner):
        assert login(owner).get("/devices/").status_code == 403

    def test_the_units_list_query_count_is_constant(self, login, clerk, wheelchair):
        client = login(clerk)
        UnitFactory.create_batch(2, product=wheelchair)
        with CaptureQueriesContext(connection) as few:
            client.get("/devices/units/")
        UnitFactory.create_batch(30, product=wheelchair)
        with CaptureQueriesContext(connection) as many:
            client.get("/devices/units/")
        assert len(few) == len(many)

    def test_the_rentals_list_query_count_is_constant(self, login, clerk, centre):
        from kangfu.devices.tests.factories import ProductFactory
        from kangfu.people.tests.factories import PersonFactory

        client = login(clerk)
        product = ProductFactory(centre=centre, needs_fitting=False)

        def add(n):
            for _ in range(n):
                person = PersonFactory(community_code="120114001007", county="120114")
                rentals.rental_create(
                    actor=clerk,
                    person=person,
                    data=rentals.RentalData(
                        unit_id=UnitFactory(product=product).pk,
                        start_date=dt.date(2026, 11, 23),
                        end_date=dt.date(2026, 12, 22),
                    ),
                )

        add(2)
        with CaptureQueriesContext(connection) as few:
            client.get("/devices/rentals/")
        add(10)
        with CaptureQueriesContext(connection) as many:
            client.get("/devices/rentals/")
        assert len(few) == len(many)

    def test_the_units_list_filters_by_serial_or_product_name(self, login, clerk, centre, wheelchair):
        from kangfu.devices.tests.factories import ProductFactory

        UnitFactory(product=wheelchair, serial="WC0001")
        UnitFactory(product=ProductFactory(centre=centre, name="助行器"), serial="ZX0001")
        client = login(clerk)
        assert "ZX0001" not in page(client.get("/devices/units/", {"q": "WC"}))
        body = page(client.get("/devices/units/", {"q": "助行"}))
        assert "ZX0001" in body and "WC0001" not in body

    def test_the_units_list_answers_htmx_with_the_table_only(self, login, clerk, unit):
        response = login(clerk).get("/devices/units/", {"page": 1}, HTTP_HX_REQUEST="true")
        assert "<header" not in page(response) and unit.serial in page(response)

    def test_the_requests_list_opens_on_the_requests_still_waiting(self, login, clerk, unit, centre):
        def submit(name):
            return rental_requests.request_submit(
                data=rental_requests.RequestData(
                    product_id=unit.product_id,
                    outlet_id=centre.pk,
                    name=name,
                    id_number="120114198105050010",
                    phone="13700001111",
                    address="x",
                    desired_start=dt.date(2026, 11, 25),
                )
            )

        submit("待处理人")
        rental_requests.request_decline(actor=clerk, request=submit("已拒绝人"), reason="暂无库存")
        client = login(clerk)
        body = page(client.get("/devices/requests/"))
        assert "待处理人" in body and "已拒绝人" not in body
        assert "已拒绝人" in page(client.get("/devices/requests/", {"status": "declined"}))

    def test_disinfection_page_makes_the_unit_available(self, login, clerk, renter, unit):
        fit(clerk, renter, unit.product)
        rental = rent_now(clerk, renter, unit)
        rentals.rental_handover(actor=clerk, rental=rental, training_content="培训")
        rentals.rental_return(actor=clerk, rental=rental, returned_on=dt.date(2026, 11, 23), condition="good")
        response = login(clerk).post(
            f"/devices/units/{unit.pk}/",
            {
                "action": "disinfect",
                "method": "wipe",
                "agent": "含氯消毒剂",
                "steps": ["sort", "clean", "disinfect", "rinse_dry", "check", "pack"],
                "started_at": "2026-11-23T15:00",
                "finished_at": "2026-11-23T16:00",
                "passed": "on",
            },
        )
        assert response.status_code == 302
        unit.refresh_from_db()
        assert unit.status == UnitStatus.AVAILABLE


class TestStatistics:
    def test_the_statistics_count_rentals_subsidy_and_people(self, login, clerk, poor_disabled, unit):
        fit(clerk, poor_disabled, unit.product)
        rent_now(clerk, poor_disabled, unit)
        figures = login(clerk).get("/reports/devices/").context["f"]
        assert (figures["rentals"], figures["people"]) == (1, 1)
        assert str(figures["subsidy"]) == "50.00"
        assert figures["by_month"][10] == 1
        assert figures["by_disability"] == {"肢体残疾": 1}

    def test_the_statistics_export_is_a_spreadsheet_and_audited(self, login, clerk):
        response = login(clerk).get("/reports/devices/", {"export": "xlsx"})
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet.cell(row=2, column=1).value == "年度"
        assert AuditEntry.objects.filter(action=AuditAction.EXPORT, object_type="devices.statistics").exists()

    def test_a_district_admin_sees_only_centres_in_the_district(
        self, login, clerk, other_clerk, renter, unit
    ):
        from kangfu.core.models import Role
        from kangfu.core.tests.factories import UserFactory

        fit(clerk, renter, unit.product)
        rent_now(clerk, renter, unit)
        wuqing_admin = UserFactory(
            username="wq_admin", role=Role.DISTRICT_ADMIN, jurisdiction_id="120114000000"
        )
        hedong_admin = UserFactory(
            username="hd_admin", role=Role.DISTRICT_ADMIN, jurisdiction_id="120102000000"
        )
        assert login(wuqing_admin).get("/reports/devices/").context["f"]["rentals"] == 1
        assert login(hedong_admin).get("/reports/devices/").context["f"]["rentals"] == 0

    def test_declining_a_request_is_shown_to_the_citizen(self, login, clerk, unit, centre):
        request = rental_requests.request_submit(
            data=rental_requests.RequestData(
                product_id=unit.product_id,
                outlet_id=centre.pk,
                name="赵市民",
                id_number="120114198105050010",
                phone="13700001111",
                address="x",
                desired_start=dt.date(2026, 11, 25),
            )
        )
        login(clerk).post(f"/devices/requests/{request.pk}/", {"action": "decline", "reason": "暂无库存"})
        request.refresh_from_db()
        assert (request.status, request.decline_reason) == (RequestStatus.DECLINED, "暂无库存")


def test_a_requester_not_yet_on_file_is_registered_on_the_spot(login, clerk, unit, centre):
    from kangfu.people.models import Person

    request = rental_requests.request_submit(
        data=rental_requests.RequestData(
            product_id=unit.product_id,
            outlet_id=centre.pk,
            name="新申请人",
            id_number="120114198105050010",
            phone="13700001111",
            address="文华巷 9 号",
            desired_start=dt.date(2026, 11, 25),
        )
    )
    client = login(clerk)
    assert "尚未建档" in page(client.get(f"/devices/requests/{request.pk}/"))
    response = client.post(
        f"/devices/requests/{request.pk}/",
        {
            "action": "register",
            "name": "新申请人",
            "id_number": "120114198105050010",
            "phone": "13700001111",
            "street": "120114001000",
            "community": "120114001007",
            "address": "文华巷 9 号",
        },
    )
    assert response.status_code == 302
    assert Person.objects.get(name="新申请人").community_id == "120114001007"
    assert "已在档" in page(client.get(f"/devices/requests/{request.pk}/"))


class TestPhotos:
    PNG = files.PNG

    def test_a_photo_is_uploaded_and_shown_in_the_public_catalogue(self, login, clerk, client, unit):
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = login(clerk).post(
            f"/devices/products/{unit.product_id}/photos/",
            {"image": SimpleUploadedFile("chair.png", self.PNG, content_type="image/png"), "caption": "正面"},
        )
        assert response.status_code == 302
        photo = unit.product.photos.get()
        client.logout()
        assert f"/public/devices/photos/{photo.pk}/" in page(client.get("/public/devices/"))
        served = client.get(f"/public/devices/photos/{photo.pk}/")
        assert served["Content-Type"] == "image/png"

    def test_a_file_that_only_pretends_to_be_an_image_is_refused(self, login, clerk, unit):
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = login(clerk).post(
            f"/devices/products/{unit.product_id}/photos/",
            {
                "image": SimpleUploadedFile(
                    "chair.png", b"<script>alert(1)</script>", content_type="image/png"
                )
            },
        )
        assert response.status_code == 400
        assert "不是 JPEG 或 PNG" in page(response)
        assert not unit.product.photos.exists()

    def test_the_public_catalogue_query_count_does_not_grow_with_products(self, client, centre):
        from kangfu.devices.tests.factories import ProductFactory

        for _ in range(2):
            UnitFactory(product=ProductFactory(centre=centre))
        with CaptureQueriesContext(connection) as few:
            client.get("/public/devices/")
        for _ in range(8):
            UnitFactory(product=ProductFactory(centre=centre))
        with CaptureQueriesContext(connection) as many:
            client.get("/public/devices/")
        assert len(few) == len(many)
