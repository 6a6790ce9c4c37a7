"""The access layer (R-PLT-02): one role x action matrix, plus record scope applied by selectors.

Each app declares its actions once, in its ``access_rules.py``::

    register({
        "org.user.view": {RoleCode.SYSADMIN: Scope.ALL, RoleCode.SALES_MANAGER: Scope.DEPARTMENT, ...},
    })

and, for every model whose rows are scoped, how "own" and "department" read for that model::

    register_scope(User, own=lambda u: Q(pk=u.pk), department=lambda u: department_q(u, "department__"))

Views, API endpoints, selectors and exports then call:

- ``require(user, action)``: raises ``PermissionDenied`` (403) when no role of the user grants the action;
- ``restrict(user, action, queryset)``: only the rows within the user's scope (rows outside look missing: 404);
- ``can(user, action)`` / ``scope_for(user, action)`` for templates and branching.

A role that an action does not list has no access to it. ``Scope.ALL`` > ``Scope.DEPARTMENT`` > ``Scope.OWN``;
with several roles the widest scope wins.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.utils.functional import Promise

from kehu.core.errors import NotFound, PermissionDenied

if TYPE_CHECKING:
    from kehu.core.models import User


class Scope(enum.IntEnum):
    OWN = 1
    DEPARTMENT = 2  # the user's department subtree, or their region
    ALL = 3


_MATRIX: dict[str, dict[str, Scope]] = {}
_DESCRIPTIONS: dict[str, str | Promise] = {}


@dataclass(frozen=True)
class ScopeRule:
    own: Callable[[User], Q]
    department: Callable[[User], Q]


_SCOPES: dict[type[models.Model], ScopeRule] = {}

M = TypeVar("M", bound=models.Model)


def register(
    actions: Mapping[str, Mapping[str, Scope]], descriptions: Mapping[str, str | Promise] | None = None
) -> None:
    """Declare actions and which roles hold them at which scope. An action is declared once."""
    for action, grants in actions.items():
        if action in _MATRIX:
            raise ValueError(f"access action {action!r} declared twice")
        _MATRIX[action] = {str(role): Scope(scope) for role, scope in grants.items()}
    if descriptions:
        _DESCRIPTIONS.update(descriptions)


def register_scope(
    model: type[models.Model], *, own: Callable[[User], Q], department: Callable[[User], Q]
) -> None:
    _SCOPES[model] = ScopeRule(own=own, department=department)


def actions() -> dict[str, dict[str, Scope]]:
    """The whole matrix (for the access page and the tests)."""
    return {a: dict(g) for a, g in sorted(_MATRIX.items())}


def describe(action: str) -> str:
    """The action's description in the active language."""
    return str(_DESCRIPTIONS.get(action, action))


def scope_for(user: User | Any, action: str) -> Scope | None:
    """The widest scope any of the user's roles gives for ``action``; None when none does."""
    if action not in _MATRIX:
        raise KeyError(f"unknown access action {action!r}")
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    grants = _MATRIX[action]
    best: Scope | None = None
    for code in user.role_codes():
        scope = grants.get(code)
        if scope is not None and (best is None or scope > best):
            best = scope
    return best


def can(user: User | Any, action: str) -> bool:
    return scope_for(user, action) is not None


def require(user: User | Any, action: str) -> Scope:
    scope = scope_for(user, action)
    if scope is None:
        raise PermissionDenied()
    return scope


def department_q(user: User, prefix: str = "", region_field: str | None = None) -> Q:
    """Rows whose department (``{prefix}path``) lies in the user's department subtree, or in the user's region."""
    q = Q(pk__in=[])
    if user.department_id and user.department is not None:
        q |= Q(**{f"{prefix}path__startswith": user.department.path})
    if region_field and user.region_id:
        q |= Q(**{region_field: user.region_id})
    return q


def restrict(user: User | Any, action: str, queryset: QuerySet[M]) -> QuerySet[M]:
    """Only the rows of ``queryset`` within the user's scope for ``action`` (none without the action)."""
    scope = scope_for(user, action)
    if scope is None:
        return queryset.none()
    if scope == Scope.ALL:
        return queryset
    rule = _SCOPES.get(queryset.model)
    if rule is None:
        raise KeyError(f"no scope rule registered for {queryset.model.__name__}")
    if scope == Scope.DEPARTMENT:
        return queryset.filter(rule.department(user) | rule.own(user))
    return queryset.filter(rule.own(user))


def get_scoped(user: User | Any, action: str, queryset: QuerySet[M], **lookup: Any) -> M:
    """One row within scope. Raises PermissionDenied (403) without the action; NotFound (404) when the row does
    not exist *or* lies outside the user's scope, so ids of others' records do not leak."""
    require(user, action)
    try:
        return restrict(user, action, queryset).get(**lookup)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def in_scope(user: User | Any, action: str, obj: models.Model) -> bool:
    return restrict(user, action, type(obj)._default_manager.filter(pk=obj.pk)).exists()


def roles_with(action: str) -> Iterable[str]:
    return _MATRIX.get(action, {}).keys()
