"""精康 endpoints: referrals pushed in by hospitals and other systems, rosters from 卫健 and 残联, the
worklist of an institution and the statistics. Clinical content is not offered here: a case is read in
the pages, where every view is audited and scoped by `selectors.case_view`."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.utils import timezone
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kangfu.core import access, audit, uploads
from kangfu.core.ids import normalize_id_number
from kangfu.people.selectors import person_by_id_number
from kangfu.rehab import selectors, selectors_approvals, selectors_revisits
from kangfu.rehab.forms import stats_year
from kangfu.rehab.models import ROSTER_SOURCES, Application, ApplicationSource, RosterImport
from kangfu.rehab.services import applications, approvals, common, rosters

router = Router(tags=["精康融合"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


# The 卫健 and 残联 lists come in only as rosters, where every line is checked before import.
APPLICATION_SOURCES = [s for s in ApplicationSource.values if s not in ROSTER_SOURCES]
BAD_SOURCE = "来源（source）应为 {choices} 之一；卫健、残联名单须通过名单导入。"


def _max(field: str) -> int:
    return Application._meta.get_field(field).max_length


class ApplicationIn(Schema):
    # Lengths of the columns: a longer text is refused here, not by the database.
    id_number: str = Field(max_length=20)
    source: str = Field(max_length=_max("source"))
    received_on: dt.date
    applicant_name: str = Field("", max_length=_max("applicant_name"))
    applicant_org: str = Field("", max_length=_max("applicant_org"))
    applicant_phone: str = Field("", max_length=_max("applicant_phone"))
    reason: str = Field("", max_length=_max("reason"))


class ApplicationOut(Schema):
    id: int
    person_id: int
    state: str
    received_on: dt.date
    check_due: dt.date


@router.post(
    "/applications",
    response={201: ApplicationOut, 400: ErrorOut, 404: ErrorOut},
    summary="提交精康服务申请或医疗机构转介",
    description="人员须已在一人一档中登记；收到后 5 个工作日内初核登记，之后 5 个工作日内转介到康复机构。",
)
def create_application(request, payload: ApplicationIn):
    if payload.source not in APPLICATION_SOURCES:
        message = BAD_SOURCE.format(choices="、".join(APPLICATION_SOURCES))
        return Status(400, {"detail": message, "errors": {"source": [message]}})
    number = normalize_id_number(payload.id_number).number
    person = person_by_id_number(number, user=request.user, to_act=True)
    if person is None:
        return Status(404, {"detail": "该身份证号未在一人一档中登记。"})
    application = applications.application_create(
        actor=request.user,
        person=person,
        data=applications.ApplicationData(**payload.dict(exclude={"id_number"})),
    )
    return Status(
        201,
        {
            "id": application.pk,
            "person_id": person.pk,
            "state": application.state,
            "received_on": application.received_on,
            "check_due": application.check_due,
        },
    )


class RosterOut(Schema):
    id: int
    status: str
    total: int
    create: int
    link: int
    errors: list[tuple[int, str]]
    skipped: list[tuple[int, str]]
    result: dict


def _roster_out(roster: RosterImport) -> dict:
    return {
        "id": roster.pk,
        "status": roster.status,
        "total": roster.total,
        "create": roster.report.get("create", 0),
        "link": roster.report.get("link", 0),
        "errors": roster.report.get("errors", []),
        "skipped": roster.report.get("skipped", []),
        "result": roster.result,
    }


@router.post(
    "/rosters",
    response={201: RosterOut, 400: ErrorOut, 403: ErrorOut},
    summary="上传卫健或残联名单（预览）",
    description="source 为 health_list 或 federation_list，district 为 12 位区级代码。返回逐行检查结果；确认后才导入。",
)
def upload_roster(
    request, source: Form[str], district: Form[str], received_on: Form[dt.date], file: File[UploadedFile]
):
    uploads.check_upload(file, allowed=(".csv", ".xlsx"), max_bytes=5 * 1024 * 1024)
    region = selectors.region_by_code(district)
    if region is None:
        return Status(400, {"detail": "没有这个区划代码。"})
    roster = rosters.roster_preview(
        actor=request.user,
        district=region,
        source=source,
        file_name=file.name,
        raw=file.read(),
        received_on=received_on,
    )
    return Status(201, _roster_out(roster))


@router.post(
    "/rosters/{int:roster_id}/confirm",
    response={200: RosterOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="确认导入名单",
)
def confirm_roster(request, roster_id: int):
    access.require(request.user, "rehab_intake")
    roster = selectors.rosters_for(request.user).filter(pk=roster_id).first()
    if roster is None:
        return Status(404, {"detail": "未找到该记录。"})
    return _roster_out(rosters.roster_confirm(actor=request.user, roster=roster))


class DueOut(Schema):
    case_id: int
    person_id: int
    name: str
    status: str
    next_follow_up_on: dt.date | None
    overdue: bool


@router.get("/follow-ups", response=list[DueOut], summary="本机构 14 日内应随访和已逾期的服务对象")
def due_follow_ups(request):
    common.require_home(request.user)
    today = timezone.localdate()
    rows = list(
        selectors.cases_for(request.user)
        .filter(
            status__in=["enrolled", "active", "suspended"],
            next_follow_up_on__lte=today + dt.timedelta(days=14),
        )
        .select_related("person")
        .order_by("next_follow_up_on", "pk")[:500]
    )
    # Names handed to another system are a read of each person, audited as the case page is.
    audit.record_reads(
        actor=request.user, records=rows, person_of=lambda c: c.person_id, summary="读取应随访名单（API）"
    )
    return [
        {
            "case_id": c.pk,
            "person_id": c.person_id,
            "name": c.person.name,
            "status": c.status,
            "next_follow_up_on": c.next_follow_up_on,
            "overdue": c.next_follow_up_on < today,
        }
        for c in rows
    ]


class RevisitDueOut(Schema):
    case_id: int
    person_id: int
    name: str
    round: int
    discharged_on: dt.date
    due_on: dt.date
    overdue: bool


@router.get(
    "/revisits",
    response=list[RevisitDueOut],
    summary="本机构 14 日内应回访和已逾期的结案对象",
    description="结案后 1、3、6 个月各回访一次；round 为结案后的月数。",
)
def due_revisits(request):
    common.require_home(request.user)
    today = timezone.localdate()
    rows = selectors_revisits.revisits_due(request.user, until=today + dt.timedelta(days=14), limit=500)
    audit.record_reads(
        actor=request.user,
        records=list({r.case.pk: r.case for r in rows}.values()),
        person_of=lambda c: c.person_id,
        summary="读取应回访名单（API）",
    )
    return [
        {
            "case_id": r.case.pk,
            "person_id": r.case.person_id,
            "name": r.case.person.name,
            "round": r.round,
            "discharged_on": r.case.discharged_on,
            "due_on": r.due_on,
            "overdue": r.overdue(today),
        }
        for r in rows
    ]


class ApprovalIn(Schema):
    note: str = Field("", max_length=300)


class ApprovalOut(Schema):
    id: int
    case_id: int
    kind: str
    state: str
    case_status: str


@router.post(
    "/approvals/{int:approval_id}/approve",
    response={200: ApprovalOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="批准待审核的康复计划或结案",
    description="须为本机构另一位工作人员（提交人不能审核自己提交的事项）；结案在批准时生效。已被处理的返回 409。",
)
def approve(request, approval_id: int, payload: ApprovalIn):
    common.require_home(request.user)
    approval = selectors_approvals.approval_for(request.user, approval_id)
    approval = approvals.approval_approve(actor=request.user, approval=approval, note=payload.note)
    approval.case.refresh_from_db()
    return {
        "id": approval.pk,
        "case_id": approval.case_id,
        "kind": approval.kind,
        "state": approval.state,
        "case_status": approval.case.status,
    }


@router.get("/stats", response={200: dict, 400: ErrorOut}, summary="精康统计（按令牌账号的管辖范围或机构）")
def statistics(request, year: int | None = None):
    rights = access.policy(request.user)
    if not (rights.reads_rehab_stats or rights.runs_rehab or rights.rehab_intake):
        access.require(request.user, "reads_rehab_stats")
    try:
        year = stats_year(year)
    except ValidationError as exc:
        return Status(400, {"detail": exc.messages[0]})
    figures = selectors.stats(request.user, year=year)
    figures["months"] = [m.isoformat() for m in figures["months"]]
    figures["coverage"] = str(figures["coverage"]) if figures["coverage"] is not None else None
    return figures
