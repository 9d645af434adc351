"""The REST API, `/api/v1/`, with bearer-token authentication and the pages' own rules."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from kangfu.core.services import api_token_user
from kangfu.core.transitions import Conflict
from kangfu.devices.api import router as devices_router
from kangfu.golive.api import router as golive_router
from kangfu.matching.api import router as matching_router
from kangfu.people.api import router as people_router
from kangfu.people.services import StaleEdit
from kangfu.rehab.api import router as rehab_router
from kangfu.subsidies.api import router as subsidies_router


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


api = NinjaAPI(
    title="康复服务管理平台 API",
    version="1",
    description="与其他政务系统交换数据。所有接口按令牌所属账号的角色和管辖范围过滤，敏感字段脱敏。",
    auth=TokenAuth(),
    urls_namespace="api-v1",
)
api.add_router("/people", people_router)
api.add_router("/subsidies", subsidies_router)
api.add_router("/devices", devices_router)
api.add_router("/matching", matching_router)
api.add_router("/rehab", rehab_router)
api.add_router("/golive", golive_router)


def _messages(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {"detail": "数据有误，请按提示修改。", "errors": exc.message_dict}
    return {"detail": "；".join(exc.messages), "errors": {}}


@api.exception_handler(ValidationError)
def _validation(request, exc):
    return api.create_response(request, _messages(exc), status=400)


@api.exception_handler(NinjaValidationError)
def _schema_validation(request, exc):
    errors = {}
    for err in exc.errors:
        field = ".".join(str(p) for p in err.get("loc", [])[1:]) or "body"
        errors.setdefault(field, []).append(_ninja_message(err))
    return api.create_response(request, {"detail": "请求格式有误。", "errors": errors}, status=422)


def _ninja_message(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "missing":
        return "缺少此项。"
    if kind == "string_too_long":
        return f"不能超过 {err.get('ctx', {}).get('max_length', '')} 个字。"
    if "int" in kind:
        return "应为整数。"
    if "date" in kind:
        return "应为日期（YYYY-MM-DD）。"
    return "格式不正确。"


@api.exception_handler(StaleEdit)
def _stale(request, exc):
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(Conflict)
def _conflict(request, exc):
    """Someone acted first (a double click, two clerks at once): 409, whatever the service."""
    return api.create_response(request, _messages(exc), status=409)


@api.exception_handler(PermissionDenied)
def _denied(request, exc):
    return api.create_response(request, {"detail": str(exc) or "无权进行此操作。"}, status=403)


@api.exception_handler(Http404)
def _not_found(request, exc):
    return api.create_response(request, {"detail": "未找到该记录。"}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"detail": "缺少或无效的访问令牌。"}, status=401)
