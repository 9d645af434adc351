"""First-login links: how an account made by an import or by `kangfu setup` gets its password.

Nobody types a password for someone else. The link carries Django's password-reset token, which
is bound to the account's current password hash and last login: it works until the user sets a
password (once) or until PASSWORD_RESET_TIMEOUT (Django's default, three days) has passed.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User

INACTIVE = "账号“{username}”已停用，不能生成登录链接。"
BAD_BASE_URL = "网址“{value}”应以 http:// 或 https:// 开头。"


def link_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // 86400)


def first_login_link(*, actor: User | None, user: User, base_url: str) -> str:
    """A one-time link at which `user` sets their own password; the link itself is never stored,
    only the fact that one was made."""
    if actor is not None:
        access.require(actor, "sets_standards")
        if not (user.jurisdiction_id and access.region_in_jurisdiction(actor, user.jurisdiction_id)):
            raise PermissionDenied(access.NOT_ALLOWED)
    if not user.is_active:
        raise ValidationError(INACTIVE.format(username=user.username))
    base = base_url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise ValidationError(BAD_BASE_URL.format(value=base_url))
    path = reverse(
        "first_login",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.TOKEN_CREATE,
            obj=user,
            summary=f"为 {user.username} 生成首次登录链接（{link_days()} 天内有效，只能使用一次）",
        )
    return base + path


def accounts_without_password() -> QuerySet[User]:
    """Active accounts whose user has never set a password (made by an import or by setup)."""
    return User.objects.filter(is_active=True, password__startswith=UNUSABLE_PASSWORD_PREFIX).order_by(
        "username"
    )
