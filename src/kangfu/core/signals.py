"""Login, failed login and logout go to the audit trail.

These are the one place where receivers are right: the auth framework makes the change, not one of
our services, and it announces it only through these signals.
"""

from __future__ import annotations

import time

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from kangfu.core import audit
from kangfu.core.middleware import LOGIN_AT
from kangfu.core.models import AuditAction


@receiver(user_logged_in, dispatch_uid="kangfu_audit_login")
def _logged_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[LOGIN_AT] = time.time()
    audit.record(actor=user, action=AuditAction.LOGIN, obj=user, summary="登录成功")


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
