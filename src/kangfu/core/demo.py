"""The demo city's organisations and one account per role, all in real Tianjin regions."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from kangfu.core.models import Organisation, OrganisationKind, Region, Role, User
from kangfu.core.selectors import districts_in_service
from kangfu.core.services import regions_load_shipped

DEMO_PASSWORD = "Kf-Demo-2026"  # noqa: S105 - printed by `make demo` on purpose; demo only

TIANJIN_CITY = "120100000000"
HEXI = "120103000000"
DAYINGMEN = "120103001000"
HUAMING = "120110006000"
NANKAI = "120104000000"
XIQING = "120111000000"
BEICHEN = "120113000000"
WUQING = "120114000000"
YANGCUN = "120114001000"
JIUJIANGLU = "120103001001"  # the demo community worker's community, in 大营门街道


@dataclass(frozen=True)
class DemoAccount:
    username: str
    full_name: str
    role: str
    organisation: str
    jurisdiction: str
    note: str = ""


def _org(
    name: str, kind: str, region: str, parent: Organisation | None = None, address: str = ""
) -> Organisation:
    org, _ = Organisation.objects.update_or_create(
        region_id=region, name=name, defaults={"kind": kind, "parent": parent, "address": address}
    )
    return org


@transaction.atomic
def ensure_organisations(*, community_code: str) -> dict[str, Organisation]:
    """Civil-affairs bureaus for the city and every district, and the partners the seeds name."""
    orgs: dict[str, Organisation] = {}
    orgs["city"] = _org("天津市民政局", OrganisationKind.CIVIL_AFFAIRS, TIANJIN_CITY, address="河西区围堤道")
    _org("天津市残疾人联合会", OrganisationKind.DISABLED_FEDERATION, TIANJIN_CITY)
    orgs["hexi_dpf"] = _org("河西区残疾人联合会", OrganisationKind.DISABLED_FEDERATION, HEXI)
    for district in districts_in_service(Region.objects.get(code=TIANJIN_CITY)):
        org = _org(f"{district.name}民政局", OrganisationKind.CIVIL_AFFAIRS, district.code)
        orgs[district.code] = org
    for street in Region.objects.filter(code__in=[DAYINGMEN, HUAMING, YANGCUN]):
        orgs[street.code] = _org(f"{street.name}办事处", OrganisationKind.STREET_OFFICE, street.code)
    community = Region.objects.get(code=community_code)
    orgs["community"] = _org(community.name, OrganisationKind.COMMUNITY_COMMITTEE, community.code)
    rehab = _org("西青区精神障碍社区康复服务中心", OrganisationKind.REHAB_INSTITUTION, XIQING)
    orgs["rehab"] = rehab
    _org("天津建发医院康复站点", OrganisationKind.REHAB_SITE, "120111101000", parent=rehab)
    _org("赤龙南街社区卫生服务中心康复站点", OrganisationKind.REHAB_SITE, "120111003000", parent=rehab)
    orgs["beichen_rehab"] = _org(
        "北辰区精神障碍社区康复服务中心", OrganisationKind.REHAB_INSTITUTION, BEICHEN
    )
    orgs["anding"] = _org("天津市安定医院", OrganisationKind.PSYCHIATRIC_HOSPITAL, HEXI)
    _org("北辰安津医院", OrganisationKind.PSYCHIATRIC_HOSPITAL, BEICHEN)
    centre = _org(
        "武清区康复辅助器具租赁服务中心", OrganisationKind.DEVICE_CENTRE, YANGCUN, address="杨村街道新华北路"
    )
    orgs["devices"] = centre
    _org("下朱庄街道辅具租赁网点", OrganisationKind.DEVICE_OUTLET, "120114002000", parent=centre)
    _org("黄庄街道辅具租赁网点", OrganisationKind.DEVICE_OUTLET, "120114004000", parent=centre)
    _org("津康烘焙坊（辅助性就业）", OrganisationKind.EMPLOYER, XIQING)
    return orgs


def demo_accounts(community_code: str) -> list[DemoAccount]:
    return [
        DemoAccount(
            "shi.admin", "市民政局 管理员", Role.CITY_ADMIN, "city", TIANJIN_CITY, "全市；可进入系统管理"
        ),
        DemoAccount(
            "hexi.admin", "河西区民政局 管理员", Role.DISTRICT_ADMIN, HEXI, HEXI, "河西区；计算月度发放"
        ),
        DemoAccount(
            "hexi.fuhe", "河西区民政局 审核员", Role.DISTRICT_ADMIN, HEXI, HEXI, "河西区；审核锁定发放"
        ),
        DemoAccount(
            "nankai.admin",
            "南开区民政局 管理员",
            Role.DISTRICT_ADMIN,
            NANKAI,
            NANKAI,
            "南开区；上线迁移：导入原有数据、对账、首次发放",
        ),
        DemoAccount(
            "nankai.fuhe",
            "南开区民政局 审核员",
            Role.DISTRICT_ADMIN,
            NANKAI,
            NANKAI,
            "南开区；审核锁定首次发放",
        ),
        DemoAccount(
            "hexi.canlian",
            "河西区残联 审核员",
            Role.DPF_REVIEWER,
            "hexi_dpf",
            HEXI,
            "河西区；两项补贴申请的县级残联审核（街道之后、区民政局之前）",
        ),
        DemoAccount(
            "dayingmen", "大营门街道 工作人员", Role.STREET_OFFICER, DAYINGMEN, DAYINGMEN, "河西区大营门街道"
        ),
        DemoAccount(
            "huaming",
            "华明街道 工作人员",
            Role.STREET_OFFICER,
            HUAMING,
            HUAMING,
            "东丽区华明街道（看不到大营门的人）",
        ),
        DemoAccount(
            "shequ", "社区网格员", Role.COMMUNITY_WORKER, "community", community_code, "大营门街道的一个社区"
        ),
        # A second worker of the same community: the one who filed a counter application cannot
        # accept it (separation of duties), so the chain needs a colleague to go on.
        DemoAccount(
            "shequ2",
            "社区网格员（二）",
            Role.COMMUNITY_WORKER,
            "community",
            community_code,
            "与 shequ 同一社区；受理 shequ 窗口提交的申请",
        ),
        DemoAccount(
            "xiqing.admin",
            "西青区民政局 管理员",
            Role.DISTRICT_ADMIN,
            XIQING,
            XIQING,
            "西青区；精康受理和转介",
        ),
        DemoAccount(
            "xiqing.rehab", "西青康复中心 社工", Role.REHAB_WORKER, "rehab", XIQING, "西青区；精康个案"
        ),
        # A second worker of the same centre: a plan or a discharge that xiqing.rehab proposes waits for
        # a colleague's approval (计划和结案审核), never the proposer's own.
        DemoAccount(
            "xiqing.rehab2",
            "西青康复中心 社工（二）",
            Role.REHAB_WORKER,
            "rehab",
            XIQING,
            "与 xiqing.rehab 同一机构；审核 xiqing.rehab 提交的计划和结案",
        ),
        DemoAccount(
            "beichen.rehab",
            "北辰康复中心 社工",
            Role.REHAB_WORKER,
            "beichen_rehab",
            BEICHEN,
            "北辰区（看不到西青的个案）",
        ),
        DemoAccount(
            "anding.doctor", "安定医院 医师", Role.PSYCHIATRIST, "anding", TIANJIN_CITY, "医院转介；紧急查阅"
        ),
        DemoAccount("wuqing.fuju", "武清辅具中心 业务员", Role.DEVICE_CLERK, "devices", WUQING, "武清区"),
        DemoAccount("shenji", "市民政局 审计员", Role.AUDITOR, "city", TIANJIN_CITY, "只看审计日志"),
    ]


@transaction.atomic
def ensure_accounts(*, orgs: dict[str, Organisation], community_code: str) -> list[DemoAccount]:
    accounts = demo_accounts(community_code)
    for account in accounts:
        user, created = User.objects.get_or_create(username=account.username)
        user.full_name = account.full_name
        user.role = account.role
        user.organisation = orgs[account.organisation]
        user.jurisdiction_id = account.jurisdiction
        user.is_staff = user.is_superuser = account.role == Role.CITY_ADMIN
        if created:
            user.set_password(DEMO_PASSWORD)
        user.save()
    return accounts


def load(out) -> None:
    """Regions, organisations and one account per role (idempotent)."""
    # Migrations load the shipped regions; this only refills a database emptied since.
    report = regions_load_shipped(actor=None)
    if report.created:
        out.write(f"补齐随附的行政区划 {report.created} 条。")
    orgs = ensure_organisations(community_code=JIUJIANGLU)
    ensure_accounts(orgs=orgs, community_code=JIUJIANGLU)
