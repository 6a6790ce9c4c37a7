"""The six archive categories of a dossier (R-CUS-06) and the registry through which modules file their records
into them.

A module registers a *section*: a category, a title and a function that renders the section's HTML for one
customer and one request (or returns None when the user may not see it). The dossier page shows the categories as
tabs and renders only the sections of the tab that is open, so a dossier costs the queries of one tab::

    register_section(ArchiveCategory.CONTRACTS, "contracts.list", _("合同"), render_contracts, order=10)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from django.http import HttpRequest

    from kehu.customers.models import Customer


class ArchiveCategory(models.IntegerChoices):
    BASIC = 1, _("基础资料与拜访报告")
    CONTRACTS = 2, _("合同与协议")
    CREDIT = 3, _("信用、债务与还款")
    COMPLAINTS = 4, _("投诉与价格让步")
    SERVICE = 5, _("服务与关系记录")
    EXIT = 6, _("退出资料")


CATEGORY_HINTS = {
    ArchiveCategory.BASIC: _("证照、基础资料和拜访报告。"),
    ArchiveCategory.CONTRACTS: _("合同与协议，按日期排列。"),
    ArchiveCategory.CREDIT: _("信用额度、还款计划、展期、担保与历史。"),
    ArchiveCategory.COMPLAINTS: _("投诉处理与价格让步的审批、原因和责任。"),
    ArchiveCategory.SERVICE: _("拜访、电话、调查等服务与关系记录。"),
    ArchiveCategory.EXIT: _("交易终止的原因与相关资料。"),
}

Renderer = Callable[["HttpRequest", "Customer"], "str | None"]


@dataclass(frozen=True)
class Section:
    category: int
    key: str
    title: str | Promise
    render: Renderer
    order: int = 100


_SECTIONS: dict[str, Section] = {}


def register_section(
    category: int, key: str, title: str | Promise, render: Renderer, *, order: int = 100
) -> Section:
    """File a module's records under one of the six categories. ``render(request, customer)`` returns the
    section's HTML, or None to leave it out for this user. Registering the same key again replaces it."""
    if category not in ArchiveCategory.values:
        raise ValueError(f"unknown archive category {category!r}")
    section = Section(int(category), key, title, render, order)
    _SECTIONS[key] = section
    return section


def unregister_section(key: str) -> None:
    _SECTIONS.pop(key, None)


def sections(category: int) -> list[Section]:
    return sorted((s for s in _SECTIONS.values() if s.category == category), key=lambda s: (s.order, s.key))


@dataclass(frozen=True)
class RenderedSection:
    key: str
    title: str
    html: SafeString


Gate = Callable[["HttpRequest", "Customer", Section], "str | None"]
_GATE: list[Gate] = []


def register_section_gate(gate: Gate) -> None:
    """One gate renders every section in place of :attr:`Section.render`: ``gate(request, customer, section)``
    calls ``section.render`` when the user may see the section (confidentiality levels, R-ARC-01) and returns what
    to show instead when not. The last registration wins."""
    _GATE[:] = [gate]


_WRITE_GUARDS: list[Callable[[Customer], None]] = []


def register_write_guard(guard: Callable[[Customer], None]) -> None:
    """``guard(customer)`` raises (a Conflict naming the rule) when what is on file for the dossier may no longer be
    changed in place, e.g. an archived dossier (R-ARC-03). Modules call :func:`ensure_writable` before rewriting a
    dossier record."""
    if guard not in _WRITE_GUARDS:
        _WRITE_GUARDS.append(guard)


def ensure_writable(customer: Customer) -> None:
    for guard in _WRITE_GUARDS:
        guard(customer)


def render_category(request: HttpRequest, customer: Customer, category: int) -> list[RenderedSection]:
    """The sections of one category that this user may see, rendered."""
    out = []
    for s in sections(category):
        html = _GATE[0](request, customer, s) if _GATE else s.render(request, customer)
        if html is None:
            continue
        out.append(RenderedSection(s.key, str(s.title), format_html("{}", SafeString(html))))
    return out


def tabs() -> list[tuple[str, str]]:
    """(tab key, label) of the dossier page: the overview, the six categories, the audit trail."""
    return [(str(c.value), f"{c.value} {c.label}") for c in ArchiveCategory]
