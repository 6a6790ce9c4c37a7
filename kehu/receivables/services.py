"""Posting to the receivables ledger (R-CRD-06), deposits and guarantees (R-CRD-10) and the maintained exposure
(R-CRD-05).

Every posting locks the customer's exposure row first (``select_for_update``; the one fixed order: exposure row,
then the entries it changes by id), validates, writes the entry, its settlement lines and allocations, moves the
exposure row by the entry's effect, and records the audit entry last, all in one transaction. Entries are never
edited; :func:`entry_reverse` corrects one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import ValidationFailed
from kehu.core.numbering import number_next, register_series
from kehu.customers.models import Customer
from kehu.receivables import policies
from kehu.receivables.models import (
    CREDIT_KINDS,
    MONEY_METHODS,
    ZERO,
    Allocation,
    CustomerExposure,
    Deposit,
    DepositKind,
    Entry,
    EntryKind,
    ExposureKind,
    ExposureMove,
    SettlementLine,
    SettlementMethod,
)

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")

SERIES: dict[str, str] = {
    EntryKind.RECEIPT: "rcv_receipt",
    EntryKind.PREPAYMENT: "rcv_prepayment",
    EntryKind.CREDIT_NOTE: "rcv_credit_note",
    EntryKind.WRITE_OFF: "rcv_write_off",
    EntryKind.REVERSAL: "rcv_reversal",
}
register_series("rcv_receipt", prefix="SK", width=6, label=_("收款单"))
register_series("rcv_prepayment", prefix="YS", width=6, label=_("预收款单"))
register_series("rcv_credit_note", prefix="HZ", width=6, label=_("红字发票"))
register_series("rcv_write_off", prefix="HX", width=6, label=_("核销单"))
register_series("rcv_reversal", prefix="CX", width=6, label=_("冲销单"))


# ---------------------------------------------------------------------------------------------------------------
# Validation


def money(value: Any, *, field: str, allow_zero: bool = False) -> Decimal:
    """A positive amount of at most two decimals; floats are refused (money is never a float)."""
    if isinstance(value, float | bool):
        raise ValidationFailed(
            _("%(field)s须以精确的十进制数填写。") % {"field": field}, field=field, rule="decimal"
        )
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("%(field)s不是有效金额。") % {"field": field}, field=field, rule="decimal"
        ) from None
    if not amount.is_finite():
        raise ValidationFailed(_("%(field)s不是有效金额。") % {"field": field}, field=field, rule="decimal")
    if amount != amount.quantize(CENT):
        raise ValidationFailed(
            _("%(field)s最多保留两位小数。") % {"field": field}, field=field, rule="decimal_places"
        )
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationFailed(_("%(field)s须大于零。") % {"field": field}, field=field, rule="positive")
    if amount > MAX_AMOUNT:
        raise ValidationFailed(_("%(field)s过大。") % {"field": field}, field=field, rule="max")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _date(value: Any, *, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except (TypeError, ValueError):
        raise ValidationFailed(
            _("%(field)s不是有效日期。") % {"field": label}, field=field, rule="date"
        ) from None


def _not_future(day: dt.date, *, field: str, label: str) -> None:
    if day > timezone.localdate():
        raise ValidationFailed(
            _("%(field)s不能晚于今天。") % {"field": label}, field=field, rule="not_future"
        )


def _customer(actor: Any, action: str, customer_id: int) -> Customer:
    return access.get_scoped(actor, action, Customer.objects.all(), pk=customer_id)


def _lock_row(customer_id: int) -> CustomerExposure:
    """The customer's exposure row, created when missing, locked for the rest of the transaction."""
    row = CustomerExposure.objects.select_for_update().filter(pk=customer_id).first()
    if row is None:
        try:
            with transaction.atomic():
                CustomerExposure.objects.create(customer_id=customer_id)
        except IntegrityError:
            pass
        row = CustomerExposure.objects.select_for_update().get(pk=customer_id)
    return row


