from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation

from kehu.core.audit import current_ip


def client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class UserLanguageMiddleware:
    """Applies the signed-in user's saved language (the switch persists per user, R-PLT-09) and remembers the
    client address for the audit trail."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = current_ip.set(client_ip(request))
        try:
            user = getattr(request, "user", None)
            lang = getattr(user, "language", "") if user is not None and user.is_authenticated else ""
            if lang:
                translation.activate(lang)
                request.LANGUAGE_CODE = lang
            response = self.get_response(request)
            if lang:
                response.headers.setdefault("Content-Language", lang)
            return response
        finally:
            current_ip.reset(token)
