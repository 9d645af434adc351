"""Staff accounts, as a city lists the people who will use the system.

One line is one account: username, name, role, organisation, jurisdiction and mobile. A known
username is the same account: the line updates what changed. New accounts get no password (an
unusable one); each user sets their own through a one-time first-login link
(`kangfu invite --all-new`), so no password ever travels in a file, a job or the audit trail
(the kind has no password column: one in a file is never read).

The organisation must already exist (made by `kangfu setup`, the admin site or the demo): a typo
in a file would otherwise create a second bureau. Left empty, a civil-affairs account belongs to
the office of its jurisdiction (the district's 民政局, the street's office) when there is one.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError

from kangfu.core import access, audit
from kangfu.core.ids import normalize_phone
from kangfu.core.models import (
    LEVEL_DIGITS,
    AuditAction,
    Organisation,
    OrganisationKind,
    RegionLevel,
    Role,
    User,
)
from kangfu.core.spreadsheets import text
from kangfu.golive.kinds import CHANGED, NEW, UNCHANGED, Column, Kind, Record, Regions, problems, register

NO_USERNAME = "缺少用户名。"
BAD_USERNAME = "用户名“{value}”只能由字母、数字和 @ . + - _ 组成，且不超过 150 个字符。"
NO_NAME = "缺少姓名。"
NO_ROLE = "缺少角色。"
BAD_ROLE = "角色“{value}”不是已知的角色；可填：{roles}。"
NO_JURISDICTION = "缺少管辖区划（且未填所属机构，无法确定）。"
UNKNOWN_REGION = "区划“{value}”不是已知的区划代码或名称。"
AMBIGUOUS_REGION = "区划名称“{value}”对应多个区划，请写区划代码。"
OUT_OF_SCOPE = "管辖区划“{value}”不在您的管辖范围内。"
WRONG_LEVEL = "角色“{role}”的管辖区划应为{level}一级，“{value}”不是。"
UNKNOWN_ORG = "所属机构“{value}”不存在，请先在系统管理中建立（各级民政局可由 kangfu setup 建立）。"
AMBIGUOUS_ORG = "所属机构“{value}”有多个同名机构，请在系统管理中核对。"
ORG_OUT_OF_SCOPE = "所属机构“{value}”不在您的管辖范围内。"
NEEDS_ORG = "角色“{role}”须填写所属机构（{kinds}）。"
WRONG_ORG_KIND = "角色“{role}”的所属机构应为{kinds}，“{value}”是{kind}。"
USER_ELSEWHERE = "用户名“{value}”已被您管辖范围以外的账号使用，请换一个用户名。"
NOT_YOURSELF = "不能通过导入修改自己的账号。"
INACTIVE = "该账号已停用，导入只更新信息，不会启用它。"

# What agencies write in a role column, besides the labels themselves.
_ROLE_SYNONYMS = {
    Role.CITY_ADMIN: ("市民政", "市民政局", "市级管理员", "市管理员", "市民政局管理员"),
    Role.DISTRICT_ADMIN: ("区民政", "区民政局", "区级管理员", "区管理员", "区民政局管理员", "县民政管理员"),
    Role.STREET_OFFICER: ("街道", "街道办", "乡镇", "街道（乡镇）工作人员", "乡镇工作人员", "街道干部"),
    Role.COMMUNITY_WORKER: ("社区", "网格员", "社区网格员", "社区工作者", "村", "村工作人员"),
    Role.REHAB_WORKER: ("康复社工", "社工", "治疗师", "康复师", "康复治疗师", "康复社工／治疗师"),
    Role.PSYCHIATRIST: ("医生", "医师", "精神科医生", "精神科医师"),
    Role.DEVICE_CLERK: ("辅具", "辅具业务员", "辅具中心", "辅具中心工作人员"),
    Role.AUDITOR: ("审计", "审计人员"),
}
ROLES: dict[str, str] = {
    **{value: value for value in Role.values},
    **{label: value for value, label in Role.choices},
    **{name: role for role, names in _ROLE_SYNONYMS.items() for name in names},
}

# Civil-affairs roles see a region subtree of one level; an account at another level would see
# too much or nothing.
_ROLE_LEVELS = {
    Role.CITY_ADMIN: ((RegionLevel.PROVINCE, RegionLevel.CITY), "市"),
    Role.DISTRICT_ADMIN: ((RegionLevel.DISTRICT,), "区（县）"),
    Role.STREET_OFFICER: ((RegionLevel.STREET,), "街道（乡镇）"),
    Role.COMMUNITY_WORKER: ((RegionLevel.COMMUNITY,), "社区（村）"),
}
# Roles whose work is their organisation's (access.rehab_home, access.device_centre).
_ORG_KINDS = {
    Role.REHAB_WORKER: (
        OrganisationKind.REHAB_INSTITUTION,
        OrganisationKind.REHAB_SITE,
        OrganisationKind.PSYCHIATRIC_HOSPITAL,
    ),
    Role.PSYCHIATRIST: (
        OrganisationKind.PSYCHIATRIC_HOSPITAL,
        OrganisationKind.REHAB_INSTITUTION,
        OrganisationKind.REHAB_SITE,
    ),
    Role.DEVICE_CLERK: (OrganisationKind.DEVICE_CENTRE, OrganisationKind.DEVICE_OUTLET),
}
# The office an account without an organisation belongs to: the one of its jurisdiction.
_HOME_OFFICE = {
    Role.CITY_ADMIN: OrganisationKind.CIVIL_AFFAIRS,
    Role.DISTRICT_ADMIN: OrganisationKind.CIVIL_AFFAIRS,
    Role.AUDITOR: OrganisationKind.CIVIL_AFFAIRS,
    Role.STREET_OFFICER: OrganisationKind.STREET_OFFICE,
    Role.COMMUNITY_WORKER: OrganisationKind.COMMUNITY_COMMITTEE,
}
FIELDS = ("full_name", "role", "organisation_id", "jurisdiction_id", "phone")


def _valid_username(value: str) -> bool:
    try:
        User.username_validator(value)
    except ValidationError:
        return False
    return True


def _kinds_label(kinds: tuple[str, ...]) -> str:
    return "、".join(OrganisationKind(k).label for k in kinds)


class RegionNames(Regions):
    """Regions by code or name for files that name a place at any level.

    A municipality is named by its province (天津市, 120000) while its districts hang under the
    city "市辖区" (120100): a jurisdiction or a standard means the latter. The national table of
    counties repeats names (和平区 is in Tianjin and in Shenyang), so a name is looked for inside
    `within` first, then in the provinces whose streets are loaded (where the deployment works).
    """

    def __init__(self) -> None:
        super().__init__()
        self.municipal = set(self.by_name.get((RegionLevel.CITY, "市辖区"), []))
        self.served = {code[:2] for code, level in self.level.items() if level == RegionLevel.STREET}

    def _current(self, code: str) -> str:
        for _ in range(5):
            if code not in self.successor:
                break
            code = self.successor[code]
        city = code[:2] + "0100000000"
        if self.level.get(code) == RegionLevel.PROVINCE and city in self.municipal:
            return city
        return code

    def find(self, value: str, *, within: str = "") -> tuple[str | None, str]:
        """(code, problem) for a region written as a code of 2 to 12 digits or as its name."""
        short = value.isascii() and value.isdigit() and len(value) in (2, 4)
        code = self.code(value.ljust(6, "0") if short else value)
        if code is not None:
            return self._current(code), ""
        if value.isascii() and value.isdigit():
            return None, UNKNOWN_REGION.format(value=value)
        found = sorted(
            {self._current(c) for level in RegionLevel for c in self.by_name.get((level, value), [])}
        )
        if len(found) > 1 and within:
            found = [c for c in found if c.startswith(within)] or found
        if len(found) > 1:
            found = [c for c in found if c[:2] in self.served] or found
        if not found:
            return None, UNKNOWN_REGION.format(value=value)
        if len(found) > 1:
            return None, AMBIGUOUS_REGION.format(value=value)
        return found[0], ""


def jurisdiction_prefix(user: User | None) -> str:
    """The code prefix of a user's jurisdiction ('' for the system, which sees everything)."""
    region = user.jurisdiction if user is not None else None
    if region is None:
        return ""
    return region.code[: LEVEL_DIGITS[RegionLevel(region.level)]]


