"""全程网办: apply online for the two subsidies and follow the application with its number and ID."""

from __future__ import annotations

from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from kangfu.subsidies import selectors
from kangfu.subsidies.forms import StatusLookupForm
from kangfu.subsidies.models import BankStatus
from kangfu.subsidies.views.applications import submit_application_form


def apply(request):
    form, created = submit_application_form(
        request, actor=None, communities_url="public:subsidies_communities"
    )
    if created is not None:
        request.session["subsidy_application"] = created.number
        return redirect("public:subsidies_done", number=created.number)
    status = 400 if request.method == "POST" else 200
    return render(request, "subsidies/public/apply.html", {"form": form}, status=status)


@require_GET
def communities(request):
    _streets, options = selectors.household_regions(street=request.GET.get("hukou_street", ""))
    return render(request, "subsidies/partials/community_options.html", {"options": options})


@require_GET
def done(request, number: str):
    # Only the browser that filed it sees the page: the number alone is not proof of being the applicant.
    if request.session.get("subsidy_application") != number:
        return redirect("public:subsidies_status")
    return render(request, "subsidies/public/done.html", {"app": selectors.application_by_number(number)})


def status(request):
    form = StatusLookupForm(request.POST or None)
    found = None
    payments = []
    code = 200
    if request.method == "POST":
        code = 400
        if form.is_valid():
            found = selectors.application_for_citizen(
                number=form.cleaned_data["number"], id_number=form.cleaned_data["id_number"]
            )
            code = 200 if found else 404
            if found is None:
                form.add_error(None, "没有找到与该受理编号和身份证号相符的申请。")
            else:
                payments = selectors.citizen_payments(found)
    context = {"form": form, "app": found, "payments": payments, "paid": BankStatus.PAID}
    if found is not None:
        context["steps"] = selectors.application_steps(found)
    return render(request, "subsidies/public/status.html", context, status=code)
