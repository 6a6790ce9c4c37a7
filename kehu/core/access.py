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

Access grants (R-ARC-01): a module may register a *grant source* for some actions (the reads of confidential
records). Where the user's roles refuse such an action, :func:`get_scoped`, :func:`in_scope`, :func:`restrict` and
``require(user, action, obj)`` ask the sources whether an active grant covers the object; the grant used is noted
with its customer so that the audit entry of the read of that customer's record names it (R-ARC-02, see
:func:`take_grant`).
"""

from __future__ import annotations

import contextvars
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from django.core.exceptions import MultipleObjectsReturned, ObjectDoesNotExist
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


@dataclass(frozen=True)
class GrantSource:
    """Where access grants come from (R-ARC-01). ``lookup(user, action, obj)``: the id of an active grant letting the
    user take ``action`` on ``obj`` (a record, or a customer id), else None. ``rows(user, action, model)``: a ``Q``
    over ``model`` of the rows the user's active grants cover, for lists (None: none). ``hint(user, action, obj)``:
    where the user may ask for access to ``obj`` when refused (a URL), else None. ``owner(obj)``: the customer a
    record (or a customer id) belongs to, else None: a grant noted for one customer is named only by the read of
    that customer's records."""

    actions: frozenset[str]
    lookup: Callable[[Any, str, Any], int | None]
    rows: Callable[[Any, str, type[models.Model]], Q | None] | None = None
    hint: Callable[[Any, str, Any], str | None] | None = None
    owner: Callable[[Any], int | None] | None = None


_GRANT_SOURCES: list[GrantSource] = []
_GRANTABLE: set[str] = set()
# (user id, grant id, customer id) of the grant the last access check of this request (or job) used; taken by the
# read entry of the audit trail for a record of that customer.
_grant_used: contextvars.ContextVar[tuple[int, int, int | None] | None] = contextvars.ContextVar(
    "kehu_grant_used", default=None
)

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


def register_grant_source(
    actions: Iterable[str],
    lookup: Callable[[Any, str, Any], int | None],
    *,
    rows: Callable[[Any, str, type[models.Model]], Q | None] | None = None,
    hint: Callable[[Any, str, Any], str | None] | None = None,
    owner: Callable[[Any], int | None] | None = None,
) -> GrantSource:
    """Let active grants stand in for the role on ``actions`` (R-ARC-01). Registering the same lookup again
    replaces it."""
    source = GrantSource(frozenset(actions), lookup, rows, hint, owner)
    _GRANT_SOURCES[:] = [s for s in _GRANT_SOURCES if s.lookup is not lookup]
    _GRANT_SOURCES.append(source)
    _GRANTABLE.clear()
    for s in _GRANT_SOURCES:
        _GRANTABLE.update(s.actions)
    return source


def unregister_grant_source(source: GrantSource) -> None:
    _GRANT_SOURCES[:] = [s for s in _GRANT_SOURCES if s is not source]
    _GRANTABLE.clear()
    for s in _GRANT_SOURCES:
        _GRANTABLE.update(s.actions)


def grantable(action: str) -> bool:
    return action in _GRANTABLE


def grant_for(user: User | Any, action: str, obj: Any) -> int | None:
    """The id of an active grant that lets ``user`` take ``action`` on ``obj``, else None. Expiry and revocation are
    checked now, at read time. The grant found is noted for this request's audit entry (:func:`take_grant`)."""
    if action not in _GRANTABLE or obj is None:
        return None
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    for source in _GRANT_SOURCES:
        if action in source.actions:
            grant_id = source.lookup(user, action, obj)
            if grant_id is not None:
                note_grant(user, grant_id, owner_of(obj))
                return grant_id
    return None


def owner_of(obj: Any) -> int | None:
    """The customer ``obj`` (a record, or a customer id) belongs to, as the grant sources know it; else None."""
    if obj is None:
        return None
    for source in _GRANT_SOURCES:
        if source.owner is not None:
            customer_id = source.owner(obj)
            if customer_id is not None:
                return int(customer_id)
    return None


