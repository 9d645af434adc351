"""Request-level plumbing: request ids, access log and metrics, health probes, audit context and the
absolute session lifetime."""

from __future__ import annotations

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from kangfu.core import observability
from kangfu.core.audit import audit_context
from kangfu.core.context_processors import PENDING

LOGIN_AT = "kangfu_login_at"
REFRESHED_AT = "kangfu_refreshed_at"  # when the session's idle expiry was last pushed forward
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
SESSION_TOO_OLD = "登录已超过最长时限，请重新登录。"


def client_ip(request) -> str | None:
    if settings.SECURE_PROXY_SSL_HEADER:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


class RequestIdMiddleware:
    """First in the chain: gives the request its id (the proxy's or a new one) for the logs, the audit
    rows and the X-Request-ID response header; then times it, counts it and writes its access-log
    line. The probes below are neither counted nor logged: they come every few seconds and say
    nothing about users' requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = observability.request_id_from(request)
        token = observability.set_request_id(request.request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            if request.path not in observability.PROBES:
                observability.observe_request(request, response, time.perf_counter() - started)
            response["X-Request-ID"] = request.request_id
            return response
        finally:
            observability.reset_request_id(token)


class ProbeMiddleware:
    """Answers /healthz, /readyz and /metrics before the host check, the HTTPS redirect and the
    session: a load balancer or Prometheus reaches the server by its bare address over plain HTTP,
    and a probe should cost no session row."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        probe = observability.PROBES.get(request.path)
        if probe is not None and request.method in ("GET", "HEAD"):
            return probe(request)
        return self.get_response(request)


class AuditContextMiddleware:
    """Lets services record where a change came from without ever seeing the request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        channel = "api" if request.path.startswith("/api/") else "web"
        request_id = getattr(request, "request_id", "")
        with audit_context(ip=client_ip(request), channel=channel, request_id=request_id):
            return self.get_response(request)


class SessionLifetimeMiddleware:
    """Ends a session 12 hours (configurable) after login, however active it has been, and keeps an
    active one alive without writing its row on every request.

    The idle limit is the session row's expiry (`SESSION_COOKIE_AGE` from its last save), which the
    session middleware checks on every load. Saving the row on each request (Django's
    `SESSION_SAVE_EVERY_REQUEST`) cost every page a write transaction, and on SQLite every page
    queued behind every other for the one writer; so the expiry is pushed forward only when the last
    push is `SESSION_REFRESH_SECONDS` old. A session therefore ends between 30 minutes less that
    interval and 30 minutes after its last request: never later than the limit.

    The counts of pending work that the layout keeps in the session (`context_processors.PENDING`)
    are dropped with each refresh, so that they are counted again in the same write, and by anything
    the user sends that may change data (a POST, …), so that the next page shows the change.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            session = request.session
            now = time.time()
            login_at = session.get(LOGIN_AT)
            if login_at is None or now - login_at > settings.SESSION_MAX_SECONDS:
                logout(request)
                messages.info(request, SESSION_TOO_OLD)
                return redirect(settings.LOGIN_URL)
            if now - session.get(REFRESHED_AT, 0) >= settings.SESSION_REFRESH_SECONDS:
                session[REFRESHED_AT] = now  # modified: the session middleware saves it, expiry and all
                # Counted again on this page, so that the counts' write is the refresh's write.
                session.pop(PENDING, None)
            elif request.method not in SAFE_METHODS:
                session.pop(PENDING, None)
        return self.get_response(request)


class SecondFactorMiddleware:
    """Where two-factor sign-in is enforced, a user of a role that needs it reaches nothing but the
    second-factor page, sign-out and static files until it is passed (the API has its own tokens)."""

    EXEMPT = ("/two-factor/", "/logout/", "/static/", "/api/", "/public/", "/first-login/")

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from kangfu.core import twofactor

        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self.EXEMPT)
            and twofactor.required(user)
            and not user.is_verified()
        ):
            return redirect(f"{reverse('two_factor')}?next={quote(request.get_full_path())}")
        return self.get_response(request)


class PublicFormThrottleMiddleware:
    """Every POST to a public page (no account) is counted per address and per ID number
    (core.throttle): a question after a few tries in ten minutes, a refusal after many in an hour,
    and no field longer than a form could need. The form's own view never sees what is turned back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.shortcuts import render

        from kangfu.core import throttle

        if request.method != "POST" or not request.path.startswith("/public/"):
            return self.get_response(request)
        if throttle.too_long(request):
            return render(request, "core/public/refused.html", {"message": throttle.TOO_LONG}, status=400)
        if request.path == reverse("public:challenge"):
            return self.get_response(request)
        verdict = throttle.judge(request)
        if verdict == "refuse":
            return render(request, "core/public/refused.html", {"message": throttle.TOO_MANY}, status=429)
        if verdict == "challenge":
            back = request.path if url_has_allowed_host_and_scheme(request.path, None) else "/"
            return redirect(f"{reverse('public:challenge')}?next={quote(back)}")
        return self.get_response(request)
