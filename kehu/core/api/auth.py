"""Sign-in for programs: bearer tokens (create with a password, list, revoke) and who am I."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from kehu.core import security, tokens
from kehu.core.middleware import client_ip

router = Router()


class TokenCreateIn(Schema):
    username: str
    password: str
    name: str = ""


class TokenCreatedOut(Schema):
    token: str
    id: int
    name: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    user: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    expires_at: dt.datetime | None
    revoked_at: dt.datetime | None


class RoleOut(Schema):
    code: str
    name: str


class DepartmentOut(Schema):
    id: int
    code: str
    name: str


class MeOut(Schema):
    username: str
    name: str
    roles: list[RoleOut]
    department: DepartmentOut | None
    language: str


def _token_out(row: Any) -> dict[str, Any]:
    return {
        "id": row.pk,
        "name": row.name,
        "prefix": row.prefix,
        "user": row.user.username,
        "created_at": row.created_at,
        "last_used_at": row.last_used_at,
        "expires_at": row.expires_at,
        "revoked_at": row.revoked_at,
    }


@router.post("/tokens", auth=None, response={201: TokenCreatedOut}, summary="Create a token (sign in)")
def create_token(request: HttpRequest, payload: TokenCreateIn) -> Status[dict[str, Any]]:
    """Sign in with user name and password (throttled like the web login; 429 ``locked_out`` when locked)
    and get a new bearer token. The token is shown only in this answer."""
    user = security.sign_in(request, payload.username, payload.password, channel="api", ip=client_ip(request))
    row, text = tokens.token_create(actor=user, name=payload.name.strip() or _("API登录"))
    return Status(201, {"token": text, "id": row.pk, "name": row.name})


@router.get("/tokens", response=list[TokenOut], summary="List tokens")
def list_tokens(request: HttpRequest) -> list[dict[str, Any]]:
    """One's own tokens; the system administrator sees everyone's."""
    return [_token_out(row) for row in tokens.token_list(actor=request.auth).order_by("-created_at")]  # type: ignore[attr-defined]


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke a token")
def revoke_token(request: HttpRequest, token_id: int) -> dict[str, Any]:
    """Revoke a token: 404 when it is not one's own (administrators: any), 409 when already revoked."""
    return _token_out(tokens.token_revoke(actor=request.auth, token_id=token_id))  # type: ignore[attr-defined]


@router.get("/me", response=MeOut, summary="The signed-in user")
def me(request: HttpRequest) -> dict[str, Any]:
    user: Any = request.auth  # type: ignore[attr-defined]
    dept = user.department
    return {
        "username": user.username,
        "name": user.display_name or user.get_full_name() or user.username,
        "roles": [{"code": r.code, "name": str(r)} for r in user.roles.all().order_by("code")],
        "department": {"id": dept.pk, "code": dept.code, "name": dept.name} if dept else None,
        "language": user.language or settings.LANGUAGE_CODE,
    }
