"""Import of ledger entries from xlsx (R-CRD-06, R-PLT-10): invoices, receipts (one settlement method per row),
credit notes and prepayments, all-or-nothing with a per-row report. Each row is posted through the same service as
the ledger page, so every rule and the exposure update apply."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import KehuError
from kehu.core.excel import ImportColumn, ImportReport, ImportSpec, RowError, RowResult, run_import
from kehu.customers.models import Customer
from kehu.receivables import services
from kehu.receivables.models import Entry, EntryKind, SettlementMethod

KINDS = {"发票": "invoice", "收款": "receipt", "红字发票": "credit_note", "预收款": "prepayment"}
METHODS = {str(label): value for value, label in SettlementMethod.choices} | {
    "现金": "cash",
    "支票": "cheque",
    "汇票": "bank_draft",
    "承兑": "acceptance",
    "承兑汇票": "acceptance",
    "电汇": "wire",
}


def _kind(text: str) -> str:
    if text not in KINDS:
        raise RowError("", _("类别须为：%(k)s") % {"k": "、".join(KINDS)})
    return KINDS[text]


def _day(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        raise ValueError(_("日期格式应为 YYYY-MM-DD")) from None


def _method(text: str) -> str:
    if text not in METHODS:
        raise ValueError(_("未知的结算方式"))
    return METHODS[text]


SPEC = ImportSpec(
    columns=[
        ImportColumn("类别", "kind", required=True, parse=_kind),
        ImportColumn("客户编号", "customer", required=True),
        ImportColumn("单据号", "number", required=True),
        ImportColumn("日期", "entry_date", required=True, parse=_day),
        ImportColumn("到期日", "due_date", parse=_day),
        ImportColumn("金额", "amount", required=True),
        ImportColumn("结算方式", "method", parse=_method),
        ImportColumn("票据到期日", "bill_maturity", parse=_day),
        ImportColumn("对应发票号", "invoice"),
        ImportColumn("摘要", "memo"),
    ],
)
EXAMPLE = [
    ["发票", "KH-2026-000001", "FP-0001", "2026-01-05", "2026-02-04", "11600.00", "", "", "", "设备配件"],
    [
        "收款",
        "KH-2026-000001",
        "SK-0001",
        "2026-02-01",
        "",
        "6000.00",
        "承兑汇票",
        "2026-08-01",
        "FP-0001",
        "",
    ],
]


def ledger_import(*, actor: Any, file: Any) -> ImportReport:
    access.require(actor, "receivables.import")
    customers: dict[str, Customer] = {}

    def customer_of(number: str) -> Customer:
        if number not in customers:
            try:
                customers[number] = access.get_scoped(
                    actor, "receivables.post", Customer.objects.all(), number=number
                )
            except KehuError:
                raise RowError("客户编号", _("客户不存在或不在权限范围内")) from None
        return customers[number]

    def handler(v: dict[str, Any], row: RowResult) -> str:
        c = customer_of(v["customer"])
        kind = v["kind"]
        if kind == "invoice":
            services.invoice_post(
                actor=actor,
                customer_id=c.pk,
                number=v["number"],
                entry_date=v["entry_date"],
                amount=v["amount"],
                due_date=v["due_date"],
                memo=v["memo"],
            )
        elif kind in ("receipt", "prepayment"):
            if not v["method"]:
                raise RowError("结算方式", _("收款须填写结算方式"))
            allocations = None
            if v["invoice"]:
                inv = Entry.objects.filter(customer=c, kind=EntryKind.INVOICE, number=v["invoice"]).first()
                if inv is None:
                    raise RowError("对应发票号", _("发票不存在"))
                allocations = [{"invoice_id": inv.pk, "amount": v["amount"]}]
            services.receipt_post(
                actor=actor,
                customer_id=c.pk,
                entry_date=v["entry_date"],
                number=v["number"],
                memo=v["memo"],
                lines=[{"method": v["method"], "amount": v["amount"], "bill_maturity": v["bill_maturity"]}],
                allocations=allocations,
                prepayment=kind == "prepayment",
            )
        else:
            inv_id = None
            if v["invoice"]:
                inv = Entry.objects.filter(customer=c, kind=EntryKind.INVOICE, number=v["invoice"]).first()
                if inv is None:
                    raise RowError("对应发票号", _("发票不存在"))
                inv_id = inv.pk
            services.credit_note_post(
                actor=actor,
                customer_id=c.pk,
                entry_date=v["entry_date"],
                amount=v["amount"],
                invoice_id=inv_id,
                number=v["number"],
                memo=v["memo"] or _("导入"),
            )
        return "created"

    report = run_import(spec=SPEC, file=file, handler=handler, actor=actor)
    if report.ok:
        audit.record(
            actor=actor, action="import", object_type="receivables.entry", changes={"created": report.created}
        )
    return report
