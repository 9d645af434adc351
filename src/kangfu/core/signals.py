"""Login, failed login and logout go to the audit trail.

These are the one place where receivers are right: the auth framework makes the change, not one of
our services, and it announces it only through these signals.
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from kangfu.core import audit
from kangfu.core.context_processors import remember_pending
from kangfu.core.middleware import LOGIN_AT, REFRESHED_AT
from kangfu.core.models import AuditAction, AuditEntry


@receiver(user_logged_in, dispatch_uid="kangfu_audit_login")
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = request.session[REFRESHED_AT] = time.time()
        remember_pending(request, user)
    notice = _last_sign_ins(user)
    audit.record(actor=user, action=AuditAction.LOGIN, obj=user, summary="登录成功")
    if request is not None and hasattr(request, "_messages"):
        messages.info(request, notice)


def _last_sign_ins(user) -> str:
    """What a user is told on signing in (等保: 登录成功后提示上次登录): when and from where they last
    signed in, and how many failed attempts on their account came since."""
    last = (
        AuditEntry.objects.filter(actor_id=user.pk, action=AuditAction.LOGIN)
        .order_by("-at")
        .values_list("at", "ip")
        .first()
    )
    failed = AuditEntry.objects.filter(actor_username=user.get_username(), action=AuditAction.LOGIN_FAILED)
    if last is None:
        return "这是您第一次登录。" + (f"此前有 {n} 次失败的登录尝试。" if (n := failed.count()) else "")
    at, ip = last
    n = failed.filter(at__gt=at).count()
    shown = f"上次登录：{timezone.localtime(at):%Y-%m-%d %H:%M}" + (f"（来自 {ip}）" if ip else "")
    return shown + (f"；此后有 {n} 次失败的登录尝试，如非本人操作请立即修改密码。" if n else "。")


@receiver(user_login_failed, dispatch_uid="kangfu_audit_login_failed")
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit.record(
        actor=None,
        action=AuditAction.LOGIN_FAILED,
        object_type="core.user",
        actor_username=username,
        summary=f"登录失败：{username}",
    )


@receiver(user_logged_out, dispatch_uid="kangfu_audit_logout")
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        audit.record(actor=user, action=AuditAction.LOGOUT, obj=user, summary="退出登录")
