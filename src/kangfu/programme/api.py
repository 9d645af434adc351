"""精康项目 endpoints of the REST API: funds, purchased-service contracts with their delivered volumes by
month, milestones, payment requests and their approval, supervision visits and their findings, through the same selectors, FilterSets and
services as the pages. Another district's record is a 404, as if it did not exist."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from kangfu.core import access
from kangfu.core.pagination import Limit, Offset, api_page, filtered
from kangfu.programme import selectors
from kangfu.programme import selectors_standards as standards_read
from kangfu.programme.filters import ContractFilter, FundFilter, PaymentFilter, VisitFilter
from kangfu.programme.models import Contract, Fund, PaymentRequest
from kangfu.programme.services import contracts, supervision

router = Router(tags=["精康项目"])

Money = Decimal
MONEY = {"gt": 0, "max_digits": 14, "decimal_places": 2}


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class FundOut(Schema):
    id: int
    region: str = Field(description="所属区划代码（12 位）")
    source: str
    year: int
    name: str
    amount: Money = Field(description="到位金额（元）")
    allocated: Money = Field(description="已分配至合同（元）")
    spent: Money = Field(description="已支付（元）")
    committed: Money = Field(description="已分配未支付（元）")
    remaining: Money = Field(description="未分配余额（元）")


class FundPage(Schema):
    count: int
    count_capped: bool
    items: list[FundOut]


class FundIn(Schema):
    region: str = Field(min_length=12, max_length=12, description="市或区的 12 位区划代码")
    source: str = Field(max_length=20)
    year: int = Field(ge=2000, le=2100)
    name: str = Field("", max_length=100)
    amount: Decimal = Field(**MONEY)
    note: str = Field("", max_length=200)


class VolumesOut(Schema):
    people: int
    sessions: int
    people_times: int
    follow_ups: int
    staff_trained: int


class MonthOut(VolumesOut):
    month: dt.date


class MilestoneOut(VolumesOut):
    id: int
    seq: int
    name: str
    amount: Money
    due_on: dt.date | None
    final: bool = Field(description="尾款：合同验收确认通过后才能申请")
    status: str
    delivered: bool = Field(description="按当前服务记录是否已达到节点服务量")


class ContractOut(Schema):
    id: int
    number: str
    title: str
    purchaser: str
    institution_id: int
    institution: str
    fund_id: int
    starts_on: dt.date
    ends_on: dt.date
    amount: Money
    paid: Money
    status: str
    service_types: list[str]
    contracted: VolumesOut
    delivered: VolumesOut = Field(description="由机构服务记录统计，不可填写")


class ContractPage(Schema):
    count: int
    count_capped: bool
    items: list[ContractOut]


class ContractDetailOut(ContractOut):
    site_ids: list[int]
    months: list[MonthOut]
    milestones: list[MilestoneOut]


class ContractIn(Schema):
    title: str = Field(max_length=100)
    institution_id: int
    fund_id: int
    starts_on: dt.date
    ends_on: dt.date
    amount: Decimal = Field(**MONEY)
    service_types: list[str]
    site_ids: list[int] = []
    people: int = Field(0, ge=0, le=10_000_000)
    sessions: int = Field(0, ge=0, le=10_000_000)
    people_times: int = Field(0, ge=0, le=100_000_000)
    follow_ups: int = Field(0, ge=0, le=10_000_000)
    staff_trained: int = Field(0, ge=0, le=1_000_000)


class MilestoneIn(Schema):
    name: str = Field(max_length=100)
    amount: Decimal = Field(**MONEY)
    due_on: dt.date | None = None
    final: bool = Field(False, description="尾款：合同验收确认通过后才能申请；每个合同一个")
    people: int = Field(0, ge=0, le=10_000_000)
    sessions: int = Field(0, ge=0, le=10_000_000)
    people_times: int = Field(0, ge=0, le=100_000_000)
    follow_ups: int = Field(0, ge=0, le=10_000_000)
    staff_trained: int = Field(0, ge=0, le=1_000_000)


class PaymentOut(Schema):
    id: int
    contract_id: int
    milestone_id: int
    amount: Money
    status: str
    requested_by: str
    requested_at: dt.datetime
    decided_by: str
    decided_at: dt.datetime | None
    decision_note: str
    evidence: dict


class PaymentPage(Schema):
    count: int
    count_capped: bool
    items: list[PaymentOut]


class DecisionIn(Schema):
    note: str = Field("", max_length=200)


def _manager(user) -> None:
    if not selectors.manages(user):
        raise PermissionDenied(access.NOT_ALLOWED)


def _reader(user) -> None:
    if not (selectors.manages(user) or access.rehab_org_ids(user)):
        raise PermissionDenied(access.NOT_ALLOWED)


def _fund_out(f: Fund) -> dict:
    return {
        "id": f.pk,
        "region": f.region_id,
        "source": f.source,
        "year": f.year,
        "name": f.name,
        "amount": f.amount,
        "allocated": f.allocated,
        "spent": f.spent,
        "committed": f.committed,
        "remaining": f.remaining,
    }


def _volumes(obj) -> dict:
    return {v: getattr(obj, v) for v in selectors.VOLUMES}


def _contract_out(c: Contract, delivered: dict[str, int]) -> dict:
    return {
        "id": c.pk,
        "number": c.number,
        "title": c.title,
        "purchaser": c.purchaser.name,
        "institution_id": c.institution_id,
        "institution": c.institution.name,
        "fund_id": c.fund_id,
        "starts_on": c.starts_on,
        "ends_on": c.ends_on,
        "amount": c.amount,
        "paid": c.paid,
        "status": c.status,
        "service_types": c.service_types,
        "contracted": _volumes(c),
        "delivered": delivered,
    }


def _contract_detail(c: Contract) -> dict:
    delivery = selectors.delivery_of(c)
    return {
        **_contract_out(c, delivery.totals),
        "site_ids": sorted(s.pk for s in c.sites.all()),
        "months": [{k: v for k, v in row.items() if k != "running"} for row in delivery.months],
        "milestones": [
            {
                "id": m.pk,
                "seq": m.seq,
                "name": m.name,
                "amount": m.amount,
                "due_on": m.due_on,
                "final": m.final,
                "status": m.status,
                "delivered": not delivery.shortfalls(m),
                **_volumes(m),
            }
            for m in selectors.milestones_of(c)
        ],
    }


def _payment_out(p: PaymentRequest) -> dict:
    return {
        "id": p.pk,
        "contract_id": p.contract_id,
        "milestone_id": p.milestone_id,
        "amount": p.amount,
        "status": p.status,
        "requested_by": str(p.requested_by or ""),
        "requested_at": p.requested_at,
        "decided_by": str(p.decided_by or ""),
        "decided_at": p.decided_at,
        "decision_note": p.decision_note,
        "evidence": p.evidence,
    }


# ------------------------------------------------------------------ funds


@router.get(
    "/funds",
    response={200: FundPage, 400: ErrorOut, 403: ErrorOut},
    summary="项目资金",
    description="管辖范围内各来源、各年度的资金及已分配、已支付、未分配余额。查询参数：year、source。",
)
def list_funds(request, limit: Limit = 20, offset: Offset = 0):
    _manager(request.user)
    rows = filtered(
        FundFilter, request, selectors.funds_for(request.user).order_by("-year", "region_id", "id")
    )
    return api_page(rows, limit=limit, offset=offset, out=lambda page: [_fund_out(f) for f in page])


@router.post(
    "/funds",
    response={201: FundOut, 400: ErrorOut, 403: ErrorOut},
    summary="新增项目资金",
    description="金额精确到分；同一区划、年度、来源和名称的资金只能有一笔。",
)
def create_fund(request, payload: FundIn):
    _manager(request.user)
    region = access.regions_in_jurisdiction(request.user).filter(code=payload.region).first()
    if region is None:
        raise ValidationError({"region": [access.OUT_OF_SCOPE_REGION]})
    fund = contracts.fund_create(actor=request.user, region=region, **payload.dict(exclude={"region"}))
    return Status(201, _fund_out(fund))


# ------------------------------------------------------------------ contracts


@router.get(
    "/contracts",
    response={200: ContractPage, 400: ErrorOut, 403: ErrorOut},
    summary="购买服务合同",
    description="合同约定与已完成服务量（由机构服务记录统计）。查询参数：year、institution、fund、status。",
)
def list_contracts(request, limit: Limit = 20, offset: Offset = 0):
    _reader(request.user)
    rows = filtered(
        ContractFilter, request, selectors.contracts_for(request.user).order_by("-starts_on", "-id")
    )

    def out(page):
        figures = selectors.delivery_totals(page)
        return [_contract_out(c, figures[c.pk]) for c in page]

    return api_page(rows, limit=limit, offset=offset, out=out)


@router.get(
    "/contracts/{int:contract_id}",
    response={200: ContractDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="合同详情：按月完成情况和付款节点",
)
def get_contract(request, contract_id: int):
    _reader(request.user)
    return _contract_detail(selectors.contract_get_for_user(user=request.user, pk=contract_id))


@router.post(
    "/contracts",
    response={201: ContractDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="签订购买服务合同",
    description="合同金额从所选资金中分配；超过资金未分配余额时拒绝，不保存。",
)
def create_contract(request, payload: ContractIn):
    _manager(request.user)
    institution = selectors.institutions_for(request.user).filter(pk=payload.institution_id).first()
    if institution is None:
        raise ValidationError({"institution_id": [contracts.INSTITUTION_OUTSIDE_FUND]})
    fund = selectors.fund_get_for_user(user=request.user, pk=payload.fund_id)
    sites = list(selectors.sites_for(request.user).filter(pk__in=payload.site_ids))
    if len(sites) != len(set(payload.site_ids)):
        raise ValidationError({"site_ids": [contracts.SITE_NOT_OF_INSTITUTION]})
    contract = contracts.contract_create(
        actor=request.user,
        data=contracts.ContractData(
            institution=institution,
            fund=fund,
            sites=sites,
            **payload.dict(exclude={"institution_id", "fund_id", "site_ids"}),
        ),
    )
    return Status(201, _contract_detail(selectors.contract_get_for_user(user=request.user, pk=contract.pk)))


@router.post(
    "/contracts/{int:contract_id}/milestones",
    response={201: ContractDetailOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="新增付款节点",
    description="服务量自合同开始累计；各节点金额合计不能超过合同金额。",
)
def create_milestone(request, contract_id: int, payload: MilestoneIn):
    _manager(request.user)
    contract = selectors.contract_get_for_user(user=request.user, pk=contract_id)
    contracts.milestone_add(
        actor=request.user, contract=contract, data=contracts.MilestoneData(**payload.dict())
    )
    return Status(201, _contract_detail(selectors.contract_get_for_user(user=request.user, pk=contract_id)))


# ------------------------------------------------------------------ payments


@router.get(
    "/payments",
    response={200: PaymentPage, 400: ErrorOut, 403: ErrorOut},
    summary="付款申请",
    description="查询参数：status（默认待审批）、contract。",
)
def list_payments(request, limit: Limit = 20, offset: Offset = 0):
    _reader(request.user)
    rows = filtered(PaymentFilter, request, selectors.payments_for(request.user))
    return api_page(rows, limit=limit, offset=offset, out=lambda page: [_payment_out(p) for p in page])


@router.post(
    "/milestones/{int:milestone_id}/payment-requests",
    response={201: PaymentOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="申请支付付款节点",
    description="服务量未达到节点要求、或超过合同未支付余额时拒绝；同一节点已有申请时返回 409。",
)
def request_payment(request, milestone_id: int):
    _reader(request.user)
    milestone = selectors.milestone_get_for_user(user=request.user, pk=milestone_id)
    payment = contracts.payment_request(actor=request.user, milestone=milestone)
    return Status(201, _payment_out(selectors.payment_get_for_user(user=request.user, pk=payment.pk)))


@router.post(
    "/payments/{int:payment_id}/approve",
    response={200: PaymentOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="批准付款",
    description="由申请人以外、资金所属区划的民政管理员批准；已被处理时返回 409，不重复支付。",
)
def approve_payment(request, payment_id: int, payload: DecisionIn):
    _manager(request.user)
    payment = selectors.payment_get_for_user(user=request.user, pk=payment_id)
    contracts.payment_approve(actor=request.user, payment=payment, note=payload.note)
    return _payment_out(selectors.payment_get_for_user(user=request.user, pk=payment_id))


@router.post(
    "/payments/{int:payment_id}/reject",
    response={200: PaymentOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="退回付款申请",
)
def reject_payment(request, payment_id: int, payload: DecisionIn):
    _manager(request.user)
    payment = selectors.payment_get_for_user(user=request.user, pk=payment_id)
    contracts.payment_reject(actor=request.user, payment=payment, note=payload.note)
    return _payment_out(selectors.payment_get_for_user(user=request.user, pk=payment_id))


# ------------------------------------------------------------------ supervision


class FindingOut(Schema):
    id: int
    text: str
    deadline: dt.date
    owner: str
    status: str
    answer: str
    verification_note: str


class VisitOut(Schema):
    id: int
    institution_id: int
    institution: str
    year: int
    quarter: int
    visited_on: dt.date
    checklist: str
    checklist_version: int
    score: Decimal = Field(description="百分制得分")
    team: str
    findings: list[FindingOut]


class VisitPage(Schema):
    count: int
    count_capped: bool
    items: list[VisitOut]


class FindingIn(Schema):
    text: str = Field(max_length=300)
    deadline: dt.date
    owner: str = Field(max_length=50)


class VisitIn(Schema):
    institution_id: int
    checklist_version_id: int
    year: int = Field(ge=2000, le=2100)
    quarter: int = Field(ge=1, le=4)
    visited_on: dt.date
    team: str = Field(max_length=200)
    summary: str = Field("", max_length=2000)
    scores: dict[int, Decimal] = Field(description="检查项目 id → 得分")
    findings: list[FindingIn] = []


class AnswerIn(Schema):
    answer: str = Field(max_length=2000)


class VerifyIn(Schema):
    accepted: bool
    note: str = Field("", max_length=200)


def _visit_out(v) -> dict:
    return {
        "id": v.pk,
        "institution_id": v.institution_id,
        "institution": v.institution.name,
        "year": v.year,
        "quarter": v.quarter,
        "visited_on": v.visited_on,
        "checklist": v.version.checklist.name,
        "checklist_version": v.version.number,
        "score": v.score,
        "team": v.team,
        "findings": [
            {
                "id": f.pk,
                "text": f.text,
                "deadline": f.deadline,
                "owner": f.owner,
                "status": f.status,
                "answer": f.answer,
                "verification_note": f.verification_note,
            }
            for f in v.findings.all()
        ],
    }


@router.get(
    "/visits",
    response={200: VisitPage, 400: ErrorOut, 403: ErrorOut},
    summary="督导检查",
    description="查询参数：year、quarter、institution。机构人员只看到本机构的督导。",
)
def list_visits(request, limit: Limit = 20, offset: Offset = 0):
    _reader(request.user)
    rows = filtered(
        VisitFilter,
        request,
        selectors.visits_for(request.user).prefetch_related("findings").order_by("-visited_on", "-id"),
    )
    return api_page(rows, limit=limit, offset=offset, out=lambda page: [_visit_out(v) for v in page])


@router.post(
    "/visits",
    response={201: VisitOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="记录季度督导",
    description="须按现行检查表版本为每一项评分，得分不能超出该项的分值范围；同一机构每季度一次。",
)
def create_visit(request, payload: VisitIn):
    _manager(request.user)
    institution = selectors.institutions_for(request.user).filter(pk=payload.institution_id).first()
    if institution is None:
        raise ValidationError({"institution_id": [supervision.NOT_AN_INSTITUTION]})
    version = selectors.current_versions().filter(pk=payload.checklist_version_id).first()
    if version is None:
        raise ValidationError({"checklist_version_id": [supervision.NOT_CURRENT]})
    visit = supervision.visit_record(
        actor=request.user,
        data=supervision.VisitData(
            institution=institution,
            version=version,
            findings=[supervision.FindingData(**f.dict()) for f in payload.findings],
            **payload.dict(exclude={"institution_id", "checklist_version_id", "findings"}),
        ),
    )
    return Status(201, _visit_out(selectors.visit_get_for_user(user=request.user, pk=visit.pk)))


@router.post(
    "/findings/{int:finding_id}/answer",
    response={200: VisitOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="机构报告整改情况",
)
def answer_finding(request, finding_id: int, payload: AnswerIn):
    _reader(request.user)
    finding = selectors.finding_get_for_user(user=request.user, pk=finding_id)
    supervision.finding_answer(actor=request.user, finding=finding, answer=payload.answer)
    return _visit_out(selectors.visit_get_for_user(user=request.user, pk=finding.visit_id))


@router.post(
    "/findings/{int:finding_id}/verify",
    response={200: VisitOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="民政部门核验整改",
    description="accepted 为假时须填写意见，整改任务退回待整改。",
)
def verify_finding(request, finding_id: int, payload: VerifyIn):
    _manager(request.user)
    finding = selectors.finding_get_for_user(user=request.user, pk=finding_id)
    supervision.finding_verify(
        actor=request.user, finding=finding, accepted=payload.accepted, note=payload.note
    )
    return _visit_out(selectors.visit_get_for_user(user=request.user, pk=finding.visit_id))


# ------------------------------------------------------------------ the year's assessment


class AssessmentOut(Schema):
    district: str
    rank: int | None = Field(description="区内排名；无任何指标数据时为空")
    institution_id: int
    institution: str
    indicators: dict[str, Decimal | None] = Field(description="各项指标（百分制），无数据为空")
    total: Decimal | None


@router.get(
    "/assessment",
    response={200: list[AssessmentOut], 403: ErrorOut},
    summary="年度考核排名",
    description="管辖范围内各机构的年度考核指标和综合得分，按区排名。year 缺省为今年。",
)
def get_assessment(request, year: int | None = None):
    _manager(request.user)
    today = timezone.localdate()
    year = min(max(year or today.year, 2000), today.year)
    return [
        {
            "district": r["district"],
            "rank": r["rank"],
            "institution_id": r["institution"].pk,
            "institution": r["institution"].name,
            "indicators": r["indicators"],
            "total": r["total"],
        }
        for r in standards_read.assessment(request.user, year=year)
    ]