def _move_receivables(row: CustomerExposure, delta: Decimal) -> None:
    """The row is locked and was read in this transaction: write the new value itself (exact decimals on every
    database, no float arithmetic in SQLite)."""
    if delta:
        row.open_receivables = row.open_receivables + delta
        CustomerExposure.objects.filter(pk=row.pk).update(
            open_receivables=row.open_receivables, updated_at=timezone.now()
        )


def _number(kind: str, number: str, day: dt.date) -> str:
    number = (number or "").strip()
    if number:
        if len(number) > 40:
            raise ValidationFailed(_("单据号不能超过40个字符。"), field="number", rule="max_length")
        return number
    return number_next(SERIES[kind], date=day)


def _check_unique(customer_id: int, kind: str, number: str) -> None:
    if Entry.objects.filter(customer_id=customer_id, kind=kind, number=number).exists():
        raise ValidationFailed(
            _("单据号 %(number)s 已登记。") % {"number": number}, field="number", rule="unique"
        )


# ---------------------------------------------------------------------------------------------------------------
# Invoices


@transaction.atomic
def invoice_post(
    *,
    actor: Any,
    customer_id: int,
    number: str,
    entry_date: Any,
    amount: Any,
    due_date: Any = None,
    terms_days: int | None = None,
    currency: str = "CNY",
    memo: str = "",
) -> Entry:
    """Post an invoice. The due date is given, or the invoice date plus ``terms_days`` (policy default terms when
    neither is given)."""
    customer = _customer(actor, "receivables.post", customer_id)
    row = _lock_row(customer.pk)
    number = (number or "").strip()
    if not number:
        raise ValidationFailed(_("发票号必须填写。"), field="number", rule="required")
    if len(number) > 40:
        raise ValidationFailed(_("单据号不能超过40个字符。"), field="number", rule="max_length")
    day = _date(entry_date, field="entry_date", label=_("开票日期"))
    _not_future(day, field="entry_date", label=_("开票日期"))
    value = money(amount, field="amount")
    if currency != "CNY":
        raise ValidationFailed(_("台账目前只记人民币（CNY）。"), field="currency", rule="currency")
    policy, version = policies.ageing()
    if due_date in (None, ""):
        days = policy.default_terms_days if terms_days is None or terms_days == "" else int(terms_days)
        if days < 0 or days > 3650:
            raise ValidationFailed(_("付款期限须在0到3650天之间。"), field="terms_days", rule="range")
        due = day + dt.timedelta(days=days)
    else:
        due = _date(due_date, field="due_date", label=_("到期日"))
        if due < day:
            raise ValidationFailed(_("到期日不能早于开票日期。"), field="due_date", rule="after_entry_date")
    _check_unique(customer.pk, EntryKind.INVOICE, number)
    entry = Entry.objects.create(
        customer=customer,
        kind=EntryKind.INVOICE,
        number=number,
        entry_date=day,
        due_date=due,
        amount=value,
        open_amount=value,
        currency=currency,
        memo=(memo or "")[:300],
        created_by=actor,
    )
    _move_receivables(row, value)
    audit.record(
        actor=actor,
        action="create",
        obj=entry,
        changes={"kind": entry.kind, "amount": str(value), "due_date": due.isoformat()},
        policy_version=version,
    )
    return entry


# ---------------------------------------------------------------------------------------------------------------
# Allocation


@dataclass(frozen=True)
class AllocationIn:
    invoice_id: int
    amount: Decimal


def _parse_allocations(raw: Iterable[Any] | None) -> list[AllocationIn] | None:
    if raw is None:
        return None
    out: list[AllocationIn] = []
    for item in raw:
        if isinstance(item, AllocationIn):
            out.append(item)
            continue
        data = dict(item) if isinstance(item, Mapping) else {"invoice_id": item[0], "amount": item[1]}
        try:
            invoice_id = int(data["invoice_id"])
        except (KeyError, TypeError, ValueError):
            raise ValidationFailed(_("分配须指定发票。"), field="allocations", rule="invoice") from None
        out.append(AllocationIn(invoice_id, money(data.get("amount"), field="allocations")))
    ids = [a.invoice_id for a in out]
    if len(ids) != len(set(ids)):
        raise ValidationFailed(_("同一张发票只能分配一次。"), field="allocations", rule="unique")
    return out


