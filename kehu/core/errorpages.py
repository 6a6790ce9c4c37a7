"""Service errors raised in a web view become a proper page with the right status (403, 404, 409, 400), never
a 500: the same mapping the API applies (kehu.api). Views that can show the error inline catch it themselves."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from kehu.core.errors import KehuError


class KehuErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, KehuError) or request.path.startswith("/api/"):
            return None
        template = "partials/_error.html" if request.headers.get("HX-Request") else "error.html"
        return render(
            request,
            template,
            {
                "status": exception.status,
                "message": exception.message,
                "code": exception.code,
                "detail": exception.detail if isinstance(exception.detail, dict) else {},
            },
            status=exception.status,
        )


def message_error(request: HttpRequest, exc: KehuError) -> None:
    """For an action posted from a page (a button, not a form): show the error as a message on the page it
    returns to; a refusal (403) or a record out of reach (404) becomes the error page."""
    if exc.status in (403, 404):
        raise exc
    messages.error(request, str(exc.message))


def form_error_or_back(request: HttpRequest, form: Any, exc: KehuError, back: str) -> HttpResponse | None:
    """A service's error on a form posted from a record's page. A conflict (409: the record changed meanwhile) is
    a message and a redirect to ``back``, which shows the record as it is now; any other error goes on the form
    (``add_service_error``: 403/404 become the error page). Returns the redirect, or None to re-render the form."""
    if exc.status == 409:
        message_error(request, exc)
        return redirect(back)
    form.add_service_error(exc)
    return None
