"""Password rules beyond Django's: character classes, and no place names of the city."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError

MIXED_CLASSES = "密码须包含大写字母、小写字母、数字和符号中的至少三类。"
CONTAINS_PLACE = "密码不能包含行政区划名称（如“{name}”），这类密码容易被猜中。"


class CharacterClassValidator:
    def __init__(self, min_classes: int = 3):
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        classes = [r"[A-Z]", r"[a-z]", r"[0-9]", r"[^A-Za-z0-9]"]
        if sum(bool(re.search(c, password)) for c in classes) < self.min_classes:
            raise ValidationError(MIXED_CLASSES, code="password_classes")

    def get_help_text(self) -> str:
        return MIXED_CLASSES


_SUFFIXES = ("新区", "区", "县", "市", "旗")


def _place_names() -> tuple[tuple[str, str], ...]:
    """(needle, shown name) for every province, city and district of the provinces served, in
    Chinese and pinyin."""
    from django.db.models import Q
    from pypinyin import lazy_pinyin

    from kangfu.core.models import Region, RegionLevel
    from kangfu.core.selectors import PLACEHOLDER_NAMES, provinces_in_service

    # The places a guesser would try are the local ones. The national table of counties is
    # there for household registrations; its 3,000 names, many of them short syllables in
    # pinyin, would refuse a great many reasonable passwords.
    served = Q(pk__in=[])
    for province in provinces_in_service():
        served |= Q(code__startswith=province)
    # Abolished names (塘沽) stay: people still use them.
    rows = Region.objects.filter(served, level__lte=RegionLevel.DISTRICT).exclude(name__in=PLACEHOLDER_NAMES)
    needles: list[tuple[str, str]] = []
    for name in rows.values_list("name", flat=True):
        base = name
        for suffix in _SUFFIXES:
            if base.endswith(suffix) and len(base) > len(suffix) + 1:
                base = base[: -len(suffix)]
                break
        if base in {"市辖", "省直辖县级行政"}:
            continue
        needles.append((base, name))
        pinyin = "".join(lazy_pinyin(base))
        if len(pinyin) >= 4:
            needles.append((pinyin.lower(), name))
    return tuple(needles)


class RegionNameValidator:
    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        for needle, shown in _place_names():
            if needle in lowered:
                raise ValidationError(CONTAINS_PLACE.format(name=shown), code="password_place")

    def get_help_text(self) -> str:
        return "密码不能包含省、市、区县名称或其拼音。"
