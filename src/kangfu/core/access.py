"""The one place that decides what a user may see and change.

Every query that returns people-related data is narrowed here by the user's jurisdiction (a region
subtree) and role; views, the API, exports and reports call these functions and never build their
own filters. A record outside the scope is answered as if it did not exist (404), so scope is never
confirmed to someone who lacks it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import Http404

from kangfu.core.models import LEVEL_DIGITS, Organisation, OrganisationKind, Region, RegionLevel, Role, User

NOT_ALLOWED = "您的角色无权进行此操作。"
OUT_OF_SCOPE_REGION = "所选区划不在您的管辖范围内。"
SAME_ACTOR = "提交人不能审批自己提交的事项（职责分离）。"


@dataclass(frozen=True)
class RolePolicy:
    """What a role may do with people data, regardless of where."""

    reads_people: bool = False
    writes_people: bool = False
    reveals: bool = False  # may reveal a full ID number or phone, one at a time, audited
    exports_people: bool = False
    reads_clinical: bool = False  # diagnoses, assessments, risk levels (精康)
    reads_audit: bool = False
    runs_devices: bool = False  # catalogue, units, fittings, rentals of the user's own rental centre
    reads_device_stats: bool = False
    subsidy_step: str = ""  # the approval step of 两项补贴 this role takes (subsidies.models.Step)
    runs_payroll: bool = False
    sets_standards: bool = False
    rehab_intake: bool = False  # 精康: receive applications and rosters, register, refer to institutions
    runs_rehab: bool = False  # 精康: the cases of the user's own institution (and what is shared with it)
    reads_rehab_stats: bool = False  # 精康: counts for the jurisdiction, never clinical content
    second_factor: bool = False  # must sign in with a second factor (core.twofactor) where enforced
    # 精康 clinicians: of the registry, only the people their institution serves or is referred (plus
    # an open break-the-glass); never 两项补贴, 数据比对 or the registry's statistics.
    serves_only: bool = False

    @property
    def reads_civil_affairs(self) -> bool:
        """两项补贴, 数据比对 and statistics over the registry: civil affairs' business, not a clinic's
        or a rental centre's (which read the registry for their own clients)."""
        return self.reads_people and not self.serves_only and not self.runs_devices

    @property
    def registers_people(self) -> bool:
        """Registering someone new: a clinician would not see the record it made."""
        return self.writes_people and not self.serves_only


POLICIES: dict[str, RolePolicy] = {
    Role.CITY_ADMIN: RolePolicy(
        second_factor=True,
        reads_people=True,
        writes_people=True,
        reveals=True,
        exports_people=True,
        reads_device_stats=True,
        sets_standards=True,
        rehab_intake=True,
        reads_rehab_stats=True,
    ),
    Role.DISTRICT_ADMIN: RolePolicy(
        second_factor=True,
        reads_people=True,
        writes_people=True,
        reveals=True,
        exports_people=True,
        reads_device_stats=True,
        subsidy_step="district",
        runs_payroll=True,
        rehab_intake=True,
        reads_rehab_stats=True,
    ),
    Role.STREET_OFFICER: RolePolicy(
        second_factor=True,  # approves at the street step and confirms comparison items
        reads_people=True,
        writes_people=True,
        reveals=True,
        exports_people=True,
        subsidy_step="street",
        rehab_intake=True,
    ),
    Role.COMMUNITY_WORKER: RolePolicy(
        reads_people=True, writes_people=True, reveals=True, subsidy_step="community", rehab_intake=True
    ),
    Role.REHAB_WORKER: RolePolicy(
        reads_people=True, writes_people=True, reads_clinical=True, runs_rehab=True, serves_only=True
    ),
    Role.PSYCHIATRIST: RolePolicy(reads_people=True, reads_clinical=True, runs_rehab=True, serves_only=True),
    Role.DEVICE_CLERK: RolePolicy(
        reads_people=True, writes_people=True, runs_devices=True, reads_device_stats=True
    ),
    Role.DPF_REVIEWER: RolePolicy(reads_people=True, subsidy_step="county", second_factor=True),
    Role.AUDITOR: RolePolicy(reads_audit=True, second_factor=True),
}
NO_RIGHTS = RolePolicy()

