"""The registry of measures a report definition may name as its columns.

A measure is a function of (period, reporting unit, row dimension) that answers every row at once:
{row key: value}. It reads the services' own tables, counters and selectors with a few grouped
queries (never a query per row). A rate is not computed from rows but from two other measures, its
numerator and denominator, so that a level above recomputes it from the parts it adds up.

Keys of rows: `region` → the 12-digit code of a region one level below the unit; `unit` → the unit's
own code; `service_type` → a 精康 service type; `subsidy_kind` → living / care.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from contextvars import ContextVar
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Substr
from django.urls import reverse
from django.utils import timezone

from kangfu.core.models import LEVEL_DIGITS, RegionLevel, level_of_code
from kangfu.reports.rules import Period

UNKNOWN_MEASURE = "报表定义引用了不存在的指标：{codes}。"
ROWS_NOT_SUPPORTED = "指标“{label}”不能按“{rows}”分行。"
NO_COLUMNS = "报表定义至少要有一列指标。"
BAD_COLUMN = "报表定义的列应为指标代码或含 measure 的对象。"

ZERO = Decimal("0.00")
RATE = Decimal("0.1")

Value = int | Decimal | None


@dataclass(frozen=True)
class Scope:
    """What a measure answers for: a closed period, the reporting unit (a region code) and the rows."""

    period: Period
    unit: str
    rows: str

    @property
    def level(self) -> RegionLevel:
        return level_of_code(self.unit)

    @property
    def prefix(self) -> str:
        return self.unit[: LEVEL_DIGITS[self.level]]


@dataclass(frozen=True)
class Measure:
    code: str
    label: str
    kind: str  # count | money | rate | target
    doc: str
    compute: Callable[[Scope], dict[str, Value]] | None = None
    dims: frozenset[str] = frozenset({"unit"})
    parts: tuple[str, str] | None = None  # a rate's (numerator, denominator)
    drill: Callable[[Scope, str], str] | None = None
    app: str = ""

    @property
    def additive(self) -> bool:
        return self.kind in ("count", "money")


MEASURES: dict[str, Measure] = {}


def register(
    code: str,
    label: str,
    *,
    kind: str = "count",
    dims: tuple[str, ...] = ("unit",),
    drill: Callable[[Scope, str], str] | None = None,
) -> Callable:
    """Register the decorated function as the measure `code`; its docstring is the definition shown
    beside the report."""

    def decorate(fn: Callable[[Scope], dict[str, Value]]):
        MEASURES[code] = Measure(
            code,
            label,
            kind,
            (fn.__doc__ or "").strip(),
            fn,
            frozenset(dims),
            drill=drill,
            app=code.split(".")[0],
        )
        return fn

    return decorate


def register_rate(code: str, label: str, *, parts: tuple[str, str], doc: str, drill=None) -> None:
    numerator, denominator = (MEASURES[p] for p in parts)
    MEASURES[code] = Measure(
        code,
        label,
        "rate",
        doc,
        dims=numerator.dims & denominator.dims,
        parts=parts,
        drill=drill,
        app=code.split(".")[0],
    )


def rate(numerator: Value, denominator: Value) -> Decimal | None:
    """A percentage to one decimal place, or None where there is nothing to divide by."""
    if not denominator:
        return None
    return (Decimal(numerator or 0) * 100 / Decimal(denominator)).quantize(RATE)


def get(code: str) -> Measure:
    return MEASURES[code]


def value(code: str, scope: Scope, key: str) -> Value:
    """One row's value of one measure, (period, unit, rows) → key → value: a rate from its parts, a
    target as it is. Reports compute whole columns at once (`compute`); this is for a single figure."""
    measure = MEASURES[code]
    if measure.parts:
        return rate(value(measure.parts[0], scope, key), value(measure.parts[1], scope, key))
    if measure.kind == "target":
        return measure.compute(scope).get("")
    return measure.compute(scope).get(key)


def validate_columns(columns: object, rows: str) -> list[dict]:
    """The columns of a definition, normalised to [{"measure", "label"}], or a ValidationError naming
    every unknown measure, or the first that cannot be grouped by the rows."""
    if not isinstance(columns, list) or not columns:
        raise ValidationError(NO_COLUMNS)
    out = []
    for column in columns:
        if isinstance(column, str):
            column = {"measure": column}
        if not isinstance(column, dict) or not isinstance(column.get("measure"), str):
            raise ValidationError(BAD_COLUMN)
        out.append({"measure": column["measure"], "label": str(column.get("label") or "")})
    unknown = [c["measure"] for c in out if c["measure"] not in MEASURES]
    if unknown:
        raise ValidationError(UNKNOWN_MEASURE.format(codes="、".join(unknown)))
    from kangfu.reports.models import RowDimension

    for column in out:
        measure = MEASURES[column["measure"]]
        if measure.kind != "target" and rows not in measure.dims:
            raise ValidationError(
                ROWS_NOT_SUPPORTED.format(label=measure.label, rows=RowDimension(rows).label)
            )
        column["label"] = column["label"] or measure.label
    return out


def base_measures(codes: list[str]) -> list[str]:
    """The measures to compute for these columns: each column's own, and a rate's parts instead of it."""
    out: list[str] = []
    for code in codes:
        measure = MEASURES[code]
        for part in measure.parts or (code,):
            if part not in out:
                out.append(part)
    return out


# ------------------------------------------------------------------ grouping helpers


def _code_range(field_name: str, prefix: str) -> Q:
    """Rows whose region code lies under `prefix`, as a range (indexable, unlike LIKE on SQLite)."""
    upper = str(int(prefix) + 1).zfill(len(prefix))
    return Q(**{f"{field_name}__gte": prefix.ljust(12, "0"), f"{field_name}__lt": upper.ljust(12, "0")})


def _child_digits(scope: Scope) -> int:
    child = RegionLevel(min(scope.level + 1, RegionLevel.COMMUNITY))
    return LEVEL_DIGITS[child]


def grouped(
    queryset: QuerySet,
    scope: Scope,
    *,
    code: str,
    value,
    keys: dict[str, str] | None = None,
    scoped: bool = False,
) -> dict[str, Value]:
    """`value` (an aggregate) over `queryset` within the unit (by the region code in `code`), per row
    of `scope.rows`: per region one level down, the unit as a whole, or per the field `keys` names for
    a category dimension. `scoped` says the queryset is already limited to the unit."""
    return grouped_many(queryset, scope, code=code, values={"v": value}, keys=keys, scoped=scoped)["v"]


def grouped_many(
    queryset: QuerySet,
    scope: Scope,
    *,
    code: str,
    values: dict[str, Any],
    keys: dict[str, str] | None = None,
    scoped: bool = False,
) -> dict[str, dict[str, Value]]:
    """`grouped` for several aggregates over the same rows in one statement: {name: {row key: value}}
    for each aggregate of `values`."""
    if not scoped:
        queryset = queryset.filter(_code_range(code, scope.prefix))
    if scope.rows == "unit":
        found = queryset.aggregate(**values)
        return {name: {scope.unit: found[name]} for name in values}
    if scope.rows == "region":
        rows, key = queryset.values(k=Substr(code, 1, _child_digits(scope))), lambda k: k.ljust(12, "0")
    else:
        rows, key = queryset.values(k=F((keys or {})[scope.rows])), str
    out: dict[str, dict[str, Value]] = {name: {} for name in values}
    for r in rows.annotate(**values).order_by():
        for name in values:
            out[name][key(r["k"])] = r[name]
    return out


# Measures computed together for one report may share a statement (应享 and 已享 read the same
# eligible people): `shared` runs it once per `compute` and hands both measures its answer.
_shared: ContextVar[dict | None] = ContextVar("kangfu_measures_shared", default=None)


def shared(key: Hashable, fn: Callable[[], Any]) -> Any:
    """`fn()`, computed once per key within one `compute` (outside one, every time)."""
    memo = _shared.get()
    if memo is None:
        return fn()
    if key not in memo:
        memo[key] = fn()
    return memo[key]


def list_url(name: str, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return reverse(name) + (f"?{query}" if query else "")


def street_of(scope: Scope, key: str) -> str:
    return key if scope.rows == "region" and scope.level == RegionLevel.DISTRICT else ""


def end_instant(period: Period) -> dt.datetime:
    """The first instant after the period, in the deployment's time zone."""
    return timezone.make_aware(dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min))


