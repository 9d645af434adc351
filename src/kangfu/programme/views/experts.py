"""Pages of the expert bank (专家库) and the programme's trainings with their attendance. Thin views over
`selectors_experts` and `services.experts`."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from kangfu.core.forms import apply_service_errors
from kangfu.core.pagination import CappedPaginator
from kangfu.programme import selectors
from kangfu.programme import selectors_experts as experts_read
from kangfu.programme.forms_experts import AttendanceForm, ExpertForm, TrainingForm, WindowForm
from kangfu.programme.services import experts as expert_services
from kangfu.programme.views.contracts import PER_PAGE, _manager, _reader, _refused


def _page(request, rows):
    return CappedPaginator(rows, PER_PAGE).get_page(request.GET.get("page"))


# ------------------------------------------------------------------ experts


@login_required
@require_GET
def experts(request):
    _manager(request)
    page = _page(request, experts_read.expert_list_for(request.user))
    return render(request, "programme/experts.html", {"page": page})


@login_required
def expert_new(request):
    _manager(request)
    form = ExpertForm(request.POST or None, user=request.user)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                expert = expert_services.expert_create(
                    actor=request.user, data=expert_services.ExpertData(**form.cleaned_data)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, f"已将 {expert.name} 纳入专家库，请登记其可用时段。")
                return redirect("programme:expert", pk=expert.pk)
        status = 400
    return render(request, "programme/form.html", {"form": form, "title": "专家入库"}, status=status)


def _expert_page(request, expert, form=None, status: int = 200):
    context = {
        "expert": expert,
        "phone": experts_read.phone_for(request.user, expert),
        "windows": experts_read.windows_of(expert),
        "form": form or WindowForm(),
        "today": timezone.localdate(),
    }
    return render(request, "programme/expert.html", context, status=status)


@login_required
@require_GET
def expert_detail(request, pk: int):
    _manager(request)
    return _expert_page(request, experts_read.expert_get_for_user(user=request.user, pk=pk))


@login_required
@require_POST
def expert_window_add(request, pk: int):
    _manager(request)
    expert = experts_read.expert_get_for_user(user=request.user, pk=pk)
    form = WindowForm(request.POST)
    if form.is_valid():
        try:
            expert_services.expert_window_add(actor=request.user, expert=expert, **form.cleaned_data)
        except PermissionDenied as exc:
            _refused(request, exc)
            return redirect("programme:expert", pk=expert.pk)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, "已登记可用时段。")
            return redirect("programme:expert", pk=expert.pk)
    return _expert_page(request, expert, form, status=400)


# ------------------------------------------------------------------ trainings


@login_required
@require_GET
def trainings(request):
    _reader(request)
    rows = experts_read.trainings_for(request.user).order_by("-held_on", "-id")
    return render(
        request,
        "programme/trainings.html",
        {"page": _page(request, rows), "manages": selectors.manages(request.user)},
    )


@login_required
def training_new(request):
    _manager(request)
    form = TrainingForm(request.POST or None, user=request.user, initial={"held_on": timezone.localdate()})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                training = expert_services.training_create(
                    actor=request.user,
                    data=expert_services.TrainingData(
                        held_on=form.cleaned_data["held_on"],
                        hours=form.cleaned_data["hours"],
                        topic=form.cleaned_data["topic"],
                        place=form.cleaned_data["place"],
                        trainers=list(form.cleaned_data["trainers"]),
                    ),
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                messages.success(request, "已新增培训，培训后请登记签到。")
                return redirect("programme:training", pk=training.pk)
        status = 400
    return render(request, "programme/form.html", {"form": form, "title": "新增培训"}, status=status)


def _training_page(request, training, form=None, status: int = 200):
    manages = selectors.manages(request.user)
    trainers = [(e, experts_read.phone_for(request.user, e)) for e in training.trainers.order_by("name")]
    context = {
        "training": training,
        "trainers": trainers,
        "attendance": experts_read.attendance_of(request.user, training),
        "manages": manages,
        "held": training.held_on <= timezone.localdate(),
        "form": form or (AttendanceForm(user=request.user) if manages else None),
    }
    return render(request, "programme/training.html", context, status=status)


@login_required
@require_GET
def training_detail(request, pk: int):
    _reader(request)
    return _training_page(request, experts_read.training_get_for_user(user=request.user, pk=pk))


@login_required
@require_POST
def training_attendance(request, pk: int):
    _manager(request)
    training = experts_read.training_get_for_user(user=request.user, pk=pk)
    form = AttendanceForm(request.POST, user=request.user)
    if form.is_valid():
        try:
            rows = expert_services.attendance_record(
                actor=request.user, training=training, staff_ids=[s.pk for s in form.cleaned_data["staff"]]
            )
        except PermissionDenied as exc:
            _refused(request, exc)
            return redirect("programme:training", pk=training.pk)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, f"已登记 {len(rows)} 人签到，学时计入其年度培训。")
            return redirect("programme:training", pk=training.pk)
    return _training_page(request, training, form, status=400)
