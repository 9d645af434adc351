"""Supervision (督导): checklists held as versioned data, quarterly visits scored on them, findings with
rectification tasks that the institution answers and civil affairs verifies.

A checklist is the city's standard (`sets_standards`); a change after any visit scored it makes a new
version and leaves the old one, with its visits, as it was. A visit is recorded whole: every item
scored within its range, findings and their tasks, in one transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, OrganisationKind, RegionLevel, User
from kangfu.core.transitions import advance
from kangfu.programme import selectors
from kangfu.programme.models import (
    Checklist,
    ChecklistItem,
    ChecklistVersion,
    Contract,
    Finding,
    FindingPhoto,
    RectificationStatus,
    Visit,
    VisitScore,
)
from kangfu.programme.services.experts import check_available

NO_ITEMS = "检查表至少要有一个检查项目。"
BAD_ITEM = "第 {n} 项：{problem}"
ITEM_RANGE = "最高分须大于最低分"
ITEM_WEIGHT = "权重须大于 0"
ITEM_TEXT = "请填写检查内容"
ITEM_NUMBER = "分值和权重须是数字（分值最多一位小数）"
CHECKLIST_EXISTS = "已有代码为“{code}”的检查表。"
NOT_CURRENT = "该检查表版本已被修订，请按现行版本督导。"
MISSING_SCORES = "以下检查项目未评分：{items}。"
SCORE_OUT_OF_RANGE = "“{item}”的得分 {score} 不在 {low}–{high} 分之间。"
UNKNOWN_ITEM = "评分的检查项目不属于所选检查表版本。"
BAD_SCORE = "“{item}”的得分须是数字，最多一位小数。"
BAD_QUARTER = "季度应为 1–4。"
DATE_NOT_IN_QUARTER = "督导日期 {day} 不在 {year} 年第 {quarter} 季度内。"
FUTURE_VISIT = "督导日期不能晚于今天。"
ALREADY_VISITED = "{institution} {year} 年第 {quarter} 季度已有督导记录。"
NOT_AN_INSTITUTION = "被督导机构须是管辖范围内的精神障碍社区康复机构。"
CONTRACT_OF_ANOTHER = "所选合同不是该机构的合同。"
FINDING_TEXT = "请填写发现的问题。"
DEADLINE_BEFORE_VISIT = "整改期限不能早于督导日期。"
NOT_OPEN = "该整改任务不在待整改状态，或刚被他人处理。"
NOT_ANSWERED = "该整改任务尚未报告整改情况，或刚被他人核验。"
ANSWER_REQUIRED = "请填写整改情况。"
NOT_THE_INSTITUTION = "只有被督导机构的人员可以报告整改情况。"
REJECT_NOTE = "未通过核验时请填写意见。"


@dataclass
class ItemData:
    text: str
    max_score: Decimal
    min_score: Decimal = Decimal("0")
    weight: Decimal = Decimal("1")
    section: str = ""


def decimal_in_places(value, places: str) -> Decimal:
    """`value` as a finite Decimal of at most `places` (e.g. "0.1") under 1,000; InvalidOperation if not."""
    number = Decimal(str(value))
    if not number.is_finite() or number != number.quantize(Decimal(places)) or abs(number) >= 1000:
        raise InvalidOperation
    return number


def checked_scores(items: list, raw: dict, *, unknown: str, missing: str) -> dict[int, Decimal]:
    """The scores given for `items` (checklist or standard items with `text` and a score range): every
    item scored and no other, each a number with at most one decimal within its item's range. Any
    problem raises ValidationError on "scores" naming each item it concerns; `unknown` and `missing`
    are the caller's words for an item not on the list and for the items left unscored."""
    by_id = {i.pk: i for i in items}
    try:
        keys = {int(k) for k in raw}
    except (ValueError, TypeError):
        raise ValidationError({"scores": [unknown]}) from None
    if keys - set(by_id):
        raise ValidationError({"scores": [unknown]})
    absent = [i.text for i in items if i.pk not in keys]
    if absent:
        raise ValidationError({"scores": [missing.format(items="、".join(absent))]})
    scores: dict[int, Decimal] = {}
    problems = []
    for key, value in raw.items():
        item = by_id[int(key)]
        try:
            score = decimal_in_places(value, "0.1")
        except (InvalidOperation, ValueError, TypeError):
            problems.append(BAD_SCORE.format(item=item.text))
            continue
        if not item.min_score <= score <= item.max_score:
            problems.append(
                SCORE_OUT_OF_RANGE.format(
                    item=item.text, score=score, low=item.min_score, high=item.max_score
                )
            )
        scores[item.pk] = score
    if problems:
        raise ValidationError({"scores": problems})
    return scores


