"""Pages of the registry: thin views over the selectors and services."""

from __future__ import annotations

from html import escape

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from kangfu.core import access, audit
from kangfu.core.exports import xlsx_response
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number, mask_phone
from kangfu.core.models import AuditAction, RegionLevel
from kangfu.core.pagination import CappedPaginator, audit_page
from kangfu.core.selectors import region_full_name
from kangfu.people import selectors, services, tabs
from kangfu.people.filters import PersonFilter
from kangfu.people.forms import (
    CertificateCancelForm,
    CertificateForm,
    GuardianForm,
    IncomeEndForm,
    IncomePeriodForm,
    LifeEventForm,
    PersonForm,
)
from kangfu.people.models import Person
from kangfu.people.tables import PersonTable

TABS = [
    ("basic", "基本信息"),
    ("guardians", "监护人/照护人"),
    ("certificates", "残疾人证"),
    ("income", "收入状况"),
    ("events", "生活事件"),
    ("rehab", "精康服务"),
    ("subsidies", "两项补贴"),
    ("devices", "辅具租赁"),
]
REGION_OPTIONS_SECONDS = 60
INDENT = "\u3000"  # a full-width space: the lower level's options stand indented under the upper's
EXPORT_TOO_MANY = "符合条件的人员超过 {limit} 人，请缩小筛选范围后再导出。"


def _region_options(user, selected) -> SafeString:
    """The region filter's options: everything below the user's jurisdiction down to streets (or
    communities, for someone whose jurisdiction is a street), the lower level indented. Made here
    rather than by a template loop: the city's hundreds of options, each asking the form for its
    value, were half the people list's time (bench/pages.py). The regions change only with a region
    import, so the list is kept a minute in the machine's cache rather than read on every page."""
    region = user.jurisdiction
    if region is None:
        return SafeString("")
    key = f"region-options:{region.code}"
    choices = cache.get(key)
    if choices is None:
        deepest = RegionLevel.COMMUNITY if region.level >= RegionLevel.STREET else RegionLevel.STREET
        rows = access.regions_in_jurisdiction(user).filter(level__gt=region.level, level__lte=deepest)
        choices = list(rows.values_list("code", "name", "level"))
        cache.set(key, choices, REGION_OPTIONS_SECONDS)
    nested = bool(choices) and choices[0][2] == RegionLevel.DISTRICT
    # The standard library's escape, not format_html: the latter's lazy-string checks cost more than
    # the options themselves, and a region's code and name are plain strings from the database.
    return mark_safe(  # noqa: S308  (every value is escaped)
        "".join(
            f'<option value="{escape(code)}"{" selected" if code == selected else ""}>'
            f"{INDENT if level == RegionLevel.COMMUNITY or (nested and level == RegionLevel.STREET) else ''}"
            f"{escape(name)}</option>"
            for code, name, level in choices
        )
    )


@login_required
@require_GET
def person_list(request):
    access.require(request.user, "reads_people")
    filterset = PersonFilter(request.GET, queryset=selectors.person_list(user=request.user))
    table = PersonTable(filterset.qs)
    RequestConfig(request, paginate={"per_page": 20, "paginator_class": CappedPaginator}).configure(table)
    audit_page(request.user, table, person_of=lambda p: p.pk, summary="查看人员列表")
    context = {"filter": filterset, "table": table}
    if request.htmx:
        return render(request, "people/partials/list_table.html", context)
    context["region_options"] = _region_options(request.user, filterset.form["region"].value())
    return render(request, "people/list.html", context)


