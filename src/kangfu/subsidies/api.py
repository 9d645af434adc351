"""两项补贴 endpoints of the REST API: applications and their decisions, grants, payrolls and standards,
over the same selectors, FilterSets and services as the pages, masked and audited as they are. Refusals
are answered by the API's handlers: 400 with errors, 403, 404 outside the caller's area, 409 when
someone acted first."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from kangfu.core import access, audit
from kangfu.core.ids import mask_account, mask_id_number, mask_phone
from kangfu.core.models import AuditAction
from kangfu.core.pagination import Limit, Offset, api_page, filtered
from kangfu.subsidies import selectors
from kangfu.subsidies.filters import ApplicationFilter, GrantFilter, PayrollFilter, StandardFilter
from kangfu.subsidies.models import Application, Grant, Payroll, Standard
from kangfu.subsidies.services import applications, facts, payroll
from kangfu.subsidies.services import standards as standard_services

router = Router(tags=["两项补贴"])

CENT = Decimal("0.01")

LIST_HELP = "limit 最多 100，offset 从 0 起、最大 100 万；count 最多数到上限（count_capped 为真时实际更多）。"


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


# ------------------------------------------------------------------ applications


class RegionOut(Schema):
    code: str
    name: str


class ApplicationOut(Schema):
    id: int
    number: str
    person_id: int
    name: str
    id_number: str = Field(description="脱敏的身份证号")
    living: bool
    care: bool
    channel: str
    status: str
    status_label: str
    waiting_step: str = Field(description="待办环节（community、street、county、district），无人待办时为空")
    community: RegionOut
    street_code: str
    district_code: str
    applied_on: dt.date
    version: int = Field(description="办理时原样传回，用于发现他人已先办理")


class StepOut(Schema):
    step: str
    decision: str
    opinion: str
    actor: str
    at: dt.datetime


class VerdictOut(Schema):
    rule: str
    ok: bool
    message: str


class EligibilityOut(Schema):
    kind: str
    ok: bool
    verdicts: list[VerdictOut]


class ApplicationDetailOut(ApplicationOut):
    phone: str = Field(description="脱敏的联系电话")
    bank_name: str
    bank_account: str = Field(description="脱敏的银行账号")
    agent_name: str
    agent_relation: str
    status_note: str
    documents: list[str] = Field(description="已上传材料的名称")
    steps: list[StepOut]
    eligibility: list[EligibilityOut] = Field(description="按今天的情况逐条核验资格")


class ApplicationPage(Schema):
    count: int
    count_capped: bool
    items: list[ApplicationOut]


class ApplicationIn(Schema):
    name: str = Field(max_length=50)
    id_number: str = Field(max_length=30)
    phone: str = Field(max_length=20)
    hukou_community: str = Field(max_length=12, description="户籍所在社区（村）的 12 位区划代码")
    living: bool = False
    care: bool = False
    bank_name: str = Field(max_length=50)
    bank_account: str = Field(max_length=40)
    agent_name: str = Field("", max_length=50)
    agent_relation: str = Field("", max_length=20)


class DecisionIn(Schema):
    decision: str = Field(description="pass（通过）、return（退回补正）或 reject（不予批准）")
    opinion: str = Field("", max_length=300, description="退回或不予批准时必填")
    version: int | None = Field(None, description="读取时的 version；申请已被他人办理时返回 409")


def _application_out(a: Application) -> dict:
    return {
        "id": a.pk,
        "number": a.number,
        "person_id": a.person_id,
        "name": a.person.name,
        "id_number": mask_id_number(a.person.id_number),
        "living": a.living,
        "care": a.care,
        "channel": a.channel,
        "status": a.status,
        "status_label": a.get_status_display(),
        "waiting_step": a.waiting_step,
        "community": {"code": a.community_id, "name": a.community.name},
        "street_code": a.street_id,
        "district_code": a.district_id,
        "applied_on": a.applied_on,
        "version": a.version,
    }


def _application_detail_out(a: Application) -> dict:
    related = selectors.application_related(a)
    today = timezone.localdate()
    explanations = [
        facts.explain(person=a.person, kind=kind, on=today, district=a.district_id) for kind in a.kinds
    ]
    return {
        **_application_out(a),
        "phone": mask_phone(a.phone),
        "bank_name": a.bank_name,
        "bank_account": mask_account(a.bank_account),
        "agent_name": a.agent_name,
        "agent_relation": a.agent_relation,
        "status_note": a.status_note,
        "documents": [d.label for d in related["documents"]],
        "steps": [
            {
                "step": s.step,
                "decision": s.decision,
                "opinion": s.opinion,
                "actor": str(s.actor) if s.actor_id else "",
                "at": s.at,
            }
            for s in related["steps"]
        ],
        "eligibility": [{"kind": e.kind, "ok": e.ok, "verdicts": e.as_json()} for e in explanations],
    }


def _application(request, application_id: int) -> Application:
    access.require(request.user, "reads_civil_affairs")
    return get_object_or_404(selectors.applications_for(request.user), pk=application_id)


@router.get(
    "/applications",
    response={200: ApplicationPage, 400: ErrorOut},
    summary="补贴申请列表",
    description="查询参数同页面筛选：q（受理编号、姓名开头或身份证号）、status、step、kind、applied_from、"
    "applied_to。" + LIST_HELP,
)
def list_applications(request, limit: Limit = 20, offset: Offset = 0):
    access.require(request.user, "reads_civil_affairs")
    rows = filtered(
        ApplicationFilter,
        request,
        selectors.applications_for(request.user).order_by("-created_at", "-id"),
    )
    return api_page(
        rows,
        limit=limit,
        offset=offset,
        out=lambda page: [_application_out(row) for row in page],
        reader=request.user,
        person_of=lambda row: row.person_id,
        summary="读取补贴申请列表（API）",
    )


@router.get(
    "/applications/{int:application_id}",
    response={200: ApplicationDetailOut, 404: ErrorOut},
    summary="补贴申请详情",
)
def get_application(request, application_id: int):
    application = _application(request, application_id)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=application,
        person_id=application.person_id,
        summary=f"查看补贴申请 {application.number}（API）",
    )
    return _application_detail_out(application)


@router.post(
    "/applications",
    response={201: ApplicationOut, 400: ErrorOut, 403: ErrorOut},
    summary="窗口受理补贴申请",
    description="由社区工作人员代为提交，转至户籍地社区办理；材料扫描件请在页面上传。",
)
def submit_application(request, payload: ApplicationIn):
    applications.check_may_file(request.user)
    data = payload.dict()
    created = applications.application_submit(
        actor=request.user,
        applicant=applications.Applicant(
            name=data["name"],
            id_number=data["id_number"],
            phone=data["phone"],
            hukou_community=data["hukou_community"],
        ),
        data=applications.ApplicationData(
            living=data["living"],
            care=data["care"],
            bank_name=data["bank_name"],
            bank_account=data["bank_account"],
            agent_name=data["agent_name"],
            agent_relation=data["agent_relation"],
        ),
    )
    found = selectors.applications_for(request.user).filter(pk=created.pk).first()
    return Status(201, _application_out(found or created))


@router.post(
    "/applications/{int:application_id}/decision",
    response={200: ApplicationOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="办理当前环节",
    description="在申请待办的环节作出结论；不是您的环节时返回 403，申请已被他人办理（或重复提交）时返回 409。",
)
def decide_application(request, application_id: int, payload: DecisionIn):
    application = _application(request, application_id)
    applications.application_decide(
        actor=request.user,
        application=application,
        decision=payload.decision,
        opinion=payload.opinion,
        version=payload.version,
    )
    # Read again through the scope: a pass may have moved it past what the caller still sees in full.
    return _application_out(get_object_or_404(selectors.applications_for(request.user), pk=application.pk))


# ------------------------------------------------------------------ grants


class GrantOut(Schema):
    id: int
    person_id: int
    name: str
    id_number: str = Field(description="脱敏的身份证号")
    kind: str
    status: str
    district_code: str
    street_code: str
    start_month: dt.date
    end_month: dt.date | None
    recalc_from: dt.date | None = Field(description="自该月起的各月将在下次发放时重算")
    bank_name: str
    bank_account: str = Field(description="脱敏的银行账号")


class PeriodOut(Schema):
    from_month: dt.date
    to_month: dt.date | None
    grade: int
    category: int
    paid: bool
    reason: str


class ChangeOut(Schema):
    action: str
    effective_month: dt.date
    stop_reason: str
    reason: str
    at: dt.datetime


class GrantDetailOut(GrantOut):
    periods: list[PeriodOut]
    changes: list[ChangeOut]


class GrantPage(Schema):
    count: int
    count_capped: bool
    items: list[GrantOut]


def _grant_out(g: Grant) -> dict:
    return {
        "id": g.pk,
        "person_id": g.person_id,
        "name": g.person.name,
        "id_number": mask_id_number(g.person.id_number),
        "kind": g.kind,
        "status": g.status,
        "district_code": g.district_id,
        "street_code": g.street_id,
        "start_month": g.start_month,
        "end_month": g.end_month,
        "recalc_from": g.recalc_from,
        "bank_name": g.bank_name,
        "bank_account": mask_account(g.bank_account),
    }


@router.get(
    "/grants",
    response={200: GrantPage, 400: ErrorOut},
    summary="享受人员（补贴资格）列表",
    description="查询参数同页面筛选：q（姓名开头或身份证号）、kind、status（不传时为发放中，传空为全部）、"
    "street。" + LIST_HELP,
)
def list_grants(request, limit: Limit = 20, offset: Offset = 0):
    access.require(request.user, "reads_civil_affairs")
    rows = filtered(
        GrantFilter,
        request,
        selectors.grants_for(request.user).order_by("street_id", "person__name", "id"),
    )
    return api_page(
        rows,
        limit=limit,
        offset=offset,
        out=lambda page: [_grant_out(row) for row in page],
        reader=request.user,
        person_of=lambda row: row.person_id,
        summary="读取补贴资格列表（API）",
    )


@router.get("/grants/{int:grant_id}", response={200: GrantDetailOut, 404: ErrorOut}, summary="补贴资格详情")
def get_grant(request, grant_id: int):
    access.require(request.user, "reads_civil_affairs")
    grant = get_object_or_404(selectors.grants_for(request.user), pk=grant_id)
    audit.record(
        actor=request.user,
        action=AuditAction.VIEW,
        obj=grant,
        person_id=grant.person_id,
        summary=f"查看 {grant}（API）",
    )
    related = selectors.grant_history(grant)
    return {
        **_grant_out(grant),
        "periods": [
            {
                "from_month": p.from_month,
                "to_month": p.to_month,
                "grade": p.grade,
                "category": p.category,
                "paid": p.paid,
                "reason": p.reason,
            }
            for p in related["periods"]
        ],
        "changes": [
            {
                "action": c.action,
                "effective_month": c.effective_month,
                "stop_reason": c.stop_reason,
                "reason": c.reason,
                "at": c.at,
            }
            for c in related["changes"]
        ],
    }


# ------------------------------------------------------------------ payrolls


class PayrollOut(Schema):
    id: int
    district_code: str
    month: dt.date
    status: str
    busy: bool = Field(description="正在计算（稍后再读）")
    error: str = Field(description="计算未完成的原因")
    source: str
    line_count: int
    total: Decimal
    run_at: dt.datetime | None
    locked_at: dt.datetime | None


class StreetTotalOut(Schema):
    street: str
    living: Decimal
    care: Decimal
    lines: int


class PayrollDetailOut(PayrollOut):
    by_street: list[StreetTotalOut]
    by_type: dict[str, Decimal] = Field(description="按明细类型（当月发放、补发、追回）的合计")
    bank: dict[str, int] = Field(description="按银行反馈状态的条数")
    held: int = Field(description="暂缓发放的资格数")


class PayrollPage(Schema):
    count: int
    count_capped: bool
    items: list[PayrollOut]


class PayrollStartIn(Schema):
    month: dt.date = Field(description="月份（该月任一日）")


def _money(amount) -> Decimal:
    # Sums come back from SQLite without their places; money is always shown to the fen.
    return Decimal(amount or 0).quantize(CENT)


def _payroll_out(p: Payroll) -> dict:
    return {
        "id": p.pk,
        "district_code": p.district_id,
        "month": p.month,
        "status": p.status,
        "busy": payroll.payroll_busy(p),
        "error": p.error,
        "source": p.source,
        "line_count": p.line_count,
        "total": p.total,
        "run_at": p.run_at,
        "locked_at": p.locked_at,
    }


@router.get(
    "/payrolls",
    response={200: PayrollPage, 400: ErrorOut, 403: ErrorOut},
    summary="月度发放列表",
    description="查询参数：status、month_from、month_to。" + LIST_HELP,
)
def list_payrolls(request, limit: Limit = 20, offset: Offset = 0):
    access.require(request.user, "runs_payroll")
    rows = filtered(PayrollFilter, request, selectors.payrolls_for(request.user))
    return api_page(rows, limit=limit, offset=offset, out=lambda page: [_payroll_out(row) for row in page])


@router.get(
    "/payrolls/{int:payroll_id}",
    response={200: PayrollDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="月度发放详情（合计）",
)
def get_payroll(request, payroll_id: int):
    access.require(request.user, "runs_payroll")
    run = get_object_or_404(selectors.payrolls_for(request.user), pk=payroll_id)
    summary = selectors.payroll_summary(run)
    return {
        **_payroll_out(run),
        "by_street": [
            {"street": street, "living": _money(t["living"]), "care": _money(t["care"]), "lines": t["n"]}
            for street, t in summary["by_street"].items()
        ],
        "by_type": {label: _money(total) for label, total in summary["by_type"].items()},
        "bank": summary["bank"],
        "held": len(summary["held"]),
    }


@router.post(
    "/payrolls",
    response={202: PayrollOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    summary="开始计算本区某月发放",
    description="与页面上“计算”相同：计算在后台进行，读取详情直到 busy 为假。该月正在计算时返回 409；"
    "计算人不能锁定自己计算的发放。",
)
def start_payroll(request, payload: PayrollStartIn):
    access.require(request.user, "runs_payroll")
    run = payroll.payroll_start(
        actor=request.user, district=selectors.payroll_district(request.user), month=payload.month
    )
    run.refresh_from_db()
    return Status(202, _payroll_out(run))


# ------------------------------------------------------------------ standards


class StandardOut(Schema):
    id: int
    region_code: str
    kind: str
    grade_min: int
    grade_max: int
    amount: Decimal
    valid_from: dt.date
    valid_to: dt.date | None
    note: str


class StandardIn(Schema):
    kind: str
    grade_min: int
    grade_max: int
    amount: Decimal
    valid_from: dt.date = Field(description="起始月份（某月第一天）")
    valid_to: dt.date | None = Field(None, description="截止月份（某月第一天），不传为长期有效")
    note: str = Field("", max_length=200)


class StandardPatch(Schema):
    grade_min: int | None = None
    grade_max: int | None = None
    amount: Decimal | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    note: str | None = Field(None, max_length=200)


def _standard_out(s: Standard) -> dict:
    return {
        "id": s.pk,
        "region_code": s.region_id,
        "kind": s.kind,
        "grade_min": s.grade_min,
        "grade_max": s.grade_max,
        "amount": s.amount,
        "valid_from": s.valid_from,
        "valid_to": s.valid_to,
        "note": s.note,
    }


@router.get(
    "/standards",
    response={200: list[StandardOut], 400: ErrorOut},
    summary="补贴标准",
    description="查询参数：kind、region（12 位区划代码）、on（在该日有效的）。",
)
def list_standards(request):
    access.require(request.user, "reads_civil_affairs")
    rows = filtered(StandardFilter, request, selectors.current_standards())
    return [_standard_out(s) for s in rows]


@router.post(
    "/standards",
    response={201: StandardOut, 400: ErrorOut, 403: ErrorOut},
    summary="新增补贴标准",
    description="由设定标准的管理员为本人管辖的市或区设定；受影响的月份在下次发放时补发或追回差额。",
)
def create_standard(request, payload: StandardIn):
    access.require(request.user, "sets_standards")
    standard = standard_services.standard_save(
        actor=request.user, standard=None, region=request.user.jurisdiction, **payload.dict()
    )
    return Status(201, _standard_out(standard))


@router.patch(
    "/standards/{int:standard_id}",
    response={200: StandardOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="修改补贴标准",
    description="常用于给长期有效的标准设截止月份（valid_to），以便次月起执行新标准。",
)
def update_standard(request, standard_id: int, payload: StandardPatch):
    access.require(request.user, "sets_standards")
    standard = selectors.standard_get(standard_id)
    # Fields left out keep their value; only valid_to may be cleared (null: valid with no end).
    given = {
        key: value
        for key, value in payload.dict(exclude_unset=True).items()
        if value is not None or key == "valid_to"
    }
    values = {
        key: given.get(key, getattr(standard, key))
        for key in ("grade_min", "grade_max", "amount", "valid_from", "valid_to", "note")
    }
    standard = standard_services.standard_save(
        actor=request.user, standard=standard, region=standard.region, kind=standard.kind, **values
    )
    return _standard_out(standard)
