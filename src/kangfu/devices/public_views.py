"""Public pages for citizens: the device catalogue, an online rental request, and its status.

No login: nothing here shows anyone's data except to the person who knows both the acknowledgement
number and the ID number it was filed with."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import FileResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core.forms import apply_service_errors
from kangfu.devices import selectors
from kangfu.devices.forms import PublicRequestForm, RequestLookupForm
from kangfu.devices.services import rental_requests


@require_GET
def catalogue(request):
    category = request.GET.get("category")
    outlet = request.GET.get("outlet")
    rows = selectors.public_catalogue(
        category_id=int(category) if (category or "").isdigit() else None,
        outlet_id=int(outlet) if (outlet or "").isdigit() else None,
    )
    return render(
        request,
        "devices/public/catalogue.html",
        {"rows": rows, "categories": selectors.categories(), "category": category, "outlet": outlet},
    )


def request_new(request, product_id: int):
    product = selectors.public_product(product_id)
    outlets = selectors.outlets_of(product.centre)
    form = PublicRequestForm(
        request.POST or None, outlets=outlets, initial={"desired_start": timezone.localdate(), "months": 1}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                created = rental_requests.request_submit(
                    data=rental_requests.RequestData(
                        product_id=product.pk,
                        outlet_id=int(d["outlet"]),
                        name=d["name"],
                        id_number=d["id_number"],
                        phone=d["phone"],
                        address=d["address"],
                        desired_start=d["desired_start"],
                        months=d["months"],
                        wants_delivery=d["wants_delivery"],
                        note=d["note"],
                    )
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                request.session["devices_request"] = created.reference
                return redirect("public:devices_request_done", reference=created.reference)
        status = 400
    return render(request, "devices/public/request.html", {"product": product, "form": form}, status=status)


@require_GET
def request_done(request, reference: str):
    # Only the browser that filed the request sees this page; others must look it up with the ID.
    if request.session.get("devices_request") != reference:
        return redirect("public:devices_request_status")
    req = selectors.public_request(reference=reference)
    return render(request, "devices/public/request_done.html", {"req": req})


def request_status(request):
    form = RequestLookupForm(request.POST or None)
    found = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            found = selectors.public_request_lookup(
                reference=form.cleaned_data["reference"], id_number=form.cleaned_data["id_number"]
            )
            status = 200 if found else 404
            if found is None:
                form.add_error(None, "没有找到与该受理编号和身份证号相符的申请。")
    return render(request, "devices/public/request_status.html", {"form": form, "req": found}, status=status)


@require_GET
def photo(request, pk: int):
    """A product photo, served by the application (intranets have no other file server)."""
    item = selectors.public_photo(pk)
    kind = "image/png" if item.image.name.lower().endswith(".png") else "image/jpeg"
    response = FileResponse(item.image.open("rb"), content_type=kind)
    response["Cache-Control"] = "public, max-age=86400"
    response["X-Content-Type-Options"] = "nosniff"
    return response
