"""满意度 on a phone, the worker's side: making a one-use link for a case's user or family, shown once
as text and as a QR code, and the case's links with whether they were used."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache

from kangfu.core import audit
from kangfu.core.forms import apply_service_errors
from kangfu.core.models import AuditAction
from kangfu.rehab.forms_groups import SurveyLinkForm
from kangfu.rehab.services import satisfaction as survey_services
from kangfu.rehab.views.common import _own


def _qr_svg(url: str) -> str:
    import segno

    return segno.make(url, error="m").svg_inline(scale=4)


@login_required
@never_cache  # the page that shows a new link holds its token, which is nowhere else
def case_survey_link(request, pk: int):
    case = _own(request, pk)
    form = SurveyLinkForm(request.POST or None)
    created = None
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                link, token = survey_services.survey_link_create(
                    actor=request.user, case=case, respondent=form.cleaned_data["respondent"]
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                url = request.build_absolute_uri(reverse("public:rehab_survey", args=[token]))
                created = {"link": link, "url": url, "qr": _qr_svg(url)}
                form = SurveyLinkForm()
                status = 200
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=case,
        person_id=case.person_id,
        summary="查看满意度问卷手机填写链接",
    )
    return render(
        request,
        "rehab/survey_link.html",
        {
            "case": case,
            "form": form,
            "created": created,
            "now": timezone.now(),
            "links": case.survey_links.select_related("created_by").order_by("-created_at")[:20],
        },
        status=status,
    )
