"""Referrals between institutions: sending one, the lists in and out, answering."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from kangfu.core import access, audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.ids import mask_id_number
from kangfu.core.models import AuditAction, OrganisationKind
from kangfu.people.selectors import person_by_id_number
from kangfu.rehab import forms as f
from kangfu.rehab import selectors
from kangfu.rehab.models import EmploymentType, SharePart, Transfer
from kangfu.rehab.services import transfers as transfer_services
from kangfu.rehab.services.common import require_home
from kangfu.rehab.views.common import NOT_REGISTERED, _own, _service_data


@login_required
def case_transfer(request, pk: int):
    case = _own(request, pk)
    form = f.TransferForm(request.POST or None, targets=selectors.referral_targets(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            try:
                transfer_services.transfer_send(
                    actor=request.user,
                    person=case.person,
                    case=case,
                    data=_service_data(transfer_services.TransferData, d),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已发出转介至{d['to_org'].name}。")
                return redirect("rehab:case", pk=case.pk)
        status = 400
    return render(
        request, "rehab/case_form.html", {"form": form, "case": case, "title": "转介"}, status=status
    )


@login_required
@require_GET
def transfers(request):
    require_home(request.user)
    return render(
        request,
        "rehab/transfers.html",
        {
            "incoming": selectors.transfers_in(request.user).select_related("person", "from_org")[:100],
            "outgoing": selectors.transfers_out(request.user).select_related("person", "to_org")[:100],
            "today": timezone.localdate(),
        },
    )


@login_required
def transfer_new(request):
    """A referral of a patient who has no case here (a hospital's patient to community rehab)."""
    require_home(request.user)
    form = f.PersonTransferForm(request.POST or None, targets=selectors.referral_targets(request.user))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            d = form.cleaned_data
            person = person_by_id_number(d["id_number"], user=request.user, to_act=True)
            if person is None:
                form.add_error("id_number", NOT_REGISTERED)
            else:
                try:
                    transfer = transfer_services.transfer_send(
                        actor=request.user,
                        person=person,
                        data=_service_data(transfer_services.TransferData, d),
                    )
                except ValidationError as exc:
                    apply_service_errors(form, exc)
                else:
                    messages.success(request, f"已发出转介至{transfer.to_org.name}。")
                    return redirect("rehab:transfer", pk=transfer.pk)
        status = 400
    return render(request, "rehab/form.html", {"form": form, "title": "发起转介"}, status=status)


def _transfer(request, pk: int) -> Transfer:
    require_home(request.user)
    return selectors.transfer_for(request.user, pk)


@login_required
def transfer_detail(request, pk: int):
    transfer = _transfer(request, pk)
    ids = access.rehab_org_ids(request.user)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "accept":
                transfer_services.transfer_accept(actor=request.user, transfer=transfer)
                messages.success(request, "已接收转介。")
            elif action == "decline":
                transfer_services.transfer_decline(
                    actor=request.user, transfer=transfer, reason=request.POST.get("reason", "")
                )
                messages.success(request, "已拒绝转介。")
            elif action == "cancel":
                transfer_services.transfer_cancel(actor=request.user, transfer=transfer)
                messages.success(request, "已撤回转介。")
            elif action == "complete":
                transfer_services.transfer_complete(actor=request.user, transfer=transfer)
                messages.success(request, "已确认转介完成。")
            else:
                raise Http404
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        if action == "decline" and transfer.to_org_id in ids:
            return redirect("rehab:transfers")
        return redirect("rehab:transfer", pk=transfer.pk)
    sender = transfer.from_org_id in ids
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=transfer,
        person_id=transfer.person_id,
        summary="查看转介",
    )
    return render(
        request,
        "rehab/transfer.html",
        {
            "t": transfer,
            "sender": sender,
            "answers": (transfer.to_org_id in ids)
            or (sender and transfer.to_org.kind == OrganisationKind.EMPLOYER),
            "shared_labels": [SharePart(p).label for p in transfer.shared],
            "employment_label": dict(EmploymentType.choices).get(transfer.employment_type, ""),
            "today": timezone.localdate(),
            "masked_id": mask_id_number(transfer.person.id_number),
        },
    )
