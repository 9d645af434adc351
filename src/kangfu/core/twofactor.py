"""Two-factor sign-in (等保 2.0 三级: 双因素鉴别) for the roles that approve, pay and audit: after the
password, a TOTP code from an authenticator app, or one of ten single-use recovery codes. Enrolment,
each use and each wrong code go to the audit trail. Which roles must: `RolePolicy.second_factor`;
whether it is enforced at all: `KANGFU_TWO_FACTOR` (on in production; the demo turns it off so that
every demo role's day can be walked through without a phone)."""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import transaction
from django_otp import login as otp_login
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User

WRONG_CODE = "验证码不正确或已过期，请重新输入（手机时间须准确）。"
TOO_MANY = "验证码错误次数过多，请重新登录。"
MAX_TRIES = 5
RECOVERY_CODES = 10


def required(user: User) -> bool:
    return bool(settings.KANGFU_TWO_FACTOR) and access.policy(user).second_factor


def confirmed_device(user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).first()


def pending_device(user: User) -> TOTPDevice:
    """The device being enrolled: one unconfirmed TOTP secret per user until a code confirms it."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="手机验证器", confirmed=False)


def qr_svg(device: TOTPDevice, user: User) -> str:
    import segno

    return segno.make(device.config_url, error="m").svg_inline(scale=4)


def enrol(*, request, device: TOTPDevice, code: str) -> list[str] | None:
    """Confirm the pending device with a code from the app; return the recovery codes (shown once)."""
    if not device.verify_token(code.strip()):
        _failed(request)
        return None
    codes = [secrets.token_hex(4) for _ in range(RECOVERY_CODES)]
    with transaction.atomic():
        TOTPDevice.objects.filter(user=request.user, confirmed=True).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        StaticDevice.objects.filter(user=request.user).delete()
        static = StaticDevice.objects.create(user=request.user, name="恢复码")
        StaticToken.objects.bulk_create([StaticToken(device=static, token=c) for c in codes])
        audit.record(
            actor=request.user,
            action=AuditAction.UPDATE,
            obj=request.user,
            summary="启用两步验证（TOTP），生成恢复码",
        )
    otp_login(request, device)
    return codes


def verify(*, request, code: str) -> bool:
    """A TOTP code, or a recovery code (used up)."""
    code = code.strip().replace(" ", "")
    user = request.user
    totp = confirmed_device(user)
    if totp is not None and totp.verify_token(code):
        otp_login(request, totp)
        audit.record(actor=user, action=AuditAction.LOGIN, obj=user, summary="两步验证通过")
        return True
    static = StaticDevice.objects.filter(user=user, confirmed=True).first()
    if static is not None and static.verify_token(code):
        otp_login(request, static)
        left = StaticToken.objects.filter(device=static).count()
        audit.record(
            actor=user,
            action=AuditAction.LOGIN,
            obj=user,
            summary=f"使用恢复码通过两步验证（剩余 {left} 个）",
        )
        return True
    _failed(request)
    return False


def _failed(request) -> None:
    tries = request.session.get("kangfu_otp_tries", 0) + 1
    request.session["kangfu_otp_tries"] = tries
    audit.record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="core.user",
        actor_username=request.user.get_username(),
        summary="两步验证码错误",
    )


def too_many_tries(request) -> bool:
    return request.session.get("kangfu_otp_tries", 0) >= MAX_TRIES
