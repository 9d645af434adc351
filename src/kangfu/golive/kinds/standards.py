"""Subsidy standards: the monthly amount of each subsidy for a band of grades, in a city or a
district, from a month on, as the policy documents set them.

One line is one standard. A standard is known by its region, subsidy, grades and first month: the
same line again changes nothing, a new amount, last month or basis updates it. Each line is saved
through `standard_save`, which audits it and marks the grants it touches for recalculation. A
period that overlaps another standard of the same grades is refused, whether the other is stored
or on an earlier line of the file, with the message the standards page gives.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Q

from kangfu.core import access
from kangfu.core.models import Region, RegionLevel
from kangfu.core.spreadsheets import parse_grade, parse_month, text
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED, Column, Kind, Record, problems, register
from kangfu.golive.kinds.accounts import RegionNames, jurisdiction_prefix
from kangfu.golive.kinds.subsidies import KIND_COLUMN, _kind, _money
from kangfu.subsidies.models import Standard
from kangfu.subsidies.services.standards import OVERLAP, standard_save

NO_REGION = "缺少区划。"
NOT_CITY_OR_DISTRICT = "区划“{value}”不是市或区（县）：标准只能按市或区设定。"
OUT_OF_SCOPE = "区划“{value}”不在您的管辖范围内。"
NO_GRADES = "缺少残疾等级：请填写等级自和等级至，或一列“等级”（如 1-2、一至二级）。"
HALF_GRADES = "等级自和等级至须同时填写（单一等级两列填相同的值）。"
BAD_GRADES = "残疾等级“{value}”应写作 1-2、一至二级、三级等。"
GRADE_ORDER = "等级自不能大于等级至。"
NO_AMOUNT = "缺少月标准。"
NO_START = "缺少起始月份。"
END_BEFORE_START = "截止月份早于起始月份。"
OVERLAP_IN_FILE = "与第 {line} 行（{grades}级，{start} 起）的期间重叠。"

_RANGE = re.compile(r"\s*(?:-|~|～|—|–|至|到|、|,|，)\s*")


def _grades(values: dict[str, Any], found: list[str]) -> tuple[int | None, int | None]:
    """(lowest, highest) grade from 等级自/等级至 or from one 等级 column such as 1-2, 一至二级."""
    low, high = text(values.get("grade_min")), text(values.get("grade_max"))
    if low or high:
        if not (low and high):
            found.append(HALF_GRADES)
            return None, None
        try:
            return parse_grade(low), parse_grade(high)
        except ValueError as exc:
            found.append(str(exc))
            return None, None
    raw = text(values.get("grades"))
    if not raw:
        found.append(NO_GRADES)
        return None, None
    parts = [p for p in _RANGE.split(raw.replace("级", "")) if p]
    if len(parts) not in (1, 2):
        found.append(BAD_GRADES.format(value=raw))
        return None, None
    try:
        grades = [parse_grade(p) for p in parts]
    except ValueError:
        found.append(BAD_GRADES.format(value=raw))
        return None, None
    return grades[0], grades[-1]


def _month(values: dict[str, Any], key: str, found: list[str]) -> dt.date | None:
    try:
        return parse_month(values.get(key))
    except ValueError as exc:
        found.append(str(exc))
        return None


def _overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether two standards of the same region and subsidy cover a common grade in a common month."""
    if a["grade_min"] > b["grade_max"] or b["grade_min"] > a["grade_max"]:
        return False
    a_end, b_end = a["valid_to"] or dt.date.max, b["valid_to"] or dt.date.max
    return a["valid_from"] <= b_end and b["valid_from"] <= a_end


def _identity(values: dict[str, Any]) -> tuple[str, str, int, int, dt.date]:
    return (values["region"], values["kind"], values["grade_min"], values["grade_max"], values["valid_from"])


