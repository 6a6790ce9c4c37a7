"""Template helpers for working-day deadlines.

``{% load kehu_calendar %}`` then ``{% show_deadline value %}`` renders a date with the warning badge when its
year has no holiday data; ``value`` is a :class:`~kehu.core.workdays.Deadline` or a date. The filter
``{{ some_date|deadline_estimated }}`` tells whether a stored date lies in such a year.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template

from kehu.core import workdays

register = template.Library()


@register.inclusion_tag("core/partials/_deadline.html")
def show_deadline(value: Any) -> dict[str, Any]:
    if isinstance(value, workdays.Deadline) or value is None or value == "":
        return {"deadline": value}
    if isinstance(value, dt.date):
        day = workdays._as_date(value)
        estimated = workdays.date_is_estimated(day)
        return {"deadline": workdays.Deadline(day, estimated, [day.year] if estimated else [])}
    return {"deadline": None}


@register.filter
def deadline_estimated(value: Any) -> bool:
    if isinstance(value, workdays.Deadline):
        return value.estimated
    if isinstance(value, dt.date):
        return workdays.date_is_estimated(value)
    return False


@register.filter
def days_overdue(due: Any, today: Any) -> str:
    """``{{ e.due_date|days_overdue:today }}``: "12 天" past the due date (calendar days, as ageing counts them);
    empty when not yet due."""
    import datetime as dt

    from django.utils.translation import gettext

    if not isinstance(due, dt.date) or not isinstance(today, dt.date):
        return ""
    days = (today - due).days
    return gettext("%(n)s 天") % {"n": days} if days > 0 else ""