def _clean_items(items: list[ItemData]) -> list[ItemData]:
    if not items:
        raise ValidationError({"items": [NO_ITEMS]})
    problems, clean = [], []
    for n, item in enumerate(items, start=1):
        try:
            low, high = decimal_in_places(item.min_score, "0.1"), decimal_in_places(item.max_score, "0.1")
            weight = decimal_in_places(item.weight, "0.01")
        except (InvalidOperation, ValueError, TypeError):
            problems.append(BAD_ITEM.format(n=n, problem=ITEM_NUMBER))
            continue
        if not item.text.strip():
            problems.append(BAD_ITEM.format(n=n, problem=ITEM_TEXT))
        elif high <= low:
            problems.append(BAD_ITEM.format(n=n, problem=ITEM_RANGE))
        elif weight <= 0:
            problems.append(BAD_ITEM.format(n=n, problem=ITEM_WEIGHT))
        clean.append(ItemData(item.text.strip()[:200], high, low, weight, item.section.strip()[:50]))
    if problems:
        raise ValidationError({"items": problems})
    return clean


def _new_version(
    checklist: Checklist, number: int, items: list[ItemData], actor: User, note: str
) -> ChecklistVersion:
    version = ChecklistVersion.objects.create(
        checklist=checklist, number=number, is_current=True, note=note, created_by=actor
    )
    _put_items(version, items)
    return version


def _put_items(version: ChecklistVersion, items: list[ItemData]) -> None:
    ChecklistItem.objects.bulk_create(
        [
            ChecklistItem(
                version=version,
                seq=n,
                section=i.section,
                text=i.text,
                min_score=i.min_score,
                max_score=i.max_score,
                weight=i.weight,
            )
            for n, i in enumerate(items, start=1)
        ]
    )


def checklist_create(*, actor: User, code: str, name: str, items: list[ItemData]) -> Checklist:
    access.require(actor, "sets_standards")
    items = _clean_items(items)
    try:
        with transaction.atomic():
            checklist = Checklist.objects.create(code=code.strip(), name=name.strip())
            _new_version(checklist, 1, items, actor, "首版")
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=checklist,
                summary=f"新增督导检查表“{checklist.name}”，{len(items)} 项",
            )
    except IntegrityError:
        raise ValidationError({"code": [CHECKLIST_EXISTS.format(code=code)]}) from None
    return checklist


def checklist_revise(
    *, actor: User, checklist: Checklist, items: list[ItemData], note: str = ""
) -> ChecklistVersion:
    """Change a checklist's items. A version no visit has scored is corrected in place; one that has
    been scored stays as it was (its visits keep their meaning) and the change becomes a new version."""
    access.require(actor, "sets_standards")
    items = _clean_items(items)
    with transaction.atomic():
        # Serialise revisions of one checklist (and visits recorded against it meanwhile).
        current = ChecklistVersion.objects.select_for_update().get(checklist=checklist, is_current=True)
        if not current.visits.exists():
            current.items.all().delete()
            _put_items(current, items)
            version, how = current, f"修订第{current.number}版（尚无督导评分）"
        else:
            ChecklistVersion.objects.filter(pk=current.pk).update(is_current=False)
            version = _new_version(checklist, current.number + 1, items, actor, note)
            how = f"第{current.number}版已用于督导评分，另立第{version.number}版"
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=checklist,
            summary=f"修订督导检查表“{checklist.name}”：{how}，{len(items)} 项",
            changes={"version": [current.number, version.number]},
        )
    return version


@dataclass
class FindingData:
    text: str
    deadline: dt.date
    owner: str


@dataclass
class VisitData:
    institution: Organisation
    year: int
    quarter: int
    visited_on: dt.date
    version: ChecklistVersion
    team: str
    scores: dict[int, object]  # item id → score
    findings: list[FindingData] = field(default_factory=list)
    summary: str = ""
    contract: Contract | None = None
    experts: list = field(default_factory=list)  # drawn from the bank, available on the day


