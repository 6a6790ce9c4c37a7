"""Records of other modules shown in a customer's credit file (R-CRD-01): credit applications and approvals (limit
table, notification letters) from the limits app, post-credit records (calls, collection calls, statements of
account, payment promises) from the receivables app.

A module files its records with :func:`register_file_item`::

    register_file_item(FileItem.POST_CREDIT, "receivables.promises", promises_for_customer, order=30)

where the provider returns ``[FileEntry(...)]`` for one customer. While the limits app registers nothing itself,
its applications and limits are read here directly when it is installed; likewise the receivables app's
collection records (calls, letters, visits, statements of account, payment promises) and collection reports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.urls import NoReverseMatch
from django.utils.translation import gettext as _

from kehu.credit.models import FileItem

ENTRY_LIMIT = 50


@dataclass(frozen=True)
class FileEntry:
    title: str
    on: dt.date | dt.datetime | None = None
    status: str = ""
    url: str = ""
    note: str = ""


Provider = Callable[[Any], list[FileEntry]]


@dataclass(frozen=True)
class _Item:
    item: str
    key: str
    provider: Provider
    order: int


_ITEMS: dict[str, _Item] = {}


def register_file_item(item: str, key: str, provider: Provider, *, order: int = 100) -> None:
    """Show ``provider(customer)``'s entries under ``item`` (a :class:`FileItem` value) of the credit file."""
    if item not in FileItem.values:
        raise ValueError(f"unknown credit file item {item!r}")
    _ITEMS[key] = _Item(item, key, provider, order)


def unregister_file_item(key: str) -> None:
    _ITEMS.pop(key, None)


def _url(obj: Any) -> str:
    try:
        return str(obj.get_absolute_url())
    except (AttributeError, NoReverseMatch):
        return ""


def _limits_applications(customer: Any) -> list[FileEntry]:
    from kehu.limits.models import CreditApplication  # type: ignore[import-not-found,unused-ignore]

    rows = CreditApplication.objects.filter(customer_id=customer.pk).order_by("-created_at")[:ENTRY_LIMIT]
    return [
        FileEntry(
            title=_("授信申请 %(number)s：申请额度 %(amount)s")
            % {"number": a.number or a.pk, "amount": a.requested_amount or "—"},
            on=a.created_at,
            status=a.get_status_display(),
            url=_url(a),
        )
        for a in rows
    ]


def _limits_approvals(customer: Any) -> list[FileEntry]:
    from kehu.limits.models import CreditLimit  # type: ignore[import-not-found,unused-ignore]

    rows = CreditLimit.objects.filter(customer_id=customer.pk).order_by("-valid_from", "-pk")[:ENTRY_LIMIT]
    return [
        FileEntry(
            title=_("额度 %(amount)s %(currency)s，账期 %(term)s 天，%(cls)s 类")
            % {"amount": f"{r.amount:,}", "currency": r.currency, "term": r.term_days, "cls": r.credit_class},
            on=r.valid_from,
            status=r.get_status_display(),
            url=_url(r),
            note=_("通知书 %(number)s") % {"number": r.letter_number} if r.letter_number else "",
        )
        for r in rows
    ]


def _receivables_records(customer: Any) -> list[FileEntry]:
    from kehu.receivables.models import (  # type: ignore[import-not-found,unused-ignore]
        CollectionRecord,
        CollectionReport,
    )

    out = []
    for r in CollectionRecord.objects.filter(customer_id=customer.pk).order_by("-happened_on", "-pk")[
        :ENTRY_LIMIT
    ]:
        promise = ""
        if r.promise_date or r.promise_amount is not None:
            promise = _("承诺 %(date)s 付 %(amount)s") % {
                "date": r.promise_date.isoformat() if r.promise_date else "—",
                "amount": f"{r.promise_amount:,}" if r.promise_amount is not None else "—",
            }
        out.append(
            FileEntry(
                title=r.get_kind_display(), on=r.happened_on, status=promise, url=_url(r), note=r.note[:200]
            )
        )
    for rep in CollectionReport.objects.filter(customer_id=customer.pk).order_by("-report_date", "-pk")[
        :ENTRY_LIMIT
    ]:
        out.append(
            FileEntry(
                title=f"{rep.get_kind_display()} {rep.number}",
                on=rep.report_date,
                status=f"{rep.amount:,}",
                url=_url(rep),
                note=rep.situation[:200],
            )
        )
    return out


def entries(customer: Any) -> dict[str, list[FileEntry]]:
    """Every registered entry for the customer, by item."""
    out: dict[str, list[FileEntry]] = {item: [] for item in FileItem.values}
    registered = sorted(_ITEMS.values(), key=lambda i: (i.order, i.key))
    for it in registered:
        out[it.item].extend(it.provider(customer))
    if apps.is_installed("kehu.limits") and not any(i.key.startswith("limits.") for i in registered):
        out[FileItem.APPLICATION].extend(_limits_applications(customer))
        out[FileItem.APPROVAL].extend(_limits_approvals(customer))
    if apps.is_installed("kehu.receivables") and not any(
        i.key.startswith("receivables.") for i in registered
    ):
        out[FileItem.POST_CREDIT].extend(_receivables_records(customer))
    return out
