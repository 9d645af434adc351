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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import F, Lookup, Model, Q
from django.utils import timezone

from kangfu.core import access
from kangfu.core.ids import normalize_id_number
from kangfu.core.models import Region, RegionLevel, User
from kangfu.core.spreadsheets import id_text, parse_date, text
from kangfu.people.models import Person
from kangfu.people.services import id_hash

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
    # The tables a chunk's lookups read (models): their planner statistics are brought up to date
    # before each pass (`services`), so a lookup planned for an empty table does not read a full one.
    reads: ClassVar[tuple[type[Model], ...]] = ()
    options_help: ClassVar[dict[str, str]] = {}
    # Whether `clean` reads nothing but what the constructor loaded, so that a forked process may
    # clean a file's lines while this one checks them (`services.lines`); it must never query.
    clean_apart: ClassVar[bool] = False
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

    def prepare(self) -> None:  # noqa: B027 - most kinds have nothing to prepare
        """Before the confirmed import's transaction, in transactions of its own (partitions)."""

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


def choice(values: dict[str, Any], key: str, table: dict[str, str], message: str, found: list[str]) -> str:
    """A cell read through `table`, the words files use for each value; '' for an empty cell, and for
    a word not in it, whose problem (`message`) is added to `found`."""
    raw = text(values.get(key))
    if not raw:
        return ""
    if raw not in table:
        found.append(message.format(value=raw))
        return ""
    return table[raw]


# ------------------------------------------------------------------ what several kinds look up
# A line names its person by ID number and its places by code or name, whatever the kind.

ID_COLUMN = Column(
    "id_number",
    "身份证号",
    ("公民身份号码", "身份证号码", "证件号码", "证件号", "社会保障号码", "身份证"),
    True,
)
NAME_COLUMN = Column("name", "姓名", ("名字", "人员姓名", "残疾人姓名", "户主姓名", "申请人姓名"), True)

UNKNOWN_COMMUNITY = "居住社区“{value}”不是已知的社区（村）代码或名称。"
AMBIGUOUS_COMMUNITY = "居住社区“{value}”在多个街道都有，请加上街道列或写社区代码。"
NOT_A_COMMUNITY = "居住社区“{value}”不是社区（村）一级的区划。"
UNKNOWN_PERSON = "登记中没有该身份证号的人员，请先导入人员。"
NAME_DIFFERS = "姓名“{file}”与登记中的“{registry}”不一致，以登记为准。"


class _Among(Lookup):
    """`column = ANY(%s)` with the values as one array parameter (never registered on a field)."""

    lookup_name = "golive_among"
    prepare_rhs = False

    def as_sql(self, compiler, connection):
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", [*params, self.rhs]


def among(field: str, values: Any) -> Q | Lookup:
    """A filter on `field` being one of `values`, for a chunk's lookups (2,000 keys or more). On
    PostgreSQL one array parameter: `__in` makes a placeholder per key, which Django compiles value by
    value and the driver scans and quotes one by one, a tenth of the check's time in a profile at
    100,000 people. SQLite has no arrays and keeps `__in`."""
    values = list(values)
    if connection.vendor != "postgresql":
        return Q(**{f"{field}__in": values})
    return _Among(F(field), values)


def index_stamp() -> str:
    """A fingerprint of the installation's blind-index key (a blind index of a fixed text): cleaned
    lines carry their blind indexes, which serve the confirmed import only under the same key."""
    return id_hash("kangfu.golive.cleaned")


def clean_id(values: dict[str, Any], found: list[str], today: dt.date | None = None) -> str:
    """The ID number in its 18-character form, or '' with the problem added to `found`."""
    try:
        return normalize_id_number(
            id_text(values.get("id_number")), today=today or timezone.localdate()
        ).number
    except ValueError as exc:
        found.append(str(exc))
    except ValidationError as exc:
        found.append(exc.messages[0])
    return ""


_SUFFIXES = (
    "社区居民委员会",
    "社区居委会",
    "居民委员会",
    "村民委员会",
    "居委会",
    "村委会",
    "办事处",
    "社区",
    "街道",
    "村",
)


def name_key(name: str) -> str:
    """A region's name without what files add or leave out: 九江路社区居委会, 九江路社区 and 九江路 are
    one community; 大营门街道 and 大营门街道办事处 one street."""
    key = "".join(name.split())
    for _round in range(2):
        for suffix in _SUFFIXES:
            if key.endswith(suffix) and len(key) > len(suffix) + 1:
                key = key[: -len(suffix)]
                break
    return key


