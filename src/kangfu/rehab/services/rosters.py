"""The two rosters civil affairs receives: 卫健's 严重精神障碍患者 list and 残联's 持证精神残疾人 list.

A roster is read and reported line by line (bad ID numbers, unknown communities, the same person twice
in the file, people already applying or being served), and only when the user confirms are the good
lines imported, all at once: people new to the registry are created, known ones linked, and each gets a
registered application waiting to be referred to an institution. Set-based: a handful of queries
whatever the roster's length.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from kangfu.core import access, audit
from kangfu.core.ids import normalize_id_number, normalize_phone
from kangfu.core.models import AuditAction, AuditEntry, Region, RegionLevel, User
from kangfu.core.spreadsheets import iter_chunks, parse
from kangfu.core.transitions import Conflict
from kangfu.core.workdays import add_working_days
from kangfu.people.models import Person
from kangfu.people.services import id_hash, people_register_many
from kangfu.rehab.models import (
    OPEN_APPLICATION_STATES,
    OPEN_CASE_STATES,
    ROSTER_SOURCES,
    Application,
    ApplicationState,
    Case,
    RosterImport,
    RosterStatus,
)
from kangfu.rehab.services.applications import register_listed
from kangfu.rehab.services.common import CHECK_DAYS, REFER_DAYS

MAPPING = {
    "name": "姓名|患者姓名",
    "id_number": "身份证号|公民身份号码|身份证号码",
    "community": "现住社区|社区|居住社区|所属社区",
    "phone": "联系电话|电话|手机号",
    "address": "现住址|居住地址|地址",
    "diagnosis": "诊断|疾病诊断|诊断名称",
    "certificate": "残疾人证号|残疾证号",
}
ALREADY = "同一文件已于 {day} 导入，不再重复导入。"
NOT_PREVIEW = "该名单已处理（{status}）。"
NOT_A_ROSTER = "请选择名单来源：卫健部门或残联。"
NEEDS_DISTRICT = "导入名单须由区级（或以上）民政人员办理，并选择所属区。"
DUPLICATE_LINE = "与第 {line} 行是同一人。"
UNKNOWN_COMMUNITY = "社区“{value}”不在{district}。"
AMBIGUOUS_COMMUNITY = "{district}有多个名为“{value}”的社区，请填写 12 位区划代码。"
MISSING_NAME = "缺少姓名。"
MISSING_ID = "缺少身份证号。"
MISSING_COMMUNITY = "缺少现住社区。"
SKIP_OPEN_APPLICATION = "已有未办结的申请，跳过。"
SKIP_SERVED = "正在接受精康服务，跳过。"
SKIP_ELSEWHERE = "一人一档中此人居住在{district}，应由该区导入，跳过。"


def _record(values: dict[str, Any]) -> dict[str, Any]:
    problems = []
    name = str(values.get("name") or "").strip()[:50]
    if not name:
        problems.append(MISSING_NAME)
    out: dict[str, Any] = {"name": name}
    raw_id = str(values.get("id_number") or "").strip()
    if not raw_id:
        problems.append(MISSING_ID)
    else:
        try:
            facts = normalize_id_number(raw_id, today=timezone.localdate())
            out.update(id_number=facts.number, birth_date=facts.birth_date, sex=facts.sex)
        except ValidationError as exc:
            problems.append(exc.messages[0])
    community = str(values.get("community") or "").strip()
    if not community:
        problems.append(MISSING_COMMUNITY)
    out["community"] = community
    try:
        out["phone"] = normalize_phone(str(values.get("phone") or ""))
    except ValidationError as exc:
        problems.append(exc.messages[0])
    for key, limit in (("address", 200), ("diagnosis", 100), ("certificate", 30)):
        out[key] = str(values.get(key) or "").strip()[:limit]
    if problems:
        raise ValueError("；".join(problems))
    return out


def _communities(district: Region) -> tuple[dict[str, Region], dict[str, list[Region]]]:
    prefix = district.code[:6]
    rows = list(Region.objects.filter(level=RegionLevel.COMMUNITY, code__startswith=prefix))
    by_name: dict[str, list[Region]] = {}
    for region in rows:
        by_name.setdefault(region.name, []).append(region)
    return {r.code: r for r in rows}, by_name


def _analyse(roster: RosterImport) -> dict[str, Any]:
    """Classify every line: error, skip (already in), link (known person) or create (new person)."""
    parsed = parse(bytes(roster.content), roster.file_name, mapping=MAPPING, record=_record)
    district = roster.district
    codes, names = _communities(district)
    errors = [(line, message) for line, message in parsed.errors]
    good: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for record in parsed.records:
        line = record["line"]
        value = record["community"]
        region = codes.get(value)
        if region is None:
            candidates = names.get(value, [])
            if len(candidates) > 1:
                errors.append((line, AMBIGUOUS_COMMUNITY.format(district=district.label, value=value)))
                continue
            region = candidates[0] if candidates else None
        if region is None:
            errors.append((line, UNKNOWN_COMMUNITY.format(value=value, district=district.label)))
            continue
        if record["id_number"] in seen:
            errors.append((line, DUPLICATE_LINE.format(line=seen[record["id_number"]])))
            continue
        seen[record["id_number"]] = line
        record["community_code"] = region.code
        record["hash"] = id_hash(record["id_number"])
        good.append(record)
    known: dict[str, int] = {}
    lives_in: dict[int, str] = {}
    for chunk in iter_chunks([r["hash"] for r in good], 500):
        for digest, pk, district_id in Person.objects.filter(id_number_hash__in=chunk).values_list(
            "id_number_hash", "pk", "district_id"
        ):
            known[digest] = pk
            lives_in[pk] = district_id
    busy_app: set[int] = set()
    busy_case: set[int] = set()
    for chunk in iter_chunks(list(known.values()), 500):
        busy_app.update(
            Application.objects.filter(person_id__in=chunk, state__in=OPEN_APPLICATION_STATES).values_list(
                "person_id", flat=True
            )
        )
        busy_case.update(
            Case.objects.filter(person_id__in=chunk, status__in=OPEN_CASE_STATES).values_list(
                "person_id", flat=True
            )
        )
    elsewhere = {code for code in lives_in.values() if code != district.code}
    other_names = (
        dict(Region.objects.filter(code__in=elsewhere).values_list("code", "name")) if elsewhere else {}
    )
    create, link, skipped, listed = [], [], [], []
    for record in good:
        person_id = known.get(record["hash"])
        if person_id is None:
            create.append(record)
        elif lives_in[person_id] != district.code:
            # The registry places the person in another district, which refers them; importing here
            # would leave an application this district can neither see nor refer.
            other = other_names.get(lives_in[person_id], lives_in[person_id])
            skipped.append((record["line"], SKIP_ELSEWHERE.format(district=other)))
        elif person_id in busy_app:
            skipped.append((record["line"], SKIP_OPEN_APPLICATION))
            listed.append(person_id)
        elif person_id in busy_case:
            skipped.append((record["line"], SKIP_SERVED))
            listed.append(person_id)
        else:
            link.append({**record, "person_id": person_id})
    errors.sort()
    return {
        "total": parsed.total,
        "errors": errors,
        "skipped": skipped,
        "create": create,
        "link": link,
        # Skipped as already applying or served here, yet on the list: they count as registered.
        "listed": listed,
    }


def _require(actor: User, district: Region) -> None:
    access.require(actor, "rehab_intake")
    region = actor.jurisdiction
    if region is None or RegionLevel(region.level) in (RegionLevel.STREET, RegionLevel.COMMUNITY):
        raise PermissionDenied(NEEDS_DISTRICT)
    if not region.contains(district.code) or district.level != RegionLevel.DISTRICT:
        raise PermissionDenied(access.OUT_OF_SCOPE_REGION)


def roster_preview(
    *, actor: User, district: Region, source: str, file_name: str, raw: bytes, received_on: dt.date
) -> RosterImport:
    """Read the file and keep it with its report; nothing about people is stored yet."""
    _require(actor, district)
    if source not in ROSTER_SOURCES:
        raise ValidationError({"source": NOT_A_ROSTER})
    digest = hashlib.sha256(raw).hexdigest()
    done = RosterImport.objects.filter(
        district=district, digest=digest, status=RosterStatus.CONFIRMED
    ).first()
    if done is not None:
        raise ValidationError(
            ALREADY.format(day=timezone.localtime(done.confirmed_at).date()), code="duplicate"
        )
    roster = RosterImport(
        district=district,
        source=source,
        file_name=file_name[:200],
        digest=digest,
        content=raw,
        received_on=received_on,
        created_by=actor,
    )
    analysis = _analyse(roster)
    roster.total = analysis["total"]
    roster.report = _report(analysis)
    with transaction.atomic():
        roster.save()
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            obj=roster,
            summary=f"预览{roster.get_source_display()}：{file_name}，{roster.total} 行，{len(analysis['errors'])} 行有误",
        )
    return roster


def _report(analysis: dict[str, Any]) -> dict[str, Any]:
    return {
        "errors": analysis["errors"],
        "skipped": analysis["skipped"],
        "create": len(analysis["create"]),
        "link": len(analysis["link"]),
    }


def roster_confirm(*, actor: User, roster: RosterImport) -> RosterImport:
    """Import the good lines, all or nothing. The file is read again, so what is imported is what the
    registry holds now, not what it held at the preview."""
    _require(actor, roster.district)
    now = timezone.now()
    today = timezone.localdate()
    with transaction.atomic():
        # The same file may have been previewed twice and the other preview confirmed meanwhile; the
        # unique constraint would stop this one with an IntegrityError, so say so in words instead.
        done = (
            RosterImport.objects.filter(
                district=roster.district_id, digest=roster.digest, status=RosterStatus.CONFIRMED
            )
            .exclude(pk=roster.pk)
            .first()
        )
        if done is not None:
            raise ValidationError(
                ALREADY.format(day=timezone.localtime(done.confirmed_at).date()), code="duplicate"
            )
        try:
            with transaction.atomic():
                changed = RosterImport.objects.filter(pk=roster.pk, status=RosterStatus.PREVIEW).update(
                    status=RosterStatus.CONFIRMED, confirmed_at=now
                )
        except IntegrityError:
            raise ValidationError(ALREADY.format(day=today), code="duplicate") from None
        if changed != 1:
            roster.refresh_from_db()
            raise Conflict(NOT_PREVIEW.format(status=roster.get_status_display()), code="stale")
        analysis = _analyse(roster)
        new_ids = people_register_many(
            actor=actor,
            rows=[
                {
                    "name": r["name"],
                    "id_number": r["id_number"],
                    "id_number_hash": r["hash"],
                    "phone": r["phone"],
                    "address": r["address"],
                    "community_id": r["community_code"],
                }
                for r in analysis["create"]
            ],
        )
        created_ids = {r["hash"]: pk for r, pk in zip(analysis["create"], new_ids, strict=True)}
        check_due = add_working_days(roster.received_on, CHECK_DAYS)
        refer_due = add_working_days(today, REFER_DAYS)
        # (record, person, new?): the flag travels with the record, since looking each record up in the
        # list of new ones would take time quadratic in the length of the roster.
        records = [(r, created_ids[r["hash"]], True) for r in analysis["create"]] + [
            (r, r["person_id"], False) for r in analysis["link"]
        ]
        label = roster.get_source_display()
        Application.objects.bulk_create(
            [
                Application(
                    person_id=person_id,
                    district_id=r["community_code"][:6] + "000000",
                    source=roster.source,
                    applicant_org=label[:100],
                    reason=f"残疾人证号：{r['certificate']}" if r["certificate"] else "",
                    roster_diagnosis=r["diagnosis"],
                    received_on=roster.received_on,
                    check_due=check_due,
                    registered_on=today,
                    refer_due=refer_due,
                    state=ApplicationState.REGISTERED,
                    roster_digest=roster.digest,
                    created_by=actor,
                )
                for r, person_id, _new in records
            ],
            batch_size=500,
        )
        context = audit.current_context()
        AuditEntry.objects.bulk_create(
            [
                AuditEntry(
                    actor=actor,
                    actor_username=actor.get_username(),
                    action=AuditAction.CREATE if new else AuditAction.UPDATE,
                    object_type="people.person",
                    object_id=str(person_id),
                    person_id=person_id,
                    ip=context.ip,
                    channel=context.channel,
                    summary=f"{label}导入：{'新登记' if new else '已在册'}，待转介",
                )
                for _r, person_id, new in records
            ],
            batch_size=500,
        )
        register_listed(
            person_ids=[person_id for _r, person_id, _new in records] + analysis["listed"],
            district_id=roster.district_id,
            source=roster.source,
            listed_on=roster.received_on,
        )
        result = {
            "created": len(analysis["create"]),
            "linked": len(analysis["link"]),
            "skipped": len(analysis["skipped"]),
            "errors": len(analysis["errors"]),
        }
        RosterImport.objects.filter(pk=roster.pk).update(result=result, report=_report(analysis))
        audit.record(
            actor=actor,
            action=AuditAction.IMPORT,
            obj=roster,
            summary=f"导入{label}：新登记 {result['created']} 人，已在册 {result['linked']} 人，"
            f"跳过 {result['skipped']} 行，有误 {result['errors']} 行",
        )
    roster.refresh_from_db()
    return roster


def roster_discard(*, actor: User, roster: RosterImport) -> RosterImport:
    _require(actor, roster.district)
    with transaction.atomic():
        changed = RosterImport.objects.filter(pk=roster.pk, status=RosterStatus.PREVIEW).update(
            status=RosterStatus.DISCARDED, content=b""
        )
        if changed != 1:
            # Name the status it has now (confirmed by someone else, or already discarded).
            roster.refresh_from_db()
            raise Conflict(NOT_PREVIEW.format(status=roster.get_status_display()), code="stale")
        audit.record(
            actor=actor, action=AuditAction.UPDATE, obj=roster, summary=f"放弃导入：{roster.file_name}"
        )
    roster.refresh_from_db()
    return roster
