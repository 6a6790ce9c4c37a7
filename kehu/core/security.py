"""Sign-in: throttling with lock-out after repeated failures, for the web login and the token endpoint alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import audit
from kehu.core.errors import KehuError, Unauthenticated
from kehu.core.models import LoginAttempt
from kehu.core.models.audit import AuditAction

if TYPE_CHECKING:
    from kehu.core.models import User


class LockedOut(KehuError):
    status = 429
    default_code = "locked_out"


@dataclass
class Lock:
    until: dt.datetime


def _window_start(now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(minutes=settings.KEHU_LOGIN_WINDOW_MINUTES)


def lock_for(username: str, ip: str | None, now: dt.datetime | None = None) -> Lock | None:
    """A lock-out in force for this user name or this address: ``KEHU_LOGIN_MAX_FAILURES`` failures since the
    last success within the window lock it until ``KEHU_LOGIN_LOCKOUT_MINUTES`` after the last failure."""
    now = now or timezone.now()
    since = now - dt.timedelta(
        minutes=max(settings.KEHU_LOGIN_WINDOW_MINUTES, settings.KEHU_LOGIN_LOCKOUT_MINUTES)
    )
    for q in (Q(username=username.lower()), Q(ip=ip) if ip else None):
        if q is None:
            continue
        attempts = list(LoginAttempt.objects.filter(q, at__gte=since).order_by("-at").values_list("succeeded", "at")[
            : settings.KEHU_LOGIN_MAX_FAILURES * 4
        ])
        failures = []
        for ok, at in attempts:
            if ok:
                break
            failures.append(at)
        recent = [at for at in failures if at >= _window_start(now) or at >= failures[0] - dt.timedelta(
            minutes=settings.KEHU_LOGIN_WINDOW_MINUTES)]
        if len(recent) >= settings.KEHU_LOGIN_MAX_FAILURES:
            until = failures[0] + dt.timedelta(minutes=settings.KEHU_LOGIN_LOCKOUT_MINUTES)
            if until > now:
                return Lock(until=until)
    return None


def sign_in(request: HttpRequest | None, username: str, password: str, *, channel: str = "web",
            ip: str | None = None) -> User:
    """Check throttling, authenticate, record the attempt (and an audit entry). Raises LockedOut or
    Unauthenticated with a message for the user; returns the user on success."""
    username = (username or "").strip()
    now = timezone.now()
    lock = lock_for(username, ip, now)
    if lock is not None:
        minutes = max(1, int((lock.until - now).total_seconds() // 60) + 1)
        raise LockedOut(
            _("登录失败次数过多，账户已临时锁定，请 %(m)d 分钟后再试。") % {"m": minutes},
            field="username", rule="login_throttle", detail={"locked_until": lock.until.isoformat()},
        )
    user: Any = authenticate(request, username=username, password=password)
    LoginAttempt.objects.create(username=username.lower(), ip=ip, succeeded=user is not None, at=now, channel=channel)
    if user is None:
        audit.record(actor=None, action=AuditAction.LOGIN_FAILED, object_type="core.user", object_id="",
                     object_repr=username[:150], changes={"channel": channel})
        raise Unauthenticated(_("用户名或密码错误。"), field="password", rule="credentials")
    audit.record(actor=user, action=AuditAction.LOGIN, obj=user, changes={"channel": channel})
    return user  # type: ignore[no-any-return]
