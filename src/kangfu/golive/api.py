"""上线迁移 endpoints: another system pushes its export file by file, reads the report, confirms,
and reads the reconciliation, with the pages' rules and scope."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from ninja import File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from kangfu.core import access, uploads
from kangfu.core.spreadsheets import parse_month
from kangfu.golive import selectors, services
from kangfu.golive.forms import MAX_BYTES
from kangfu.golive.services import reconcile as reconciliation

router = Router(tags=["上线迁移"])


class ErrorOut(Schema):
    detail: str
    errors: dict[str, list[str]] = {}


class ColumnOut(Schema):
    field: str
    label: str
    synonyms: list[str]
    required: bool


class KindOut(Schema):
    name: str
    label: str
    description: str
    columns: list[ColumnOut]


class JobOut(Schema):
    id: int
    kind: str
    file_name: str
    status: str
    status_label: str
    progress: int
    message: str
    total_lines: int
    blank_lines: int
    counts: dict[str, int]
    error_count: int
    errors: list[dict]
    flags: list[dict]
    mapping: dict[str, str]


class MappingIn(Schema):
    mapping: dict[str, str]
    header_line: int | None = None


class RowOut(Schema):
    district: str
    kind: str
    legacy_count: int
    legacy_total: Decimal
    ours_count: int
    ours_total: Decimal
    arrears: Decimal
    recoveries: Decimal
    held: int
    differing: int


class DifferenceOut(Schema):
    grant_id: int
    person_id: int
    district: str
    kind: str
    legacy: Decimal | None
    ours: Decimal | None
    reasons: list[str]


class ReconcileOut(Schema):
    month: str
    rows: list[RowOut]
    differences: list[DifferenceOut]


def _kinds(request):
    kinds = selectors.kinds_for(request.user)
    if not kinds:
        raise PermissionDenied(access.NOT_ALLOWED)
    return kinds


@router.get("/kinds", response=list[KindOut], summary="可导入的类别及各列")
def list_kinds(request):
    return [
        {
            "name": k.name,
            "label": k.label,
            "description": k.description,
            "columns": [
                {"field": c.field, "label": c.label, "synonyms": list(c.synonyms), "required": c.required}
                for c in k.columns
            ],
        }
        for k in _kinds(request)
    ]


@router.post(
    "/jobs",
    response={201: JobOut, 400: ErrorOut, 403: ErrorOut},
    summary="上传一个文件（检查，不写入）",
    description="kind 为导入类别（见 /kinds）；live_from 为上线月份（享受对象、发放明细必填）。返回逐行检查结果。",
)
def create_job(request, kind: Form[str], file: File[UploadedFile], live_from: Form[str] = ""):
    _kinds(request)
    uploads.check_upload(file, allowed=services.ALLOWED, max_bytes=MAX_BYTES)
    options = {"live_from": live_from} if live_from else {}
    job = services.job_upload(actor=request.user, kind=kind, upload=file, options=options)
    return Status(201, services.job_summary(job))


def _job(request, job_id: int):
    _kinds(request)
    return get_object_or_404(selectors.jobs_for(request.user), pk=job_id)


@router.get("/jobs/{int:job_id}", response={200: JobOut, 404: ErrorOut}, summary="导入的状态和报告")
def get_job(request, job_id: int):
    return services.job_summary(_job(request, job_id))


@router.post(
    "/jobs/{int:job_id}/mapping",
    response={200: JobOut, 400: ErrorOut, 404: ErrorOut},
    summary="指定列对应并重新检查",
)
def set_mapping(request, job_id: int, payload: MappingIn):
    job = services.job_remap(
        actor=request.user,
        job=_job(request, job_id),
        mapping=payload.mapping,
        header_line=payload.header_line,
        queue=True,
    )
    return services.job_summary(job)


@router.post(
    "/jobs/{int:job_id}/confirm",
    response={202: JobOut, 400: ErrorOut, 404: ErrorOut},
    summary="确认导入有效行",
)
def confirm_job(request, job_id: int):
    job = services.job_confirm(actor=request.user, job=_job(request, job_id), queue=True)
    return Status(202, services.job_summary(job))


@router.post(
    "/jobs/{int:job_id}/discard", response={200: JobOut, 400: ErrorOut, 404: ErrorOut}, summary="放弃导入"
)
def discard_job(request, job_id: int):
    return services.job_summary(services.job_discard(actor=request.user, job=_job(request, job_id)))


@router.get(
    "/reconcile",
    response={200: ReconcileOut, 400: ErrorOut, 403: ErrorOut, 404: ErrorOut},
    summary="上线对账",
)
def get_reconciliation(request, month: str, district: str = ""):
    try:
        first = parse_month(month)
    except ValueError:
        first = None
    if first is None:
        return Status(400, {"detail": "请填写月份，如 2027-01。"})
    region = selectors.region_by_code(district) if district else None
    result = reconciliation.reconcile(
        actor=request.user, month=first, districts=reconciliation.districts_for(request.user, region)
    )
    return {
        "month": f"{result.month:%Y-%m}",
        "rows": [
            {
                **{k: getattr(r, k) for k in RowOut.model_fields if k != "district"},
                "district": r.district.code,
            }
            for r in result.rows
        ],
        "differences": [{k: getattr(d, k) for k in DifferenceOut.model_fields} for d in result.differences],
    }
