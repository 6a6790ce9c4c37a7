"""Policy types declared in code: a key, a typed schema (pydantic) and a default value.

Each app declares its types once (usually in ``<app>/policies.py`` imported from its ``AppConfig.ready``)::

    register_policy_type("platform.retention", label=_("档案保存期限"), schema=Retention, default=Retention(),
                         allows_trial=False)

Field titles and descriptions of the schema (Chinese) drive the readable page and the edit form.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from pydantic import BaseModel


@dataclass(frozen=True)
class PolicyType:
    key: str
    label: str | Promise
    schema: type[BaseModel]
    default: BaseModel
    allows_trial: bool
    description: str | Promise = ""
    approver_roles: tuple[str, ...] = field(default=("general_manager",))

    def default_values(self) -> dict[str, Any]:
        return self.default.model_dump(mode="json")


_TYPES: dict[str, PolicyType] = {}


def register_policy_type(
    key: str,
    *,
    label: str | Promise,
    schema: type[BaseModel],
    default: BaseModel,
    allows_trial: bool,
    description: str | Promise = "",
    approver_roles: Sequence[str] = ("general_manager",),
) -> PolicyType:
    """Declare a policy type. Declaring an existing key again with the same schema is harmless; with a different
    schema it is an error (two modules would disagree about what the policy means)."""
    if not isinstance(default, schema):
        raise TypeError(f"default of policy type {key!r} must be an instance of {schema.__name__}")
    existing = _TYPES.get(key)
    if existing is not None:
        if _signature(existing.schema) != _signature(schema):
            raise ValueError(f"policy type {key!r} is already declared with a different schema")
        return existing
    ptype = PolicyType(
        key=key,
        label=label,
        schema=schema,
        default=default,
        allows_trial=allows_trial,
        description=description,
        approver_roles=tuple(approver_roles),
    )
    _TYPES[key] = ptype
    return ptype


def _signature(schema: type[BaseModel]) -> Any:
    return (f"{schema.__module__}.{schema.__qualname__}", schema.model_json_schema())


def get_type(key: str) -> PolicyType:
    try:
        return _TYPES[key]
    except KeyError:
        raise LookupError(f"unknown policy type {key!r}") from None


def types() -> list[PolicyType]:
    return sorted(_TYPES.values(), key=lambda t: t.key)


def is_registered(key: str) -> bool:
    return key in _TYPES