def note_grant(user: User | Any, grant_id: int, customer_id: int | None) -> None:
    """Remember that ``user`` reads under ``grant_id`` a record of ``customer_id`` (R-ARC-02)."""
    _grant_used.set((int(user.pk), int(grant_id), None if customer_id is None else int(customer_id)))


def take_grant(user: User | Any, obj: Any) -> int | None:
    """The grant the access checks of this request used for ``user`` to reach ``obj`` (a record, or a customer id):
    only when ``obj`` belongs to the customer the grant was noted for; then forgotten. Only the read entries of the
    trail take it (:func:`kehu.core.audit.record_read` and the logged reads of lists)."""
    used = _grant_used.get()
    if used is None or user is None or used[0] != getattr(user, "pk", None):
        return None
    customer_id = owner_of(obj)
    if customer_id is None or used[2] != customer_id:
        return None
    _grant_used.set(None)
    return used[1]


def forget_grant() -> None:
    """Start and end a request (or a job) with no grant noted."""
    _grant_used.set(None)


def _granted_rows(user: User | Any, action: str, model: type[models.Model]) -> Q | None:
    if action not in _GRANTABLE or user is None or not getattr(user, "is_authenticated", False):
        return None
    q: Q | None = None
    for source in _GRANT_SOURCES:
        if action in source.actions and source.rows is not None:
            got = source.rows(user, action, model)
            if got is not None:
                q = got if q is None else q | got
    return q


def _refusal(user: User | Any, action: str, obj: Any) -> PermissionDenied:
    """403 for ``action``; with where to request access when a grant source knows (the API's ``detail``)."""
    if action in _GRANTABLE and obj is not None:
        for source in _GRANT_SOURCES:
            if action in source.actions and source.hint is not None:
                url = source.hint(user, action, obj)
                if url:
                    return PermissionDenied(detail={"request_access": url})
    return PermissionDenied()


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


def require(user: User | Any, action: str, obj: Any = None) -> Scope:
    """The user's scope for ``action``; PermissionDenied (403) without it. With ``obj`` (a record or a customer id),
    an active grant covering it stands in for a missing role (R-ARC-01) and counts as ``Scope.OWN``: the caller
    confines the read to that object."""
    scope = scope_for(user, action)
    if scope is None:
        if obj is not None and grant_for(user, action, obj) is not None:
            return Scope.OWN
        raise _refusal(user, action, obj)
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
        granted = _granted_rows(user, action, queryset.model)  # R-ARC-01: the rows active grants cover
        return queryset.filter(granted) if granted is not None else queryset.none()
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
    not exist *or* lies outside the user's scope, so ids of others' records do not leak. On the actions of a grant
    source, an active grant covering the row stands in for the role or the scope (R-ARC-01)."""
    scope = scope_for(user, action)
    if scope is not None:
        try:
            return restrict(user, action, queryset).get(**lookup)
        except (ObjectDoesNotExist, ValueError, TypeError):
            if action not in _GRANTABLE:
                raise NotFound() from None
    elif action not in _GRANTABLE:
        raise PermissionDenied()
    try:
        obj = queryset.get(**lookup)
    except (ObjectDoesNotExist, MultipleObjectsReturned, ValueError, TypeError):
        obj = None
    if obj is not None and grant_for(user, action, obj) is not None:
        return obj
    if scope is None:
        raise _refusal(user, action, obj)
    raise NotFound()


def in_scope(user: User | Any, action: str, obj: models.Model) -> bool:
    if (
        scope_for(user, action) is not None
        and restrict(user, action, type(obj)._default_manager.filter(pk=obj.pk)).exists()
    ):
        return True
    return action in _GRANTABLE and grant_for(user, action, obj) is not None


def roles_with(action: str) -> Iterable[str]:
    return _MATRIX.get(action, {}).keys()
