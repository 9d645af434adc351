"""The whole rental flow through the real browser: a citizen asks online, a clerk fits, rents with the
subsidy and schedules delivery, takes the unit back, disinfects it, and the statistics show it."""

import datetime as dt

import pytest

from kangfu.conftest import load_regions
from kangfu.core.models import Role
from kangfu.core.tests.factories import PASSWORD, UserFactory
from kangfu.devices.models import Charge, ChargeKind, Rental, Unit, UnitStatus
from kangfu.devices.tests.factories import WENHUAXIANG, CentreFactory, ProductFactory, UnitFactory
from kangfu.people.tests.factories import CertificateFactory, IncomePeriodFactory, PersonFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID_NUMBER = "120114197503030010"


def test_a_citizen_request_becomes_a_subsidised_rental_and_the_unit_comes_back_clean(page, live_server):
    load_regions()
    centre = CentreFactory()
    UserFactory(username="fuju", role=Role.DEVICE_CLERK, organisation=centre, jurisdiction_id="120114000000")
    product = ProductFactory(centre=centre, name="轻便折叠轮椅")
    unit = UnitFactory(product=product, serial="WQ-0001")
    person = PersonFactory(
        name="李困难", id_number=ID_NUMBER, community_code=WENHUAXIANG, born=dt.date(1975, 3, 3)
    )
    CertificateFactory(
        person=person, digits="42", issued_on=dt.date(2022, 1, 1), expires_on=dt.date(2032, 1, 1)
    )
    IncomePeriodFactory(person=person, start_date=dt.date(2020, 1, 1))
    base = live_server.url

    # The citizen, not logged in, asks for the wheelchair.
    page.goto(f"{base}/public/devices/")
    page.click("text=申请租赁")
    page.select_option("#id_outlet", str(centre.pk))
    page.fill("#id_name", "李困难")
    page.fill("#id_id_number", ID_NUMBER)
    page.fill("#id_phone", "13700001111")
    page.fill("#id_address", "杨村街道文华巷 3 号")
    page.check("#id_wants_delivery")
    page.fill("#id_months", "1")
    page.check("#id_consent")
    page.click("form button.primary")
    reference = page.inner_text("#reference")

    # The clerk finds the request, fits the person and rents with the subsidy and delivery.
    page.goto(f"{base}/login/?next=/devices/requests/")
    page.fill("#id_username", "fuju")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.click(f"text={reference}")
    assert "已在档" in page.inner_text("main")
    page.click("a.button:has-text('适配评估')")
    page.fill("#id_needs", "下肢无力，外出需轮椅")
    page.fill("#id_recommendation", "轻便折叠轮椅，坐宽 43 厘米")
    page.click("form button.primary")
    page.click("a.button:has-text('办理租赁')")
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    page.fill("#id_delivery_from", f"{tomorrow}T09:00")
    page.fill("#id_delivery_to", f"{tomorrow}T11:00")
    page.click("button[value=quote]")
    page.wait_for_selector("#quote .bill")
    assert "困难残疾人租赁补贴" in page.inner_text("#quote")
    page.click("button[value=create]")
    page.wait_for_selector("text=交付与使用培训")
    rental = Rental.objects.get()
    assert rental.delivery_mode == "home" and rental.delivery_address == "杨村街道文华巷 3 号"
    subsidy = Charge.objects.get(rental=rental, kind=ChargeKind.SUBSIDY).amount
    assert subsidy == -product.rent_per_month / 2

    # Hand-over with training, then the return.
    page.fill("#id_training_content", "折叠与展开、刹车、上下坡注意事项")
    page.click("text=确认交付")
    page.wait_for_selector("text=归还验收")
    page.click("text=办理归还")
    page.wait_for_selector("text=该租赁已结束")
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.RETURNED

    # Disinfection makes the unit available again.
    page.click("text=WQ-0001")
    page.select_option("#id_method", "wipe")
    page.fill("#id_agent", "含氯消毒剂 500 mg/L")
    for box in page.query_selector_all("input[name=steps]"):
        box.check()
    page.check("#id_passed")
    page.click("text=登记")
    page.wait_for_selector(".status-available")
    assert Unit.objects.get(pk=unit.pk).status == UnitStatus.AVAILABLE

    # The bill and the statistics.
    # Returned the same day it started: re-priced as one day (5.00 元), half of it subsidised.
    page.goto(f"{base}/devices/rentals/{rental.pk}/")
    assert "提前于" in page.inner_text(".bill")
    page.goto(f"{base}/reports/devices/")
    assert page.inner_text("#kpi-rentals") == "1"
    assert page.inner_text("#kpi-rent") == "2.50"
    assert page.inner_text("#kpi-subsidy") == "2.50"
    assert page.errors == []
