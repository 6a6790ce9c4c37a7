"""Home-page panels of the platform: what an administrator must act on (R-PLT-07 holiday data, R-PLT-04 chain)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from kehu.core import access, audit, workdays
from kehu.core.home import register_panel
from kehu.core.models import User

# From this month on, next year's holiday schedule is due (the State Council publishes it late in the year).
HOLIDAY_DATA_DUE_MONTH = 10


def system_panel(user: User) -> dict[str, Any] | None:
    can_calendar = access.can(user, "calendar.manage")
    can_verify = access.can(user, "audit.verify")
    if not (can_calendar or can_verify):
        return None
    today = timezone.localdate()
    years = [today.year] + ([today.year + 1] if today.month >= HOLIDAY_DATA_DUE_MONTH else [])
    missing_years = (
        [y for y in years if workdays.calendar_source(y) == "weekends_only"] if can_calendar else []
    )
    last = audit.last_verify() if can_verify else None
    return {
        "template": "core/panels/_system.html",
        "width": 6,
        "missing_years": missing_years,
        "can_calendar": can_calendar,
        "can_verify": can_verify,
        "last_verify": last,
        "last_verify_ok": bool(last and last.changes.get("ok")),
    }


register_panel(900, system_panel)
