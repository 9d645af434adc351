"""精康项目 endpoints for the scored standards and contracts' acceptance (验收), beside the programme's
router (mounted into it, under the same /programme prefix). Same selectors and services as the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from ninja import Field, Router, Schema, Status

from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.api import ErrorOut, _manager, _reader
from kangfu.programme.models import Acceptance
from kangfu.programme.services import standards as standard_services

router = Router(tags=["精康项目"])


class StandardItemOut(Schema):
    id: int
    seq: int
    kind: str = Field(description="auto 自动指标；score 评分")
    indicator: str = Field(description="自动指标的代码；现场评分项为空")
    text: str
    min_score: Decimal
    max_score: Decimal
    weight: Decimal


class StandardOut(Schema):
    id: int
    code: str
    name: str
    purpose: str = Field(description="assessment 年度考核；acceptance 合同验收")
    version_id: int
    version: int
    year_from: int
    pass_score: Decimal | None
    rectify_score: Decimal | None
    items: list[StandardItemOut]


@router.get(
    "/standards",
    response={200: list[StandardOut], 403: ErrorOut},
    summary="考核验收标准",
    description="各标准的现行版本及其项目。",
)
def list_standards(request):
    _manager(request.user)
    return [
        {
            "id": v.standard_id,
            "code": v.standard.code,
            "name": v.standard.name,
            "purpose": v.standard.purpose,
            "version_id": v.pk,
            "version": v.number,
            "year_from": v.year_from,
            "pass_score": v.pass_score,
            "rectify_score": v.rectify_score,
            "items": list(v.items.all()),
        }
        for v in standards_read.current_standard_versions().prefetch_related("items")
    ]


class AcceptanceScoreOut(Schema):
    item_id: int
    text: str
    kind: str
    value: Decimal | None = Field(description="得分；自动指标无数据时为空")


class AcceptanceOut(Schema):
    id: int
    contract_id: int
    standard_version_id: int
    accepted_on: dt.date
    team: str
    summary: str
    score: Decimal = Field(description="百分制")
    result: str = Field(description="passed 通过；rectify 整改后通过；failed 不通过")
    status: str = Field(description="scored 待确认；confirmed 已确认；returned 已退回")
    scores: list[AcceptanceScoreOut]


def _out(a: Acceptance) -> dict:
    return {
        "id": a.pk,
        "contract_id": a.contract_id,
        "standard_version_id": a.version_id,
        "accepted_on": a.accepted_on,
        "team": a.team,
        "summary": a.summary,
        "score": a.score,
        "result": a.result,
        "status": a.status,
        "scores": [
            {"item_id": s.item_id, "text": s.item.text, "kind": s.item.kind, "value": s.value}
            for s in a.scores.all()
        ],
    }


@router.get(
    "/contracts/{int:contract_id}/acceptances",
    response={200: list[AcceptanceOut], 403: ErrorOut, 404: ErrorOut},
    summary="合同验收记录",
)
def list_acceptances(request, contract_id: int):
    _reader(request.user)
    contract = selectors.contract_get_for_user(user=request.user, pk=contract_id)
    return [_out(a) for a in standards_read.acceptances_of(contract)]


class AcceptanceIn(Schema):
    standard_version_id: int
    accepted_on: dt.date
    team: str = Field(max_length=200)
    summary: str = ""
    scores: dict[int, Decimal] = Field(description="现场评分项的 id → 得分（自动指标由系统计算）")


@router.post(
    "/contracts/{int:contract_id}/acceptances",
    response={201: AcceptanceOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="合同验收评分",
    description="服务期结束后按现行验收标准评分；每项得分不能超出其分值范围；须另一位管理员确认。",
)
def create_acceptance(request, contract_id: int, payload: AcceptanceIn):
    _manager(request.user)
    contract = selectors.contract_get_for_user(user=request.user, pk=contract_id)
    version = standards_read.acceptance_standards().filter(pk=payload.standard_version_id).first()
    if version is None:
        raise ValidationError({"standard_version_id": [standard_services.NOT_ACCEPTANCE_STANDARD]})
    acceptance = standard_services.acceptance_score(
        actor=request.user,
        contract=contract,
        data=standard_services.AcceptanceData(
            version=version,
            accepted_on=payload.accepted_on,
            team=payload.team,
            summary=payload.summary,
            scores=payload.scores,
        ),
    )
    return Status(201, _out(standards_read.acceptance_get_for_user(user=request.user, pk=acceptance.pk)))


class NoteIn(Schema):
    note: str = Field("", max_length=200)


@router.post(
    "/acceptances/{int:acceptance_id}/confirm",
    response={200: AcceptanceOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="确认验收结论",
    description="由评分人以外的管理员确认。",
)
def confirm_acceptance(request, acceptance_id: int, payload: NoteIn):
    _manager(request.user)
    acceptance = standards_read.acceptance_get_for_user(user=request.user, pk=acceptance_id)
    standard_services.acceptance_confirm(actor=request.user, acceptance=acceptance, note=payload.note)
    return _out(standards_read.acceptance_get_for_user(user=request.user, pk=acceptance_id))


@router.post(
    "/acceptances/{int:acceptance_id}/return",
    response={200: AcceptanceOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="退回验收评分",
    description="由评分人以外的管理员退回，须填写原因；合同可重新验收。",
)
def return_acceptance(request, acceptance_id: int, payload: NoteIn):
    _manager(request.user)
    acceptance = standards_read.acceptance_get_for_user(user=request.user, pk=acceptance_id)
    standard_services.acceptance_return(actor=request.user, acceptance=acceptance, note=payload.note)
    return _out(standards_read.acceptance_get_for_user(user=request.user, pk=acceptance_id))
