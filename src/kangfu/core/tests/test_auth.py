import time

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from kangfu.core.demo import DEMO_PASSWORD
from kangfu.core.middleware import LOGIN_AT, SESSION_TOO_OLD
from kangfu.core.passwords import CONTAINS_PLACE, MIXED_CLASSES
from kangfu.core.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_pages_require_login(client):
    response = client.get("/people/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_user_logs_in_and_out(client, owner):
    response = client.post("/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_the_account_locks_after_five_failures_even_with_the_right_password(client, owner):
    for _ in range(5):
        client.post("/login/", {"username": "owner", "password": "wrong-password"})
    response = client.post("/login/", {"username": "owner", "password": PASSWORD})
    assert response.status_code == 429
    assert "账号已临时锁定" in response.content.decode()


def test_a_session_ends_twelve_hours_after_login_however_active(client, owner):
    client.force_login(owner)
    session = client.session
    session[LOGIN_AT] = time.time() - 12 * 3600 - 1
    session.save()
    response = client.get("/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/login")
    assert SESSION_TOO_OLD in response.content.decode()


def test_the_session_cookie_expires_after_thirty_idle_minutes(client, owner, settings):
    client.force_login(owner)
    response = client.get("/")
    assert settings.SESSION_COOKIE_AGE == 1800
    # Pushed forward at most once a minute rather than on every request (test_session_refresh.py).
    assert settings.SESSION_REFRESH_SECONDS == 60
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Hexi-2026-ok", CONTAINS_PLACE.format(name="河西区")),
        ("我住在河西区Ab1", CONTAINS_PLACE.format(name="河西区")),
        ("tianjin#2026X", CONTAINS_PLACE.format(name="天津市")),
        ("alllowercase1", MIXED_CLASSES),
    ],
)
def test_passwords_with_place_names_or_one_kind_of_character_are_refused(password, message):
    with pytest.raises(ValidationError) as caught:
        validate_password(password)
    assert message in caught.value.messages


def test_short_and_common_passwords_are_refused():
    with pytest.raises(ValidationError):
        validate_password("Ab1!x")
    with pytest.raises(ValidationError):
        validate_password("Password123")


def test_the_demo_password_itself_passes_the_rules():
    validate_password(DEMO_PASSWORD)


def test_a_password_change_is_audited(login, owner):
    from kangfu.core.models import AuditAction, AuditEntry

    client = login(owner)
    response = client.post(
        "/password/",
        {"old_password": PASSWORD, "new_password1": "Nw-Secret-8821", "new_password2": "Nw-Secret-8821"},
    )
    assert response.status_code == 302
    assert AuditEntry.objects.filter(action=AuditAction.PASSWORD_CHANGE, actor=owner).count() == 1


def test_a_post_without_a_csrf_token_is_refused_in_chinese(owner, person):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    response = client.post(f"/people/{person.pk}/reveal/id_number/")
    assert response.status_code == 403
    assert "页面已过期" in response.content.decode()
