"""Layout-level pages: home, password change, the audit trail, region import, error pages."""

from __future__ import annotations

from base64 import b32encode

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from kangfu.core import access, audit, selectors, services, throttle, twofactor
from kangfu.core.filters import AuditFilter
from kangfu.core.forms import CsvUploadForm
from kangfu.core.models import AuditAction, Role
from kangfu.core.pagination import CappedPaginator
from kangfu.core.registry import home_panels
from kangfu.core.tables import AuditTable


@login_required
@require_GET
def home(request):
    """The apps' panels the user's role opens, each with its own scoped data (core.registry)."""
    rights = access.policy(request.user)
    panels = [
        (panel, panel.context(request) if panel.context else {})
        for panel in home_panels()
        if getattr(rights, panel.ability)
    ]
    return render(request, "core/home.html", {"panels": panels})


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "registration/password_change.html"
    success_url = reverse_lazy("home")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit.record(
                actor=self.request.user,
                action=AuditAction.PASSWORD_CHANGE,
                obj=self.request.user,
                summary="修改密码",
            )
        messages.success(self.request, "密码已修改。")
        return response


class FirstLoginView(auth_views.PasswordResetConfirmView):
    """An account made by an import or by setup sets its own password, once, from its link."""

    template_name = "registration/first_login.html"
    success_url = reverse_lazy("first_login_done")

    def form_valid(self, form):
        with transaction.atomic():
            response = super().form_valid(form)
            audit.record(
                actor=form.user,
                action=AuditAction.PASSWORD_CHANGE,
                obj=form.user,
                summary="通过首次登录链接设置密码",
            )
        return response


@login_required
@require_GET
def audit_log(request):
    filterset = AuditFilter(request.GET, queryset=selectors.audit_entries(user=request.user))
    filterset.form.label_suffix = ""
    table = AuditTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": CappedPaginator}).configure(table)
    template = "core/partials/audit_table.html" if request.htmx else "core/audit.html"
    return render(request, template, {"filter": filterset, "table": table})


@login_required
def two_factor(request):
    """The second step of signing in (core.twofactor): enrol an authenticator app the first time, then
    a code (or a recovery code) every time. Too many wrong codes end the session."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = ""
    target = target or reverse("home")
    if request.user.is_verified():
        return redirect(target)
    device = twofactor.confirmed_device(request.user)
    pending = None if device else twofactor.pending_device(request.user)
    context = {"next": target, "enrolling": pending is not None}
    if request.method == "POST":
        code = request.POST.get("code", "")[:16]
        if pending is not None:
            codes = twofactor.enrol(request=request, device=pending, code=code)
            if codes:
                return render(request, "registration/two_factor.html", {"codes": codes, "next": target})
        elif twofactor.verify(request=request, code=code):
            request.session.pop("kangfu_otp_tries", None)
            return redirect(target)
        if twofactor.too_many_tries(request):
            logout(request)
            messages.error(request, twofactor.TOO_MANY)
            return redirect("login")
        context["error"] = twofactor.WRONG_CODE
    if pending is not None:
        context.update(qr=twofactor.qr_svg(pending, request.user), secret=b32encode(pending.bin_key).decode())
    return render(request, "registration/two_factor.html", context, status=400 if "error" in context else 200)


def public_challenge(request):
    """The question a public form asks after a few tries in a short while (core.throttle)."""
    target = request.POST.get("next") or request.GET.get("next") or "/"
    if not target.startswith("/public/") or not url_has_allowed_host_and_scheme(target, None):
        target = "/public/subsidies/apply/"
    context = {"next": target}
    if request.method == "POST":
        if throttle.answer(request, request.POST.get("answer", "")[:4]):
            return redirect(target)
        context["error"] = throttle.WRONG_ANSWER
    context["question"] = throttle.new_question(request)
    return render(request, "core/public/challenge.html", context, status=400 if "error" in context else 200)


@login_required
def region_import(request):
    if request.user.role != Role.CITY_ADMIN:
        raise PermissionDenied(access.NOT_ALLOWED)
    form = CsvUploadForm(request.POST or None, request.FILES or None)
    report = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                report = services.region_import_csv(
                    actor=request.user, text=form.cleaned_data["file"], dry_run=form.cleaned_data["dry_run"]
                )
            except forms.ValidationError as exc:
                form.add_error("file", exc)
                status = 400
            else:
                if report.ok and not form.cleaned_data["dry_run"]:
                    messages.success(
                        request,
                        f"导入完成：新增 {report.created}，更新 {report.updated}，未变 {report.unchanged}。",
                    )
                    return redirect("region_import")
                status = 200 if report.ok else 400
        else:
            status = 400
    return render(request, "core/region_import.html", {"form": form, "report": report}, status=status)


def permission_denied(request, exception=None):
    message = str(exception) if exception is not None and str(exception) else access.NOT_ALLOWED
    return render(request, "403.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    return render(request, "404.html", status=404)


def server_error(request):
    return render(request, "500.html", status=500)


def bad_request(request, exception=None):
    return render(request, "400.html", status=400)


def csrf_failure(request, reason=""):
    """A stale or forged form: say so in plain words, change nothing."""
    message = "页面已过期或请求来源不明，操作没有执行。请刷新页面后重试。"
    return render(request, "403.html", {"message": message}, status=403)