def _open_invoices(customer_id: int, ids: Sequence[int] | None = None) -> list[Entry]:
    """Invoices of the customer, locked in id order: the given ones, or all open ones sorted by due date (FIFO)."""
    qs = Entry.objects.select_for_update().filter(customer_id=customer_id, kind=EntryKind.INVOICE)
    if ids is not None:
        return list(qs.filter(pk__in=ids).order_by("pk"))
    rows = list(qs.filter(open_amount__gt=0).order_by("pk"))
    return sorted(rows, key=lambda e: (e.due_date or e.entry_date, e.pk))


def _plan(
    customer_id: int, funds: Decimal, explicit: list[AllocationIn] | None
) -> list[tuple[Entry, Decimal]]:
    """Which invoices get how much: explicit (checked against open amounts and the funds) or FIFO by due date."""
    if explicit is not None:
        invoices = {e.pk: e for e in _open_invoices(customer_id, [a.invoice_id for a in explicit])}
        total = sum((a.amount for a in explicit), ZERO)
        if total > funds:
            raise ValidationFailed(
                _("分配金额合计 %(total)s 超过可分配金额 %(funds)s。") % {"total": total, "funds": funds},
                field="allocations",
                rule="within_funds",
            )
        plan = []
        for a in explicit:
            inv = invoices.get(a.invoice_id)
            if inv is None:
                raise ValidationFailed(
                    _("分配的发票不存在或不属于该客户。"), field="allocations", rule="invoice"
                )
            if a.amount > inv.open_amount:
                raise ValidationFailed(
                    _("发票 %(number)s 分配金额 %(amount)s 超过未清金额 %(open)s。")
                    % {"number": inv.number, "amount": a.amount, "open": inv.open_amount},
                    field="allocations",
                    rule="within_open",
                )
            plan.append((inv, a.amount))
        return plan
    plan = []
    left = funds
    for inv in _open_invoices(customer_id):
        if left <= 0:
            break
        take = min(left, inv.open_amount)
        plan.append((inv, take))
        left -= take
    return plan


def _apply(
    credits: list[tuple[Entry, Decimal]], plan: list[tuple[Entry, Decimal]], day: dt.date, via: Entry | None
) -> list[Allocation]:
    """Pour the credits (in order) into the planned invoice amounts; updates the open amounts of both sides."""
    rows: list[Allocation] = []
    pool: list[tuple[Entry, Decimal]] = [(c, amt) for c, amt in credits if amt > 0]
    for inv, need in plan:
        while need > 0 and pool:
            credit, avail = pool[0]
            take = min(need, avail)
            rows.append(Allocation(credit=credit, debit=inv, amount=take, applied_on=day, via=via))
            inv.open_amount -= take
            credit.open_amount -= take
            Entry.objects.filter(pk=inv.pk).update(open_amount=inv.open_amount)
            Entry.objects.filter(pk=credit.pk).update(open_amount=credit.open_amount)
            need -= take
            if avail - take > 0:
                pool[0] = (credit, avail - take)
            else:
                pool.pop(0)
    Allocation.objects.bulk_create(rows)
    return rows


def _unapplied_credits(customer_id: int) -> list[Entry]:
    rows = list(
        Entry.objects.select_for_update()
        .filter(customer_id=customer_id, kind__in=CREDIT_KINDS, open_amount__gt=0)
        .order_by("pk")
    )
    return sorted(rows, key=lambda e: (e.entry_date, e.pk))


# ---------------------------------------------------------------------------------------------------------------
# Receipts and prepayments


@dataclass(frozen=True)
class LineIn:
    method: str
    amount: Decimal
    bill_number: str = ""
    bill_maturity: dt.date | None = None