# ------------------------------------------------------------------ computing a report's figures


@dataclass
class Table:
    """A report's figures before they are frozen: rows of {measure: value} and the total."""

    rows: list[dict] = field(default_factory=list)
    total: dict[str, Value] = field(default_factory=dict)


def _zero(measure: Measure) -> Value:
    return ZERO if measure.kind == "money" else 0


def compute(scope: Scope, columns: list[str], row_keys: list[tuple[str, str]]) -> Table:
    """Every row's value of every column (and of the parts of its rates), then the total: additive
    measures summed over the rows, rates recomputed from their summed parts, targets as they are.
    For `unit` rows the one row is the total."""
    codes = base_measures(columns)
    values: dict[str, dict[str, Value]] = {}
    token = _shared.set({})
    try:
        for code in codes:
            measure = MEASURES[code]
            if measure.kind == "target":
                continue
            values[code] = measure.compute(scope)
    finally:
        _shared.reset(token)
    table = Table()
    for key, label in row_keys:
        row = {code: (values[code].get(key) if code in values else None) for code in codes}
        for code in codes:
            if MEASURES[code].additive and row[code] is None:
                row[code] = _zero(MEASURES[code])
        table.rows.append({"key": key, "label": label, "values": row})
    table.total = total_of([r["values"] for r in table.rows], codes)
    finish(table, columns, scope)
    return table


def total_of(rows: list[dict], codes: list[str]) -> dict[str, Value]:
    out: dict[str, Value] = {}
    for code in codes:
        measure = MEASURES[code]
        if measure.additive:
            out[code] = sum((r.get(code) or _zero(measure) for r in rows), _zero(measure))
    return out


def finish(table: Table, columns: list[str], scope: Scope) -> None:
    """Fill in the rates (from their parts) and the targets, on every row and the total."""
    for code in columns:
        measure = MEASURES[code]
        targets = measure.compute(scope) if measure.kind == "target" else None
        for values in [*(r["values"] for r in table.rows), table.total]:
            if measure.parts:
                values[code] = rate(values.get(measure.parts[0]), values.get(measure.parts[1]))
            elif targets is not None:
                values[code] = targets.get("")


# The measures of each service register themselves on import (after the registry above exists).
from kangfu.reports.measures import devices, rehab, subsidies  # noqa: E402, F401
