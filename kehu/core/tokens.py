"""Per-user API tokens: created (shown once), listed, revoked; only a SHA-256 of each is stored."""

from __future__ import annotations

import hashlib
import secrets
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models import ApiToken

if TYPE_CHECKING:
    from kehu.core.models import User

TOKEN_PREFIX = "kehu_"  # noqa: S105 (a marker, not a secret)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def token_create(*, actor: User, name: str, user: User | None = None) -> tuple[ApiToken, str]:
    """A new token for ``user`` (default: the actor). Returns the row and the token text, shown only now."""
    owner = user or actor
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(_("请填写令牌名称。"), field="name", rule="required")
    if len(name) > 100:
        raise ValidationFailed(_("令牌名称不能超过100个字符。"), field="name", rule="max_length")
    scope = access.require(actor, "token.manage")
    if owner.pk != actor.pk and scope != access.Scope.ALL:
        raise PermissionDenied(_("只能为自己创建令牌。"))
    text = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken.objects.create(user=owner, name=name, prefix=text[:12], key_hash=_digest(text))
    audit.record(
        actor=actor, action="create", obj=row, changes={"name": [None, name], "user": [None, owner.pk]}
    )
    return row, text


def token_list(*, actor: User) -> QuerySet[ApiToken]:
    return access.restrict(actor, "token.manage", ApiToken.objects.select_related("user"))


@transaction.atomic
def token_revoke(*, actor: User, token_id: int, reason: str = "") -> ApiToken:
    row = access.get_scoped(actor, "token.manage", ApiToken.objects.select_for_update(), pk=token_id)
    if row.revoked_at is not None:
        raise Conflict(_("该令牌已撤销。"), field="token", rule="already_revoked")
    row.revoked_at = timezone.now()
    row.save(update_fields=["revoked_at"])
    audit.record(
        actor=actor,
        action="update",
        obj=row,
        changes={"revoked_at": [None, audit.jsonable(row.revoked_at)]},
        reason=reason,
    )
    return row


def token_authenticate(text: str) -> User | None:
    """The active user behind a bearer token, or None. Updates ``last_used_at`` at most once a minute."""
    if not text or not text.startswith(TOKEN_PREFIX):
        return None
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=_digest(text), revoked_at__isnull=True)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    now = timezone.now()
    if row.expires_at is not None and row.expires_at <= now:
        return None
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user