def _parse_lines(raw: Iterable[Any], day: dt.date) -> list[LineIn]:
    lines: list[LineIn] = []
    for item in raw or []:
        data = item.__dict__ if isinstance(item, LineIn) else dict(item)
        method = str(data.get("method") or "")
        if method not in SettlementMethod.values:
            raise ValidationFailed(_("未知的结算方式：%(m)s") % {"m": method}, field="lines", rule="method")
        amount = money(data.get("amount"), field="lines")
        maturity = data.get("bill_maturity") or None
        if maturity is not None:
            maturity = _date(maturity, field="lines", label=_("票据到期日"))
        if method == SettlementMethod.ACCEPTANCE:
            if maturity is None:
                raise ValidationFailed(_("承兑汇票须填写到期日。"), field="lines", rule="bill_maturity")
            if maturity < day:
                raise ValidationFailed(
                    _("承兑汇票到期日不能早于收款日期。"), field="lines", rule="bill_maturity"
                )
        lines.append(LineIn(method, amount, str(data.get("bill_number") or "")[:60], maturity))
    if not lines:
        raise ValidationFailed(_("至少填写一种结算方式。"), field="lines", rule="required")
    return lines


@dataclass
class ReceiptResult:
    entry: Entry
    allocations: list[Allocation]


@transaction.atomic
def receipt_post(
    *,
    actor: Any,
    customer_id: int,
    entry_date: Any,
    lines: Iterable[Any],
    allocations: Iterable[Any] | None = None,
    number: str = "",
    memo: str = "",
    prepayment: bool = False,
) -> ReceiptResult:
    """Post a receipt (or, with ``prepayment``, money received in advance) settled by one or more methods.

    - cash, cheque, bank draft, acceptance bill (with maturity) and wire bring money in; their sum is the amount;
    - 转账 (transfer) applies older unapplied credit (prepayments) to the invoices in the same go;
    - 预收 names the part of the money kept as prepayment: it must equal what is left after allocation;
    - 欠款 names the part of the settled invoices left owing: not more than what they still owe afterwards.

    Money and transfers go to ``allocations`` [{invoice_id, amount}] or, when omitted, to the open invoices by due
    date (FIFO). A prepayment is not allocated."""
    customer = _customer(actor, "receivables.post", customer_id)
    row = _lock_row(customer.pk)
    day = _date(entry_date, field="entry_date", label=_("收款日期"))
    _not_future(day, field="entry_date", label=_("收款日期"))
    parsed = _parse_lines(lines, day)
    total = {m: sum((ln.amount for ln in parsed if ln.method == m), ZERO) for m in SettlementMethod.values}
    cash_in = sum((total[m] for m in MONEY_METHODS), ZERO)
    transfer, prepaid, on_credit = (
        total[SettlementMethod.TRANSFER],
        total[SettlementMethod.PREPAID],
        total[SettlementMethod.ON_CREDIT],
    )
    if cash_in <= 0:
        raise ValidationFailed(
            _("收款须至少有一笔现金、支票、汇票、承兑或电汇。"), field="lines", rule="money_required"
        )
    kind = EntryKind.PREPAYMENT if prepayment else EntryKind.RECEIPT
    if prepayment and (transfer or on_credit or allocations):
        raise ValidationFailed(_("预收款不分配到发票。"), field="lines", rule="prepayment")
    explicit = _parse_allocations(allocations)
    older = _unapplied_credits(customer.pk) if transfer else []
    available = sum((c.open_amount for c in older), ZERO)
    if transfer > available:
        raise ValidationFailed(
            _("转账金额 %(t)s 超过可抵付的预收款 %(a)s。") % {"t": transfer, "a": available},
            field="lines",
            rule="transfer_available",
        )
    number = _number(kind, number, day)
    _check_unique(customer.pk, kind, number)
    entry = Entry.objects.create(
        customer=customer,
        kind=kind,
        number=number,
        entry_date=day,
        amount=cash_in,
        open_amount=cash_in,
        memo=(memo or "")[:300],
        created_by=actor,
    )
    SettlementLine.objects.bulk_create(
        [
            SettlementLine(
                entry=entry,
                method=ln.method,
                amount=ln.amount,
                bill_number=ln.bill_number,
                bill_maturity=ln.bill_maturity,
            )
            for ln in parsed
        ]
    )
    made: list[Allocation] = []
    if not prepayment:
        plan = _plan(customer.pk, cash_in + transfer, explicit)
        planned = sum((amt for _inv, amt in plan), ZERO)
        if transfer > planned:
            raise ValidationFailed(
                _("转账金额超过本次分配到发票的金额。"), field="lines", rule="transfer_allocated"
            )
        # Transfers use the older credit first, then the new money.
        credits: list[tuple[Entry, Decimal]] = []
        left = transfer
        for c in older:
            take = min(left, c.open_amount)
            if take > 0:
                credits.append((c, take))
                left -= take
        credits.append((entry, cash_in))
        made = _apply(credits, plan, day, via=entry)
        kept = entry.open_amount
        if prepaid and prepaid != kept:
            raise ValidationFailed(
                _("预收金额 %(p)s 须等于未分配到发票的收款 %(k)s。") % {"p": prepaid, "k": kept},
                field="lines",
                rule="prepaid_remainder",
            )
        if on_credit:
            owing = sum((inv.open_amount for inv, _amt in plan), ZERO)
            if on_credit > owing:
                raise ValidationFailed(
                    _("欠款金额 %(c)s 超过所结发票的剩余未清金额 %(o)s。") % {"c": on_credit, "o": owing},
                    field="lines",
                    rule="on_credit_within_open",
                )
    elif prepaid and prepaid != cash_in:
        raise ValidationFailed(_("预收金额须等于收款金额。"), field="lines", rule="prepaid_remainder")
    _move_receivables(row, -cash_in)
    audit.record(
        actor=actor,
        action="create",
        obj=entry,
        changes={
            "kind": kind,
            "amount": str(cash_in),
            "lines": [[ln.method, str(ln.amount)] for ln in parsed],
            "allocations": [[a.debit_id, str(a.amount)] for a in made],
        },
    )
    return ReceiptResult(entry, made)


