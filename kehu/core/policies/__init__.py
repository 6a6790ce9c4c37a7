"""Versioned policy documents (制度, R-PLT-11).

``register_policy_type`` declares a type in code; ``policy_get(key, at=date)`` returns the version in force."""

from __future__ import annotations

from typing import Any

from kehu.core.policies.registry import register_policy_type

__all__ = ["PolicyValue", "policy_get", "policy_value_for_audit", "policy_values", "register_policy_type"]


def __getattr__(name: str) -> Any:
    # The services need the models; import them on first use so importing this package stays cheap and safe
    # while Django loads its apps.
    if name in ("policy_get", "policy_values", "PolicyValue", "policy_value_for_audit"):
        from kehu.core.policies import services

        return getattr(services, name)
    raise AttributeError(name)
