"""A clerk logs in through the real browser and registers a person."""

import pytest

from kangfu.conftest import DAYINGMEN, load_regions
from kangfu.core.models import Role
from kangfu.core.tests.factories import PASSWORD, UserFactory
from kangfu.people.models import Person

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_registration_form(page, live_server) -> None:
    """Log in as a new street officer of 大营门街道 through the login page the form redirects to."""
    load_regions()
    UserFactory(username="clerk", role=Role.STREET_OFFICER, jurisdiction_id=DAYINGMEN)
    page.goto(f"{live_server.url}/people/new/")
    page.fill("#id_username", "clerk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/people/new/")


def fill_person(page, *, name: str, id_number: str) -> None:
    page.fill("#id_name", name)
    page.fill("#id_id_number", id_number)
    # Choosing the street reloads its communities; pick one only once they have arrived.
    with page.expect_response("**/people/communities/**"):
        page.select_option("#id_street", "120103001000")
    page.wait_for_function("() => !document.querySelector('.htmx-request')")
    page.select_option("#id_community", "120103001001")
    page.click("form button.primary")


def test_a_street_officer_logs_in_and_registers_a_person(page, live_server):
    open_registration_form(page, live_server)
    page.fill("#id_phone", "13900001111")
    fill_person(page, name="浏览器测试", id_number="120103197011210016")
    page.wait_for_url("**/people/*/")

    assert "浏览器测试" in page.inner_text("h1")
    assert "120103********0016" in page.inner_text("#id-number")
    person = Person.objects.get()
    assert (person.name, person.community_id, person.sex) == ("浏览器测试", "120103001001", "M")

    page.click("text=显示完整号码")
    page.wait_for_selector(".revealed")
    assert page.inner_text("#id-number").strip() == "120103197011210016"
    assert page.errors == []


def test_a_mistyped_id_number_shows_the_chinese_error_in_the_form(page, live_server):
    open_registration_form(page, live_server)
    fill_person(page, name="输错号码", id_number="120103197011210017")
    page.wait_for_selector(".field.has-error")
    assert "校验位" in page.inner_text(".field.has-error")
    assert Person.objects.count() == 0
