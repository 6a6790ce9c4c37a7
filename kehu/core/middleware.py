"""Request-wide behaviour of the shell: the user's language, the client address, JSON 404s under the API."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation import gettext as _

from kehu.core.access import forget_grant
from kehu.core.audit import current_ip


def client_ip(request: HttpRequest) -> str | None:
    """The client's address. Behind a reverse proxy listed in ``KEHU_TRUSTED_PROXIES`` (nginx on the same host by
    default) it is the last address in ``X-Forwarded-For`` that is not itself a trusted proxy; a header sent by
    anyone else is ignored, so a client cannot choose its own address."""
    remote = request.META.get("REMOTE_ADDR") or None
    trusted = set(settings.KEHU_TRUSTED_PROXIES)
    if remote not in trusted:
        return remote
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    for address in reversed(forwarded):
        if address not in trusted:
            return address
    return remote


def request_language(request: HttpRequest) -> str:
    """The signed-in user's saved language; otherwise the language cookie; otherwise the default (zh-hans).
    The browser's Accept-Language is deliberately not used: the product speaks Chinese unless switched."""
    supported = dict(settings.LANGUAGES)
    user = getattr(request, "user", None)
    lang = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
    if lang in supported:
        return str(lang)
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if cookie in supported:
        return cookie
    return str(settings.LANGUAGE_CODE)


class UserLanguageMiddleware:
    """Applies the signed-in user's saved language (the switch persists per user, R-PLT-09) and remembers the
    client address for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_ip.set(client_ip(request))
        forget_grant()  # R-ARC-02: a grant noted by an earlier request on this thread is not this request's
        try:
            lang = request_language(request)
            translation.activate(lang)
            request.LANGUAGE_CODE = lang
            response = self.get_response(request)
            response.headers["Content-Language"] = translation.get_language() or lang
            return response
        finally:
            current_ip.reset(token)
            forget_grant()


class ApiNotFoundMiddleware:
    """Unknown URLs under /api/ answer 404 in the API's error format instead of the HTML page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code == 404
            and request.path.startswith("/api/")
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            body = {"code": "not_found", "message": _("接口不存在。"), "detail": {"path": request.path}}
            return HttpResponse(
                json.dumps(body, ensure_ascii=False),
                status=404,
                content_type="application/json; charset=utf-8",
            )
        return response
