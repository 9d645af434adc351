"""The REST API, `/api/v1/`, with bearer-token authentication and the pages' own rules."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import HttpBearer

from kangfu.core.services import api_token_user
from kangfu.core.transitions import Conflict
from kangfu.devices.api import router as devices_router
from kangfu.events.api import router as events_router
from kangfu.exchange.api import router as exchange_router
from kangfu.golive.api import router as golive_router
from kangfu.matching.api import router as matching_router
from kangfu.people.api import router as people_router
from kangfu.people.services import StaleEdit
from kangfu.programme.api import router as programme_router
from kangfu.programme.api_experts import router as programme_experts_router
from kangfu.programme.api_standards import router as programme_standards_router
from kangfu.rehab.api import router as rehab_router
from kangfu.rehab.api_groups import router as rehab_groups_router
from kangfu.reports.api import router as reports_router
from kangfu.subsidies.api import router as subsidies_router


class TokenAuth(HttpBearer):
    def authenticate(self, request, token):
        user = api_token_user(token)
        if user is not None:
            request.user = user
        return user


NOT_FOUND = "未找到该记录。"

# What the handlers below may answer for any operation, declared once in the OpenAPI document rather
# than in every endpoint's `response=` (which names only what is particular to it).
REFUSALS = {
    "400": "数据有误（字段错误在 errors 中）",
    "401": "缺少或无效的访问令牌",
    "403": "账号的角色无权进行此操作",
    "404": "记录不存在或不在令牌账号的管辖范围内",
    "409": "他人已先办理或已修改，未保存",
    "422": "请求不符合接口格式（字段错误在 errors 中）",
}
REFUSAL_SCHEMA = {
    "title": "Refusal",
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["detail"],
}
# Writes of these apps change state by a conditional UPDATE that raises `core.transitions.Conflict`
# or check the version read (people's `StaleEdit`). Go-live's services raise neither.
CONFLICTS_UNDER = ("people", "subsidies", "devices", "matching", "rehab", "programme", "reports", "exchange")


class KangfuAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        _declare_refusals(schema, root=path_prefix if path_prefix is not None else self.get_root_path({}))
        return schema


def _declare_refusals(schema, *, root: str) -> None:
    """Add to every operation the refusals the handlers may give it: 401 and 403 everywhere (every
    endpoint checks the token and the role), 422 where it reads input and 400 where that input is more
    than the path (FilterSets and services read it), 404 where the path names a record, and 409 on the
    writes that can meet someone acting first."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Refusal"] = REFUSAL_SCHEMA
    for path, operations in schema["paths"].items():
        app = path.removeprefix(root).split("/", 1)[0]
        for method, operation in operations.items():
            places = {p["in"] for p in operation.get("parameters", [])}
            if "requestBody" in operation:
                places.add("body")
            codes = ["401", "403"]
            if places - {"path"}:
                codes.append("400")
            if places:
                codes.append("422")
            if "path" in places:
                codes.append("404")
            if method != "get" and app in CONFLICTS_UNDER:
                codes.append("409")
            responses = operation.setdefault("responses", {})
            for code in codes:
                responses.setdefault(
                    code,
                    {
                        "description": REFUSALS[code],
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refusal"}}},
                    },
                )


api = KangfuAPI(
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
api.add_router("/rehab", rehab_groups_router)
api.add_router("/reports", reports_router)
api.add_router("/golive", golive_router)
api.add_router("/programme", programme_router)
api.add_router("/events", events_router)
api.add_router("/exchange", exchange_router)
api.add_router("/programme", programme_standards_router)
api.add_router("/programme", programme_experts_router)


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
    if kind == "greater_than_equal":
        return f"不能小于 {err.get('ctx', {}).get('ge', '')}。"
    if kind == "less_than_equal":
        return f"不能大于 {err.get('ctx', {}).get('le', '')}。"
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
    return api.create_response(request, {"detail": NOT_FOUND}, status=404)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request, exc):
    return api.create_response(request, {"detail": "缺少或无效的访问令牌。"}, status=401)


# Exempt as the API's own views are (bearer tokens, no cookies): it changes and reveals nothing, and a
# POST to a wrong address should get this 404, not the site's HTML page for a missing CSRF cookie.
@csrf_exempt
def not_found(request):
    """Any other address under /api/: the API's JSON 404, not the site's HTML page (a path parameter
    that is not a number, such as /api/v1/people/abc, matches no route and lands here). A GET without
    its final slash is sent on to the address with it, as Django's APPEND_SLASH would have."""
    if request.method in ("GET", "HEAD") and not request.path_info.endswith("/"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return JsonResponse({"detail": NOT_FOUND}, status=404, json_dumps_params={"ensure_ascii": False})