@transaction.atomic
def credit_apply(
    *, actor: Any, customer_id: int, entry_date: Any, allocations: Iterable[Any] | None = None
) -> list[Allocation]:
    """Apply unapplied credit (prepayments, over-receipts, credit notes) to open invoices: explicitly or FIFO."""
    customer = _customer(actor, "receivables.post", customer_id)
    _lock_row(customer.pk)
    day = _date(entry_date, field="entry_date", label=_("核销日期"))
    _not_future(day, field="entry_date", label=_("核销日期"))
    older = _unapplied_credits(customer.pk)
    available = sum((c.open_amount for c in older), ZERO)
    if available <= 0:
        raise ValidationFailed(_("该客户没有可抵付的预收款或贷项。"), field="allocations", rule="no_credit")
    plan = _plan(customer.pk, available, _parse_allocations(allocations))
    if not plan:
        raise ValidationFailed(_("该客户没有未清发票。"), field="allocations", rule="no_open_invoice")
    made = _apply([(c, c.open_amount) for c in older], plan, day, via=None)
    audit.record(
        actor=actor,
        action="update",
        obj=customer,
        changes={"applied": [[a.credit_id, a.debit_id, str(a.amount)] for a in made]},
        reason=_("预收款/贷项抵付发票"),
    )
    return made


# ---------------------------------------------------------------------------------------------------------------
# Credit notes, write-offs, reversals


