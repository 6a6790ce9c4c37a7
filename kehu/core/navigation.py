"""The module menu of the UI shell. Each app registers its module once (in its AppConfig.ready or a module
imported there); items are shown to users who hold the item's access action."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

from kehu.core import access


@dataclass(frozen=True)
class MenuItem:
    label: str | Promise
    url_name: str
    action: str | None = None  # access action needed to see it; None: every signed-in user
    icon: str = ""
    position: int = 100  # order within the module when several apps add items (lower first)


@dataclass
class Module:
    key: str
    label: str | Promise
    icon: str
    order: int
    items: list[MenuItem] = field(default_factory=list)


_MODULES: dict[str, Module] = {}


def register_module(key: str, label: str | Promise, icon: str, order: int, items: list[MenuItem]) -> None:
    """Add a module to the navigation. Several apps may register the same module key: their items are joined
    (in registration order; an item whose url name is already there is not repeated)."""
    existing = _MODULES.get(key)
    if existing is None:
        _MODULES[key] = Module(key=key, label=label, icon=icon, order=order, items=list(items))
        return
    names = {i.url_name for i in existing.items}
    existing.items.extend(i for i in items if i.url_name not in names)
    existing.items.sort(key=lambda i: i.position)  # stable: equal positions keep registration order


def menu_for(user: Any, current_path: str = "") -> list[dict[str, Any]]:
    """Modules and items this user may open, in order; ``active`` marks the module of the current page."""
    out: list[dict[str, Any]] = []
    for module in sorted(_MODULES.values(), key=lambda m: m.order):
        items = []
        for item in module.items:
            if item.action and not access.can(user, item.action):
                continue
            try:
                url = reverse(item.url_name)
            except NoReverseMatch:
                continue
            items.append({"label": item.label, "url": url, "icon": item.icon, "active": current_path == url})
        if items:
            active = any(current_path.startswith(str(i["url"])) for i in items if i["url"] != "/")
            out.append(
                {
                    "key": module.key,
                    "label": module.label,
                    "icon": module.icon,
                    "items": items,
                    "url": items[0]["url"],
                    "active": active,
                }
            )
    return out