# The person column that holds the ancestor at each level of a jurisdiction.
_SCOPE_FIELD = {
    RegionLevel.CITY: "city_id",
    RegionLevel.DISTRICT: "district_id",
    RegionLevel.STREET: "street_id",
    RegionLevel.COMMUNITY: "community_id",
}


def policy(user: User) -> RolePolicy:
    if not user.is_authenticated or not user.is_active:
        return NO_RIGHTS
    return POLICIES.get(user.role, NO_RIGHTS)


# Which people a clinician's institution serves or is referred, as a filter: registered by the app
# that knows (rehab), since core imports no app.
_served: Callable[[User, str], Q] | None = None


def register_served(people_served_q: Callable[[User, str], Q]) -> None:
    global _served
    _served = people_served_q


def people_q(user: User, *, prefix: str = "") -> Q:
    """A filter for rows about people the user may read: those in the user's jurisdiction, and for
    a clinician (`serves_only`) only those of them its institution serves or is referred.

    `prefix` reaches the person from a related row, e.g. `person__` for certificates. Person rows
    carry their city, district, street and community, so the filter is one indexed equality.
    """
    q = reachable_q(user, prefix=prefix)
    if policy(user).serves_only:
        q &= _served(user, prefix) if _served is not None else Q(pk__in=[])
    return q


def reachable_q(user: User, *, prefix: str = "") -> Q:
    """People the user may name by their full ID number in order to act (a hospital refers its
    patient, an institution receives an application): the jurisdiction, whatever the role. Lists,
    records and searches go through `people_q`."""
    region: Region | None = user.jurisdiction if user.is_authenticated else None
    if not policy(user).reads_people or region is None:
        return Q(pk__in=[])
    level = RegionLevel(region.level)
    if level == RegionLevel.PROVINCE:
        return Q(**{f"{prefix}city__code__startswith": region.code[: LEVEL_DIGITS[level]]})
    return Q(**{f"{prefix}{_SCOPE_FIELD[level]}": region.code})


def scope_people(queryset: QuerySet, user: User, *, prefix: str = "") -> QuerySet:
    return queryset.filter(people_q(user, prefix=prefix))