@transaction.atomic
def credit_note_post(
    *,
    actor: Any,
    customer_id: int,
    entry_date: Any,
    amount: Any,
    invoice_id: int | None = None,
    number: str = "",
    memo: str = "",
) -> Entry:
    """A credit note (红字发票) against one invoice (not above its open amount) or, without one, applied FIFO; what
    is not applied stays as credit."""
    customer = _customer(actor, "receivables.post", customer_id)
    row = _lock_row(customer.pk)
    day = _date(entry_date, field="entry_date", label=_("日期"))
    _not_future(day, field="entry_date", label=_("日期"))
    value = money(amount, field="amount")
    if not (memo or "").strip():
        raise ValidationFailed(_("红字发票须填写原因。"), field="memo", rule="required")
    explicit = [AllocationIn(int(invoice_id), value)] if invoice_id else None
    plan = _plan(customer.pk, value, explicit)
    number = _number(EntryKind.CREDIT_NOTE, number, day)
    _check_unique(customer.pk, EntryKind.CREDIT_NOTE, number)
    entry = Entry.objects.create(
        customer=customer,
        kind=EntryKind.CREDIT_NOTE,
        number=number,
        entry_date=day,
        amount=value,
        open_amount=value,
        memo=memo.strip()[:300],
        created_by=actor,
    )
    made = _apply([(entry, value)], plan, day, via=entry)
    _move_receivables(row, -value)
    audit.record(
        actor=actor,
        action="create",
        obj=entry,
        changes={
            "kind": entry.kind,
            "amount": str(value),
            "allocations": [[a.debit_id, str(a.amount)] for a in made],
        },
        reason=entry.memo,
    )
    return entry


def write_off_entry(
    *, actor: Any, customer: Customer, invoice_ids: Sequence[int], day: dt.date, reason: str, number: str
) -> Entry:
    """Post the write-off of the invoices' whole open amounts (called by the approval's effect, inside its
    transaction; the permission is the approval itself)."""
    row = _lock_row(customer.pk)
    invoices = _open_invoices(customer.pk, list(invoice_ids))
    if len(invoices) != len(set(invoice_ids)):
        raise ValidationFailed(_("核销的发票不存在或不属于该客户。"), field="invoice_ids", rule="invoice")
    value = sum((inv.open_amount for inv in invoices), ZERO)
    if value <= 0:
        raise ValidationFailed(_("所选发票已无未清金额。"), field="invoice_ids", rule="open")
    _check_unique(customer.pk, EntryKind.WRITE_OFF, number)
    entry = Entry.objects.create(
        customer=customer,
        kind=EntryKind.WRITE_OFF,
        number=number,
        entry_date=day,
        amount=value,
        open_amount=value,
        memo=reason[:300],
        created_by=actor,
    )
    _apply([(entry, value)], [(inv, inv.open_amount) for inv in invoices], day, via=entry)
    _move_receivables(row, -value)
    audit.record(
        actor=actor,
        action="create",
        obj=entry,
        changes={"kind": entry.kind, "amount": str(value)},
        reason=reason,
    )
    return entry


@transaction.atomic
def entry_reverse(*, actor: Any, entry_id: int, entry_date: Any, reason: str) -> Entry:
    """Correct an entry by a reversal entry of the same amount. An invoice can be reversed only while nothing is
    applied to it; reversing a credit takes back everything it (or a 转账 on it) applied."""
    access.require(actor, "receivables.post")
    entry = access.get_scoped(actor, "receivables.post", Entry.objects.all(), pk=entry_id)
    row = _lock_row(entry.customer_id)
    entry = Entry.objects.select_for_update().get(pk=entry.pk)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("冲销须填写原因。"), field="reason", rule="required")
    day = _date(entry_date, field="entry_date", label=_("冲销日期"))
    _not_future(day, field="entry_date", label=_("冲销日期"))
    if day < entry.entry_date:
        raise ValidationFailed(_("冲销日期不能早于原分录日期。"), field="entry_date", rule="after_original")
    if entry.kind == EntryKind.REVERSAL:
        raise ValidationFailed(_("冲销分录不能再冲销。"), field="entry_id", rule="reversal")
    if Entry.objects.filter(reverses=entry).exists():
        raise ValidationFailed(_("该分录已冲销。"), field="entry_id", rule="already_reversed")
    if entry.kind == EntryKind.WRITE_OFF and entry.pk in _approved_write_off_entries(entry.customer_id):
        raise ValidationFailed(
            _("经审批的核销不能在台账上冲销。"), field="entry_id", rule="approved_write_off"
        )
    if entry.is_debit:
        if entry.open_amount != entry.amount:
            raise ValidationFailed(
                _("该发票已有收款或贷项分配，请先冲销这些分录。"), field="entry_id", rule="allocated"
            )
        delta = -entry.amount
    else:
        delta = entry.amount
        undo = _to_undo(entry)
        touched = sorted({k[1] for k in undo} | {k[0] for k in undo if k[0] != entry.pk})
        locked = {e.pk: e for e in Entry.objects.select_for_update().filter(pk__in=touched).order_by("pk")}
        rows = []
        for (credit_id, debit_id), amount in sorted(undo.items()):
            if amount <= 0:
                continue
            rows.append(
                Allocation(credit_id=credit_id, debit_id=debit_id, amount=-amount, applied_on=day, via=entry)
            )
            locked[debit_id].open_amount += amount
            if credit_id != entry.pk:
                locked[credit_id].open_amount += amount
        for e in locked.values():
            Entry.objects.filter(pk=e.pk).update(open_amount=e.open_amount)
        Allocation.objects.bulk_create(rows)
    Entry.objects.filter(pk=entry.pk).update(open_amount=ZERO)
    reversal = Entry.objects.create(
        customer_id=entry.customer_id,
        kind=EntryKind.REVERSAL,
        number=_number(EntryKind.REVERSAL, "", day),
        entry_date=day,
        amount=entry.amount,
        open_amount=ZERO,
        reverses=entry,
        memo=reason[:300],
        created_by=actor,
    )
    _move_receivables(row, delta)
    audit.record(
        actor=actor,
        action="create",
        obj=reversal,
        changes={"reverses": [entry.kind, entry.number, str(entry.amount)]},
        reason=reason,
    )
    return reversal


