"""事件推送: the city administrator's page of webhooks (register, pause, see deliveries, send given-up
ones again). A webhook's secret is shown once, in the answer to the POST that made it, and stored
only encrypted."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.events import selectors, services
from kangfu.events.forms import WebhookForm

DELIVERIES_SHOWN = 100


def _page(request, form, *, new_secret=None, status=200):
    context = {"form": form, "webhooks": list(selectors.webhooks_for(request.user)), "new_secret": new_secret}
    return render(request, "events/webhooks.html", context, status=status)


@login_required
def webhooks(request):
    access.require(request.user, "sets_standards")
    form = WebhookForm(request.POST or None, user=request.user)
    if request.method != "POST":
        return _page(request, form)
    if form.is_valid():
        d = form.cleaned_data
        try:
            webhook, secret = services.webhook_create(
                actor=request.user,
                data=services.WebhookData(name=d["name"], url=d["url"], region=d["region"], kinds=d["kinds"]),
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            return _page(request, WebhookForm(user=request.user), new_secret=(webhook, secret))
    return _page(request, form, status=400)


@login_required
def webhook(request, pk: int):
    access.require(request.user, "sets_standards")
    hook = selectors.webhook_for(request.user, pk)
    rows = list(selectors.deliveries_for(request.user, hook)[:DELIVERIES_SHOWN])
    return render(
        request, "events/webhook.html", {"webhook": hook, "deliveries": rows, "shown": DELIVERIES_SHOWN}
    )


@login_required
@require_POST
def webhook_action(request, pk: int):
    access.require(request.user, "sets_standards")
    hook = selectors.webhook_for(request.user, pk)
    action = request.POST.get("action")
    try:
        if action == "replay":
            n = services.deliveries_replay(actor=request.user, webhook=hook)
            messages.success(request, f"已将 {n} 条已放弃的事件重新排队推送。")
        elif action in ("pause", "resume"):
            services.webhook_set_active(
                actor=request.user,
                webhook=hook,
                active=action == "resume",
                version=int(request.POST.get("version") or 0),
            )
            messages.success(
                request, "已启用。" if action == "resume" else "已暂停，期间的事件在启用后补发。"
            )
        else:
            messages.error(request, "未知的操作。")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("events:webhook", pk=hook.pk)