def registered(
    records: list[Record], actor, fields: tuple[str, ...], *, unknown: str, elsewhere: str
) -> None:
    """Find the registry's person of each line of a chunk by ID number (one query, and one for scope):
    `record.target` becomes {"person": {fields…}}; a line for someone unknown or outside the actor's
    scope gets `unknown` or `elsewhere`; a name that differs from the registry's is flagged."""
    hashes = {
        r.values["id_number"]: r.values.get("id_hash") or id_hash(r.values["id_number"])
        for r in records
        if not r.error
    }
    people = {
        row["id_number_hash"]: row
        for row in Person.objects.filter(among("id_number_hash", set(hashes.values()))).values(
            "pk", "id_number_hash", "name", *fields
        )
    }
    visible = set(people)
    if actor is not None and people:
        visible = set(
            # Lines name people by full ID number to act on them (a clinic's legacy cases before any
            # of them is served here): the jurisdiction decides, as for a referral.
            Person.objects.filter(
                access.reachable_q(actor), among("pk", [p["pk"] for p in people.values()])
            ).values_list("id_number_hash", flat=True)
        )
    for record in records:
        if record.error:
            continue
        digest = hashes[record.values["id_number"]]
        if digest not in people:
            record.error = unknown
        elif digest not in visible:
            record.error = elsewhere
        else:
            person = people[digest]
            record.target = {"person": person}
            if record.values.get("name") and record.values["name"] != person["name"]:
                record.flags.append(NAME_DIFFERS.format(file=record.values["name"], registry=person["name"]))


class Regions:
    """Region codes and names in memory for one import: a million lines resolve without a query."""

    def __init__(self) -> None:
        self.level: dict[str, int] = {}
        self.by_name: dict[tuple[int, str], list[str]] = defaultdict(list)
        fields = ["code", "name", "level"]
        fields.append("successor_id")
        self.successor: dict[str, str] = {}
        for row in Region.objects.values_list(*fields):
            code, name, level = row[:3]
            self.level[code] = level
            self.by_name[(level, name)].append(code)
            if name_key(name) != name:
                self.by_name[(level, name_key(name))].append(code)
            if row[3]:
                self.successor[code] = row[3]
        # Provinces served here (their streets are loaded): a name that several regions of China share,
        # 和平区 in Tianjin and in Shenyang, means the one served.
        self.served = {code[:2] for code, level in self.level.items() if level == RegionLevel.STREET}

    def code(self, raw: str) -> str | None:
        """A code written with 6, 9 or 12 digits, following an abolished code to its successor."""
        digits = raw.strip()
        if not (digits.isascii() and digits.isdigit()) or len(digits) not in (6, 9, 12):
            return None
        code = digits.ljust(12, "0")
        seen = 0
        while code in self.successor and seen < 5:
            code, seen = self.successor[code], seen + 1
        return code if code in self.level else None

    def community(self, value: str, street: str = "") -> tuple[str | None, str]:
        """(code, problem) for a community given by code or by name (within a street if given)."""
        code = self.code(value)
        if code is not None:
            if self.level[code] != RegionLevel.COMMUNITY:
                return None, NOT_A_COMMUNITY.format(value=value)
            return code, ""
        candidates = self.named(RegionLevel.COMMUNITY, value)
        if street:
            streets = [self.code(street)] if self.code(street) else self.named(RegionLevel.STREET, street)
            candidates = [c for c in candidates if any(c.startswith(s[:9]) for s in streets)]
        if not candidates:
            return None, UNKNOWN_COMMUNITY.format(value=value)
        if len(candidates) > 1:
            return None, AMBIGUOUS_COMMUNITY.format(value=value)
        return candidates[0], ""

    def named(self, level: int, value: str) -> list[str]:
        """Regions of a level by name as written, or else by its key (without 居委会, 街道 …)."""
        return self.by_name.get((level, value)) or sorted(set(self.by_name.get((level, name_key(value)), [])))

    def any(self, value: str) -> str | None:
        """A region of any level by code, or by a name that only one region has."""
        code = self.code(value)
        if code is not None:
            return code
        found = [c for level in range(1, 6) for c in self.named(level, value) if c not in self.successor]
        if len(found) > 1:
            found = [c for c in found if c[:2] in self.served]
        return found[0] if len(found) == 1 else None
