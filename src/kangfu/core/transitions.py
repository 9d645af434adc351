"""The one way a row changes state: a conditional UPDATE that moves it only from the state the caller
saw, so two people acting at once (or a double click) cannot both succeed and nothing is read
first and written later."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db.models import QuerySet


class Conflict(ValidationError):
    """Someone else acted first: the row is no longer as the caller saw it, and nothing changed. A
    page shows the message like any other refusal; the API answers 409."""


def advance(
    rows: QuerySet,
    *,
    expected: str | Iterable[str],
    message: str,
    version: int | None = None,
    field: str = "status",
    **updates,
) -> None:
    """Apply `updates` to the one row of `rows` whose `field` is `expected` (one state or several)
    and, when `version` is given, whose version is still that one (bumped in the same statement).
    Exactly one row must change, else `Conflict(message)`."""
    states = [expected] if isinstance(expected, str) else list(expected)
    rows = rows.filter(**{f"{field}__in": states})
    if version is not None:
        rows = rows.filter(version=version)
        updates["version"] = version + 1
    if rows.update(**updates) != 1:
        raise Conflict(message)
