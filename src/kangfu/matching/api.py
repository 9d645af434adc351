"""数据比对 endpoints: feeds are pushed by other systems, runs started and items read."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone
from ninja import File, Form, Header, Router, Schema, Status
from ninja.files import UploadedFile

from kangfu.core import access, audit, uploads
from kangfu.core.pagination import Limit, Offset
from kangfu.core.spreadsheets import parse_month
from kangfu.matching import agency, comparison, selectors, services
from kangfu.matching.rules import RULE_NAMES

router = Router(tags=["数据比对"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class FeedOut(Schema):
    id: int
    source: str
    period: dt.date
    status: str
    total_lines: int
    valid_lines: int
    errors: list[dict]
    duplicate_lines: int
    duplicates: list[dict]
    blank_lines: int


class RunOut(Schema):
    id: int
    period: dt.date
    status: str
    progress: int
    found: dict[str, int]


class ItemOut(Schema):
    id: int
    rule: str
    rule_name: str
    direction: str
    period: dt.date
    person_id: int
    street_code: str
    explanation: str
    amount_at_stake: str
    status: str
    due_date: dt.date


def _feed_out(feed) -> dict:
    return {
        "id": feed.pk,
        "source": feed.source.name,
        "period": feed.period,
        "status": feed.status,
        "total_lines": feed.total_lines,
        "valid_lines": feed.valid_lines,
        "errors": feed.errors,
        "duplicate_lines": len(feed.duplicates),
        "duplicates": feed.duplicates,
        "blank_lines": feed.blank_lines,
    }


@router.post(
    "/feeds",
    response={201: FeedOut, 400: ErrorOut, 404: ErrorOut},
    summary="上传比对数据（预览）",
    description=(
        "source 为数据来源名称，period 为数据所属月份（2026-11、2026/11、202611、2026年11月或该月某日）。"
        "返回逐行校验结果（问题行、重复行、空行）；confirm 为 true 时与页面上确认一样导入有效行、"
        "问题行不导入，没有有效行则返回 400。确认后才参与比对。"
    ),
)
def upload_feed(
    request, source: Form[str], period: Form[str], file: File[UploadedFile], confirm: Form[bool] = False
):
    access.require(request.user, "runs_payroll")
    found = selectors.feed_source_named(source)
    if found is None:
        return Status(404, {"detail": f"没有数据来源“{source}”。"})
    try:
        month = parse_month(period)
    except ValueError as exc:
        return Status(400, {"detail": str(exc), "errors": {"period": [str(exc)]}})
    if month is None:
        return Status(400, {"detail": "请填写数据所属月份。", "errors": {"period": ["请填写数据所属月份。"]}})
    uploads.check_upload(file, allowed=(".csv", ".xlsx", ".txt"), max_bytes=50 * 1024 * 1024)
    feed = services.feed_preview(
        actor=request.user, source=found, raw=file.read(), file_name=file.name, period=month
    )
    if confirm:
        try:
            feed = services.feed_confirm(actor=request.user, feed=feed)
        except ValidationError as exc:
            lines = {f"第 {e['line']} 行": [e["message"]] for e in feed.errors[:500]}
            return Status(400, {"detail": "；".join(exc.messages), "errors": lines})
    return Status(201, _feed_out(feed))


class RunIn(Schema):
    period: dt.date


@router.post("/runs", response={202: RunOut, 400: ErrorOut}, summary="开始比对（按令牌账号所在区）")
def start_run(request, payload: RunIn):
    run = comparison.run_request(
        actor=request.user, district=request.user.jurisdiction, period=payload.period
    )
    run.refresh_from_db()
    return Status(
        202,
        {
            "id": run.pk,
            "period": run.period,
            "status": run.status,
            "progress": run.progress,
            "found": run.found,
        },
    )


@router.get("/runs/{int:run_id}", response={200: RunOut, 404: ErrorOut}, summary="比对进度")
def get_run(request, run_id: int):
    access.require(request.user, "reads_civil_affairs")
    run = selectors.runs_for(request.user).filter(pk=run_id).first()
    if run is None:
        return Status(404, {"detail": "未找到该记录。"})
    return {
        "id": run.pk,
        "period": run.period,
        "status": run.status,
        "progress": run.progress,
        "found": run.found,
    }


@router.get(
    "/items",
    response=list[ItemOut],
    summary="疑点（未销账）",
    description="按办理期限排序；limit 最多 100，offset 从 0 起、最大 100 万。",
)
def list_items(request, limit: Limit = 100, offset: Offset = 0):
    access.require(request.user, "reads_civil_affairs")
    rows = selectors.items_for(request.user).filter(status__in=selectors.OPEN).order_by("due_date", "pk")
    rows = list(rows[offset : offset + limit])
    # Each item names a person and what is at stake: handed to another system, it is a read of each.
    audit.record_reads(
        actor=request.user, records=rows, person_of=lambda i: i.person_id, summary="读取比对疑点（API）"
    )
    return [
        {
            "id": i.pk,
            "rule": i.rule,
            "rule_name": RULE_NAMES.get(i.rule, i.rule),
            "direction": i.direction,
            "period": i.period,
            "person_id": i.person_id,
            "street_code": i.street_id,
            "explanation": i.explanation,
            "amount_at_stake": f"{i.amount_at_stake:.2f}",
            "status": i.status,
            "due_date": i.due_date,
        }
        for i in rows
    ]


# 数据交换: an agency's own token (an `agency.AgencyChannel`'s account) pushes its feeds. A file goes
# as multipart to /pushes, rows as JSON to /pushes/rows (one body schema per operation, so the
# OpenAPI document describes each); both land in preview for the district's payroll office.

PUSH_DESCRIPTION = (
    "仅限数据交换渠道的令牌。kind 为数据类别（如 death、move、cert_mixed、dibao、work_injury），须是该渠道可推送的类别；"
    "period 为数据所属月份（默认本月）；市级渠道须以 district 注明所属区。推送的数据与上传的文件一样进入“待确认”，"
    "由该区确认后才参与比对。同一份数据重发（同一 Idempotency-Key 请求头，未给则按内容的 SHA-256）返回同一次推送（200），"
    "不会再建一次导入。类别不在渠道范围内、人员户籍或区划代码不在渠道覆盖的区：403，不保存任何数据。"
)


IDEMPOTENCY = {"alias": "Idempotency-Key", "description": "重发同一份数据时带同一个键（最长 100 字符）"}


class PushOut(Schema):
    id: int
    status_url: str
    replayed: bool
    feed_id: int
    kind: str
    source: str
    district: str
    period: dt.date
    status: str
    status_name: str
    total_lines: int
    valid_lines: int
    errors: list[dict]
    duplicates: list[dict]
    blank_lines: int


class PushRowsIn(Schema):
    kind: str
    period: str = ""
    district: str = ""
    rows: list[dict[str, str | int | float | None]]


def _push_out(push, *, replayed: bool) -> dict:
    feed = push.feed
    return {
        "id": push.pk,
        "status_url": reverse("api-v1:agency_push", kwargs={"push_id": push.pk}),
        "replayed": replayed,
        "feed_id": feed.pk,
        "kind": feed.source.kind,
        "source": feed.source.name,
        "district": feed.district_id or "",
        "period": feed.period,
        "status": feed.status,
        "status_name": feed.get_status_display(),
        "total_lines": feed.total_lines,
        "valid_lines": feed.valid_lines,
        "errors": feed.errors,
        "duplicates": feed.duplicates,
        "blank_lines": feed.blank_lines,
    }


def _push_month(period: str) -> dt.date:
    try:
        month = parse_month(period) if period else None
    except ValueError as exc:
        raise ValidationError({"period": [str(exc)]}) from None
    return month or timezone.localdate().replace(day=1)


def _pushed(request, *, kind, period, file_name, key, district, raw=b"", rows=None):
    if agency.channel_of(request.user) is None:
        raise PermissionDenied(agency.NOT_A_CHANNEL)
    got = agency.push_receive(
        account=request.user,
        kind=kind,
        period=_push_month(period),
        raw=raw,
        rows=rows,
        file_name=file_name,
        key=key or "",
        district=district,
    )
    return Status(201 if got.created else 200, _push_out(got.push, replayed=not got.created))


@router.post(
    "/pushes",
    response={200: PushOut, 201: PushOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    summary="机构推送比对数据（文件）",
    description=PUSH_DESCRIPTION,
)
def push_file(
    request,
    kind: Form[str],
    file: File[UploadedFile],
    period: Form[str] = "",
    district: Form[str] = "",
    idempotency_key: Header[str | None, IDEMPOTENCY] = None,
):
    if agency.channel_of(request.user) is None:
        raise PermissionDenied(agency.NOT_A_CHANNEL)
    uploads.check_upload(file, allowed=(".csv", ".xlsx", ".txt"), max_bytes=50 * 1024 * 1024)
    return _pushed(
        request,
        kind=kind,
        period=period,
        raw=file.read(),
        file_name=file.name,
        key=idempotency_key,
        district=district,
    )


@router.post(
    "/pushes/rows",
    response={200: PushOut, 201: PushOut, 400: ErrorOut, 403: ErrorOut, 409: ErrorOut},
    summary="机构推送比对数据（JSON 行）",
    description=PUSH_DESCRIPTION
    + "rows 每行一个对象，键为文件的表头（如 身份证号、姓名、死亡日期）或字段名（id_number、event_date 等）。",
)
def push_rows(request, payload: PushRowsIn, idempotency_key: Header[str | None, IDEMPOTENCY] = None):
    if agency.channel_of(request.user) is None:
        raise PermissionDenied(agency.NOT_A_CHANNEL)
    return _pushed(
        request,
        kind=payload.kind,
        period=payload.period,
        rows=payload.rows,
        file_name=f"{payload.kind}_rows.csv",
        key=idempotency_key,
        district=payload.district,
    )


@router.get(
    "/pushes/{int:push_id}",
    response={200: PushOut, 403: ErrorOut, 404: ErrorOut},
    summary="推送的办理状态",
    url_name="agency_push",
)
def get_push(request, push_id: int):
    if agency.channel_of(request.user) is None:
        raise PermissionDenied(agency.NOT_A_CHANNEL)
    push = agency.push_for(request.user, push_id)
    if push is None:
        return Status(404, {"detail": "未找到该记录。"})
    return _push_out(push, replayed=False)
