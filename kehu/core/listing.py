"""Every list page: a filter bar, sorting by whitelisted columns, paging and xlsx export of the same rows.

A view builds a :class:`ListPage` from a queryset the selector already restricted to the user's scope::

    page = ListPage(request, qs, columns=[Column("username", _("用户名"), sort="username", link=...)],
                    filter_form=UserFilterForm, default_sort="username")
    return page.respond("core/users.html", {"can_manage": ...}, export_name="users")

:meth:`ListPage.respond` renders the template with ``page`` and the context, or with ``?export=xlsx`` returns the
same rows as xlsx (checking ``export_action`` when given, and running ``on_export`` after, e.g. to log the export).
The template includes ``core/partials/_list.html`` (filters, table, pager) with ``page``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise

from kehu.core import access
from kehu.core.excel import xlsx_response

PAGE_SIZES = (20, 50, 100)
# Column(template=MONEY_CELL): 1,234.50 on the page, a number in the xlsx export
MONEY_CELL = "core/partials/_money_cell.html"
EXPORT_MAX_ROWS = 100_000


@dataclass
class Column:
    key: str
    label: str | Promise
    sort: str | None = None  # ORM ordering expression; None: not sortable
    value: Callable[[Any], Any] | None = None  # row -> display/export value (default: attribute ``key``)
    link: Callable[[Any], str] | None = None  # row -> URL for the cell
    template: str | None = None  # a partial that renders the cell with ``row`` and ``value``
    export: bool = True
    page: bool = True  # shown on the page; False: in the export only
    css: str = ""

    def get(self, row: Any) -> Any:
        if self.value is not None:
            return self.value(row)
        value: Any = row
        for part in self.key.split("__"):
            value = getattr(value, part, None) if value is not None else None
            if callable(value) and part.startswith("get_"):
                value = value()
        return value


class ListPage:
    def __init__(
        self,
        request: HttpRequest,
        queryset: QuerySet[Any],
        *,
        columns: Sequence[Column],
        filter_form: type[forms.Form] | None = None,
        apply_filters: Callable[[QuerySet[Any], dict[str, Any]], QuerySet[Any]] | None = None,
        default_sort: str | Sequence[str] = "-pk",
        per_page: int = 20,
        exportable: bool = True,
    ) -> None:
        self.request = request
        self.exportable = exportable
        self.columns = [c for c in columns if c.page]
        self.export_columns = [c for c in columns if c.export]
        self.form = filter_form(request.GET or None) if filter_form else None
        if self.form is not None:
            from kehu.core.forms import filter_labels

            filter_labels(self.form)
        qs = queryset
        if self.form is not None and self.form.is_bound and self.form.is_valid() and apply_filters:
            qs = apply_filters(
                qs, {k: v for k, v in self.form.cleaned_data.items() if v not in (None, "", [])}
            )
        sortable = {c.key: c.sort for c in self.columns if c.sort}
        requested = request.GET.get("sort", "")
        key = requested.lstrip("-")
        if key in sortable:
            self.sort = requested
            expr = sortable[key] or key
            order = [f"-{expr}" if requested.startswith("-") else expr, "-pk"]
        elif isinstance(default_sort, str):
            self.sort = default_sort
            order = [default_sort, "-pk"] if default_sort.lstrip("-") != "pk" else [default_sort]
        else:  # several keys (e.g. priority, then date): the first is the one shown as sorted
            self.sort = default_sort[0]
            order = [*default_sort, "pk"]
        self.queryset = qs.order_by(*order)
        try:
            size = int(request.GET.get("size", per_page))
        except ValueError:
            size = per_page
        self.per_page = size if size in PAGE_SIZES or size == per_page else per_page
        self.paginator = Paginator(self.queryset, self.per_page)
        self.page: Page[Any] = self.paginator.get_page(request.GET.get("page"))

    @property
    def wants_export(self) -> bool:
        return self.request.GET.get("export") == "xlsx"

    def rows(self) -> list[dict[str, Any]]:
        return [
            {"obj": obj, "cells": [(c, c.get(obj), c.link(obj) if c.link else None) for c in self.columns]}
            for obj in self.page.object_list
        ]

    def querystring(self, **changes: Any) -> str:
        params = self.request.GET.copy()
        for k, v in changes.items():
            if v is None:
                params.pop(k, None)
            else:
                params[k] = v
        params.pop("export", None)
        return params.urlencode()

    def headers(self) -> list[dict[str, Any]]:
        out = []
        for c in self.columns:
            sorted_on = self.sort.lstrip("-") == c.key
            desc = self.sort.startswith("-")
            next_sort = (c.key if desc else f"-{c.key}") if sorted_on else c.key
            out.append(
                {
                    "label": c.label,
                    "sortable": bool(c.sort),
                    "sorted": sorted_on,
                    "desc": desc,
                    "qs": self.querystring(sort=next_sort, page=None),
                    "css": c.css,
                }
            )
        return out

    @property
    def base_qs(self) -> str:
        """Current filters and sort, without the page number (for pager links)."""
        return self.querystring(page=None)

    def window(self, radius: int = 2) -> list[int]:
        n, last = self.page.number, self.paginator.num_pages
        return list(range(max(1, n - radius), min(last, n + radius) + 1))

    def export_querystring(self) -> str:
        params = self.request.GET.copy()
        params["export"] = "xlsx"
        params.pop("page", None)
        return params.urlencode()

    def export(self, filename: str) -> HttpResponse:
        cols = self.export_columns
        rows = (
            [c.get(obj) for c in cols] for obj in self.queryset[:EXPORT_MAX_ROWS].iterator(chunk_size=2000)
        )
        return xlsx_response(filename, [str(c.label) for c in cols], rows)

    def respond(
        self,
        template: str,
        context: Mapping[str, Any] | None = None,
        *,
        export_name: str,
        export_action: str | None = None,
        on_export: Callable[[], object] | None = None,
    ) -> HttpResponse:
        """The response of a list view (R-PLT-10). With ``?export=xlsx``: the user must hold ``export_action`` (when
        given; PermissionDenied otherwise), the rows go out as ``<export_name>.xlsx`` and ``on_export`` (when given)
        runs once the workbook is built, so an entry logging the export is not itself among the exported rows.
        Otherwise ``template`` is rendered with ``page`` and ``context``."""
        if self.wants_export:
            if export_action is not None:
                access.require(self.request.user, export_action)
            response = self.export(export_name)
            if on_export is not None:
                on_export()
            return response
        return render(self.request, template, {"page": self, **(context or {})})
