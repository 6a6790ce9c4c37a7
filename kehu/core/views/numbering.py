"""Numbering page (R-PLT-06): every series with its last number and the next number it will give."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import numbering
from kehu.core.forms import KehuForm
from kehu.core.listing import Column, ListPage


def _doc_type_choices() -> list[tuple[str, str]]:
    return [
        ("", _("全部")),
        *((s.doc_type, f"{s.doc_type} · {s.label}") for s in numbering.registered_series()),
    ]


class SeriesFilterForm(KehuForm):
    doc_type = forms.ChoiceField(label=gettext_lazy("单据类型"), required=False, choices=_doc_type_choices)
    year = forms.IntegerField(label=gettext_lazy("年份"), required=False, min_value=2000, max_value=2999)


def _filter(qs: QuerySet[Any], data: dict[str, Any]) -> QuerySet[Any]:
    if "doc_type" in data:
        qs = qs.filter(doc_type=data["doc_type"])
    if "year" in data:
        qs = qs.filter(year=data["year"])
    return qs


@login_required
def numbering_list(request: HttpRequest) -> HttpResponse:
    user: Any = request.user
    qs = numbering.series_list(actor=user)
    columns = [
        Column("doc_type", _("单据类型"), sort="doc_type"),
        Column("label", _("名称"), value=lambda r: str(numbering.series_label(r.doc_type))),
        Column(
            "scope_key",
            _("部门"),
            sort="scope_key",
            value=lambda r: r.department.name if r.department else _("全公司"),
        ),
        Column("year", _("年份"), sort="year"),
        Column("last", _("已发号"), sort="last", css="text-end"),
        Column("next", _("下一个编号"), value=numbering.series_next_preview),
    ]
    page = ListPage(
        request,
        qs,
        columns=columns,
        filter_form=SeriesFilterForm,
        apply_filters=_filter,
        default_sort="-year",
    )
    return page.respond(
        "core/numbering/list.html", {"series": numbering.registered_series()}, export_name="number-series"
    )


urlpatterns: list[URLPattern] = [
    path("system/numbering/", numbering_list, name="numbering_list"),
]
