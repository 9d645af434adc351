"""Pages of 数据交换: the send log with the form that asks for a batch, a batch's page (its progress
while it is generated), its file (an audited download) and marking it sent or acknowledged."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from kangfu.core.months import add_months, month_start
from kangfu.core.pagination import CappedPaginator
from kangfu.exchange import selectors, services
from kangfu.exchange.forms import BatchForm, NoteForm


@login_required
@require_http_methods(["GET", "POST"])
def home(request):
    selectors.require(request.user)
    regions = selectors.regions_for(request.user)
    layouts = list(selectors.layouts_current())
    last_month = add_months(month_start(timezone.localdate()), -1)
    form = BatchForm(
        request.POST or None,
        layouts=layouts,
        regions=regions,
        initial={"period": last_month, "region": request.user.jurisdiction_id},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            region = next(r for r in regions if r.code == form.cleaned_data["region"])
            try:
                batch = services.batch_request(
                    actor=request.user,
                    code=form.cleaned_data["layout"],
                    region=region,
                    period=form.cleaned_data["period"],
                    regenerate=form.cleaned_data["regenerate"],
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
                status = 400
            else:
                messages.success(request, "已开始生成，完成后可下载。")
                return redirect("exchange:batch", pk=batch.pk)
        else:
            status = 400
    batches = selectors.batches_for(request.user).order_by("-requested_at", "-id")
    page = CappedPaginator(batches, 50).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "layouts": layouts}
    return render(request, "exchange/home.html", context, status=status)


@login_required
@require_GET
def batch_page(request, pk: int):
    selectors.require(request.user)
    batch = selectors.batch_for(request.user, pk)
    context = {"batch": batch, "note_form": NoteForm()}
    if request.htmx:
        return render(request, "exchange/partials/batch_status.html", context)
    return render(request, "exchange/batch.html", context)


@login_required
@require_GET
def batch_download(request, pk: int):
    selectors.require(request.user)
    batch = selectors.batch_for(request.user, pk)
    try:
        handle = services.batch_file(actor=request.user, batch=batch)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
        return redirect("exchange:batch", pk=batch.pk)
    return FileResponse(handle, as_attachment=True, filename=batch.filename)


def _act(request, pk: int, action, done: str):
    selectors.require(request.user)
    batch = selectors.batch_for(request.user, pk)
    form = NoteForm(request.POST)
    note = form.cleaned_data["note"] if form.is_valid() else ""
    try:
        action(actor=request.user, batch=batch, note=note)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, done)
    return redirect("exchange:batch", pk=batch.pk)


@login_required
@require_POST
def batch_sent(request, pk: int):
    return _act(request, pk, services.batch_mark_sent, "已标记为已报送。")


@login_required
@require_POST
def batch_acknowledged(request, pk: int):
    return _act(request, pk, services.batch_acknowledge, "已标记为对方已接收。")
