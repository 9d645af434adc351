"""精康 endpoints for recurring groups (a weekly group, its planned meetings, attendance taken) and for
satisfaction survey links, the same services as the pages: an institution's system keeps its groups'
timetables and its follow-up telephone work in step without a second entry. Members are named by case
id only; names stay in the pages, where each read is audited."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from kangfu.core import access
from kangfu.rehab import selectors, selectors_groups
from kangfu.rehab.models import GroupMeeting, RecurringGroup, SurveyLink
from kangfu.rehab.services import groups as group_services
from kangfu.rehab.services import satisfaction as survey_services
from kangfu.rehab.services.common import require_home

router = Router(tags=["精康融合"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class GroupIn(Schema):
    title: str = Field(max_length=RecurringGroup._meta.get_field("title").max_length)
    form: str
    service_type: str
    weekdays: list[int] = Field(description="每周活动日，0 为周一、6 为周日")
    starts_at: dt.time
    start_on: dt.date
    end_on: dt.date | None = None
    place: str = Field("", max_length=RecurringGroup._meta.get_field("place").max_length)
    leader_id: int | None = Field(None, description="带领人（本机构在职工作人员或同伴支持员）编号")
    members: list[int] = Field([], description="首批成员的精康档案编号")


class GroupOut(Schema):
    id: int
    institution_id: int
    title: str
    form: str
    service_type: str
    weekdays: list[int]
    starts_at: dt.time
    start_on: dt.date
    end_on: dt.date | None
    place: str
    leader_id: int | None


class GroupRowOut(GroupOut):
    members: int
    meetings_held: int


class MeetingOut(Schema):
    id: int
    group_id: int
    meets_on: dt.date
    state: str
    activity_id: int | None
    cancel_reason: str


class MeetingIn(Schema):
    mode: str = Field(description="方式：site 到站、home 入户、phone 电话 等，与页面相同")
    patients: list[int] = Field([], description="出勤成员的精康档案编号")
    content: str = ""
    leader_id: int | None = Field(None, description="实际带领人（不填则按计划）")


class CancelIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


class SurveyLinkIn(Schema):
    respondent: str = Field(description="填写人：user 服务对象本人、family 家属")


class SurveyLinkRowOut(Schema):
    id: int
    respondent: str
    created_at: dt.datetime
    expires_at: dt.datetime
    used_at: dt.datetime | None
    survey_id: int | None


class SurveyLinkOut(Schema):
    id: int
    case_id: int
    respondent: str
    expires_at: dt.datetime
    url: str = Field(description="一次性填写地址，仅在此返回一次（系统只保存其摘要）")


def _group_out(group: RecurringGroup) -> dict:
    return {
        "id": group.pk,
        "institution_id": group.institution_id,
        "title": group.title,
        "form": group.form,
        "service_type": group.service_type,
        "weekdays": list(group.weekdays),
        "starts_at": group.starts_at,
        "start_on": group.start_on,
        "end_on": group.end_on,
        "place": group.place,
        "leader_id": group.leader_id,
    }


def _meeting_out(meeting: GroupMeeting) -> dict:
    return {
        "id": meeting.pk,
        "group_id": meeting.group_id,
        "meets_on": meeting.meets_on,
        "state": meeting.state,
        "activity_id": meeting.activity_id,
        "cancel_reason": meeting.cancel_reason,
    }


def _reads(request) -> None:
    rights = access.policy(request.user)
    if not (rights.runs_rehab or rights.reads_rehab_stats):
        access.require(request.user, "runs_rehab")


def _leader(request, leader_id: int | None):
    if leader_id is None:
        return None
    leader = selectors_groups.staff_here(request.user).filter(pk=leader_id).first()
    if leader is None:
        raise ValidationError({"leader_id": [group_services.LEADER_NOT_HERE]})
    return leader


def _managed(request, group: RecurringGroup) -> None:
    if not selectors_groups.manages(request.user, group):
        raise PermissionDenied(group_services.NOT_YOUR_GROUP)


@router.get("/groups", response=list[GroupRowOut], summary="固定小组（本机构，或管辖范围内）")
def group_list(request):
    _reads(request)
    return [
        {**_group_out(g), "members": g.n_members, "meetings_held": g.n_held}
        for g in selectors_groups.group_list(request.user)
    ]


@router.post(
    "/groups",
    response={201: GroupOut, 400: ErrorOut, 403: ErrorOut},
    summary="新建固定小组",
    description="排好从开始日期起四周的活动；成员须是本机构正在服务的档案。",
)
def group_create(request, payload: GroupIn):
    require_home(request.user)
    group = group_services.group_create(
        actor=request.user,
        data=group_services.GroupData(
            title=payload.title,
            form=payload.form,
            service_type=payload.service_type,
            weekdays=payload.weekdays,
            starts_at=payload.starts_at,
            start_on=payload.start_on,
            end_on=payload.end_on,
            place=payload.place,
            leader=_leader(request, payload.leader_id),
            members=payload.members,
        ),
    )
    return Status(201, _group_out(group))


@router.get(
    "/groups/{int:group_id}/meetings",
    response={200: list[MeetingOut], 404: ErrorOut},
    summary="小组的活动安排",
)
def group_meetings(request, group_id: int):
    _reads(request)
    group = selectors_groups.group_for(request.user, group_id)
    return [_meeting_out(m) for m in group.meetings.order_by("meets_on", "id")]


@router.post(
    "/group-meetings/{int:meeting_id}/hold",
    response={200: MeetingOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="登记一次小组活动的出勤",
    description="记为一次活动（出勤、计数与页面登记相同）；已登记或已取消的返回 409。",
)
def meeting_hold(request, meeting_id: int, payload: MeetingIn):
    meeting = selectors_groups.meeting_for(request.user, meeting_id)
    _managed(request, meeting.group)
    meeting = group_services.meeting_hold(
        actor=request.user,
        meeting=meeting,
        data=group_services.MeetingData(
            mode=payload.mode,
            patients=payload.patients,
            content=payload.content,
            leader=_leader(request, payload.leader_id),
        ),
    )
    return _meeting_out(meeting)


@router.post(
    "/group-meetings/{int:meeting_id}/cancel",
    response={200: MeetingOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="取消一次小组活动",
)
def meeting_cancel(request, meeting_id: int, payload: CancelIn):
    meeting = selectors_groups.meeting_for(request.user, meeting_id)
    _managed(request, meeting.group)
    return _meeting_out(
        group_services.meeting_cancel(actor=request.user, meeting=meeting, reason=payload.reason)
    )


@router.post(
    "/cases/{int:case_id}/survey-links",
    response={201: SurveyLinkOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="生成满意度问卷手机填写链接",
    description="一次性链接，14 天内有效；地址只在此返回一次。本年度该填写人已填过的返回 409。",
)
def survey_link_create(request, case_id: int, payload: SurveyLinkIn):
    require_home(request.user)
    case = selectors.own_case(request.user, case_id)
    link, token = survey_services.survey_link_create(
        actor=request.user, case=case, respondent=payload.respondent
    )
    return Status(
        201,
        {
            "id": link.pk,
            "case_id": case.pk,
            "respondent": link.respondent,
            "expires_at": link.expires_at,
            "url": request.build_absolute_uri(reverse("public:rehab_survey", args=[token])),
        },
    )


@router.get(
    "/cases/{int:case_id}/survey-links",
    response={200: list[SurveyLinkRowOut], 403: ErrorOut, 404: ErrorOut},
    summary="档案的满意度问卷链接（是否已填写）",
)
def survey_links(request, case_id: int):
    require_home(request.user)
    case = selectors.own_case(request.user, case_id)
    return list(SurveyLink.objects.filter(case=case).order_by("-created_at")[:20])
