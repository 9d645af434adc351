"""The expert bank (专家库) and the programme's trainings: experts with their availability windows, kept
by the administrators of the bank's region (the city's or a district's); trainings with trainers drawn
from the bank and the institutions' staff who attended, whose hours go to rehab's staff training
record (`rehab.services.staff_training`) in the same transaction.

An expert drawn for a day outside all of their availability windows is refused, as is one who has
left the bank or whose bank is outside the actor's reach.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Region, RegionLevel, User
from kangfu.core.transitions import Conflict
from kangfu.programme import selectors, selectors_experts
from kangfu.programme.models import (
    Expert,
    ExpertField,
    ExpertLevel,
    ExpertWindow,
    ProgrammeTraining,
    TrainingAttendance,
)
from kangfu.rehab.services import staff_training

NAME_REQUIRED = "请填写专家姓名和工作单位。"
BAD_FIELD = "请选择专业领域。"
BAD_LEVEL = "请选择专家级别。"
BANK_OUT_OF_SCOPE = "专家库须是本级或下辖区的专家库。"
BAD_PHONE = "联系电话应为 7–20 位数字（可含“-”）。"
WINDOW_PERIOD = "可用时段的结束日期不能早于开始日期。"
NOT_YOUR_EXPERT = "只有专家所属专家库的管理员可以修改该专家。"
UNAVAILABLE = "{name} {day} 不在可用时段内，不能安排。"
EXPERT_OUT_OF_REACH = "{name} 不在可用的专家库中（已出库或属其他区）。"
TOPIC_REQUIRED = "请填写培训主题。"
BAD_HOURS = "学时应大于 0、不超过 24，最多一位小数。"
NO_TRAINERS = "请从专家库中选择至少一位授课专家。"
NOT_STAFF = "签到人员须是管辖范围内康复机构的在职专业人员。"
NOT_HELD_YET = "培训尚未举办（{day}），举办后才能登记签到。"
ALREADY_ATTENDED = "{name} 已登记参加本次培训。"
NO_ATTENDEES = "请选择参加培训的人员。"
NOT_YOUR_TRAINING = "只有举办培训的民政部门可以登记签到。"


def _require_manager(actor: User) -> None:
    if not selectors.manages(actor):
        raise PermissionDenied(access.NOT_ALLOWED)


@dataclass
class ExpertData:
    region: Region
    name: str
    field: str
    level: str
    organisation: str
    title: str = ""
    phone: str = ""


def _clean_phone(phone: str) -> str:
    phone = phone.strip()
    digits = phone.replace("-", "")
    if phone and (not digits.isdigit() or not 7 <= len(digits) <= 20):
        raise ValidationError({"phone": [BAD_PHONE]})
    return phone


def expert_create(*, actor: User, data: ExpertData) -> Expert:
    """An expert into the bank of a region in the actor's jurisdiction (the city's or a district's)."""
    _require_manager(actor)
    if data.region.level > RegionLevel.DISTRICT or not access.region_in_jurisdiction(actor, data.region.code):
        raise ValidationError({"region": [BANK_OUT_OF_SCOPE]})
    if not data.name.strip() or not data.organisation.strip():
        raise ValidationError({"name": [NAME_REQUIRED]})
    if data.field not in ExpertField.values:
        raise ValidationError({"field": [BAD_FIELD]})
    if data.level not in ExpertLevel.values:
        raise ValidationError({"level": [BAD_LEVEL]})
    phone = _clean_phone(data.phone)
    with transaction.atomic():
        expert = Expert.objects.create(
            region=data.region,
            name=data.name.strip()[:50],
            field=data.field,
            level=data.level,
            organisation=data.organisation.strip()[:100],
            title=data.title.strip()[:50],
            phone=phone,
            created_by=actor,
        )
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=expert,
            summary=f"专家入库：{expert.name}（{expert.get_field_display()}，{expert.get_level_display()}）",
        )
    return expert


def _keeps(actor: User, expert: Expert) -> None:
    _require_manager(actor)
    if not access.region_in_jurisdiction(actor, expert.region_id):
        raise PermissionDenied(NOT_YOUR_EXPERT)


def expert_window_add(
    *, actor: User, expert: Expert, starts_on: dt.date, ends_on: dt.date, note: str = ""
) -> ExpertWindow:
    _keeps(actor, expert)
    if ends_on < starts_on:
        raise ValidationError({"ends_on": [WINDOW_PERIOD]})
    with transaction.atomic():
        window = ExpertWindow.objects.create(
            expert=expert, starts_on=starts_on, ends_on=ends_on, note=note[:100]
        )
        audit.record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=expert,
            summary=f"专家 {expert.name} 可用时段：{starts_on} 至 {ends_on}",
        )
    return window