def _to_undo(entry: Entry) -> dict[tuple[int, int], Decimal]:
    """What reversing the credit ``entry`` takes back, per (credit, debit) pair: everything the entry itself still
    has applied, and of what its posting applied from older credits (转账, ``via``) the part still applied. Each
    pair counts by the net of all its allocations (earlier reversal rows included, e.g. those written when the older
    credit was reversed itself), capped at what this entry applied, never below zero."""
    via = Allocation.objects.filter(via=entry).exclude(credit=entry)
    applied_via: dict[tuple[int, int], Decimal] = {}
    for credit_id, debit_id, amount in via.values_list("credit_id", "debit_id", "amount"):
        applied_via[(credit_id, debit_id)] = applied_via.get((credit_id, debit_id), ZERO) + amount
    net: dict[tuple[int, int], Decimal] = {}
    pairs = Q(credit=entry)
    for credit_id, debit_id in applied_via:
        pairs |= Q(credit_id=credit_id, debit_id=debit_id)
    for credit_id, debit_id, amount in Allocation.objects.filter(pairs).values_list(
        "credit_id", "debit_id", "amount"
    ):
        net[(credit_id, debit_id)] = net.get((credit_id, debit_id), ZERO) + amount
    undo: dict[tuple[int, int], Decimal] = {}
    for key, amount in net.items():
        if key[0] != entry.pk:
            amount = min(amount, applied_via.get(key, ZERO))
        if amount > 0:
            undo[key] = amount
    return undo


