"""The public forms (no account) are limited per address and per ID number: a question after a few
tries in ten minutes, a refusal after many in an hour, and no field longer than a form could need.
The form's own view never sees what is turned back."""

import re

import pytest

from kangfu.core import throttle
from kangfu.core.models import PublicAttempt

pytestmark = pytest.mark.django_db
STATUS = "/public/subsidies/status/"


def look_up(client, id_number="120103197011210016", ip="10.9.8.7"):
    return client.post(STATUS, {"id_number": id_number, "number": "SB2026"}, REMOTE_ADDR=ip)


def test_a_few_lookups_go_through_then_a_question_is_asked_and_answering_it_lets_the_next_through(client):
    for _ in range(throttle.CHALLENGE_AFTER):
        assert look_up(client).status_code in (200, 404)  # the view answered (no such application)
    asked = look_up(client)
    assert asked.status_code == 302 and asked["Location"].startswith("/public/challenge/")
    page = client.get(asked["Location"])
    a, b = map(int, re.search(r"(\d) 加 (\d) 等于几", page.content.decode()).groups())
    wrong = client.post("/public/challenge/", {"answer": str(a + b + 1), "next": STATUS})
    assert wrong.status_code == 400 and throttle.WRONG_ANSWER in wrong.content.decode()
    question = re.search(r"(\d) 加 (\d) 等于几", wrong.content.decode()).groups()
    right = client.post("/public/challenge/", {"answer": str(sum(map(int, question))), "next": STATUS})
    assert right.status_code == 302 and right["Location"] == STATUS
    assert look_up(client).status_code in (200, 404)


def test_one_id_number_tried_from_many_addresses_is_refused_within_the_hour(client):
    for n in range(throttle.REFUSE_AFTER_ID):
        look_up(client, ip=f"10.0.0.{n}")
    refused = look_up(client, ip="10.0.0.250")
    assert refused.status_code == 429 and throttle.TOO_MANY in refused.content.decode()


def test_one_address_trying_many_id_numbers_is_refused_within_the_hour(client):
    for n in range(throttle.REFUSE_AFTER_IP):
        client.post(STATUS, {"id_number": f"11010119900101{n:04d}"}, REMOTE_ADDR="10.1.1.1")
    assert look_up(client, ip="10.1.1.1").status_code == 429


def test_a_field_longer_than_any_form_needs_is_refused_before_the_form_sees_it(client):
    response = client.post("/public/subsidies/apply/", {"name": "张" * 5000}, REMOTE_ADDR="10.2.2.2")
    assert response.status_code == 400 and throttle.TOO_LONG in response.content.decode()


def test_an_id_number_is_counted_only_by_its_keyed_hash(client):
    look_up(client)
    assert not PublicAttempt.objects.filter(key__contains="120103197011210016").exists()
    assert PublicAttempt.objects.filter(key__startswith="id:").count() == 1
