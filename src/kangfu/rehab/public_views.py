"""The public page of 满意度 on a phone: anyone holding a live link answers the survey once, without an
account. It shows the questions and the institution's name, nothing of the person; a wrong, used or
expired link says so. Posts are limited per address like every public form (core.throttle), and the
token, 256 random bits, cannot be guessed."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from kangfu.core.forms import apply_service_errors
from kangfu.rehab.forms_aftercare import SatisfactionForm
from kangfu.rehab.services import satisfaction as survey_services


def _private(response):
    # The token is in the address: no other site may be told it, and no cache may keep the page.
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
def survey(request, token: str):
    try:
        link = survey_services.survey_link_open(token)
    except survey_services.LinkRefused as exc:
        status = 404 if exc.code == "unknown" else 410
        return _private(
            render(request, "rehab/public/survey_closed.html", {"message": exc.message}, status=status)
        )
    form = SatisfactionForm(request.POST or None)
    # The date is the day it is filled in; the respondent is the link's.
    for name in ("filled_on", "respondent"):
        form.fields[name].required = False
        form.fields[name].widget = form.fields[name].hidden_widget()
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                survey_services.survey_record_by_link(
                    token=token, scores=form.scores(), comment=form.cleaned_data["comment"]
                )
            except survey_services.LinkRefused as exc:
                return _private(
                    render(request, "rehab/public/survey_closed.html", {"message": exc.message}, status=410)
                )
            except ValidationError as exc:
                apply_service_errors(form, exc)
            else:
                return redirect("public:rehab_survey_done")
        status = 400
    else:
        survey_services.survey_link_opened(link)
    return _private(
        render(
            request,
            "rehab/public/survey.html",
            {
                "form": form,
                "institution": link.institution.name,
                "respondent": link.get_respondent_display(),
            },
            status=status,
        )
    )


@require_GET
def survey_done(request):
    return render(request, "rehab/public/survey_done.html")
