"""Policy values in a readable form: rows of (title, value with unit, description), and two versions side by side."""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _

from kehu.core.policies import schema as schema_mod
from kehu.core.policies.registry import PolicyType


def show(value: Any, unit: str = "") -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return str(_("是") if value else _("否"))
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return f"{value} {unit}".strip() if unit else str(value)


def rows(ptype: PolicyType, values: dict[str, Any]) -> list[dict[str, Any]]:
    merged = {**ptype.default_values(), **(values or {})}
    return [
        {
            "path": f.path,
            "title": f.title,
            "description": f.description,
            "unit": f.unit,
            "value": show(schema_mod.get_path(merged, f.path), f.unit),
        }
        for f in schema_mod.flatten(ptype.schema)
    ]


def diff_rows(ptype: PolicyType, a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    left, right = rows(ptype, a), rows(ptype, b)
    return [
        {
            "path": x["path"],
            "title": x["title"],
            "a": x["value"],
            "b": y["value"],
            "changed": x["value"] != y["value"],
        }
        for x, y in zip(left, right, strict=True)
    ]
