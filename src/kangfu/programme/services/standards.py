"""Scored standards held as data (考核标准, 验收标准) and the acceptance (验收) of contracts by them.

A standard is the city's (`sets_standards`). A version already used (an acceptance scored on it; for
the assessment standard, a year it governs has begun) stays as it was and a change makes a new
version; a version nobody used yet is corrected in place. A closed year's assessment never changes:
a new version of the assessment standard governs from this year at the earliest.

An acceptance is scored whole at or after the contract's end (the automatic indicators counted, the
team's scores each within its item's range) and confirmed, or sent back, by a second administrator.
Only a confirmed acceptance that did not fail lets the contract's final payment (尾款) be requested.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, User
from kangfu.core.transitions import Conflict, advance
from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.models import (
    Acceptance,
    AcceptanceResult,
    AcceptanceScore,
    AcceptanceStatus,
    Contract,
    ItemKind,
    Standard,
    StandardItem,
    StandardPurpose,
    StandardVersion,
)
from kangfu.programme.services.supervision import (
    BAD_ITEM,
    ITEM_RANGE,
    ITEM_TEXT,
    ITEM_WEIGHT,
    NO_ITEMS,
    checked_scores,
    decimal_in_places,
)

# The acceptance's scores are checked as a supervision visit's are, with the same messages.
from kangfu.programme.services.supervision import BAD_SCORE as BAD_SCORE
from kangfu.programme.services.supervision import SCORE_OUT_OF_RANGE as SCORE_OUT_OF_RANGE
from kangfu.programme.standards import INDICATORS

STANDARD_EXISTS = "已有代码为“{code}”的标准。"
BAD_PURPOSE = "请选择标准用途。"
ITEM_NUMBER = "分值和权重须是数字（分值最多一位小数，权重最多两位小数）"
UNKNOWN_INDICATOR = "指标代码“{code}”不是可用于{purpose}的指标（可用：{known}）"
AUTO_RANGE = "自动指标按百分制计算，分值范围须为 0–100"
TWICE = "指标“{code}”重复"
ASSESSMENT_NEEDS_INDICATORS = "年度考核的每一项都须有指标代码（考核时无人现场评分）"
THRESHOLDS_REQUIRED = "验收标准须有“通过”和“整改后通过”的分数线。"
BAD_THRESHOLDS = "分数线须在 0–100 之间，且“通过”不低于“整改后通过”。"
YEAR_CLOSED = "已结束年度的考核不能改变：新版本最早从 {year} 年起用。"
BAD_YEAR = "请填写有效的起用年度。"

NOT_ENDED = "合同服务期至 {ends_on} 结束，结束后才能验收。"
FUTURE_ACCEPTANCE = "验收日期不能晚于今天。"
NOT_ACCEPTANCE_STANDARD = "请选择现行的验收标准。"
STANDARD_REVISED = "该验收标准刚被修订，请按现行版本重新评分。"
MISSING_SCORES = "以下验收项目未评分：{items}。"
UNKNOWN_ITEM = "评分的项目不属于所选验收标准。"
TEAM_REQUIRED = "请填写验收人员。"
ALREADY_ACCEPTED = "该合同已有待确认或已确认的验收，不能重复验收。"
NOT_SCORED = "该验收已确认或已退回，或刚被他人处理。"
RETURN_NOTE = "退回时请填写原因。"
NO_DATA = "自动指标均无数据，无法计算验收得分。"
FINAL_NEEDS_ACCEPTANCE = "尾款须在合同验收确认通过（或整改后通过）后才能申请。"
FINAL_FAILED = "合同验收不通过，不能申请尾款。"


@dataclass
class StandardItemData:
    text: str
    max_score: Decimal
    min_score: Decimal = Decimal("0")
    weight: Decimal = Decimal("1")
    indicator: str = ""


def _clean_items(purpose: str, items: list[StandardItemData]) -> list[StandardItemData]:
    if not items:
        raise ValidationError({"items": [NO_ITEMS]})
    purpose_label = StandardPurpose(purpose).label
    known = "、".join(k for k, i in INDICATORS.items() if purpose in i.purposes)
    problems, clean, seen = [], [], set()
    for n, item in enumerate(items, start=1):
        try:
            low, high = decimal_in_places(item.min_score, "0.1"), decimal_in_places(item.max_score, "0.1")
            weight = decimal_in_places(item.weight, "0.01")
        except (InvalidOperation, ValueError, TypeError):
            problems.append(BAD_ITEM.format(n=n, problem=ITEM_NUMBER))
            continue
        code = item.indicator.strip()
        problem = None
        if not item.text.strip():
            problem = ITEM_TEXT
        elif high <= low:
            problem = ITEM_RANGE
        elif weight <= 0:
            problem = ITEM_WEIGHT
        elif code and (code not in INDICATORS or purpose not in INDICATORS[code].purposes):
            problem = UNKNOWN_INDICATOR.format(code=code, purpose=purpose_label, known=known)
        elif code and (low, high) != (0, 100):
            problem = AUTO_RANGE
        elif code and code in seen:
            problem = TWICE.format(code=code)
        elif not code and purpose == StandardPurpose.ASSESSMENT:
            problem = ASSESSMENT_NEEDS_INDICATORS
        if problem:
            problems.append(BAD_ITEM.format(n=n, problem=problem))
        seen.add(code)
        clean.append(StandardItemData(item.text.strip()[:200], high, low, weight, code))
    if problems:
        raise ValidationError({"items": problems})
    return clean


def _thresholds(purpose: str, pass_score, rectify_score) -> tuple[Decimal | None, Decimal | None]:
    if purpose != StandardPurpose.ACCEPTANCE:
        return None, None
    if pass_score in (None, "") or rectify_score in (None, ""):
        raise ValidationError({"pass_score": [THRESHOLDS_REQUIRED]})
    try:
        high, low = decimal_in_places(pass_score, "0.1"), decimal_in_places(rectify_score, "0.1")
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"pass_score": [BAD_THRESHOLDS]}) from None
    if not 0 <= low <= high <= 100:
        raise ValidationError({"pass_score": [BAD_THRESHOLDS]})
    return high, low


def _put_items(version: StandardVersion, items: list[StandardItemData]) -> None:
    StandardItem.objects.bulk_create(
        [
            StandardItem(
                version=version,
                seq=n,
                kind=(INDICATORS[i.indicator].kind if i.indicator else ItemKind.SCORE),
                indicator=i.indicator,
                text=i.text,
                min_score=i.min_score,
                max_score=i.max_score,
                weight=i.weight,
            )
            for n, i in enumerate(items, start=1)
        ]
    )


def _year_from(value) -> int:
    try:
        year = int(value)
    except (ValueError, TypeError):
        raise ValidationError({"year_from": [BAD_YEAR]}) from None
    if not 2000 <= year <= 2100:
        raise ValidationError({"year_from": [BAD_YEAR]})
    return year


def standard_create(
    *,
    actor: User,
    code: str,
    name: str,
    purpose: str,
    items: list[StandardItemData],
    pass_score=None,
    rectify_score=None,
) -> Standard:
    """A new acceptance standard (the yearly assessment has one standard, shipped and revised)."""
    access.require(actor, "sets_standards")
    if purpose != StandardPurpose.ACCEPTANCE:
        raise ValidationError({"purpose": [BAD_PURPOSE]})
    items = _clean_items(purpose, items)
    high, low = _thresholds(purpose, pass_score, rectify_score)
    try:
        with transaction.atomic():
            standard = Standard.objects.create(code=code.strip(), name=name.strip(), purpose=purpose)
            version = StandardVersion.objects.create(
                standard=standard,
                number=1,
                year_from=timezone.localdate().year,
                pass_score=high,
                rectify_score=low,
                note="首版",
                created_by=actor,
            )
            _put_items(version, items)
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=standard,
                summary=f"新增{standard.get_purpose_display()}标准“{standard.name}”，{len(items)} 项",
            )
    except IntegrityError:
        raise ValidationError({"code": [STANDARD_EXISTS.format(code=code)]}) from None
    return standard


def _used(version: StandardVersion) -> bool:
    if version.standard.purpose == StandardPurpose.ASSESSMENT:
        return version.year_from <= timezone.localdate().year
    return version.acceptances.exists()


def standard_revise(
    *,
    actor: User,
    standard: Standard,
    items: list[StandardItemData],
    note: str = "",
    year_from=None,
    pass_score=None,
    rectify_score=None,
) -> StandardVersion:
    """Change a standard's items (and thresholds). A version already used stays as it was and the
    change becomes a new version; for the assessment, from `year_from` on, never a closed year."""
    access.require(actor, "sets_standards")
    items = _clean_items(standard.purpose, items)
    high, low = _thresholds(standard.purpose, pass_score, rectify_score)
    this_year = timezone.localdate().year
    year = _year_from(year_from) if year_from not in (None, "") else this_year
    if standard.purpose == StandardPurpose.ASSESSMENT and year < this_year:
        raise ValidationError({"year_from": [YEAR_CLOSED.format(year=this_year)]})
    with transaction.atomic():
        # Serialise revisions of one standard, and acceptances scored on it meanwhile.
        current = (
            StandardVersion.objects.select_for_update()
            .select_related("standard")
            .get(standard=standard, is_current=True)
        )
        fields = {"pass_score": high, "rectify_score": low, "year_from": year}
        if not _used(current):
            current.items.all().delete()
            StandardVersion.objects.filter(pk=current.pk).update(**fields)
            _put_items(current, items)
            version, how = current, f"修订第{current.number}版（尚未使用）"
        else:
            StandardVersion.objects.filter(pk=current.pk).update(is_current=False)
            version = StandardVersion.objects.create(
                standard=standard, number=current.number + 1, note=note[:200], created_by=actor, **fields
            )
            _put_items(version, items)
            how = f"第{current.number}版已使用，另立第{version.number}版"
        if standard.purpose == StandardPurpose.ASSESSMENT:
            how += f"，自 {year} 年度起用"
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=standard,
            summary=f"修订{standard.get_purpose_display()}标准“{standard.name}”：{how}，{len(items)} 项",
            changes={"version": [current.number, version.number]},
        )
    version.refresh_from_db()
    return version


# ------------------------------------------------------------------ acceptance (验收)


@dataclass
class AcceptanceData:
    version: StandardVersion
    accepted_on: dt.date
    team: str
    scores: dict  # item id → score, for the items the team scores
    summary: str = ""


def _accepts(actor: User, contract: Contract) -> None:
    """A contract is accepted where its fund is held (the purchaser's side), like its payments."""
    if not selectors.manages(actor) or not access.region_in_jurisdiction(actor, contract.fund.region_id):
        raise PermissionDenied(access.NOT_ALLOWED)


def result_of(version: StandardVersion, score: Decimal) -> str:
    if score >= version.pass_score:
        return AcceptanceResult.PASSED
    if score >= version.rectify_score:
        return AcceptanceResult.RECTIFY
    return AcceptanceResult.FAILED


def acceptance_score(*, actor: User, contract: Contract, data: AcceptanceData) -> Acceptance:
    """Score a contract's acceptance whole, or nothing: the automatic indicators counted now, every
    scored item within its range; the result by the standard's thresholds, waiting for confirmation."""
    contract = Contract.objects.select_related("fund", "institution").get(pk=contract.pk)
    _accepts(actor, contract)
    version = data.version
    if version.standard.purpose != StandardPurpose.ACCEPTANCE or not version.is_current:
        raise ValidationError({"version": [NOT_ACCEPTANCE_STANDARD]})
    today = timezone.localdate()
    if today < contract.ends_on or data.accepted_on < contract.ends_on:
        raise ValidationError({"accepted_on": [NOT_ENDED.format(ends_on=contract.ends_on)]})
    if data.accepted_on > today:
        raise ValidationError({"accepted_on": [FUTURE_ACCEPTANCE]})
    if not data.team.strip():
        raise ValidationError({"team": [TEAM_REQUIRED]})
    items = standards_read.standard_items_of(version)
    scored = [i for i in items if not i.indicator]
    values: dict = checked_scores(scored, data.scores, unknown=UNKNOWN_ITEM, missing=MISSING_SCORES)
    values.update(standards_read.contract_indicators(contract, items))
    total = standards_read.weighted_total(items, values)
    if total is None:
        raise ValidationError(NO_DATA)
    try:
        with transaction.atomic():
            # The version must still be current when the acceptance is written (a revision waits).
            if (
                not StandardVersion.objects.select_for_update()
                .filter(pk=version.pk, is_current=True)
                .exists()
            ):
                raise ValidationError({"version": [STANDARD_REVISED]})
            acceptance = Acceptance.objects.create(
                contract=contract,
                district_id=contract.district_id,
                version=version,
                accepted_on=data.accepted_on,
                team=data.team.strip()[:200],
                summary=data.summary.strip(),
                score=total,
                result=result_of(version, total),
                scored_by=actor,
            )
            AcceptanceScore.objects.bulk_create(
                [
                    AcceptanceScore(acceptance=acceptance, item=i, value=values.get(i.indicator or i.pk))
                    for i in items
                ]
            )
            audit.record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=acceptance,
                summary=f"合同 {contract.number} 验收评分 {total} 分，{acceptance.get_result_display()}（待确认）",
            )
    except IntegrityError:
        raise Conflict(ALREADY_ACCEPTED) from None
    return acceptance


