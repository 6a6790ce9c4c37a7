"""The receivables sections of the dossier's archive category 3 (信用、债务与还款): the account (balance, overdue,
exposure, deposits; the owner sees it) and the confidential collection reports and write-offs (credit roles and
management only; each view is logged)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from kehu.core import access, audit
from kehu.customers.archive import ArchiveCategory, register_section
from kehu.customers.models import Customer
from kehu.receivables import interface
from kehu.receivables.models import CollectionReport, Deposit, WriteOff


def render_account(request: HttpRequest, customer: Customer) -> str | None:
    user: Any = request.user
    if not access.can(user, "receivables.view") or not access.in_scope(user, "receivables.view", customer):
        return None
    return render_to_string(
        "receivables/sections/account.html",
        {
            "c": customer,
            "x": interface.exposure_parts(customer),
            "overdue": interface.overdue_summary(customer),
            "deposits": Deposit.objects.filter(customer=customer).order_by("-valid_to")[:20],
        },
        request=request,
    )


def render_reports(request: HttpRequest, customer: Customer) -> str | None:
    user: Any = request.user
    if not access.can(user, "receivables.report.view"):
        return None
    reports = list(CollectionReport.objects.filter(customer=customer).select_related("created_by")[:50])
    write_offs = list(WriteOff.objects.filter(customer=customer).select_related("prepared_by")[:50])
    audit.record_read(user, customer, detail="receivables.reports")
    return render_to_string(
        "receivables/sections/reports.html",
        {"c": customer, "reports": reports, "write_offs": write_offs},
        request=request,
    )


def register() -> None:
    register_section(
        ArchiveCategory.CREDIT, "receivables.account", _("往来账款与信用占用"), render_account, order=40
    )
    register_section(
        ArchiveCategory.CREDIT,
        "receivables.reports",
        _("收款报告与坏账核销（机密）"),
        render_reports,
        order=45,
    )
