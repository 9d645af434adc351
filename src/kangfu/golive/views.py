"""Pages of 上线迁移: the imports (upload, report, mapping, confirm) and the reconciliation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core import access
from kangfu.core.forms import apply_service_errors
from kangfu.golive import selectors, services
from kangfu.golive.forms import MappingForm, ReconcileForm, UploadForm
from kangfu.golive.kinds import COUNT_LABELS
from kangfu.golive.models import JobStatus
from kangfu.golive.services import accounts
from kangfu.golive.services import reconcile as reconciliation


def _kinds(request):
    kinds = selectors.kinds_for(request.user)
    if not kinds:
        raise PermissionDenied(access.NOT_ALLOWED)
    return kinds


@login_required
def home(request):
    kinds = _kinds(request)
    form = UploadForm(request.POST or None, request.FILES or None, kinds=kinds)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            options = {"live_from": form.cleaned_data["live_from"]} if form.cleaned_data["live_from"] else {}
            try:
                job = services.job_upload(
                    actor=request.user, kind=form.cleaned_data["kind"], upload=upload, options=options
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("golive:job", pk=job.pk)
        status = 400
    jobs = selectors.jobs_for(request.user)[:30]
    return render(request, "golive/home.html", {"form": form, "kinds": kinds, "jobs": jobs}, status=status)


def _job(request, pk: int):
    _kinds(request)
    return get_object_or_404(selectors.jobs_for(request.user), pk=pk)


@login_required
@require_GET
def job_detail(request, pk: int):
    job = _job(request, pk)
    kind = services.kind_for(job.kind)
    mapping = MappingForm(
        initial={"header_line": job.header_line or 1, **job.mapping}, kind=kind, headers=job.headers
    )
    context = {
        "job": job,
        "kind": kind,
        "progress": services.job_progress(job),
        "counts": [(COUNT_LABELS[k], v) for k, v in job.counts.items()],
        "mapping_form": mapping,
        "busy": job.status in (JobStatus.CHECKING, JobStatus.APPLYING),
        "stale": job.status == JobStatus.APPLYING
        and job.confirmed_at is not None
        and (timezone.now() - job.confirmed_at).total_seconds() > 3600,
    }
    template = "golive/partials/job.html" if request.htmx else "golive/job.html"
    return render(request, template, context)


@login_required
@require_POST
def job_mapping(request, pk: int):
    job = _job(request, pk)
    kind = services.kind_for(job.kind)
    form = MappingForm(request.POST, kind=kind, headers=job.headers)
    if not form.is_valid():
        messages.error(request, "列对应有误，请重新选择。")
        return redirect("golive:job", pk=job.pk)
    try:
        job = services.job_remap(
            actor=request.user,
            job=job,
            mapping=form.mapping(),
            header_line=form.cleaned_data["header_line"],
            queue=True,
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("golive:job", pk=job.pk)
    if not job.message:
        messages.success(request, "已按新的列对应重新检查。")
    return redirect("golive:job", pk=job.pk)


@login_required
@require_POST
def job_confirm(request, pk: int):
    job = _job(request, pk)
    try:
        job = services.job_confirm(actor=request.user, job=job, queue=True)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("golive:job", pk=job.pk)
    messages.success(request, "已确认，正在导入有效行。")
    return redirect("golive:job", pk=job.pk)


@login_required
@require_POST
def job_recheck(request, pk: int):
    job = _job(request, pk)
    try:
        services.job_recheck(actor=request.user, job=job, queue=True)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("golive:job", pk=job.pk)


@login_required
@require_POST
def job_discard(request, pk: int):
    job = _job(request, pk)
    try:
        services.job_discard(actor=request.user, job=job)
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        messages.success(request, "已放弃该导入，没有写入任何数据。")
    return redirect("golive:job", pk=job.pk)


@login_required
@require_GET
def job_errors(request, pk: int):
    job = _job(request, pk)
    response = HttpResponse(services.job_error_report(job), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{job.pk}-errors.csv"'
    return response


@login_required
@require_GET
def template(request, kind: str):
    kinds = {k.name: k for k in _kinds(request)}
    if kind not in kinds:
        raise Http404("没有这类导入。")
    header = ",".join(c.label for c in kinds[kind].columns)
    response = HttpResponse(
        ("\ufeff" + header + "\r\n").encode("utf-8"), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{kind}-template.csv"'
    return response


@login_required
def invites(request):
    """Accounts made by an import that have not set a password yet, and their one-time links, shown
    once on the answer to the POST (never stored)."""
    access.require(request.user, "sets_standards")
    waiting = accounts.accounts_without_password().filter(
        jurisdiction__code__in=access.regions_in_jurisdiction(request.user).values("code")
    )
    links = []
    if request.method == "POST":
        chosen = waiting.filter(pk__in=request.POST.getlist("user"))
        base = request.build_absolute_uri("/")
        try:
            links = [
                (user, accounts.first_login_link(actor=request.user, user=user, base_url=base))
                for user in chosen
            ]
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
    return render(
        request, "golive/invites.html", {"waiting": waiting, "links": links, "days": accounts.link_days()}
    )


@login_required
def reconcile(request):
    rights = access.policy(request.user)
    if not (rights.runs_payroll or rights.sets_standards):
        raise PermissionDenied(access.NOT_ALLOWED)
    form = ReconcileForm(request.GET or None)
    result, status = None, 200
    if request.GET and form.is_valid():
        district = None
        if request.GET.get("district"):
            district = selectors.region_by_code(request.GET["district"])
        try:
            districts = reconciliation.districts_for(request.user, district)
            result = reconciliation.reconcile(
                actor=request.user, month=form.cleaned_data["month"], districts=districts
            )
        except ValidationError as exc:
            apply_service_errors(form, exc)
            status = 400
    elif request.GET:
        status = 400
    return render(request, "golive/reconcile.html", {"form": form, "result": result}, status=status)