def get_in_scope(queryset: QuerySet, user: User, *, prefix: str = "", **lookup):
    """One row by `lookup` if it is in scope; otherwise 404, exactly as if it did not exist."""
    try:
        return scope_people(queryset, user, prefix=prefix).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def get_reachable(queryset: QuerySet, user: User, **lookup):
    """One row of a person the user names to act on (`reachable_q`), or 404."""
    try:
        return queryset.filter(reachable_q(user)).get(**lookup)
    except (queryset.model.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到该记录。") from None


def region_in_jurisdiction(user: User, code: str) -> bool:
    region = user.jurisdiction if user.is_authenticated else None
    return region is not None and region.contains(code)


def regions_in_jurisdiction(user: User) -> QuerySet[Region]:
    """The current regions in the user's jurisdiction, to choose from; abolished ones (120107
    塘沽区) are kept only so that old codes resolve, and are never offered."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None:
        return Region.objects.none()
    digits = LEVEL_DIGITS[RegionLevel(region.level)]
    return Region.objects.filter(code__startswith=region.code[:digits], successor__isnull=True)


def require(user: User, ability: str) -> None:
    """Raise PermissionDenied unless the user's role has `ability` (a RolePolicy field)."""
    if not getattr(policy(user), ability):
        raise PermissionDenied(NOT_ALLOWED)


def ensure_separate_actors(*, submitted_by_id: int | None, actor: User) -> None:
    """Separation of duties: whoever submitted an item may not approve it."""
    if submitted_by_id is not None and submitted_by_id == actor.pk:
        raise PermissionDenied(SAME_ACTOR)


def device_centre(user: User) -> Organisation | None:
    """The rental centre a device clerk works for (their own organisation, or its parent for an
    outlet's clerk)."""
    org = user.organisation if user.is_authenticated else None
    if org is None or not policy(user).runs_devices:
        return None
    if org.kind == OrganisationKind.DEVICE_OUTLET and org.parent_id:
        return org.parent
    return org if org.kind == OrganisationKind.DEVICE_CENTRE else None


def device_q(user: User, *, field: str = "outlet") -> Q:
    """Rows of the rental business (units, rentals, requests) a user may see, through `field`, the
    outlet or centre they belong to: a clerk sees their centre and its outlets; an administrator
    sees the outlets located in their jurisdiction."""
    rights = policy(user)
    centre = device_centre(user)
    if centre is not None:
        return Q(**{f"{field}_id__in": [centre.pk, *centre.branches.values_list("pk", flat=True)]})
    region = user.jurisdiction if user.is_authenticated else None
    if rights.reads_device_stats and region is not None:
        digits = LEVEL_DIGITS[RegionLevel(region.level)]
        return Q(**{f"{field}__region__code__startswith": region.code[:digits]})
    return Q(pk__in=[])


def area_q(user: User, *, city: str = "", district: str = "", street: str = "", community: str = "") -> Q:
    """Rows placed by their own region columns (an application's community, street and district, a
    grant's district and street), scoped like people: the column of the user's level must match."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None or not policy(user).reads_civil_affairs:
        return Q(pk__in=[])
    level = RegionLevel(region.level)
    column = {
        RegionLevel.CITY: city,
        RegionLevel.DISTRICT: district,
        RegionLevel.STREET: street,
        RegionLevel.COMMUNITY: community,
    }.get(level, "")
    digits = LEVEL_DIGITS[level]
    if column:
        return Q(**{column: region.code})
    # No column at this level: compare the code prefix of the finest column there is.
    finest = community or street or district or city
    return Q(**{f"{finest.removesuffix('_id')}__code__startswith": region.code[:digits]})


# ------------------------------------------------------------------ 精康 (clinical data)

_REHAB_HOMES = (OrganisationKind.REHAB_INSTITUTION, OrganisationKind.PSYCHIATRIC_HOSPITAL)


def rehab_home(user: User) -> Organisation | None:
    """The institution whose cases a rehab or clinical user works on: their own institution or
    hospital, or the institution a service site belongs to."""
    org = user.organisation if user.is_authenticated else None
    if org is None or not policy(user).runs_rehab:
        return None
    if org.kind == OrganisationKind.REHAB_SITE and org.parent_id:
        return org.parent
    return org if org.kind in _REHAB_HOMES else None


def rehab_org_ids(user: User) -> list[int]:
    """The institution and its service sites: the organisations whose cases the user serves."""
    home = rehab_home(user)
    if home is None:
        return []
    return [home.pk, *home.branches.values_list("pk", flat=True)]


def case_q(user: User, *, prefix: str = "") -> Q:
    """Cases (and rows hanging off a case through `prefix`) that the user's institution serves.
    Clinical content needs this or an accepted referral or an emergency access on top of it; a
    civil-affairs role never matches here, whatever its jurisdiction."""
    if not policy(user).reads_clinical:
        return Q(pk__in=[])
    ids = rehab_org_ids(user)
    return Q(**{f"{prefix}institution_id__in": ids}) if ids else Q(pk__in=[])


def district_q(user: User, *, field: str = "district") -> Q:
    """Rows placed by a district column, for counts in the user's jurisdiction."""
    region = user.jurisdiction if user.is_authenticated else None
    if region is None:
        return Q(pk__in=[])
    level = RegionLevel(region.level)
    if level in (RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY):
        return Q(**{f"{field}_id": region.ancestor(RegionLevel.DISTRICT)})
    # A range of codes rather than a prefix match: neither SQLite (whose LIKE ignores case) nor
    # PostgreSQL (without a pattern index) can serve `LIKE '1201%'` from the district-first indexes.
    prefix = region.code[: LEVEL_DIGITS[level]]
    upper = str(int(prefix) + 1).zfill(len(prefix))
    width = len(region.code)
    return Q(**{f"{field}_id__gte": prefix.ljust(width, "0"), f"{field}_id__lt": upper.ljust(width, "0")})
