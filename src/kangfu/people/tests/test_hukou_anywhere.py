"""People whose household registration (户籍地) is anywhere in China, including abolished counties."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from kangfu.core.models import Region
from kangfu.people import services
from kangfu.people.models import LifeEventKind, Person
from kangfu.people.tests.factories import JIUJIANGLU

pytestmark = pytest.mark.django_db

BINHAI = "120116000000"


def data(**overrides) -> services.PersonData:
    values = {
        "name": "李四",
        "id_number": "440308199901101512",
        "community_code": JIUJIANGLU,
        "phone": "13912345678",
    }
    values.update(overrides)
    return services.PersonData(**values)


def test_a_person_with_hukou_in_shenzhen_nanshan_can_be_registered(owner):
    person = services.person_create(actor=owner, data=data(hukou_region_code="440305"))
    assert person.hukou_region_id == "440305000000"
    assert person.community_id == JIUJIANGLU


def test_a_hukou_at_province_or_city_level_is_accepted(owner):
    person = services.person_create(actor=owner, data=data(hukou_region_code="440300000000"))
    assert person.hukou_region_id == "440300000000"


def test_a_person_with_hukou_in_tanggu_is_stored_under_binhai(owner):
    person = services.person_create(actor=owner, data=data(hukou_region_code="120107000000"))
    assert person.hukou_region_id == BINHAI
    assert Region.objects.get(code=BINHAI).contains(person.hukou_region_id)
    assert Person.objects.filter(hukou_region__code__startswith=BINHAI[:6]).get() == person


def test_an_unknown_hukou_code_is_refused_on_its_field(owner):
    with pytest.raises(ValidationError) as caught:
        services.person_create(actor=owner, data=data(hukou_region_code="440399"))
    assert caught.value.message_dict == {"hukou_region": [services.UNKNOWN_REGION]}


def test_a_residence_outside_the_loaded_streets_is_still_refused(owner):
    with pytest.raises(ValidationError) as caught:
        services.person_create(actor=owner, data=data(community_code="440305000000"))
    assert caught.value.message_dict == {"community": [services.NOT_A_COMMUNITY]}


def test_a_household_move_to_an_abolished_county_records_its_successor(owner):
    person = services.person_create(actor=owner, data=data())
    event = services.life_event_record(
        actor=owner,
        person=person,
        kind=LifeEventKind.MOVE_OUT,
        occurred_on=dt.date(2020, 5, 1),
        to_region_code="120225",
    )
    assert event.to_region_id == "120119000000"
    assert person.hukou_region_id == "120119000000"


def test_the_person_form_registers_a_six_digit_hukou_code_from_another_province(login, owner):
    response = login(owner).post(
        "/people/new/",
        {
            "name": "王小明",
            "id_number": "440308199901101512",
            "phone": "13912345678",
            "street": "120103001000",
            "community": JIUJIANGLU,
            "address": "九江路1号",
            "hukou_region": "440305",
            "hukou_type": "urban",
        },
    )
    assert response.status_code == 302
    assert Person.objects.get().hukou_region_id == "440305000000"


def test_the_person_page_shows_the_full_name_of_the_hukou_region(login, owner):
    person = services.person_create(actor=owner, data=data(hukou_region_code="440305"))
    page = login(owner).get(f"/people/{person.pk}/").content.decode()
    assert "广东省深圳市南山区" in page