def acceptance_confirm(*, actor: User, acceptance: Acceptance, note: str = "") -> Acceptance:
    """A second administrator confirms the acceptance (never the one who scored it)."""
    contract = Contract.objects.select_related("fund").get(pk=acceptance.contract_id)
    _accepts(actor, contract)
    access.ensure_separate_actors(submitted_by_id=acceptance.scored_by_id, actor=actor)
    with transaction.atomic():
        advance(
            Acceptance.objects.filter(pk=acceptance.pk),
            expected=AcceptanceStatus.SCORED,
            message=NOT_SCORED,
            status=AcceptanceStatus.CONFIRMED,
            confirmed_by=actor,
            confirmed_at=timezone.now(),
            decision_note=note.strip()[:200],
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=acceptance,
            summary=f"确认合同 {contract.number} 验收：{acceptance.score} 分，{acceptance.get_result_display()}",
            changes={"status": [AcceptanceStatus.SCORED, AcceptanceStatus.CONFIRMED]},
        )
    acceptance.refresh_from_db()
    return acceptance


def acceptance_return(*, actor: User, acceptance: Acceptance, note: str) -> Acceptance:
    """Send the scoring back: the contract may be accepted again."""
    contract = Contract.objects.select_related("fund").get(pk=acceptance.contract_id)
    _accepts(actor, contract)
    access.ensure_separate_actors(submitted_by_id=acceptance.scored_by_id, actor=actor)
    if not note.strip():
        raise ValidationError({"note": [RETURN_NOTE]})
    with transaction.atomic():
        advance(
            Acceptance.objects.filter(pk=acceptance.pk),
            expected=AcceptanceStatus.SCORED,
            message=NOT_SCORED,
            status=AcceptanceStatus.RETURNED,
            confirmed_by=actor,
            confirmed_at=timezone.now(),
            decision_note=note.strip()[:200],
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=acceptance,
            summary=f"退回合同 {contract.number} 验收评分：{note.strip()[:100]}",
            changes={"status": [AcceptanceStatus.SCORED, AcceptanceStatus.RETURNED]},
        )
    acceptance.refresh_from_db()
    return acceptance


def check_final_payment(contract: Contract) -> None:
    """The final payment waits for the contract's confirmed acceptance, and never follows a failed one."""
    confirmed = contract.acceptances.filter(status=AcceptanceStatus.CONFIRMED).first()
    if confirmed is None:
        raise ValidationError(FINAL_NEEDS_ACCEPTANCE)
    if confirmed.result == AcceptanceResult.FAILED:
        raise ValidationError(FINAL_FAILED)