@register
class AccountsKind(Kind):
    name = "accounts"
    label = "工作人员账号"
    ability = "sets_standards"
    description = (
        "一行一个账号。已有的用户名视为同一账号，只更新有变化的姓名、角色、机构、管辖区划和手机。"
        "新账号没有密码：导入后运行 kangfu invite --all-new 为每人生成首次登录链接，由本人设置密码。"
        "所属机构须已存在；民政、街道、社区人员可不填，按管辖区划归入当地民政局或街道办事处。"
    )
    columns = [
        Column("username", "用户名", ("账号", "登录名", "用户账号", "登录账号"), True),
        Column("full_name", "姓名", ("真实姓名", "人员姓名", "用户姓名"), True),
        Column("role", "角色", ("岗位", "用户角色", "角色名称"), True, "如 区民政管理员、街道工作人员、社工"),
        Column("organisation", "所属机构", ("机构", "单位", "工作单位", "所在单位", "机构名称")),
        Column("jurisdiction", "管辖区划", ("管辖范围", "区划", "区划代码", "辖区", "管辖区域")),
        Column("phone", "手机", ("手机号", "手机号码", "联系电话", "电话")),
    ]

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.regions = RegionNames()
        self.within = jurisdiction_prefix(self.actor)

    def key(self, record: Record) -> Any:
        return record.values["username"]

    # -------------------------------------------------------------- clean

    def clean(self, values: dict[str, Any]) -> dict[str, Any]:
        found: list[str] = []
        out: dict[str, Any] = {"username": text(values.get("username"))}
        if not out["username"]:
            found.append(NO_USERNAME)
        elif len(out["username"]) > 150 or not _valid_username(out["username"]):
            found.append(BAD_USERNAME.format(value=out["username"]))
        out["full_name"] = text(values.get("full_name"))[:50]
        if not out["full_name"]:
            found.append(NO_NAME)
        raw_role = text(values.get("role")).replace(" ", "")
        out["role"] = ROLES.get(raw_role, "")
        if not raw_role:
            found.append(NO_ROLE)
        elif not out["role"]:
            found.append(BAD_ROLE.format(value=raw_role, roles="、".join(Role.labels)))
        out["jurisdiction"] = None
        raw = text(values.get("jurisdiction"))
        if raw:
            code, problem = self.regions.find(raw, within=self.within)
            if problem:
                found.append(problem)
            elif self.actor is not None and not access.region_in_jurisdiction(self.actor, code):
                found.append(OUT_OF_SCOPE.format(value=raw))
            elif wrong := self._level_problem(out["role"], code, raw):
                found.append(wrong)
            out["jurisdiction"] = code
        out["organisation"] = text(values.get("organisation"))[:200]
        if not raw and not out["organisation"]:
            found.append(NO_JURISDICTION)
        if out["role"] in _ORG_KINDS and not out["organisation"]:
            found.append(
                NEEDS_ORG.format(role=Role(out["role"]).label, kinds=_kinds_label(_ORG_KINDS[out["role"]]))
            )
        try:
            out["phone"] = normalize_phone(text(values.get("phone")))
        except ValidationError as exc:
            found.append(exc.messages[0])
        problems(found)
        return out

    def _level_problem(self, role: str, code: str, shown: str) -> str:
        if role not in _ROLE_LEVELS:
            return ""
        levels, level_label = _ROLE_LEVELS[role]
        if self.regions.level[code] in levels:
            return ""
        return WRONG_LEVEL.format(role=Role(role).label, level=level_label, value=shown)

    # -------------------------------------------------------------- check

    def check(self, records: list[Record]) -> None:
        live = [r for r in records if not r.error]
        existing = {
            row["username"]: row
            for row in User.objects.filter(username__in=[r.values["username"] for r in live]).values(
                "pk", "username", "is_active", *FIELDS
            )
        }
        named: dict[str, list[dict[str, Any]]] = {}
        for row in Organisation.objects.filter(
            name__in={r.values["organisation"] for r in live if r.values["organisation"]}, is_active=True
        ).values("pk", "name", "kind", "region_id"):
            named.setdefault(row["name"], []).append(row)
        offices: dict[tuple[str, str], int] = {}
        for row in (
            Organisation.objects.filter(
                region_id__in={r.values["jurisdiction"] for r in live if r.values["jurisdiction"]},
                kind__in=set(_HOME_OFFICE.values()),
                is_active=True,
            )
            .order_by("-pk")
            .values("pk", "kind", "region_id")
        ):
            # Ordered newest first, so the oldest office of a kind in a region wins.
            offices[(row["region_id"], row["kind"])] = row["pk"]
        for record in live:
            values = record.values
            org = self._organisation(record, named)
            if record.error:
                continue
            if values["jurisdiction"] is None:
                # No jurisdiction written: the organisation's region (scope checked with it).
                values["jurisdiction"] = org["region_id"]
                record.error = self._level_problem(values["role"], org["region_id"], values["organisation"])
                if record.error:
                    continue
            if org is None and values["role"] in _HOME_OFFICE:
                org = {"pk": offices.get((values["jurisdiction"], _HOME_OFFICE[values["role"]]))}
            wanted = {
                "full_name": values["full_name"],
                "role": values["role"],
                "organisation_id": org["pk"] if org else None,
                "jurisdiction_id": values["jurisdiction"],
                "phone": values["phone"],
            }
            user = existing.get(values["username"])
            record.target = {"user": user, "wanted": wanted}
            if user is None:
                record.change = NEW
                continue
            if self.actor is not None and not (
                user["jurisdiction_id"] and access.region_in_jurisdiction(self.actor, user["jurisdiction_id"])
            ):
                record.error = USER_ELSEWHERE.format(value=values["username"])
                continue
            # An empty cell keeps what the account has; an organisation left empty follows the
            # account only when it moves to another jurisdiction.
            update = {k: v for k, v in wanted.items() if v not in (None, "") and user[k] != v}
            if not values["organisation"] and "jurisdiction_id" not in update:
                update.pop("organisation_id", None)
            if update and self.actor is not None and user["pk"] == self.actor.pk:
                record.error = NOT_YOURSELF
                continue
            if not user["is_active"]:
                record.flags.append(INACTIVE)
            record.target["update"] = update
            record.change = CHANGED if update else UNCHANGED

    def _organisation(self, record: Record, named: dict[str, list[dict[str, Any]]]) -> dict[str, Any] | None:
        """The organisation a line names (None when it names none), or an error on the record."""
        values = record.values
        name = values["organisation"]
        if not name:
            return None
        candidates = named.get(name, [])
        if len(candidates) > 1 and values["jurisdiction"]:
            # Two offices may share a name in different places; the one in the account's area is meant.
            near = [
                c
                for c in candidates
                if c["region_id"].startswith(values["jurisdiction"][:6])
                or values["jurisdiction"].startswith(c["region_id"][:6])
            ]
            candidates = near or candidates
        if not candidates:
            record.error = UNKNOWN_ORG.format(value=name)
            return None
        if len(candidates) > 1:
            record.error = AMBIGUOUS_ORG.format(value=name)
            return None
        org = candidates[0]
        if self.within and not org["region_id"].startswith(self.within):
            record.error = ORG_OUT_OF_SCOPE.format(value=name)
            return None
        kinds = _ORG_KINDS.get(values["role"])
        if kinds and org["kind"] not in kinds:
            record.error = WRONG_ORG_KIND.format(
                role=Role(values["role"]).label,
                kinds=_kinds_label(kinds),
                value=name,
                kind=OrganisationKind(org["kind"]).label,
            )
            return None
        return org

    # -------------------------------------------------------------- apply

    def apply(self, records: list[Record]) -> None:
        rows: list[audit.Row] = []
        new = [r for r in records if r.change == NEW]
        users = []
        for record in new:
            user = User(username=record.values["username"], **record.target["wanted"])
            # No password until the user sets one through the first-login link.
            user.set_unusable_password()
            users.append(user)
        User.objects.bulk_create(users, batch_size=500)
        for user in users:
            rows.append(
                audit.Row(
                    "core.user",
                    str(user.pk),
                    None,
                    f"导入新建账号 {user.username}（{user.get_role_display()}）",
                    audit.snapshot(user, ("username", *FIELDS), sensitive=("phone",)),
                )
            )
        changed = [r for r in records if r.change == CHANGED]
        accounts = User.objects.in_bulk([r.target["user"]["pk"] for r in changed])
        fields: set[str] = set()
        for record in changed:
            user = accounts[record.target["user"]["pk"]]
            update = record.target["update"]
            for key, value in update.items():
                setattr(user, key, value)
            fields.update(update)
            rows.append(
                audit.Row(
                    "core.user",
                    str(user.pk),
                    None,
                    f"导入更新账号 {user.username}",
                    audit.diff(record.target["user"], update, sensitive=("phone",)),
                )
            )
        if fields:
            User.objects.bulk_update(list(accounts.values()), sorted(fields), batch_size=500)
        audit.record_rows(actor=self.actor, action=AuditAction.IMPORT, rows=rows)
