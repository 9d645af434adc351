"""Assessment scales as data.

A scale is a TOML file in `rehab/scales/`: its items, the options of each item with their scores
(an option may be "not applicable" and then leaves the item out of the total), the scoring rule, the
bands and what they mean, whether a lower or a higher total is better and how large a change counts.
Scoring rules are generic, so a new scale or a region's own version of one is a new file, not code:

- `sum`: the total is the sum of the answered items' scores (not-applicable items left out);
- `rated_global`: the rater gives a global score (PSP), which must lie in the interval that the item
  ratings select: intervals are tried worst first, each with alternatives of conditions "at least
  `count` of `items` rated `at_least` or worse".

A loaded (code, version) is never changed: a different definition needs a new version number, so
every submitted assessment keeps meaning what it meant.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

SCALES_DIR = Path(__file__).parent / "scales"

MISSING_ITEMS = "以下项目未填写：{items}。"
BAD_OPTION = "“{item}”的选项“{value}”不在量表中。"
UNKNOWN_ITEMS = "量表中没有这些项目：{items}。"
GLOBAL_OUT_OF_RANGE = "“{item}”应在 {low}–{high} 之间（由各领域的评定决定）。"
NO_BAND = "总分 {total} 不在量表的任何分级中。"
CHANGED_VERSION = "量表 {code} 第 {version} 版已经载入且内容不同：修改量表须增加版本号。"


# Ages a scale was made for, by code. Kept here rather than in the scale files because a loaded
# (code, version) never changes, and a new version only to say this would put the assessments
# already made on another ruler. A file may still say `ages = [low, high]` for a scale of its own.
AGE_RANGES = {"sdss": (15, 59)}


def age_range(definition: dict) -> tuple[int, int] | None:
    """(youngest, oldest) age the scale is meant for, or None if it is meant for anyone."""
    ages = definition.get("ages") or AGE_RANGES.get(definition.get("code", ""))
    return (ages[0], ages[1]) if ages else None


class ScaleError(Exception):
    """A scale file that cannot be used; raised when loading, never when scoring."""


@dataclass(frozen=True)
class Score:
    total: Decimal
    band: str
    band_label: str
    not_applicable: tuple[str, ...]


def _options(definition: dict, item: dict) -> list[dict]:
    return item.get("options") or definition.get("options") or []


def validate(definition: dict) -> None:
    """Refuse a scale file that could not score consistently."""
    for key in ("code", "version", "name", "scoring", "better", "items", "bands"):
        if key not in definition:
            raise ScaleError(f"{definition.get('code', '?')}: missing '{key}'")
    if definition["scoring"] not in ("sum", "rated_global"):
        raise ScaleError(f"{definition['code']}: unknown scoring rule {definition['scoring']!r}")
    if definition["better"] not in ("lower", "higher"):
        raise ScaleError(f"{definition['code']}: 'better' is 'lower' or 'higher'")
    keys = [item["key"] for item in definition["items"]]
    if len(keys) != len(set(keys)):
        raise ScaleError(f"{definition['code']}: duplicate item keys")
    for item in definition["items"]:
        if item.get("type") == "number":
            if "min" not in item or "max" not in item:
                raise ScaleError(f"{definition['code']}.{item['key']}: a number item needs min and max")
            continue
        values = [o["value"] for o in _options(definition, item)]
        if not values or len(values) != len(set(values)):
            raise ScaleError(f"{definition['code']}.{item['key']}: options missing or repeated")
    bands = sorted(definition["bands"], key=lambda b: b["min"])
    for band in bands:
        if band["min"] > band["max"]:
            raise ScaleError(f"{definition['code']}: band {band['code']} has min above max")
    for low, high in itertools.pairwise(bands):
        if high["min"] <= low["max"]:
            raise ScaleError(f"{definition['code']}: bands overlap")
        if high["min"] != low["max"] + 1:
            raise ScaleError(
                f"{definition['code']}: bands leave a gap between {low['max']} and {high['min']}"
            )
    low_total, high_total = _reachable(definition)
    if bands[0]["min"] > low_total or bands[-1]["max"] < high_total:
        raise ScaleError(
            f"{definition['code']}: bands do not cover every total from {low_total} to {high_total}"
        )
    if definition["scoring"] == "rated_global":
        if definition.get("global_item") not in keys:
            raise ScaleError(f"{definition['code']}: rated_global needs a global_item among the items")
        for interval in definition.get("intervals", []):
            for alternative in interval.get("when", []):
                for condition in alternative:
                    unknown = set(condition["items"]) - set(keys)
                    if unknown:
                        raise ScaleError(f"{definition['code']}: interval names unknown items {unknown}")


def _reachable(definition: dict) -> tuple[int, int]:
    """The lowest and highest total the scale can give, so the bands can be checked to cover them."""
    if definition["scoring"] == "rated_global":
        item = next(i for i in definition["items"] if i["key"] == definition["global_item"])
        return item["min"], item["max"]
    low = high = 0
    for item in definition["items"]:
        scores = [
            o.get("score", o["value"]) for o in _options(definition, item) if not o.get("not_applicable")
        ]
        can_skip = any(o.get("not_applicable") for o in _options(definition, item))
        low += 0 if can_skip else min(scores)
        high += max(scores)
    return low, high


def _rating_score(definition: dict, item: dict, value: Any) -> tuple[Decimal | None, bool]:
    """(score, not applicable) of one answer, or ValueError if the value is not an option."""
    for option in _options(definition, item):
        if option["value"] == value:
            if option.get("not_applicable"):
                return None, True
            return Decimal(str(option.get("score", option["value"]))), False
    raise ValueError


def _interval(definition: dict, ratings: dict[str, Decimal]) -> tuple[int, int]:
    for interval in definition.get("intervals", []):
        for alternative in interval.get("when", []):
            if all(
                sum(1 for key in c["items"] if ratings.get(key, Decimal(-1)) >= c["at_least"])
                >= c.get("count", 1)
                for c in alternative
            ):
                return interval["range"][0], interval["range"][1]
    default = definition.get("default_range")
    if default:
        return default[0], default[1]
    return 0, 100


def score(definition: dict, answers: dict[str, Any]) -> Score:
    """Score a complete set of answers, or raise ValidationError naming every problem."""
    items = definition["items"]
    by_key = {item["key"]: item for item in items}
    problems: list[str] = []
    unknown = [key for key in answers if key not in by_key]
    if unknown:
        problems.append(UNKNOWN_ITEMS.format(items="、".join(unknown)))
    missing = [
        item["label"]
        for item in items
        if item.get("required", True) and answers.get(item["key"]) in (None, "")
    ]
    if missing:
        problems.append(MISSING_ITEMS.format(items="、".join(missing)))
    ratings: dict[str, Decimal] = {}
    not_applicable: list[str] = []
    numbers: dict[str, Decimal] = {}
    for item in items:
        value = answers.get(item["key"])
        if value in (None, ""):
            continue
        if isinstance(value, bool):  # True == 1 in Python; an answer is a number, never a flag
            problems.append(BAD_OPTION.format(item=item["label"], value=value))
            continue
        if item.get("type") == "number":
            try:
                number = Decimal(str(value))
            except ArithmeticError:
                number = None
            if number is None or not number.is_finite() or number != number.to_integral_value():
                problems.append(BAD_OPTION.format(item=item["label"], value=value))
            else:
                numbers[item["key"]] = number
            continue
        try:
            rating, na = _rating_score(definition, item, value)
        except ValueError:
            problems.append(BAD_OPTION.format(item=item["label"], value=value))
            continue
        if na:
            not_applicable.append(item["key"])
        else:
            ratings[item["key"]] = rating
    if problems:
        raise ValidationError(problems)

    if definition["scoring"] == "sum":
        total = sum(ratings.values(), Decimal(0))
    else:
        key = definition["global_item"]
        item = by_key[key]
        low, high = _interval(definition, ratings)
        low, high = max(low, item["min"]), min(high, item["max"])
        total = numbers[key]
        if not low <= total <= high:
            raise ValidationError(GLOBAL_OUT_OF_RANGE.format(item=item["label"], low=low, high=high))
    for band in definition["bands"]:
        if band["min"] <= total <= band["max"]:
            return Score(total, band["code"], band["label"], tuple(not_applicable))
    raise ValidationError(NO_BAND.format(total=total))


def outcome(definition: dict, baseline: Decimal, latest: Decimal) -> str:
    """improved / unchanged / worse, by the scale's direction and meaningful change."""
    change = Decimal(str(latest)) - Decimal(str(baseline))
    if definition["better"] == "lower":
        change = -change
    threshold = Decimal(str(definition.get("meaningful_change", 1)))
    if change >= threshold:
        return "improved"
    if change <= -threshold:
        return "worse"
    return "unchanged"


