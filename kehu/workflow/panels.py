"""Home-page panel: the user's open tasks (R-PLT-08)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from kehu.core import access
from kehu.core.home import register_panel
from kehu.workflow import selectors


def inbox_panel(user: Any) -> dict[str, Any] | None:
    if not access.can(user, "workflow.inbox.view"):
        return None
    tasks = list(selectors.inbox_tasks(user).order_by("due", "-created_at", "pk")[:5])
    return {
        "template": "workflow/partials/_home_panel.html",
        "width": 6,
        "tasks": tasks,
        "count": selectors.inbox_count(user),
        "overdue": selectors.inbox_overdue_count(user),
        "today": timezone.localdate(),
    }


register_panel(10, inbox_panel)
