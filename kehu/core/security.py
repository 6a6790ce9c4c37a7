"""Sign-in: throttling with lock-out after repeated failures, for the web login and the token endpoint alike."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.auth import authenticate
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


def _lock_from(failures: list[dt.datetime], threshold: int, now: dt.datetime) -> Lock | None:
    """``failures`` newest first. Locked when the newest ``threshold`` of them fall within the window; the lock
    runs ``KEHU_LOGIN_LOCKOUT_MINUTES`` from the newest."""
    if threshold < 1 or len(failures) < threshold:
        return None
    newest, oldest = failures[0], failures[threshold - 1]
    if newest - oldest > dt.timedelta(minutes=settings.KEHU_LOGIN_WINDOW_MINUTES):
        return None
    until = newest + dt.timedelta(minutes=settings.KEHU_LOGIN_LOCKOUT_MINUTES)
    return Lock(until=until) if until > now else None


def lock_for(
    username: str, ip: str | None, now: dt.datetime | None = None, *, pending: int = 0
) -> Lock | None:
    """The lock-out in force for this user name or this address, or None.

    - User name: ``KEHU_LOGIN_MAX_FAILURES`` failures since its last successful sign-in, all within
      ``KEHU_LOGIN_WINDOW_MINUTES``, lock it until ``KEHU_LOGIN_LOCKOUT_MINUTES`` after the last failure.
    - Address: the same with ``KEHU_LOGIN_MAX_FAILURES_PER_ADDRESS`` failures (several people may share one address);
      a success does not reset it, so one's own account cannot be used to keep guessing others'.

    Attempts refused while locked are not recorded, so they do not extend the lock. ``pending``: attempts already
    recorded as failures but still being checked (the caller's own), which do not count against themselves.
    """
    now = now or timezone.now()
    max_failures = settings.KEHU_LOGIN_MAX_FAILURES + pending
    # Only failures newer than this can still take part in a lock in force.
    horizon = now - dt.timedelta(
        minutes=settings.KEHU_LOGIN_WINDOW_MINUTES + settings.KEHU_LOGIN_LOCKOUT_MINUTES
    )
    recent = LoginAttempt.objects.filter(at__gt=horizon, at__lte=now)
    locks: list[Lock] = []

    name = (username or "").strip().lower()
    if name:
        by_name = recent.filter(username=name)
        last_success = by_name.filter(succeeded=True).order_by("-at").values_list("at", flat=True).first()
        failed = by_name.filter(succeeded=False)
        if last_success is not None:
            failed = failed.filter(at__gt=last_success)
        lock = _lock_from(
            list(failed.order_by("-at").values_list("at", flat=True)[:max_failures]), max_failures, now
        )
        if lock:
            locks.append(lock)
    if ip:
        threshold = settings.KEHU_LOGIN_MAX_FAILURES_PER_ADDRESS + pending
        failed_ip = recent.filter(ip=ip, succeeded=False).order_by("-at").values_list("at", flat=True)
        lock = _lock_from(list(failed_ip[:threshold]), threshold, now)
        if lock:
            locks.append(lock)
    return max(locks, key=lambda lk: lk.until) if locks else None


def minutes_left(lock: Lock, now: dt.datetime) -> int:
    """Whole minutes until the lock ends, rounded up (at least 1)."""
    return max(1, math.ceil((lock.until - now).total_seconds() / 60))


def sign_in(
    request: HttpRequest | None, username: str, password: str, *, channel: str = "web", ip: str | None = None
) -> User:
    """Check throttling, authenticate, record the attempt (and an audit entry). Raises LockedOut or
    Unauthenticated with a message for the user; returns the user on success."""
    username = (username or "").strip()
    now = timezone.now()
    lock = lock_for(username, ip, now)
    attempt = None
    if lock is None:
        # Record the attempt as a failure before the (slow) password check and look again: concurrent guesses
        # then count against each other, so a burst cannot pass the check all at once.
        attempt = LoginAttempt.objects.create(
            username=username.lower(), ip=ip, succeeded=False, at=now, channel=channel
        )
        lock = lock_for(username, ip, now, pending=1)
        if lock is not None:
            attempt.delete()  # refused while locked: not recorded
    if lock is not None:
        minutes = minutes_left(lock, now)
        raise LockedOut(
            _("登录失败次数过多，账户已临时锁定，请 %(m)d 分钟后再试。") % {"m": minutes},
            field="username",
            rule="login_throttle",
            detail={
                "field": "username",
                "rule": "login_throttle",
                "locked_until": lock.until.isoformat(),
                "minutes": minutes,
            },
        )
    user: Any = authenticate(request, username=username, password=password)
    if user is not None and attempt is not None:
        LoginAttempt.objects.filter(pk=attempt.pk).update(succeeded=True)
    if user is None:
        audit.record(
            actor=None,
            action=AuditAction.LOGIN_FAILED,
            object_type="core.user",
            object_id="",
            object_repr=username[:150],
            changes={"channel": channel},
        )
        raise Unauthenticated(_("用户名或密码错误。"), field="password", rule="credentials")
    audit.record(actor=user, action=AuditAction.LOGIN, obj=user, changes={"channel": channel})
    return user
