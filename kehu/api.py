"""The API (django-ninja) under /api/v1; OpenAPI docs at /api/docs.

Authentication: the browser session (with CSRF) or ``Authorization: Bearer <token>`` (per-user tokens, see
kehu.core.tokens). Errors always answer ``{"code", "message", "detail"}`` with 400/401/403/404/409.
Each app adds its router in :func:`build_api`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer

from kehu.core.errors import KehuError


class SessionAuth(APIKeyCookie):
    """The signed-in browser session; unsafe methods need the CSRF token, as in the web pages."""

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie this is not a browser call: leave it to the bearer token (no CSRF there).
        if not request.COOKIES.get(self.param_name):
            return None
        return super()._get_key(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        if not key:
            return None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_active:
            return user
        return None


class BearerTokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        from kehu.core.tokens import token_authenticate

        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


def _error(
    api: NinjaAPI, request: HttpRequest, status: int, code: str, message: str, detail: Any
) -> HttpResponse:
    return api.create_response(request, {"code": code, "message": message, "detail": detail}, status=status)


def build_api() -> NinjaAPI:
    api = NinjaAPI(
        title="Kehu API",
        version="1",
        description=_("客户管理系统 API。认证：浏览器会话，或 Authorization: Bearer <令牌>。"),
        urls_namespace="api",
        auth=[BearerTokenAuth(), SessionAuth()],
        docs_url="/docs",
    )

    @api.exception_handler(KehuError)
    def kehu_error(request: HttpRequest, exc: KehuError) -> HttpResponse:
        body = exc.as_dict()
        return _error(api, request, exc.status, body["code"], body["message"], body["detail"])

    @api.exception_handler(NinjaValidationError)
    def validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = [
            {
                "field": ".".join(str(p) for p in e.get("loc", []) if p not in ("body", "payload", "query")),
                "message": e.get("msg", ""),
            }
            for e in exc.errors
        ]
        first = errors[0] if errors else {"field": "", "message": ""}
        message = _("字段 %(field)s 无效：%(msg)s") % {"field": first["field"], "msg": first["message"]}
        return _error(api, request, 400, "invalid", message, {"errors": errors})

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return _error(api, request, 401, "unauthenticated", _("请先登录或提供有效的API令牌。"), {})

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        if exc.status_code == 403 and "CSRF" in str(exc):
            return _error(
                api, request, 403, "csrf_failed", _("CSRF校验失败：会话调用需带 X-CSRFToken 请求头。"), {}
            )
        codes = {
            400: "invalid",
            401: "unauthenticated",
            403: "forbidden",
            404: "not_found",
            405: "method_not_allowed",
            409: "conflict",
            429: "throttled",
        }
        return _error(api, request, exc.status_code, codes.get(exc.status_code, "error"), str(exc), {})

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        from django.http import Http404

        if isinstance(exc, Http404):
            return _error(api, request, 404, "not_found", _("记录不存在或您无权查看。"), {})
        import logging

        logging.getLogger("kehu.api").exception("unhandled API error")
        return _error(api, request, 500, "server_error", _("服务器内部错误，已记录。"), {})

    from kehu.core.api import router as core_router

    api.add_router("/", core_router)
    from kehu.workflow.api import router as workflow_router

    api.add_router("/workflow", workflow_router, tags=["workflow"])
    from kehu.core.policies.api import router as policies_router

    api.add_router("/policies", policies_router, tags=["policies"])
    from kehu.customers.api import router as customers_router

    api.add_router("/customers", customers_router, tags=["customers"])
    from kehu.onboarding.api import router as onboarding_router

    api.add_router("/reviews", onboarding_router, tags=["reviews"])
    from kehu.credit.api import router as credit_router

    api.add_router("/credit", credit_router, tags=["credit"])
    from kehu.limits.api import applications_router, limits_router, reviews_router

    api.add_router("/credit/applications", applications_router, tags=["credit"])
    api.add_router("/credit/limits", limits_router, tags=["credit"])
    api.add_router("/credit/reviews", reviews_router, tags=["credit"])
    from kehu.receivables.api import ageing_router, exposure_router, ledger_router

    api.add_router("/credit/ledger", ledger_router, tags=["credit"])
    api.add_router("/credit/exposure", exposure_router, tags=["credit"])
    api.add_router("/credit/ageing", ageing_router, tags=["credit"])
    from kehu.grading.api import router as grading_router

    api.add_router("/grading", grading_router, tags=["grading"])
    from kehu.confidential.api import readlog_router, requests_router

    api.add_router("/access-requests", requests_router, tags=["confidential"])
    api.add_router("/read-log", readlog_router, tags=["confidential"])
    from kehu.orders.api import router as orders_router

    api.add_router("/orders", orders_router, tags=["orders"])
    return api


api = build_api()