@login_required
@require_GET
def person_export(request):
    access.require(request.user, "exports_people")
    filterset = PersonFilter(request.GET, queryset=selectors.person_list(user=request.user))
    limit = settings.KANGFU_EXPORT_MAX_ROWS
    rows = filterset.qs
    total = rows[: limit + 1].count()
    if total > limit:
        messages.error(request, EXPORT_TOO_MANY.format(limit=limit))
        return redirect(reverse("people:list") + "?" + request.GET.urlencode())
    today = timezone.localdate()

    def lines():
        for p in rows.iterator(chunk_size=2000):
            cert = selectors.current_certificate(p)
            yield [
                p.name,
                mask_id_number(p.id_number),
                p.get_sex_display(),
                p.age_on(today),
                p.street.name,
                p.community.name,
                str(cert) if cert else "",
                p.get_vital_status_display(),
            ]

    header = ["姓名", "身份证号", "性别", "年龄", "街道（乡镇）", "社区（村）", "残疾类别/等级", "状态"]
    return xlsx_response(
        actor=request.user,
        filename=f"people-{today:%Y%m%d}.xlsx",
        sheets=[("人员名单", header, lines())],
        object_type="people.person",
        summary=f"导出人员名单 {total} 人",
        changes={"filters": {k: v for k, v in request.GET.items() if v}, "rows": total},
    )


@login_required
@require_GET
def community_options(request):
    """<option>s of the communities of one street, for the person form's second select."""
    street = request.GET.get("street", "")
    regions = access.regions_in_jurisdiction(request.user).filter(
        level=RegionLevel.COMMUNITY, parent_id=street
    )
    return render(request, "people/partials/community_options.html", {"communities": regions})


def _person_data(cleaned: dict) -> services.PersonData:
    return services.PersonData(
        name=cleaned["name"],
        id_number=cleaned["id_number"],
        community_code=cleaned["community"],
        phone=cleaned.get("phone", ""),
        address=cleaned.get("address", ""),
        hukou_region_code=cleaned.get("hukou_region") or None,
        hukou_type=cleaned.get("hukou_type", ""),
    )


@login_required
def person_create(request):
    access.require(request.user, "registers_people")
    form = PersonForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                person = services.person_create(actor=request.user, data=_person_data(form.cleaned_data))
            except services.DuplicatePerson as exc:
                if exc.messages[0] == services.DUPLICATE_PERSON:
                    messages.warning(request, "该身份证号已登记，已为您打开已有档案。")
                    return redirect("people:detail", pk=exc.person_id)
                apply_service_errors(form, exc)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已登记 {person.name}。")
                return redirect("people:detail", pk=person.pk)
        status = 400
    return render(request, "people/form.html", {"form": form, "creating": True}, status=status)


@login_required
def person_edit(request, pk: int):
    access.require(request.user, "writes_people")
    person = selectors.person_get_for_user(user=request.user, pk=pk)
    if request.method != "POST":
        form = PersonForm(initial=PersonForm.initial_for(person), user=request.user)
        return render(request, "people/form.html", {"form": form, "person": person})
    form = PersonForm(request.POST, user=request.user)
    status = 400
    if form.is_valid():
        try:
            services.person_update(
                actor=request.user,
                person=person,
                data=_person_data(form.cleaned_data),
                expected_version=form.cleaned_data.get("version") or 0,
            )
        except services.StaleEdit:
            form.add_error(None, services.STALE_EDIT)
            status = 409
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("people:detail", pk=person.pk)
    return render(request, "people/form.html", {"form": form, "person": person}, status=status)


@login_required
@require_GET
def person_detail(request, pk: int):
    access.require(request.user, "reads_people")
    person = selectors.person_get_for_user(user=request.user, pk=pk)
    tab = request.GET.get("tab", "basic")
    if tab not in dict(TABS):
        tab = "basic"
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=person,
        person_id=person.pk,
        summary=f"查看 {person.name} 的档案",
    )
    context = _detail_context(request, person, tab)
    template = "people/partials/tab.html" if request.htmx else "people/detail.html"
    return render(request, template, context)


def _detail_context(request, person: Person, tab: str, **forms) -> dict:
    can_write = access.policy(request.user).writes_people
    context = {
        "person": person,
        "tabs": TABS,
        "tab": tab,
        "masked_id": mask_id_number(person.id_number),
        "masked_phone": mask_phone(person.phone),
        "can_write": can_write,
        "can_reveal": access.policy(request.user).reveals,
        "today": timezone.localdate(),
        "age": person.age_on(timezone.localdate()),
        "hukou_name": region_full_name(person.hukou_region) if person.hukou_region_id else "",
        **selectors.person_detail_related(person),
    }
    service_tab = tabs.get(tab)
    if service_tab is not None:
        context.update(service_tab.context(request, person), service_tab=service_tab.template)
    if can_write:
        context.update(
            guardian_form=forms.get("guardian_form") or GuardianForm(),
            certificate_form=forms.get("certificate_form") or CertificateForm(),
            cancel_form=forms.get("cancel_form") or CertificateCancelForm(),
            income_form=forms.get("income_form") or IncomePeriodForm(),
            income_end_form=forms.get("income_end_form") or IncomeEndForm(),
            event_form=forms.get("event_form") or LifeEventForm(),
        )
    return context


