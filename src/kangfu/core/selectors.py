"""Reads of the region table: codes to current regions and to names people can read, and the
districts a deployment serves."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, QuerySet
from django.db.models.functions import Substr

from kangfu.core.models import LEVEL_DIGITS, AuditEntry, Region, RegionLevel, ancestor_code

# Names that stand for a grouping rather than a place: a full name leaves them out
# (天津市 市辖区 和平区 reads 天津市和平区).
PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})

# Address codes of residence permits for people from Hong Kong, Macao and Taiwan; they name no
# region of the statistical table.
RESIDENCE_PERMIT_AREAS = {"810000": "香港特别行政区", "820000": "澳门特别行政区", "830000": "台湾地区"}

ADDRESS_NOW = "{then}（今{now}）"
ADDRESS_UNDER = "{known}（地址码 {code}）"
ADDRESS_UNKNOWN = "未收录的地址码 {code}"

# Successions are short (塘沽区 → 滨海新区); the bound only guards against a cycle in bad data.
_MAX_SUCCESSIONS = 5


def _padded(code: str | None) -> str | None:
    code = (code or "").strip()
    if not (code.isascii() and code.isdigit()) or not 2 <= len(code) <= 12:
        return None
    return code.ljust(12, "0")


def _current(region: Region | None) -> Region | None:
    for _ in range(_MAX_SUCCESSIONS):
        if region is None or region.successor_id is None:
            break
        region = region.successor
    return region


def region_for_code(code: str | None) -> Region | None:
    """The current region a code of 2 to 12 digits stands for, or None if no such region is loaded.

    An abolished region resolves to its successor (120107 塘沽区 → 120116 滨海新区), so what is
    stored under it is scoped where people and offices are today.
    """
    padded = _padded(code)
    if padded is None:
        return None
    return _current(Region.objects.select_related("successor").filter(code=padded).first())


def region_full_name(region: Region) -> str:
    """Province, city, county and so on down to `region`, as one reads an address:
    天津市河西区大营门街道, 广东省深圳市南山区."""
    codes: list[str] = []
    for level in RegionLevel:
        if level <= region.level and (code := ancestor_code(region.code, level)) not in codes:
            codes.append(code)
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    names[region.code] = region.name
    parts = [names[c] for c in codes if c in names and names[c] not in PLACEHOLDER_NAMES]
    return "".join(parts) or region.name


def id_address_name(code6: str) -> str:
    """What the address code of an ID number (its first six digits) names.

    The code is the county where the card was first issued and may since have been abolished;
    it is never an error: an abolished county reads with today's name after it
    (天津市塘沽区（今滨海新区）), an unknown county under its city or province.
    """
    code6 = (code6 or "")[:6]
    if code6 in RESIDENCE_PERMIT_AREAS:
        return RESIDENCE_PERMIT_AREAS[code6]
    padded = _padded(code6)
    if padded is None:
        return ADDRESS_UNKNOWN.format(code=code6)
    region = Region.objects.select_related("successor").filter(code=padded).first()
    if region is None:
        for level in (RegionLevel.CITY, RegionLevel.PROVINCE):
            known = Region.objects.filter(code=ancestor_code(padded, level)).first()
            if known is not None:
                return ADDRESS_UNDER.format(known=region_full_name(known), code=code6)
        return ADDRESS_UNKNOWN.format(code=code6)
    then = region_full_name(region)
    current = _current(region)
    if current is None or current.pk == region.pk:
        return then
    now = current.label
    # A grouping that merged into its city (120200 县 → 天津市) has nothing new to say.
    return then if then.endswith(now) else ADDRESS_NOW.format(then=then, now=now)


def provinces_in_service() -> list[str]:
    """Two-digit codes of the provinces whose streets are loaded: where this deployment works,
    as opposed to the national table of counties kept for household registrations."""
    streets = Region.objects.filter(level=RegionLevel.STREET).annotate(
        province=Substr("code", 1, LEVEL_DIGITS[RegionLevel.PROVINCE])
    )
    return sorted(set(streets.values_list("province", flat=True)))


def districts_in_service(within: Region | None = None) -> QuerySet[Region]:
    """Districts offered wherever one is chosen: current ones whose streets are loaded, inside
    `within` if given. The national counties (no streets) and abolished districts (120107 塘沽区)
    are never offered."""
    districts = Region.objects.filter(level=RegionLevel.DISTRICT, successor__isnull=True).filter(
        Exists(Region.objects.filter(parent=OuterRef("pk")))
    )
    if within is not None:
        digits = min(LEVEL_DIGITS[RegionLevel(within.level)], LEVEL_DIGITS[RegionLevel.DISTRICT])
        districts = districts.filter(code__startswith=within.code[:digits])
    return districts.order_by("code")


def audit_entries(*, user) -> QuerySet[AuditEntry]:
    """The whole trail, for the auditor's role only: nobody else reads it, whatever their area."""
    from kangfu.core import access

    access.require(user, "reads_audit")
    return AuditEntry.objects.all()


def street_choices(streets: QuerySet[Region] | None = None) -> list[tuple[str, list[tuple[str, str]]]]:
    """Streets to choose from, grouped by district and each labelled with it ("滨海新区 海滨街道"):
    a city has streets of one name in several districts (two 海滨街道), and a list of 299 bare
    names does not say which is which. `streets` narrows the list (a user's jurisdiction); by
    default every current street. Two queries however many streets."""
    if streets is None:
        streets = Region.objects.filter(successor__isnull=True)
    rows = list(streets.filter(level=RegionLevel.STREET).order_by("code").values_list("code", "name"))
    district_codes = {ancestor_code(code, RegionLevel.DISTRICT) for code, _name in rows}
    districts = dict(Region.objects.filter(code__in=district_codes).values_list("code", "name"))
    groups: dict[str, list[tuple[str, str]]] = {}
    for code, name in rows:
        district = districts.get(ancestor_code(code, RegionLevel.DISTRICT), "")
        groups.setdefault(district, []).append((code, f"{district} {name}".strip()))
    return list(groups.items())