def compare(
    definition: dict,
    baseline_answers: dict,
    baseline_total: Decimal,
    latest_answers: dict,
    latest_total: Decimal,
) -> tuple[Decimal, str]:
    """(change, outcome) of two assessments on the same version of a scale. A summed scale is compared
    over the items applicable both times: an item marked 不适用 once adds nothing to that total, and
    counting it on the other side would show a change that is only a change of what was asked."""
    if definition["scoring"] == "sum":
        before, after = _applicable(definition, baseline_answers), _applicable(definition, latest_answers)
        common = before.keys() & after.keys()
        baseline_total = sum((before[k] for k in common), Decimal(0))
        latest_total = sum((after[k] for k in common), Decimal(0))
    return Decimal(str(latest_total)) - Decimal(str(baseline_total)), outcome(
        definition, baseline_total, latest_total
    )


def _applicable(definition: dict, answers: dict) -> dict[str, Decimal]:
    ratings = {}
    for item in definition["items"]:
        value = answers.get(item["key"])
        if item.get("type") == "number" or value in (None, ""):
            continue
        try:
            rating, na = _rating_score(definition, item, value)
        except ValueError:
            continue
        if not na:
            ratings[item["key"]] = rating
    return ratings


def read_files(directory: Path = SCALES_DIR) -> list[dict]:
    definitions = []
    for path in sorted(directory.glob("*.toml")):
        with path.open("rb") as handle:
            definition = tomllib.load(handle)
        validate(definition)
        definitions.append(definition)
    return definitions


@transaction.atomic
def load(directory: Path = SCALES_DIR) -> int:
    """Store the scale files' definitions; the highest version of each code is the current one.
    Returns how many (code, version) pairs were new."""
    from kangfu.rehab.models import Scale

    new = 0
    for definition in read_files(directory):
        existing = Scale.objects.filter(code=definition["code"], version=definition["version"]).first()
        if existing is not None:
            if existing.definition != definition:
                raise ScaleError(
                    CHANGED_VERSION.format(code=definition["code"], version=definition["version"])
                )
            continue
        Scale.objects.create(
            code=definition["code"],
            version=definition["version"],
            name=definition["name"],
            definition=definition,
            local_default=definition.get("local_default", False),
        )
        new += 1
    for code in Scale.objects.order_by().values_list("code", flat=True).distinct():
        latest = Scale.objects.filter(code=code).order_by("-version").first()
        Scale.objects.filter(code=code).exclude(pk=latest.pk).update(is_current=False)
        Scale.objects.filter(pk=latest.pk).update(is_current=True)
    return new
