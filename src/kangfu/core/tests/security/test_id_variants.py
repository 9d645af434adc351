"""An existing person's ID number written with digits of other scripts, at each entry point that
takes one from outside: the API's POST /api/v1/people/, the public 两项补贴 form and a feed line.
`core/tests/test_ids.py` proves `normalize_id_number` on its own; these prove every entry point goes
through it, so a variant is the same person (a duplicate, 409 in the API) or refused, never a second
record and never a 500.
"""

from __future__ import annotations

import json

import pytest
from django.db import transaction
from django.test import Client

from kangfu.core import ids
from kangfu.core.models import Role
from kangfu.core.tests.security.world import DAYINGMEN, JIUJIANGLU, M, build, changed, snapshot
from kangfu.people import services as people
from kangfu.people.models import Person


def fullwidth(number: str) -> str:
    return number.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ"))


def bold(number: str) -> str:
    """Mathematical bold digits (U+1D7CE…), which NFKC reads as ASCII."""
    return "".join(chr(0x1D7CE + int(c)) if c.isascii() and c.isdigit() else c for c in number)


def superscript(number: str) -> str:
    """The first 1, 2 or 3 written as ¹, ² or ³."""
    for plain, raised in (("1", "¹"), ("2", "²"), ("3", "³")):
        if plain in number:
            return number.replace(plain, raised, 1)
    raise AssertionError(number)


def arabic_indic(number: str) -> str:
    """The first digit as an Arabic-Indic one (U+0660…), which NFKC leaves alone: refused."""
    return chr(0x0660 + int(number[0])) + number[1:]


READ_AS_ASCII = {"fullwidth": fullwidth, "mathematical bold": bold, "superscript": superscript}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        built = build()
        yield built
        transaction.set_rollback(True)


def _api_post(token, payload):
    return Client().post(
        "/api/v1/people/",
        data=json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.parametrize("variant", READ_AS_ASCII)
def test_the_api_answers_409_duplicate_to_a_variant_of_an_id_number_in_scope(world, db, variant):
    mine = world.ours["person"]
    before = snapshot()
    response = _api_post(
        world.tokens[Role.STREET_OFFICER],
        {
            "name": "再建一档",
            "id_number": READ_AS_ASCII[variant](mine.id_number),
            "community_code": JIUJIANGLU,
        },
    )
    assert response.status_code == 409
    assert response.json()["detail"] == people.DUPLICATE_PERSON
    assert response.json()["errors"]["existing_id"] == [str(mine.pk)]
    assert changed(before, snapshot()) == []


@pytest.mark.parametrize("variant", READ_AS_ASCII)
def test_the_api_answers_409_without_saying_where_to_a_variant_of_another_streets_id_number(
    world, db, variant
):
    theirs = world.theirs["person"]
    before = snapshot()
    response = _api_post(
        world.tokens[Role.STREET_OFFICER],
        {
            "name": "再建一档",
            "id_number": READ_AS_ASCII[variant](theirs.id_number),
            "community_code": JIUJIANGLU,
        },
    )
    assert response.status_code == 409
    assert response.json()["detail"] == people.DUPLICATE_PERSON_ELSEWHERE
    assert "existing_id" not in response.json()["errors"]
    assert changed(before, snapshot()) == []


def test_the_api_refuses_an_arabic_indic_digit_with_400_and_creates_no_one(world, db):
    before = snapshot()
    response = _api_post(
        world.tokens[Role.STREET_OFFICER],
        {
            "name": "再建一档",
            "id_number": arabic_indic(world.ours["person"].id_number),
            "community_code": JIUJIANGLU,
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"]["id_number"] == [ids.ID_BAD_CHARS]
    assert changed(before, snapshot()) == []


@pytest.mark.parametrize("variant", READ_AS_ASCII)
def test_the_public_form_takes_a_variant_for_the_same_person_and_refuses_a_second_application(
    world, db, variant
):
    from kangfu.subsidies.services.applications import ALREADY_OPEN

    mine, open_application = world.ours["person"], world.ours["application"]
    before = snapshot()
    response = Client().post(
        "/public/subsidies/apply/",
        {
            "name": mine.name,
            "id_number": READ_AS_ASCII[variant](mine.id_number),
            "phone": "13912345678",
            "hukou_street": DAYINGMEN,
            "hukou_community": JIUJIANGLU,
            "living": "on",
            "bank_name": "工商银行",
            "bank_account": "6222020000001234567",
        },
    )
    assert response.status_code == 400
    assert ALREADY_OPEN.format(number=open_application.number) in response.content.decode()
    assert changed(before, snapshot()) == []


@pytest.mark.parametrize("variant", READ_AS_ASCII)
def test_a_feed_line_with_a_variant_is_matched_to_the_existing_person(world, db, variant):
    from kangfu.matching import services
    from kangfu.matching.models import Confidence, FeedRow, FeedSource

    mine = world.ours["person"]
    people_before = Person.objects.count()
    raw = f"身份证号,死亡日期\n{READ_AS_ASCII[variant](mine.id_number)},2026-11-15\n".encode()
    feed = services.feed_preview(
        actor=world.users[Role.DISTRICT_ADMIN],
        source=FeedSource.objects.get(name="公安死亡"),
        raw=raw,
        file_name="死亡.csv",
        period=M(2026, 12, 1),
    )
    assert feed.valid_lines == 1
    assert list(FeedRow.objects.filter(feed=feed).values_list("person_id", "confidence", "id_number")) == [
        (mine.pk, Confidence.HIGH, mine.id_number)
    ]
    assert Person.objects.count() == people_before


def test_a_feed_line_with_an_arabic_indic_digit_is_reported_and_matched_to_no_one(world, db):
    from kangfu.matching import services
    from kangfu.matching.models import FeedRow, FeedSource

    raw = f"身份证号,死亡日期\n{arabic_indic(world.ours['person'].id_number)},2026-11-15\n".encode()
    feed = services.feed_preview(
        actor=world.users[Role.DISTRICT_ADMIN],
        source=FeedSource.objects.get(name="公安死亡"),
        raw=raw,
        file_name="死亡.csv",
        period=M(2026, 12, 1),
    )
    assert feed.valid_lines == 0
    assert [e["line"] for e in feed.errors] == [2]
    assert not FeedRow.objects.filter(feed=feed).exists()
