"""What the home page shows a user: their modules and, per module, the figures that module contributes.

Apps add a panel with :func:`register_panel`; a panel is a callable ``(user) -> dict | None`` returning
``{"title", "template", ...context}``; None hides it for that user.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kehu.core.models import User

_PANELS: list[tuple[int, Callable[[User], dict[str, Any] | None]]] = []


def register_panel(order: int, panel: Callable[[User], dict[str, Any] | None]) -> None:
    _PANELS.append((order, panel))


def home_context(user: User) -> dict[str, Any]:
    panels = []
    for _order, panel in sorted(_PANELS, key=lambda p: p[0]):
        data = panel(user)
        if data:
            panels.append(data)
    return {"panels": panels}