@register
class StandardsKind(Kind):
    name = "standards"
    label = "补贴标准"
    ability = "sets_standards"
    description = (
        "一行一条标准：区划（市或区）、补贴类别、等级、月标准、起始月份，可有截止月份和依据。"
        "区划、类别、等级和起始月份相同的视为同一条标准，只更新金额、截止月份和依据；"
        "与其他标准期间重叠的行不导入（先给原标准填截止月份）。"
    )
    columns = [
        Column(
            "region", "区划", ("适用区划", "地区", "区划代码", "市区", "适用地区"), True, "市或区，代码或名称"
        ),
        KIND_COLUMN,
        Column("grade_min", "等级自", ("残疾等级自", "起始等级", "等级起"), note="一级至四级或 1–4"),
        Column("grade_max", "等级至", ("残疾等级至", "截止等级", "等级止")),
        Column(
            "grades", "等级", ("残疾等级", "等级范围", "适用等级"), note="一列写范围时用，如 1-2、一至二级"
        ),
        Column(
            "amount",
            "月标准（元）",
            ("月标准(元)", "月标准", "标准", "补贴标准", "金额", "月金额", "标准（元/月）", "标准(元/月)"),
            True,
        ),
        Column("valid_from", "起始月份", ("起始年月", "执行月份", "生效月份", "起始时间", "执行时间"), True),
        Column("valid_to", "截止月份", ("截止年月", "终止月份", "截止时间", "终止年月")),
        Column("note", "依据", ("文件依据", "政策依据", "文号", "备注")),
    ]
    # A city has a handful of standards: the whole file is one chunk, so the overlaps between its
    # lines are checked together.
    chunk_size = 100_000

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.regions = RegionNames()
        self.within = jurisdiction_prefix(self.actor)
        self.accepted: list[tuple[int, dict[str, Any]]] = []  # (line, values) of earlier chunks

    def key(self, record: Record) -> Any:
        return _identity(record.values)

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {"region": ""}
        raw = text(values.get("region"))
        if not raw:
            found.append(NO_REGION)
        else:
            code, problem = self.regions.find(raw, within=self.within)
            if problem:
                found.append(problem)
            elif self.regions.level[code] not in (RegionLevel.CITY, RegionLevel.DISTRICT):
                found.append(NOT_CITY_OR_DISTRICT.format(value=raw))
            elif self.actor is not None and not access.region_in_jurisdiction(self.actor, code):
                found.append(OUT_OF_SCOPE.format(value=raw))
            else:
                out["region"] = code
        out["kind"] = _kind(values, found)
        out["grade_min"], out["grade_max"] = _grades(values, found)
        if out["grade_min"] and out["grade_max"] and out["grade_min"] > out["grade_max"]:
            found.append(GRADE_ORDER)
        out["amount"] = _money(values.get("amount"), found)
        if out["amount"] is None and not any("金额" in p for p in found):
            found.append(NO_AMOUNT)
        out["valid_from"] = _month(values, "valid_from", found)
        out["valid_to"] = _month(values, "valid_to", found)
        if out["valid_from"] is None and not any("月份" in p for p in found):
            found.append(NO_START)
        if out["valid_from"] and out["valid_to"] and out["valid_to"] < out["valid_from"]:
            found.append(END_BEFORE_START)
        out["note"] = text(values.get("note"))[:200]
        problems(found)
        return out

    def check(self, records: list[Record]) -> None:
        live = [r for r in records if not r.error]
        stored: dict[tuple, dict[str, Any]] = {}
        pairs = {(r.values["region"], r.values["kind"]) for r in live}
        if pairs:
            where = Q()
            for region, kind in pairs:
                where |= Q(region_id=region, kind=kind)
            for row in Standard.objects.filter(where).values(
                "pk",
                "region_id",
                "kind",
                "grade_min",
                "grade_max",
                "amount",
                "valid_from",
                "valid_to",
                "note",
            ):
                row["region"] = row["region_id"]
                stored[_identity(row)] = row
        # The standards as they will be once the file is in, each with the line that sets it (None:
        # as stored). A line replaces the stored standard it names, wherever it stands in the file,
        # so one line may end an old standard and another start the next; between two new
        # standards, the earlier line wins.
        planned: dict[tuple, tuple[int | None, dict[str, Any]]] = {k: (None, v) for k, v in stored.items()}
        planned.update((_identity(values), (line, values)) for line, values in self.accepted)
        for record in live:
            values = record.values
            current = stored.get(_identity(values))
            if current is not None:
                if not values["note"]:
                    values["note"] = current["note"]  # an empty cell keeps the basis on record
                planned[_identity(values)] = (record.line, values)
        for record in live:
            values = record.values
            identity = _identity(values)
            clash = next(
                (
                    (line, other)
                    for key, (line, other) in planned.items()
                    if key != identity
                    and key[:2] == identity[:2]
                    and (line is None or key in stored or line < record.line)
                    and _overlaps(values, other)
                ),
                None,
            )
            if clash is not None:
                line, other = clash
                grades, start = f"{other['grade_min']}–{other['grade_max']}", f"{other['valid_from']:%Y-%m}"
                record.error = (
                    OVERLAP.format(grades=grades, start=start)
                    if line is None
                    else OVERLAP_IN_FILE.format(line=line, grades=grades, start=start)
                )
                continue
            planned[identity] = (record.line, values)
            self.accepted.append((record.line, values))
            current = stored.get(identity)
            record.target = current
            if current is None:
                record.change = NEW
            elif all(current[k] == values[k] for k in ("amount", "valid_to", "note")):
                record.change = UNCHANGED
            else:
                record.change = CHANGED

    def apply(self, records: list[Record]) -> None:
        # Changes first: a line that ends an old standard must be saved before the line that starts
        # the next one, or the service would find them overlapping.
        todo = [r for r in records if r.change == CHANGED] + [r for r in records if r.change == NEW]
        regions = Region.objects.in_bulk({r.values["region"] for r in todo})
        standards = Standard.objects.in_bulk([r.target["pk"] for r in todo if r.target])
        for record in todo:
            values = record.values
            standard_save(
                actor=self.actor,
                standard=standards[record.target["pk"]] if record.target else None,
                region=regions[values["region"]],
                kind=values["kind"],
                grade_min=values["grade_min"],
                grade_max=values["grade_max"],
                amount=values["amount"],
                valid_from=values["valid_from"],
                valid_to=values["valid_to"],
                note=values["note"],
            )
