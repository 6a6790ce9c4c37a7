"""Columns other modules add to the customer list (R-CUS-08: the list shows each customer's class, grade, credit
grade and limit, which the grading and credit modules own).

A module registers a column with the annotation that brings its value into the list's one query, so the list
stays one query per page however many modules add columns::

    register_list_column("limits.amount", 85, lambda: Column("credit_limit", _("授信额度"), ...),
                         annotate=lambda qs: qs.annotate(credit_limit=Subquery(...)))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import QuerySet

from kehu.core.listing import Column
from kehu.customers.models import Customer


@dataclass(frozen=True)
class ListColumn:
    key: str
    order: int
    column: Callable[[], Column]
    annotate: Callable[[QuerySet[Customer]], QuerySet[Customer]] | None = None


_COLUMNS: dict[str, ListColumn] = {}


def register_list_column(
    key: str,
    order: int,
    column: Callable[[], Column],
    *,
    annotate: Callable[[QuerySet[Customer]], QuerySet[Customer]] | None = None,
) -> None:
    """Add a column to the customer list (page and export). ``order`` places it among the list's own columns,
    which are numbered 10, 20, 30... in their order; ``annotate`` adds what the column reads to the list query."""
    _COLUMNS[key] = ListColumn(key, order, column, annotate)


def unregister_list_column(key: str) -> None:
    _COLUMNS.pop(key, None)


def registered() -> list[ListColumn]:
    return sorted(_COLUMNS.values(), key=lambda c: (c.order, c.key))


def annotate(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    for c in registered():
        if c.annotate is not None:
            qs = c.annotate(qs)
    return qs


def merged(base: list[Column]) -> list[Column]:
    """The list's own columns (at 10, 20, 30...) with the registered ones placed by their order."""
    placed: list[tuple[int, int, Column]] = [(10 * (i + 1), 0, c) for i, c in enumerate(base)]
    placed += [(c.order, 1, c.column()) for c in registered()]
    return [c for _order, _kind, c in sorted(placed, key=lambda t: (t[0], t[1]))]