def _approved_write_off_entries(customer_id: int) -> set[int]:
    from kehu.receivables.models import WriteOff

    return set(
        WriteOff.objects.filter(customer_id=customer_id, entry__isnull=False).values_list(
            "entry_id", flat=True
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# Deposits and guarantees (R-CRD-10)


@transaction.atomic
def deposit_create(
    *,
    actor: Any,
    customer_id: int,
    kind: str,
    reference: str,
    amount: Any,
    usable_amount: Any = None,
    valid_from: Any,
    valid_to: Any,
    provider: str = "",
) -> Deposit:
    customer = _customer(actor, "receivables.deposit", customer_id)
    _lock_row(customer.pk)
    if kind not in DepositKind.values:
        raise ValidationFailed(_("未知的担保类别。"), field="kind", rule="choice")
    reference = (reference or "").strip()
    if not reference:
        raise ValidationFailed(_("凭证/合同号必须填写。"), field="reference", rule="required")
    value = money(amount, field="amount")
    usable = (
        value if usable_amount in (None, "") else money(usable_amount, field="usable_amount", allow_zero=True)
    )
    if usable > value:
        raise ValidationFailed(_("可抵用金额不能超过金额。"), field="usable_amount", rule="within_amount")
    start = _date(valid_from, field="valid_from", label=_("生效日"))
    end = _date(valid_to, field="valid_to", label=_("到期日"))
    if end < start:
        raise ValidationFailed(_("到期日不能早于生效日。"), field="valid_to", rule="after_valid_from")
    deposit = Deposit.objects.create(
        customer=customer,
        kind=kind,
        reference=reference[:80],
        provider=(provider or "")[:200],
        amount=value,
        usable_amount=usable,
        valid_from=start,
        valid_to=end,
        created_by=actor,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=deposit,
        changes={"kind": kind, "amount": str(value), "usable": str(usable), "valid_to": end.isoformat()},
    )
    return deposit


@transaction.atomic
def deposit_release(*, actor: Any, deposit_id: int, released_on: Any, reason: str) -> Deposit:
    deposit = access.get_scoped(actor, "receivables.deposit", Deposit.objects.all(), pk=deposit_id)
    _lock_row(deposit.customer_id)
    deposit = Deposit.objects.select_for_update().get(pk=deposit.pk)
    if deposit.released_on is not None:
        raise ValidationFailed(_("该担保已解除。"), field="released_on", rule="already_released")
    day = _date(released_on, field="released_on", label=_("解除日"))
    if day < deposit.valid_from:
        raise ValidationFailed(_("解除日不能早于生效日。"), field="released_on", rule="after_valid_from")
    if not (reason or "").strip():
        raise ValidationFailed(_("解除须填写原因。"), field="reason", rule="required")
    deposit.released_on = day
    deposit.save(update_fields=["released_on"])
    audit.record(
        actor=actor,
        action="update",
        obj=deposit,
        changes={"released_on": [None, day.isoformat()]},
        reason=reason,
    )
    return deposit


# ---------------------------------------------------------------------------------------------------------------
# Orders and deliveries (used by the orders module)


def exposure_move(
    *, customer: Customer, kind: str, amount: Any, ref: str, actor: Any = None
) -> CustomerExposure:
    """Add ``amount`` (negative to take off) to the customer's approved-order or unbilled-delivery part, under the
    row lock. The part may not go below zero. Runs in the caller's transaction (or its own)."""
    if kind not in ExposureKind.values:
        raise ValidationFailed(_("占用类别须为订单或发货。"), field="kind", rule="choice")
    if isinstance(amount, float):
        raise ValidationFailed(_("金额须以精确的十进制数填写。"), field="amount", rule="decimal")
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        raise ValidationFailed(_("金额不是有效金额。"), field="amount", rule="decimal") from None
    if value == 0 or value != value.quantize(CENT):
        raise ValidationFailed(_("金额须为非零且最多两位小数。"), field="amount", rule="decimal")
    ref = (ref or "").strip()
    if not ref:
        raise ValidationFailed(_("来源单据必须填写。"), field="ref", rule="required")
    with transaction.atomic():
        row = _lock_row(customer.pk)
        column = "approved_orders" if kind == ExposureKind.ORDER else "unbilled_deliveries"
        current: Decimal = getattr(row, column)
        if current + value < 0:
            raise ValidationFailed(
                _("%(part)s不能小于零（现为 %(cur)s）。")
                % {"part": ExposureKind(kind).label, "cur": current},
                field="amount",
                rule="not_negative",
            )
        ExposureMove.objects.create(customer=customer, kind=kind, amount=value, ref=ref[:80])
        setattr(row, column, current + value)
        CustomerExposure.objects.filter(pk=row.pk).update(
            **{column: current + value, "updated_at": timezone.now()}
        )
        audit.record(
            actor=actor,
            action="update",
            obj=row,
            object_repr=str(customer),
            changes={column: [str(current), str(current + value)], "ref": ref},
        )
    return row