@login_required
@require_POST
def person_reveal(request, pk: int, field: str):
    person = selectors.person_get_for_user(user=request.user, pk=pk)
    if field not in {"id_number", "phone"}:
        raise Http404
    value = services.person_reveal(actor=request.user, person=person, field=field)
    return render(request, "people/partials/revealed.html", {"value": value})


def _sub_form_post(request, pk: int, *, tab: str, form_class, form_key: str, action):
    """Shared shape of every tab's small form: scoped person, parse, one service call, re-render."""
    access.require(request.user, "writes_people")
    person = selectors.person_get_for_user(user=request.user, pk=pk)
    form = form_class(request.POST)
    status = 400
    if form.is_valid():
        try:
            action(person, form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect(reverse("people:detail", args=[person.pk]) + f"?tab={tab}")
    person.refresh_from_db()
    context = _detail_context(request, person, tab, **{form_key: form})
    return render(request, "people/detail.html", context, status=status)


@login_required
@require_POST
def guardian_add(request, pk: int):
    return _sub_form_post(
        request,
        pk,
        tab="guardians",
        form_class=GuardianForm,
        form_key="guardian_form",
        action=lambda person, d: services.guardian_add(actor=request.user, person=person, **d),
    )


@login_required
@require_POST
def guardian_delete(request, pk: int, item: int):
    access.require(request.user, "writes_people")
    guardian = selectors.guardian_get_for_user(user=request.user, person_pk=pk, pk=item)
    services.guardian_remove(actor=request.user, guardian=guardian)
    messages.success(request, "已删除。")
    return redirect(reverse("people:detail", args=[pk]) + "?tab=guardians")


@login_required
@require_POST
def certificate_add(request, pk: int):
    return _sub_form_post(
        request,
        pk,
        tab="certificates",
        form_class=CertificateForm,
        form_key="certificate_form",
        action=lambda person, d: services.certificate_issue(actor=request.user, person=person, **d),
    )


@login_required
@require_POST
def certificate_cancel(request, pk: int, item: int):
    access.require(request.user, "writes_people")
    cert = selectors.certificate_get_for_user(user=request.user, person_pk=pk, pk=item)
    return _sub_form_post(
        request,
        pk,
        tab="certificates",
        form_class=CertificateCancelForm,
        form_key="cancel_form",
        action=lambda person, d: services.certificate_cancel(actor=request.user, certificate=cert, **d),
    )


@login_required
@require_POST
def income_add(request, pk: int):
    return _sub_form_post(
        request,
        pk,
        tab="income",
        form_class=IncomePeriodForm,
        form_key="income_form",
        action=lambda person, d: services.income_period_add(actor=request.user, person=person, **d),
    )


@login_required
@require_POST
def income_end(request, pk: int, item: int):
    access.require(request.user, "writes_people")
    period = selectors.income_period_get_for_user(user=request.user, person_pk=pk, pk=item)
    return _sub_form_post(
        request,
        pk,
        tab="income",
        form_class=IncomeEndForm,
        form_key="income_end_form",
        action=lambda person, d: services.income_period_end(actor=request.user, period=period, **d),
    )


@login_required
@require_POST
def life_event_add(request, pk: int):
    def record(person, d):
        services.life_event_record(
            actor=request.user,
            person=person,
            kind=d["kind"],
            occurred_on=d["occurred_on"],
            to_region_code=d.get("to_region") or None,
            document=d.get("document", ""),
            note=d.get("note", ""),
        )

    return _sub_form_post(
        request, pk, tab="events", form_class=LifeEventForm, form_key="event_form", action=record
    )
