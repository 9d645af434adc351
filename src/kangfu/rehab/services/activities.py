"""Services delivered (服务活动): group and individual sessions, who attended, their photos."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q

from kangfu.core import access, audit
from kangfu.core.models import AuditAction, Organisation, User
from kangfu.rehab.models import Activity, ActivityForm, ActivityPhoto, Attendance, Case
from kangfu.rehab.services.cases import _activate_many
from kangfu.rehab.services.common import NOT_YOUR_CASE, _district_of, _not_future, require_home
from kangfu.rehab.services.counters import count, served

NOT_ENROLLED_HERE = "以下人员未在本机构建档或不在服务中，不能登记出勤：{names}。"
INDIVIDUAL_ONE = "个案服务只能有一名服务对象。"
NO_PATIENTS = "请至少登记一名参加的患者或家属。"
FAMILY_NEEDS_PATIENT = "家属须对应一名在本机构建档的患者。"


@dataclass
class ActivityData:
    form: str
    service_type: str
    mode: str
    title: str
    held_on: dt.date
    place: str = ""
    content: str = ""
    site: Organisation | None = None
    leader: User | None = None
    patients: list[int] = field(default_factory=list)  # case ids
    family: list[dict[str, Any]] = field(default_factory=list)  # case (id), name, relation


def _attendees(
    actor: User, data: ActivityData, institution_ids: list[int]
) -> tuple[dict[int, Case], list[str]]:
    wanted = set(data.patients) | {int(f["case"]) for f in data.family if f.get("case")}
    cases = {c.pk: c for c in Case.objects.filter(pk__in=wanted).select_related("person")}
    bad = []
    for pk in sorted(wanted):
        case = cases.get(pk)
        if (
            case is None
            or case.institution_id not in institution_ids
            or case.status not in ("enrolled", "active")
            or (case.enrolled_on and case.enrolled_on > data.held_on)
        ):
            bad.append(
                case.person.name
                if case is not None and case.institution_id in institution_ids
                else f"档案 {pk}"
            )
    return cases, bad


def activity_record(*, actor: User, data: ActivityData) -> Activity:
    home = require_home(actor)
    ids = access.rehab_org_ids(actor)
    _not_future(data.held_on, "held_on")
    # Family members alone are a session too (carer training, a talk for families), counted as
    # family people-times; a patient's own service needs the patient there.
    if not data.patients and not data.family:
        raise ValidationError(NO_PATIENTS)
    if data.form == ActivityForm.INDIVIDUAL and len(set(data.patients)) != 1:
        raise ValidationError(INDIVIDUAL_ONE)
    if any(not f.get("case") for f in data.family):
        raise ValidationError(FAMILY_NEEDS_PATIENT)
    if data.site is not None and data.site.pk not in ids:
        raise ValidationError({"site": "站点须是本机构的站点。"})
    cases, bad = _attendees(actor, data, ids)
    if bad:
        raise ValidationError(NOT_ENROLLED_HERE.format(names="、".join(bad)))
    patients = sorted(set(data.patients))
    with transaction.atomic():
        activity = Activity.objects.create(
            institution=home,
            district_id=_district_of(home),
            site=data.site,
            form=data.form,
            service_type=data.service_type,
            mode=data.mode,
            title=data.title,
            held_on=data.held_on,
            place=data.place,
            content=data.content,
            leader=data.leader or actor,
            patients=len(patients),
            family=len(data.family),
        )
        Attendance.objects.bulk_create(
            [Attendance(activity=activity, case_id=pk) for pk in patients]
            + [
                Attendance(
                    activity=activity,
                    case_id=int(f["case"]),
                    is_family=True,
                    family_name=str(f.get("name", ""))[:50],
                    family_relation=str(f.get("relation", ""))[:20],
                )
                for f in data.family
            ]
        )
        _activity_counts(activity, 1)
        # Family members attend for the patient; the patient is served only by coming in person.
        served((cases[pk], data.held_on) for pk in patients)
        Case.objects.filter(pk__in=patients).filter(
            Q(last_service_on__isnull=True) | Q(last_service_on__lt=data.held_on)
        ).update(last_service_on=data.held_on)
        _activate_many([cases[pk] for pk in patients], data.held_on, actor, "开始接受服务")
        # One row per person attended (or whose family attended), so that a person's audit trail
        # shows every service recorded about them, as it does for every other write.
        summary = f"{activity.get_form_display()}“{activity.title}”：患者 {len(patients)} 人次，家属 {len(data.family)} 人次"
        audit.record_many(
            actor=actor,
            action=AuditAction.CREATE,
            rows=[(activity, pid) for pid in sorted({case.person_id for case in cases.values()})],
            summary=summary,
        )
    return activity


def _activity_counts(activity: Activity, sign: int) -> None:
    common = {
        "institution_id": activity.institution_id,
        "site_id": activity.site_id,
        "district_id": activity.district_id,
        "day": activity.held_on,
    }
    count(**common, measure="activities", key=activity.service_type, n=sign)
    count(**common, measure="patient_times", key=activity.service_type, n=sign * activity.patients)
    count(**common, measure="family_times", key=activity.service_type, n=sign * activity.family)
    count(**common, measure="forms", key=activity.form, n=sign)


def activity_photo_add(*, actor: User, activity: Activity, image, caption: str = "") -> ActivityPhoto:
    require_home(actor)
    if activity.institution_id not in access.rehab_org_ids(actor):
        raise PermissionDenied(NOT_YOUR_CASE)
    from kangfu.core.uploads import check_image_upload

    check_image_upload(image)
    with transaction.atomic():
        photo = ActivityPhoto.objects.create(activity=activity, image=image, caption=caption[:100])
        audit.record(
            actor=actor, action=AuditAction.CREATE, obj=photo, summary=f"上传活动照片：{activity.title}"
        )
    return photo