def check_available(actor: User, experts: list[Expert], day: dt.date) -> None:
    """Every expert is in a bank the actor may draw from and available on `day`: one read."""
    reachable = set(
        selectors_experts.experts_for(actor)
        .filter(pk__in=[e.pk for e in experts])
        .values_list("pk", flat=True)
    )
    free = selectors_experts.available_on([e.pk for e in experts], day)
    problems = []
    for e in experts:
        if e.pk not in reachable:
            problems.append(EXPERT_OUT_OF_REACH.format(name=e.name))
        elif e.pk not in free:
            problems.append(UNAVAILABLE.format(name=e.name, day=day))
    if problems:
        raise ValidationError({"experts": problems})


# ------------------------------------------------------------------ trainings


@dataclass
class TrainingData:
    held_on: dt.date
    hours: Decimal
    topic: str
    trainers: list[Expert] = field(default_factory=list)
    place: str = ""


def _district_of(actor: User) -> str:
    region = actor.jurisdiction
    return region.code if region.level <= RegionLevel.CITY else region.ancestor(RegionLevel.DISTRICT)


def training_create(*, actor: User, data: TrainingData) -> ProgrammeTraining:
    """A training of the actor's office, its trainers drawn from the bank and available on the day."""
    _require_manager(actor)
    if not data.topic.strip():
        raise ValidationError({"topic": [TOPIC_REQUIRED]})
    try:
        hours = Decimal(str(data.hours))
        if not hours.is_finite() or hours != hours.quantize(Decimal("0.1")) or not 0 < hours <= 24:
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"hours": [BAD_HOURS]}) from None
    if not data.trainers:
        raise ValidationError({"trainers": [NO_TRAINERS]})
    check_available(actor, data.trainers, data.held_on)
    with transaction.atomic():
        training = ProgrammeTraining.objects.create(
            district_id=_district_of(actor),
            held_on=data.held_on,
            hours=hours,
            topic=data.topic.strip()[:200],
            place=data.place.strip()[:100],
            created_by=actor,
        )
        training.trainers.set(data.trainers)
        audit.record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=training,
            summary=f"举办培训“{training.topic}”{hours} 学时，授课专家 {'、'.join(e.name for e in data.trainers)}",
        )
    return training


def attendance_record(
    *, actor: User, training: ProgrammeTraining, staff_ids: list[int]
) -> list[TrainingAttendance]:
    """Those who attended, all or none: each a member of staff of an institution in the actor's
    jurisdiction, in post on the day, not yet recorded for this training; each gets the training's
    hours in rehab's staff training record."""
    _require_manager(actor)
    if not access.region_in_jurisdiction(actor, training.district_id):
        raise PermissionDenied(NOT_YOUR_TRAINING)
    if training.held_on > timezone.localdate():
        raise ValidationError(NOT_HELD_YET.format(day=training.held_on))
    ids = list(dict.fromkeys(int(i) for i in staff_ids))
    if not ids:
        raise ValidationError({"staff": [NO_ATTENDEES]})
    staff = {s.pk: s for s in selectors_experts.staff_for(actor).filter(pk__in=ids)}
    if len(staff) != len(ids):
        raise ValidationError({"staff": [NOT_STAFF]})
    done = selectors_experts.attended_names(training, ids)
    if done:
        raise Conflict(ALREADY_ATTENDED.format(name="、".join(done)))
    provider = "民政部门精康项目培训"
    try:
        with transaction.atomic():
            rows = []
            for pk in ids:
                member = staff[pk]
                record = staff_training.training_attendance_record(
                    actor=actor,
                    staff=member,
                    held_on=training.held_on,
                    hours=training.hours,
                    topic=training.topic,
                    provider=provider,
                )
                rows.append(
                    TrainingAttendance.objects.create(
                        training=training, staff=member, record=record, recorded_by=actor
                    )
                )
            audit.record(
                actor=actor,
                action=AuditAction.UPDATE,
                obj=training,
                summary=f"培训“{training.topic}”登记签到 {len(rows)} 人",
            )
    except IntegrityError:
        done = selectors_experts.attended_names(training, ids)
        raise Conflict(ALREADY_ATTENDED.format(name="、".join(done) or "部分人员")) from None
    return rows
