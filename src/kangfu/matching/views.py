"""Pages of 数据比对: feeds, runs with their progress, the street's worklist and each item."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from kangfu.core import access, audit
from kangfu.core.exports import xlsx_response
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction
from kangfu.core.pagination import CappedPaginator, audit_page
from kangfu.matching import comparison, selectors, services
from kangfu.matching import feeds as feed_files
from kangfu.matching.filters import ItemFilter
from kangfu.matching.forms import BulkForm, FeedUploadForm, ItemActionForm, RunForm
from kangfu.matching.models import ItemStatus
from kangfu.matching.rules import RULE_NAMES
from kangfu.matching.tables import ItemTable
from kangfu.rehab import selectors as rehab_selectors

CHOOSE_STREET = "请选择要转交的本区街道。"
EXPORT_TOO_MANY = "符合条件的疑点超过 {limit} 条，请缩小筛选范围后再导出。"


def _reads(request):
    access.require(request.user, "reads_civil_affairs")


@login_required
def home(request):
    _reads(request)
    rights = access.policy(request.user)
    form = RunForm(request.POST or None, initial={"period": timezone.localdate().replace(day=1)})
    if request.method == "POST" and request.POST.get("action") in BULK_ACTIONS:
        _bulk(request)
        return redirect(request.get_full_path())
    if request.method == "POST":
        if not rights.runs_payroll:
            raise PermissionDenied(access.NOT_ALLOWED)
        if form.is_valid():
            try:
                comparison.run_request(
                    actor=request.user, district=request.user.jurisdiction, period=form.cleaned_data["period"]
                )
            except ValidationError as exc:
                for message in exc.messages:
                    messages.error(request, message)
            else:
                messages.success(request, "比对已开始。")
                return redirect("matching:home")
        else:
            messages.error(request, "比对按区进行，请填写月份。")
    filterset = ItemFilter(request.GET, queryset=selectors.items_for(request.user).order_by("due_date", "pk"))
    if request.GET.get("export") == "xlsx":
        return _export(request, filterset)
    may_bulk = rights.subsidy_step == "street"
    table = ItemTable(filterset.qs, exclude=() if may_bulk else ("pick",))
    RequestConfig(request, paginate={"per_page": 50, "paginator_class": CappedPaginator}).configure(table)
    audit_page(request.user, table, person_of=lambda item: item.person_id, summary="查看比对疑点列表")
    export_query = request.GET.copy()
    export_query.pop("page", None)
    export_query["export"] = "xlsx"
    context = {
        "filter": filterset,
        "table": table,
        "may_bulk": may_bulk,
        "bulk_form": BulkForm(),
        "export_query": export_query.urlencode(),
    }
    if request.htmx:
        return render(request, "matching/partials/items_table.html", context)
    context |= {
        "form": form,
        "may_run": rights.runs_payroll,
        "runs": selectors.runs_for(request.user)[:10],
        "summary": selectors.summary(request.user),
        "monthly": selectors.monthly(request.user),
    }
    return render(request, "matching/home.html", context)


BULK_ACTIONS = {"confirm": "确认", "dismiss": "排除"}
BAD_PICK = "勾选的疑点无法识别或已不在您的辖区，请刷新页面后重试；本次未作改动。"


def _bulk(request) -> None:
    """Confirm or dismiss the ticked items with one note: all of them or none, and a message."""
    action = request.POST["action"]
    form = BulkForm(request.POST)
    try:
        picked: dict[int, int] = {}
        for value in request.POST.getlist("pick"):
            pk, version = (int(part) for part in value.partition(":")[::2])
            # A key the database could not hold is no item (and must not reach a query as one).
            if not (0 < pk < 2**63 and 0 < version < 2**31):
                raise ValueError(value)
            picked.setdefault(pk, version)
    except ValueError:
        messages.error(request, BAD_PICK)
        return
    found = {i.pk: i for i in selectors.items_for(request.user).filter(pk__in=list(picked))}
    if len(found) != len(picked) or not form.is_valid():
        messages.error(request, BAD_PICK if form.is_valid() else "；".join(form.errors.get("note", [])))
        return
    items = []
    for pk, version in picked.items():
        item = found[pk]
        item.version = version  # the state the page showed: an item changed since is refused
        items.append(item)
    try:
        done = comparison.items_resolve(
            actor=request.user, items=items, action=action, note=form.cleaned_data["note"]
        )
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    else:
        names = "、".join(i.person.name for i in done)
        messages.success(request, f"已{BULK_ACTIONS[action]} {len(done)} 条疑点：{names}。")


def _export(request, filterset):
    """The worklist as filtered, masked as on the page, at most the export limit (refused above)."""
    limit = settings.KANGFU_EXPORT_MAX_ROWS
    items = filterset.qs
    total = items[: limit + 1].count()
    if total > limit:
        messages.error(request, EXPORT_TOO_MANY.format(limit=limit))
        query = request.GET.copy()
        query.pop("export", None)
        return redirect(reverse("matching:home") + "?" + query.urlencode())
    rows = (
        [
            i.period.strftime("%Y-%m"),
            RULE_NAMES.get(i.rule, i.rule),
            i.get_direction_display(),
            i.person.name,
            mask_id_number(i.person.id_number),
            i.street.name,
            i.explanation,
            str(i.amount_at_stake),
            i.get_status_display(),
            i.due_date.isoformat(),
        ]
        for i in items.iterator(chunk_size=2000)
    )
    header = ["月份", "规则", "方向", "姓名", "身份证号", "街道", "说明", "涉及金额", "状态", "期限"]
    return xlsx_response(
        actor=request.user,
        filename=f"items-{timezone.localdate():%Y%m%d}.xlsx",
        sheets=[("疑点", header, rows)],
        object_type="matching.item",
        summary=f"导出疑点 {total} 条",
        changes={"filters": {k: v for k, v in request.GET.items() if v and k != "export"}, "rows": total},
    )


@login_required
@require_GET
def run_progress(request, pk: int):
    _reads(request)
    run = get_object_or_404(selectors.runs_for(request.user), pk=pk)
    return render(request, "matching/partials/run.html", {"run": run})


@login_required
def feeds(request):
    access.require(request.user, "runs_payroll")
    form = FeedUploadForm(
        request.POST or None, request.FILES or None, initial={"period": f"{timezone.localdate():%Y-%m}"}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                feed = services.feed_preview(
                    actor=request.user,
                    source=form.cleaned_data["source"],
                    raw=upload.read(),
                    file_name=upload.name,
                    period=form.cleaned_data["period"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("matching:feed", pk=feed.pk)
        status = 400
    return render(
        request,
        "matching/feeds.html",
        {
            "form": form,
            "imports": selectors.imports_recent(request.user),
            "sources": [
                (source, feed_files.expected_columns(source.kind, source.mapping))
                for source in selectors.feed_sources()
            ],
        },
        status=status,
    )


@login_required
def feed_detail(request, pk: int):
    access.require(request.user, "runs_payroll")
    feed = get_object_or_404(selectors.imports_for(request.user), pk=pk)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "confirm":
                services.feed_confirm(actor=request.user, feed=feed)
                messages.success(request, "已确认，数据将参与比对。")
            elif request.POST.get("action") == "discard":
                services.feed_discard(actor=request.user, feed=feed)
                messages.success(request, "已放弃。")
            else:
                raise Http404
        except ValidationError as exc:
            messages.error(request, "；".join(exc.messages))
        return redirect("matching:feed", pk=feed.pk)
    # A feed covers the whole city; matched lines are shown only for people in the user's own scope.
    rows = selectors.feed_rows_for(request.user, feed)[:200]
    matched = selectors.feed_matched_lines(feed)
    return render(request, "matching/feed.html", {"feed": feed, "rows": rows, "matched": matched})


@login_required
def item_detail(request, pk: int):
    _reads(request)
    item = get_object_or_404(
        selectors.items_for(request.user).select_related("feed_row__feed__source"), pk=pk
    )
    streets = [s for s in selectors.streets_of_district(item.district_id) if s.code != item.street_id]
    form = ItemActionForm(
        request.POST or None, initial={"effective_month": item.effective_month}, streets=streets
    )
    if request.method == "POST":
        action = request.POST.get("action")
        if form.is_valid():
            d = form.cleaned_data
            try:
                if action == "confirm":
                    comparison.item_confirm(
                        actor=request.user, item=item, note=d["note"], effective_month=d["effective_month"]
                    )
                elif action == "dismiss":
                    comparison.item_dismiss(actor=request.user, item=item, note=d["note"])
                elif action == "transfer":
                    street = selectors.street_by_code(d["street"])
                    if street is None:
                        raise ValidationError({"street": [CHOOSE_STREET]})
                    comparison.item_transfer(actor=request.user, item=item, street=street, note=d["note"])
                elif action == "approve":
                    comparison.item_approve(actor=request.user, item=item)
                else:
                    raise Http404
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已办理。")
                return redirect("matching:item", pk=item.pk)
    audit.record(
        actor=request.user, action=AuditAction.VIEW, obj=item, person_id=item.person_id, summary="查看疑点"
    )
    context = {
        "item": item,
        "form": form,
        "rule_name": RULE_NAMES.get(item.rule, item.rule),
        "masked_id": mask_id_number(item.person.id_number),
        "more_evidence": selectors.more_evidence(item),
        # A 精康 item shows who serves the person and nothing of the case itself (clinical data).
        "institution": rehab_selectors.case_institution_name(item.case_id) if item.case_id else None,
        "may_resolve": access.region_in_jurisdiction(request.user, item.street_id)
        and item.status == ItemStatus.OPEN,
        "may_approve": access.policy(request.user).runs_payroll and item.status == ItemStatus.CONFIRMED,
    }
    return render(request, "matching/item.html", context, status=200 if request.method == "GET" else 400)
