"""全程网办: apply online for the two subsidies and follow the application with its number and ID."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET

from kangfu.people.services import id_hash
from kangfu.subsidies.forms import StatusLookupForm
from kangfu.subsidies.models import Application, BankStatus, PayrollLine, PayrollStatus
from kangfu.subsidies.views import region_choices, submit_application_form


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
    _streets, options = region_choices(street=request.GET.get("hukou_street", ""))
    return render(request, "subsidies/partials/community_options.html", {"options": options})


@require_GET
def done(request, number: str):
    if request.session.get("subsidy_application") != number:
        return redirect("public:subsidies_status")
    return render(
        request, "subsidies/public/done.html", {"app": get_object_or_404(Application, number=number)}
    )


def status(request):
    form = StatusLookupForm(request.POST or None)
    found = None
    payments = []
    code = 200
    if request.method == "POST":
        code = 400
        if form.is_valid():
            found = Application.objects.filter(
                number=form.cleaned_data["number"],
                person__id_number_hash=id_hash(form.cleaned_data["id_number"]),
            ).first()
            code = 200 if found else 404
            if found is None:
                form.add_error(None, "没有找到与该受理编号和身份证号相符的申请。")
            else:
                payments = list(
                    PayrollLine.objects.filter(grant__application=found, payroll__status=PayrollStatus.LOCKED)
                    .values("payroll__month", "kind", "bank_status")
                    .order_by("-payroll__month")
                )
    context = {"form": form, "app": found, "payments": payments, "paid": BankStatus.PAID}
    if found is not None:
        context["steps"] = found.steps.all()
    return render(request, "subsidies/public/status.html", context, status=code)
