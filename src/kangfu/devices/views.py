"""Pages of the rental centre: thin views over the selectors and services."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number, mask_phone
from kangfu.core.models import AuditAction
from kangfu.core.months import add_months_to_day
from kangfu.core.pagination import CappedPaginator, audit_page
from kangfu.devices import selectors
from kangfu.devices.filters import ProductFilter, RentalFilter, RequestFilter, UnitFilter
from kangfu.devices.forms import (
    CancelForm,
    CategoryForm,
    DeclineForm,
    DisinfectionForm,
    ExtendForm,
    FittingForm,
    HandoverForm,
    PhotoForm,
    ProductForm,
    RentalForm,
    ReturnForm,
    UnitsAddForm,
    UnitStatusForm,
    UnitTransferForm,
)
from kangfu.devices.models import RequestStatus, UnitStatus
from kangfu.devices.rules import rent_payable
from kangfu.devices.services import catalogue as catalogue_services
from kangfu.devices.services import common, disinfection, fittings, pricing
from kangfu.devices.services import rental_requests as request_services
from kangfu.devices.services import rentals as rental_services
from kangfu.devices.services import units as unit_services
from kangfu.devices.tables import RentalTable, RequestTable, UnitTable
from kangfu.people import selectors as people_selectors
from kangfu.people.forms import PersonForm
from kangfu.people.services import PersonData, person_create

PER_PAGE = 50


def _clerk(request):
    access.require(request.user, "runs_devices")
    return common.require_centre(request.user)


def _list_page(request, *, table, template: str, context: dict, person_of=None, read: str = ""):
    """A paged table: the whole page, or only the table for htmx (paging, filtering). A list of named
    people (`person_of`) leaves a read entry per row shown."""
    RequestConfig(request, paginate={"per_page": PER_PAGE, "paginator_class": CappedPaginator}).configure(
        table
    )
    if person_of is not None:
        audit_page(request.user, table, person_of=person_of, summary=read)
    context = {**context, "table": table}
    if request.htmx:
        return render(request, "devices/partials/list_table.html", context)
    return render(request, template, context)


@login_required
@require_GET
def home(request):
    _clerk(request)
    return render(request, "devices/home.html", selectors.worklists(request.user))


# ------------------------------------------------------------------ catalogue


@login_required
@require_GET
def catalogue(request):
    _clerk(request)
    filterset = ProductFilter(
        request.GET, queryset=selectors.products_for(request.user).order_by("category__code", "name")
    )
    return render(
        request,
        "devices/catalogue.html",
        {
            "rows": selectors.catalogue_rows(filterset.qs, user=request.user),
            "filter": filterset,
            "categories": selectors.categories(),
            "category": request.GET.get("category"),
        },
    )


@login_required
def category_edit(request, pk: int | None = None):
    _clerk(request)
    category = selectors.category_get(pk=pk) if pk else None
    form = CategoryForm(request.POST or None, instance=category)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                catalogue_services.category_save(
                    actor=request.user,
                    category=category,
                    code=form.cleaned_data["code"],
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存分类。")
                return redirect("devices:catalogue")
        status = 400
    return render(request, "devices/form.html", {"form": form, "title": "辅具分类"}, status=status)


@login_required
def product_edit(request, pk: int | None = None):
    _clerk(request)
    product = selectors.product_get_for_user(user=request.user, pk=pk) if pk else None
    form = ProductForm(request.POST or None, instance=product)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            values = {f: form.cleaned_data[f] for f in form.Meta.fields}
            try:
                catalogue_services.product_save(actor=request.user, product=product, values=values)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已保存产品。")
                return redirect("devices:catalogue")
        status = 400
    context = {"form": form, "title": "辅具产品", "product": product, "photo_form": PhotoForm()}
    return render(request, "devices/product.html", context, status=status)


@login_required
def product_photo(request, pk: int):
    _clerk(request)
    product = selectors.product_get_for_user(user=request.user, pk=pk)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    form = PhotoForm(request.POST, request.FILES)
    if form.is_valid():
        catalogue_services.product_photo_add(
            actor=request.user,
            product=product,
            image=form.cleaned_data["image"],
            caption=form.cleaned_data["caption"],
        )
        messages.success(request, "已上传照片。")
        return redirect("devices:product_edit", pk=product.pk)
    context = {
        "form": ProductForm(instance=product),
        "title": "辅具产品",
        "product": product,
        "photo_form": form,
    }
    return render(request, "devices/product.html", context, status=400)


# ------------------------------------------------------------------ units


@login_required
@require_GET
def units(request):
    centre = _clerk(request)
    filterset = UnitFilter(request.GET, queryset=selectors.units_for(request.user).order_by("serial"))
    return _list_page(
        request,
        table=UnitTable(filterset.qs),
        template="devices/units.html",
        context={
            "filter": filterset,
            "statuses": UnitStatus.choices,
            "outlets": selectors.outlets_of(centre),
        },
    )


@login_required
def units_add(request):
    centre = _clerk(request)
    form = UnitsAddForm(
        request.POST or None,
        products=selectors.products_for(request.user),
        outlets=selectors.outlets_of(centre),
        initial={"acquired_on": timezone.localdate()},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                added = unit_services.units_add(
                    actor=request.user,
                    product=form.cleaned_data["product"],
                    outlet=form.cleaned_data["outlet"],
                    serials=form.cleaned_data["serials"].splitlines(),
                    acquired_on=form.cleaned_data["acquired_on"],
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已入库 {len(added)} 台。")
                return redirect("devices:units")
        status = 400
    return render(request, "devices/form.html", {"form": form, "title": "设备入库"}, status=status)


def _unit_context(request, unit, **forms):
    centre = common.require_centre(request.user)
    return {
        "unit": unit,
        **selectors.unit_history(unit),
        "status_form": forms.get("status_form") or UnitStatusForm(),
        "transfer_form": forms.get("transfer_form") or UnitTransferForm(outlets=selectors.outlets_of(centre)),
        "disinfection_form": forms.get("disinfection_form")
        or DisinfectionForm(
            initial={
                "started_at": timezone.localtime().replace(second=0, microsecond=0) - dt.timedelta(hours=1),
                "finished_at": timezone.localtime().replace(second=0, microsecond=0),
            }
        ),
        "needs_cleaning": unit.status in (UnitStatus.RETURNED, UnitStatus.CLEANING),
    }


@login_required
def unit_detail(request, pk: int):
    _clerk(request)
    unit = selectors.unit_get_for_user(user=request.user, pk=pk)
    if request.method == "GET":
        return render(request, "devices/unit.html", _unit_context(request, unit))
    action = request.POST.get("action")
    centre = common.require_centre(request.user)
    form_map = {
        "status": ("status_form", UnitStatusForm(request.POST)),
        "transfer": ("transfer_form", UnitTransferForm(request.POST, outlets=selectors.outlets_of(centre))),
        "disinfect": ("disinfection_form", DisinfectionForm(request.POST)),
    }
    if action not in form_map:
        raise Http404
    key, form = form_map[action]
    if form.is_valid():
        d = form.cleaned_data
        try:
            if action == "status":
                unit_services.unit_set_status(actor=request.user, unit=unit, to=d["to"], note=d["note"])
            elif action == "transfer":
                unit_services.unit_transfer(
                    actor=request.user, unit=unit, to_outlet=d["outlet"], note=d["note"]
                )
            else:
                disinfection.disinfection_record(
                    actor=request.user,
                    unit=unit,
                    method=d["method"],
                    agent=d["agent"],
                    steps=d["steps"],
                    started_at=d["started_at"],
                    finished_at=d["finished_at"],
                    passed=d["passed"],
                    check_note=d["check_note"],
                )
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("devices:unit", pk=unit.pk)
    unit.refresh_from_db()
    return render(request, "devices/unit.html", _unit_context(request, unit, **{key: form}), status=400)


# ------------------------------------------------------------------ requests and fitting


@login_required
@require_GET
def requests_list(request):
    _clerk(request)
    filterset = RequestFilter(request.GET, queryset=selectors.requests_for(request.user))
    return _list_page(
        request,
        table=RequestTable(filterset.qs),
        template="devices/requests.html",
        context={"filter": filterset, "status": filterset.data["status"], "statuses": RequestStatus.choices},
    )


@login_required
def request_detail(request, pk: int):
    _clerk(request)
    rental_request = selectors.request_get_for_user(user=request.user, pk=pk)
    person = selectors.request_person(user=request.user, rental_request=rental_request)
    person_form = None
    decline_form = DeclineForm()
    status = 200
    if request.method == "POST" and request.POST.get("action") == "decline":
        decline_form = DeclineForm(request.POST)
        if decline_form.is_valid():
            try:
                request_services.request_decline(
                    actor=request.user, request=rental_request, reason=decline_form.cleaned_data["reason"]
                )
            except ValidationError as exc:
                apply_service_errors(decline_form, exc)
            else:
                messages.success(request, "已记录未受理原因。")
                return redirect("devices:requests")
        status = 400
    elif request.method == "POST" and request.POST.get("action") == "register":
        person_form = PersonForm(request.POST, user=request.user)
        if person_form.is_valid():
            try:
                person_create(
                    actor=request.user,
                    data=PersonData(
                        name=person_form.cleaned_data["name"],
                        id_number=person_form.cleaned_data["id_number"],
                        community_code=person_form.cleaned_data["community"],
                        phone=person_form.cleaned_data["phone"],
                        address=person_form.cleaned_data["address"],
                        hukou_region_code=person_form.cleaned_data["hukou_region"] or None,
                        hukou_type=person_form.cleaned_data["hukou_type"],
                    ),
                )
            except ValidationError as exc:  # a DuplicatePerson is one too, and says so
                apply_service_errors(person_form, exc)
            else:
                messages.success(request, "已登记，请继续适配评估或办理租赁。")
                return redirect("devices:request", pk=rental_request.pk)
        status = 400
    if person is None and person_form is None and access.policy(request.user).writes_people:
        person_form = PersonForm(
            user=request.user,
            initial={
                "name": rental_request.name,
                "id_number": rental_request.id_number,
                "phone": rental_request.phone,
                "address": rental_request.address,
            },
        )
    fitting = None
    needs_fitting = False
    if person is not None:
        needs_fitting, fitting = fittings.fitting_needed(person=person, product=rental_request.product)
    context = {
        "req": rental_request,
        "masked_id": mask_id_number(rental_request.id_number),
        "masked_phone": mask_phone(rental_request.phone),
        "person": person,
        "person_form": person_form,
        "decline_form": decline_form,
        "needs_fitting": needs_fitting,
        "fitting": fitting,
    }
    return render(request, "devices/request.html", context, status=status)


@login_required
def fitting_new(request):
    _clerk(request)
    person = people_selectors.person_get_for_user(user=request.user, pk=request.GET.get("person", ""))
    form = FittingForm(
        request.POST or None,
        products=selectors.rentable_products(request.user),
        initial={"category": request.GET.get("category"), "assessed_on": timezone.localdate()},
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = dict(form.cleaned_data)
            category = d.pop("category")
            try:
                fittings.fitting_record(actor=request.user, person=person, category=category, values=d)
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已记录适配评估。")
                return redirect(
                    request.GET.get("next") or reverse("people:detail", args=[person.pk]) + "?tab=devices"
                )
        status = 400
    return render(
        request,
        "devices/form.html",
        {"form": form, "title": f"适配评估：{person.name}", "person": person},
        status=status,
    )


# ------------------------------------------------------------------ rentals


def _rental_data(cleaned: dict, request_id: int | None) -> rental_services.RentalData:
    return rental_services.RentalData(
        unit_id=int(cleaned["unit"]),
        start_date=cleaned["start_date"],
        end_date=cleaned["end_date"],
        injured=cleaned["injured"],
        injured_note=cleaned["injured_note"],
        delivery_mode=cleaned["delivery_mode"],
        delivery_address=cleaned["delivery_address"],
        delivery_from=cleaned["delivery_from"],
        delivery_to=cleaned["delivery_to"],
        subsidy=cleaned["subsidy"],
        request_id=request_id,
    )


@login_required
def rental_new(request):
    _clerk(request)
    person = people_selectors.person_get_for_user(user=request.user, pk=request.GET.get("person", ""))
    product = selectors.rentable_product(user=request.user, pk=request.GET.get("product"))
    rental_request = None
    if request.GET.get("request"):
        rental_request = selectors.request_get_for_user(user=request.user, pk=request.GET["request"])
    if product is None:
        products = selectors.rentable_products(request.user)
        return render(request, "devices/rental_pick.html", {"person": person, "products": products})
    units = selectors.units_to_rent(user=request.user, product=product)
    today = timezone.localdate()
    initial = {"start_date": today, "end_date": today + dt.timedelta(days=29), "delivery_mode": "pickup"}
    if rental_request is not None:
        start = max(rental_request.desired_start, today)
        initial.update(
            start_date=start,
            end_date=add_months_to_day(start, rental_request.months) - dt.timedelta(days=1),
            delivery_mode="home" if rental_request.wants_delivery else "pickup",
            delivery_address=rental_request.address,
        )
        preferred = [u for u in units if u.outlet_id == rental_request.outlet_id]
        if preferred:
            initial["unit"] = preferred[0].pk
    form = RentalForm(request.POST or None, units=units, initial=initial)
    needs_fitting, fitting = fittings.fitting_needed(person=person, product=product)
    status = 200
    lines = None
    if request.method == "POST":
        if form.is_valid():
            data = _rental_data(form.cleaned_data, rental_request.pk if rental_request else None)
            if request.POST.get("action") == "quote":
                try:
                    lines = pricing.quote(
                        person=person,
                        product=product,
                        start=data.start_date,
                        end=data.end_date,
                        injured=data.injured,
                        subsidy_limit=data.subsidy,
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                    status = 400
            else:
                try:
                    rental = rental_services.rental_create(actor=request.user, person=person, data=data)
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                    status = 400
                else:
                    messages.success(request, f"已办理租赁 {rental.number}。")
                    return redirect("devices:rental", pk=rental.pk)
        else:
            status = 400
    elif units:
        try:
            lines = pricing.quote(
                person=person, product=product, start=initial["start_date"], end=initial["end_date"]
            )
        except ValidationError:
            lines = None
    context = {
        "person": person,
        "product": product,
        "form": form,
        "lines": lines,
        "payable": rent_payable(lines) if lines else None,
        "needs_fitting": needs_fitting,
        "fitting": fitting,
        "rental_request": rental_request,
    }
    template = (
        "devices/partials/quote.html"
        if request.htmx and request.POST.get("action") == "quote"
        else "devices/rental_new.html"
    )
    return render(request, template, context, status=status)


@login_required
@require_GET
def rentals(request):
    _clerk(request)
    filterset = RentalFilter(request.GET, queryset=selectors.rentals_for(request.user))
    return _list_page(
        request,
        table=RentalTable(filterset.qs),
        template="devices/rentals.html",
        context={"filter": filterset, "view": filterset.data["view"]},
        person_of=lambda rental: rental.person_id,
        read="查看租赁列表",
    )


def _rental_context(request, rental, **forms):
    return {
        "rental": rental,
        "bill": pricing.bill(rental),
        "today": timezone.localdate(),
        "handover_form": forms.get("handover_form") or HandoverForm(),
        "extend_form": forms.get("extend_form") or ExtendForm(),
        "return_form": forms.get("return_form")
        or ReturnForm(initial={"returned_on": timezone.localdate(), "condition": "good"}),
        "cancel_form": forms.get("cancel_form") or CancelForm(),
        "masked_id": mask_id_number(rental.person.id_number),
    }


@login_required
def rental_detail(request, pk: int):
    _clerk(request)
    rental = selectors.rental_get_for_user(user=request.user, pk=pk)
    if request.method == "GET":
        return render(request, "devices/rental.html", _rental_context(request, rental))
    action = request.POST.get("action")
    forms_by_action = {
        "handover": ("handover_form", HandoverForm),
        "extend": ("extend_form", ExtendForm),
        "return": ("return_form", ReturnForm),
        "cancel": ("cancel_form", CancelForm),
    }
    if action not in forms_by_action:
        raise Http404
    key, form_class = forms_by_action[action]
    form = form_class(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            if action == "handover":
                rental_services.rental_handover(
                    actor=request.user, rental=rental, training_content=d["training_content"]
                )
            elif action == "extend":
                rental_services.rental_extend(actor=request.user, rental=rental, new_end=d["new_end"])
            elif action == "return":
                rental_services.rental_return(
                    actor=request.user,
                    rental=rental,
                    returned_on=d["returned_on"],
                    condition=d["condition"],
                    damage_note=d["damage_note"],
                    damage_charge=d["damage_charge"] or 0,
                )
            else:
                rental_services.rental_cancel(actor=request.user, rental=rental, reason=d["reason"])
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已保存。")
            return redirect("devices:rental", pk=rental.pk)
    rental.refresh_from_db()
    return render(request, "devices/rental.html", _rental_context(request, rental, **{key: form}), status=400)


@login_required
@require_GET
def rental_print(request, pk: int, document: str):
    _clerk(request)
    rental = selectors.rental_for_print(user=request.user, pk=pk)
    if document not in {"contract", "receipt"}:
        raise Http404
    audit.record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=rental,
        person_id=rental.person_id,
        summary=f"打印租赁 {rental.number} 的{'合同' if document == 'contract' else '收据'}",
    )
    context = _rental_context(request, rental)
    context["policy"] = pricing.policy_of(rental.centre)
    return render(request, f"devices/print_{document}.html", context)