def _quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def _weighted(items: list[ChecklistItem], scores: dict[int, Decimal]) -> Decimal:
    """The visit's score out of 100: each item's share of its range, weighted."""
    total_weight = sum(i.weight for i in items)
    got = sum(((scores[i.pk] - i.min_score) / (i.max_score - i.min_score)) * i.weight for i in items)
    return (got * 100 / total_weight).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def visit_record(*, actor: User, data: VisitData) -> Visit:
    """Record a quarter's visit whole, or nothing: every item of the current version scored within its
    range, the findings with their rectification tasks."""
    if not selectors.manages(actor):
        raise PermissionDenied(access.NOT_ALLOWED)
    inst = data.institution
    if inst.kind != OrganisationKind.REHAB_INSTITUTION or not access.region_in_jurisdiction(
        actor, inst.region_id
    ):
        raise ValidationError({"institution": [NOT_AN_INSTITUTION]})
    if data.contract is not None and data.contract.institution_id != inst.pk:
        raise ValidationError({"contract": [CONTRACT_OF_ANOTHER]})
    if data.quarter not in (1, 2, 3, 4):
        raise ValidationError({"quarter": [BAD_QUARTER]})
    if data.visited_on > timezone.localdate():
        raise ValidationError({"visited_on": [FUTURE_VISIT]})
    if _quarter_of(data.visited_on) != (data.year, data.quarter):
        raise ValidationError(
            {
                "visited_on": [
                    DATE_NOT_IN_QUARTER.format(day=data.visited_on, year=data.year, quarter=data.quarter)
                ]
            }
        )
    items = list(data.version.items.order_by("seq"))
    scores = checked_scores(items, data.scores, unknown=UNKNOWN_ITEM, missing=MISSING_SCORES)
    for finding in data.findings:
        if not finding.text.strip() or not finding.owner.strip():
            raise ValidationError({"findings": [FINDING_TEXT]})
        if finding.deadline < data.visited_on:
            raise ValidationError({"findings": [DEADLINE_BEFORE_VISIT]})
    if data.experts:
        check_available(actor, data.experts, data.visited_on)
    region = inst.region
    district = region.code if region.level <= RegionLevel.CITY else region.ancestor(RegionLevel.DISTRICT)
    try:
        with transaction.atomic():
            # The version must still be current when the visit is written (a revision waits for us).
            if (
                not ChecklistVersion.objects.select_for_update()
                .filter(pk=data.version.pk, is_current=True)
                .exists()
            ):
                raise ValidationError({"version": [NOT_CURRENT]})
            visit = Visit.objects.create(
                institution=inst,
                district_id=district,
                contract=data.contract,
                year=data.year,
                quarter=data.quarter,
                visited_on=data.visited_on,
                version=data.version,
                team=data.team.strip()[:200],
                summary=data.summary,
                score=_weighted(items, scores),
                created_by=actor,
            )
            visit.experts.set(data.experts)
            VisitScore.objects.bulk_create(
                [VisitScore(visit=visit, item_id=k, score=v) for k, v in scores.items()]
            )
            Finding.objects.bulk_create(
                [
                    Finding(
                        visit=visit,
                        text=f.text.strip()[:300],
                        deadline=f.deadline,
                        owner=f.owner.strip()[:50],
                    )
                    for f in data.findings
                ]
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=visit,
                summary=f"{inst.name} {visit}：{visit.score} 分，发现问题 {len(data.findings)} 项",
            )
    except IntegrityError:
        raise ValidationError(
            ALREADY_VISITED.format(institution=inst.name, year=data.year, quarter=data.quarter)
        ) from None
    return visit


def finding_answer(*, actor: User, finding: Finding, answer: str) -> Finding:
    """The institution reports what it rectified."""
    if finding.visit.institution_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(NOT_THE_INSTITUTION)
    if not answer.strip():
        raise ValidationError({"answer": [ANSWER_REQUIRED]})
    with transaction.atomic():
        advance(
            Finding.objects.filter(pk=finding.pk),
            expected=RectificationStatus.OPEN,
            message=NOT_OPEN,
            status=RectificationStatus.ANSWERED,
            answer=answer.strip(),
            answered_by=actor,
            answered_at=timezone.now(),
        )
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=finding, summary=f"报告整改情况：{finding.text[:80]}"
        )
    finding.refresh_from_db()
    return finding


def finding_verify(*, actor: User, finding: Finding, accepted: bool, note: str = "") -> Finding:
    """Civil affairs checks the rectification: verified, or sent back to be rectified again."""
    if not selectors.manages(actor) or not access.region_in_jurisdiction(
        actor, finding.visit.institution.region_id
    ):
        raise PermissionDenied(access.NOT_ALLOWED)
    if not accepted and not note.strip():
        raise ValidationError({"note": [REJECT_NOTE]})
    with transaction.atomic():
        advance(
            Finding.objects.filter(pk=finding.pk),
            expected=RectificationStatus.ANSWERED,
            message=NOT_ANSWERED,
            status=RectificationStatus.VERIFIED if accepted else RectificationStatus.OPEN,
            verified_by=actor,
            verified_at=timezone.now(),
            verification_note=note.strip()[:200],
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=finding,
            summary=f"整改{'核验通过' if accepted else '未通过，退回重新整改'}：{finding.text[:80]}",
        )
    finding.refresh_from_db()
    return finding


def finding_photo_add(*, actor: User, finding: Finding, image, caption: str = "") -> FindingPhoto:
    """A photo of a finding, by a supervisor of the jurisdiction or by the institution's staff."""
    from kangfu.core.uploads import check_image_upload

    institution = finding.visit.institution
    supervises = selectors.manages(actor) and access.region_in_jurisdiction(actor, institution.region_id)
    if not supervises and institution.pk not in access.rehab_org_ids(actor):
        raise PermissionDenied(access.NOT_ALLOWED)
    check_image_upload(image)
    with transaction.atomic():
        photo = FindingPhoto.objects.create(
            finding=finding, image=image, caption=caption[:100], uploaded_by=actor
        )
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"上传督导照片：{finding.text[:80]}"
        )
    return photo
