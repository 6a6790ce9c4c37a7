"""Errors raised by services and selectors. Both front doors map them the same way:

- web views show ``message`` inline (on ``field`` when set) or as a page with the right status;
- the API answers ``{"code", "message", "detail"}`` with the status below.
"""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class KehuError(Exception):
    status = 400
    default_code = "error"

    def __init__(
        self,
        message: str | Promise,
        *,
        code: str | None = None,
        field: str | None = None,
        rule: str | None = None,
        detail: Any = None,
    ) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.field = field
        self.rule = rule
        self.detail = detail

    def as_dict(self) -> dict[str, Any]:
        detail: Any = self.detail
        if detail is None:
            detail = {}
            if self.field:
                detail["field"] = self.field
            if self.rule:
                detail["rule"] = self.rule
        return {"code": self.code, "message": str(self.message), "detail": detail}


class ValidationFailed(KehuError):
    """Bad input: names the field and the rule. Nothing was changed."""

    status = 400
    default_code = "invalid"


class PermissionDenied(KehuError):
    status = 403
    default_code = "forbidden"

    def __init__(self, message: str | Promise | None = None, **kwargs: Any) -> None:
        super().__init__(message or _("您没有执行此操作的权限。"), **kwargs)


class NotFound(KehuError):
    """Missing, or outside the user's scope (the two look the same so ids do not leak)."""

    status = 404
    default_code = "not_found"

    def __init__(self, message: str | Promise | None = None, **kwargs: Any) -> None:
        super().__init__(message or _("记录不存在或您无权查看。"), **kwargs)


class Conflict(KehuError):
    """The change clashes with the current state (already decided, concurrently changed, duplicate)."""

    status = 409
    default_code = "conflict"


class Unauthenticated(KehuError):
    status = 401
    default_code = "unauthenticated"

    def __init__(self, message: str | Promise | None = None, **kwargs: Any) -> None:
        super().__init__(message or _("请先登录。"), **kwargs)
