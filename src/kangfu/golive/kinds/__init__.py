"""What each kind of import reads, and how a kind plugs into the one import flow.

A kind declares its columns (with the header names agencies use for them), turns one line into a
record (`clean`, pure), checks a chunk of records against the database (`check`, which marks each
new, changed, unchanged or refused), and writes a checked chunk (`apply`, inside the caller's one
transaction). The flow in `kangfu.golive.services` streams the file, finds the header, keeps the
report and runs the same steps for the preview and for the confirmed import.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.utils import timezone

from kangfu.core.models import User
from kangfu.core.spreadsheets import parse_date, text

NEW, CHANGED, UNCHANGED = "new", "changed", "unchanged"
COUNT_LABELS = {NEW: "新增", CHANGED: "变更", UNCHANGED: "未变"}


@dataclass(frozen=True)
class Column:
    """One field a kind reads: its label on the upload page, the headers it is known by, whether a
    file must have it, and a word on what it holds."""

    field: str
    label: str
    synonyms: tuple[str, ...] = ()
    required: bool = False
    note: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.label, *self.synonyms)


@dataclass
class Record:
    """One line of a file after `clean`: its values, and what `check` found."""

    line: int
    values: dict[str, Any]
    change: str = ""  # NEW, CHANGED or UNCHANGED once checked
    error: str = ""
    flags: list[str] = field(default_factory=list)
    target: Any = None  # whatever `check` found in the database for `apply`


class Kind(ABC):
    """Base of every import kind; subclasses set the class attributes and the three steps."""

    name: ClassVar[str]
    label: ClassVar[str]
    ability: ClassVar[str] = "writes_people"  # the RolePolicy field a user needs
    columns: ClassVar[list[Column]]
    description: ClassVar[str] = ""
    chunk_size: ClassVar[int] = 2000
    options_help: ClassVar[dict[str, str]] = {}
    do_not_call_in_templates: ClassVar[bool] = True  # pages show a kind's class attributes

    def __init__(self, *, actor: User | None, options: dict[str, Any]):
        self.actor = actor
        self.options = options
        self.counts: Counter[str] = Counter()
        self.today = timezone.localdate()

    def check_options(self) -> None:  # noqa: B027 - most kinds take no options
        """Raise ValidationError if the options a kind needs are missing or wrong."""

    def key(self, record: Record) -> Any:
        """What may appear only once in a file (None: anything may repeat)."""
        return record.values.get("id_number")

    @abstractmethod
    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        """One line's cells by field → the record's values; ValueError with the line's problems."""
        ...

    @abstractmethod
    def check(self, records: list[Record]) -> None:
        """Mark each record NEW, CHANGED or UNCHANGED, or give it an error; batched lookups only."""
        ...

    @abstractmethod
    def apply(self, records: list[Record]) -> None:
        """Write the checked records without an error (NEW and CHANGED; UNCHANGED need nothing)."""
        ...

    def finish(self) -> None:  # noqa: B027 - most kinds have nothing to finish
        """After the last chunk of a confirmed import, inside its transaction."""


KINDS: dict[str, type[Kind]] = {}


def register(kind: type[Kind]) -> type[Kind]:
    KINDS[kind.name] = kind
    return kind


BAD_DATE = "{label}“{value}”不是可识别的日期。"
FUTURE = "{label}晚于今天。"


def dated(
    values: dict[str, Any], key: str, label: str, found: list[str], today: dt.date, *, future: bool = False
) -> dt.date | None:
    """A date cell as agencies write it; a bad or (unless `future`) a future date adds its problem."""
    try:
        day = parse_date(values.get(key))
    except ValueError:
        found.append(BAD_DATE.format(label=label, value=text(values.get(key))))
        return None
    if day is not None and not future and day > today:
        found.append(FUTURE.format(label=label))
    return day


def problems(found: list[str]) -> None:
    if found:
        raise ValueError("；".join(found))
