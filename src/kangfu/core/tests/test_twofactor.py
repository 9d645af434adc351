"""Two-factor sign-in where it is enforced: the roles that approve, pay and audit reach nothing after
their password until they enrol an authenticator app, and then give a code every time; a recovery
code works once; wrong codes are audited and end the session after five."""

import re

import pytest
from django.test import override_settings
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from kangfu.core import twofactor
from kangfu.core.models import AuditAction, AuditEntry
from kangfu.core.tests.factories import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("enforced")]


@pytest.fixture
def enforced():
    with override_settings(KANGFU_TWO_FACTOR=True):
        yield


def sign_in(client, user):
    return client.post("/login/", {"username": user.username, "password": PASSWORD})


def code_for(user) -> str:
    device = TOTPDevice.objects.filter(user=user).order_by("-id").first()
    return f"{totp(device.bin_key, step=device.step, digits=device.digits):06d}"


def enrol(client, user) -> list[str]:
    sign_in(client, user)
    client.get("/two-factor/")
    page = client.post("/two-factor/", {"code": code_for(user), "next": "/"})
    return re.findall(r"<code>([0-9a-f]{8})</code>", page.content.decode())


def test_a_district_administrator_reaches_nothing_before_the_second_factor(client, district_admin):
    sign_in(client, district_admin)
    response = client.get("/subsidies/")
    assert response.status_code == 302 and response["Location"].startswith("/two-factor/?next=")
    page = client.get("/two-factor/")
    assert "扫描下面的二维码" in page.content.decode() and "<svg" in page.content.decode()


def test_enrolment_with_a_code_from_the_app_gives_ten_recovery_codes_and_opens_the_pages(
    client, district_admin
):
    codes = enrol(client, district_admin)
    assert len(codes) == 10
    assert client.get("/subsidies/").status_code == 200
    assert AuditEntry.objects.filter(actor=district_admin, summary__startswith="启用两步验证").exists()


def test_the_next_sign_in_asks_for_a_code_and_a_recovery_code_works_once(client, district_admin):
    codes = enrol(client, district_admin)
    client.post("/logout/")
    sign_in(client, district_admin)
    assert client.get("/").status_code == 302
    assert client.post("/two-factor/", {"code": codes[0], "next": "/"}).status_code == 302
    assert client.get("/").status_code == 200
    assert AuditEntry.objects.filter(summary__startswith="使用恢复码通过两步验证（剩余 9 个）").exists()
    client.post("/logout/")
    sign_in(client, district_admin)
    again = client.post("/two-factor/", {"code": codes[0], "next": "/"})
    assert again.status_code == 400 and twofactor.WRONG_CODE in again.content.decode()


def test_five_wrong_codes_are_audited_and_end_the_session(client, auditor):
    enrol(client, auditor)
    client.post("/logout/")
    sign_in(client, auditor)
    for _ in range(twofactor.MAX_TRIES):
        response = client.post("/two-factor/", {"code": "000000", "next": "/"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    assert client.get("/audit/").status_code == 302
    assert (
        AuditEntry.objects.filter(
            action=AuditAction.LOGIN_FAILED, actor_username="auditor", summary="两步验证码错误"
        ).count()
        == twofactor.MAX_TRIES
    )


def test_a_community_worker_signs_in_with_a_password_alone(client, db):
    from kangfu.conftest import _user
    from kangfu.core.models import Role

    worker = _user("shequ_worker", Role.COMMUNITY_WORKER, "120103001001")
    sign_in(client, worker)
    assert client.get("/").status_code == 200


def test_the_next_address_cannot_send_the_user_elsewhere(client, district_admin):
    sign_in(client, district_admin)
    client.get("/two-factor/")
    response = client.post(
        "/two-factor/", {"code": code_for(district_admin), "next": "https://evil.example/"}
    )
    assert "evil.example" not in response.content.decode()
