"""What the 精康 pages share: reading a row number or a person from a form, the own-case getter, running
a service for a form and putting its refusal on the page.
"""

from __future__ import annotations

import dataclasses

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect

from kangfu.core.forms import apply_service_errors
from kangfu.rehab import selectors
from kangfu.rehab.models import Case
from kangfu.rehab.services.common import require_home

NOT_REGISTERED = "该身份证号未在一人一档中登记，请先登记人员。"
MAX_PK = 2**31 - 1  # PostgreSQL's integer column


def _pk(value: str | None) -> int | None:
    """A row number from a form or a query string, None for anything else: letters, a digit like
    '²' that str.isdigit accepts, or a number beyond the column, which the database would answer
    with an error rather than with nothing."""
    if value and value.isascii() and value.isdigit() and 1 <= int(value) <= MAX_PK:
        return int(value)
    return None


def _service_data(cls, cleaned: dict):
    """A service's input dataclass from a form whose fields bear the same names."""
    return cls(
        **{field.name: cleaned[field.name] for field in dataclasses.fields(cls) if field.name in cleaned}
    )


def _own(request, pk: int) -> Case:
    require_home(request.user)
    return selectors.own_case(request.user, pk)


def _handle(request, form, action, success: str, redirect_to):
    """Run a service for a valid form; on a refusal put its message on the form."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as exc:
            apply_service_errors(form, exc)
        else:
            messages.success(request, success)
            return redirect(*redirect_to)
    return None


def _case_errors(request, case: Case, form) -> HttpResponse:
    for field, errors in form.errors.items():
        for message in errors:
            messages.error(
                request, message if field == "__all__" else f"{form.fields[field].label}：{message}"
            )
    return redirect("rehab:case", pk=case.pk)


def _sites(request):
    return selectors.sites_for(request.user)
