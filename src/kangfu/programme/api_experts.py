"""精康项目 endpoints for the expert bank and the programme's trainings, mounted beside the programme's
router under the same /programme prefix. Same selectors and services as the pages; an expert's phone
is masked for anyone but the administrators who arrange their work."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from ninja import Field, Router, Schema, Status

from kangfu.core.pagination import Limit, Offset, api_page
from kangfu.programme import selectors_experts as experts_read
from kangfu.programme.api import ErrorOut, _manager, _reader
from kangfu.programme.services import experts as expert_services

router = Router(tags=["精康项目"])


class WindowOut(Schema):
    starts_on: dt.date
    ends_on: dt.date


class ExpertOut(Schema):
    id: int
    region: str = Field(description="所属专家库的区划代码")
    name: str
    field: str
    level: str
    organisation: str
    title: str
    phone: str = Field(description="联系电话；非安排专家的角色脱敏")
    windows: list[WindowOut]


class ExpertPage(Schema):
    count: int
    count_capped: bool
    items: list[ExpertOut]


def _expert_out(user, e) -> dict:
    return {
        "id": e.pk,
        "region": e.region_id,
        "name": e.name,
        "field": e.field,
        "level": e.level,
        "organisation": e.organisation,
        "title": e.title,
        "phone": experts_read.phone_for(user, e),
        "windows": list(e.windows.all()),
    }


@router.get(
    "/experts",
    response={200: ExpertPage, 403: ErrorOut},
    summary="专家库",
    description="本级、下辖区和市级专家库中的在库专家及其可用时段。",
)
def list_experts(request, limit: Limit = 20, offset: Offset = 0):
    _manager(request.user)
    rows = experts_read.expert_list_for(request.user).prefetch_related("windows")
    return api_page(
        rows, limit=limit, offset=offset, out=lambda page: [_expert_out(request.user, e) for e in page]
    )


class TrainingOut(Schema):
    id: int
    district: str
    held_on: dt.date
    hours: Decimal
    topic: str
    place: str
    trainer_ids: list[int]
    attended: int = Field(description="签到人数")


class TrainingPage(Schema):
    count: int
    count_capped: bool
    items: list[TrainingOut]


def _training_out(t) -> dict:
    return {
        "id": t.pk,
        "district": t.district_id,
        "held_on": t.held_on,
        "hours": t.hours,
        "topic": t.topic,
        "place": t.place,
        "trainer_ids": sorted(e.pk for e in t.trainers.all()),
        "attended": t.n_attended,
    }


@router.get(
    "/trainings",
    response={200: TrainingPage, 403: ErrorOut},
    summary="培训",
    description="管理员看到本级及下辖区举办的培训；机构人员看到本机构人员参加过的培训。",
)
def list_trainings(request, limit: Limit = 20, offset: Offset = 0):
    _reader(request.user)
    rows = experts_read.trainings_for(request.user).order_by("-held_on", "-id")
    return api_page(rows, limit=limit, offset=offset, out=lambda page: [_training_out(t) for t in page])


class TrainingIn(Schema):
    held_on: dt.date
    hours: Decimal = Field(gt=0, le=24, max_digits=3, decimal_places=1)
    topic: str = Field(max_length=200)
    place: str = Field("", max_length=100)
    trainer_ids: list[int] = Field(description="授课专家（须在培训日期处于可用时段内）")


def _training(request, pk: int):
    """The training as listed (with its count of attendance), once the caller may see it."""
    return experts_read.trainings_for(request.user).get(pk=pk)


@router.post(
    "/trainings",
    response={201: TrainingOut, 400: ErrorOut, 403: ErrorOut},
    summary="新增培训",
)
def create_training(request, payload: TrainingIn):
    _manager(request.user)
    trainers = list(experts_read.experts_for(request.user).filter(pk__in=payload.trainer_ids))
    if len(trainers) != len(set(payload.trainer_ids)):
        raise ValidationError({"trainer_ids": [expert_services.EXPERT_OUT_OF_REACH.format(name="所选专家")]})
    training = expert_services.training_create(
        actor=request.user,
        data=expert_services.TrainingData(
            held_on=payload.held_on,
            hours=payload.hours,
            topic=payload.topic,
            place=payload.place,
            trainers=trainers,
        ),
    )
    return Status(201, _training_out(_training(request, training.pk)))


class AttendanceIn(Schema):
    staff_ids: list[int] = Field(description="参加培训的机构专业人员")


@router.post(
    "/trainings/{int:training_id}/attendance",
    response={200: TrainingOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="登记培训签到",
    description="全部登记或全部不登记；学时计入人员年度培训。",
)
def record_attendance(request, training_id: int, payload: AttendanceIn):
    _manager(request.user)
    training = experts_read.training_get_for_user(user=request.user, pk=training_id)
    expert_services.attendance_record(actor=request.user, training=training, staff_ids=payload.staff_ids)
    return _training_out(_training(request, training_id))
