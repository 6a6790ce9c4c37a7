"""Demo receivables for about thirty active demo customers: a year of invoices, receipts in every settlement
method (some mixed, some through prepayment), credit notes, prepayments, overdue invoices, deposits and
guarantees, collection records with a broken and an open promise, an abnormal-collection report and a pending
write-off; then the daily collections job runs once so the inbox shows its tasks."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from kehu.core.models import User
from kehu.customers.models import Customer, CustomerStatus

DEMO_CUSTOMERS = 30


def load_receivables() -> None:
    from kehu.receivables import collections, services, writeoff

    users = {u.username: u for u in User.objects.filter(username__in=["finance1", "credit1", "creditmgr"])}
    fin, credit = users["finance1"], users["credit1"]
    customers = list(
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .select_related("owner")
        .order_by("pk")[:DEMO_CUSTOMERS]
    )
    if not customers:
        return
    rng = random.Random(20260106)
    today = timezone.localdate()
    methods = ["wire", "wire", "acceptance", "cheque", "bank_draft", "cash"]
    for i, c in enumerate(customers):
        for n in range(8):
            day = today - dt.timedelta(days=30 + n * 45 + rng.randint(0, 20))
            amount = Decimal(rng.randint(20, 400) * 250)
            inv = services.invoice_post(
                actor=fin,
                customer_id=c.pk,
                number=f"FP{c.pk:05d}{n:02d}",
                entry_date=day,
                terms_days=rng.choice([30, 60, 90]),
                amount=amount,
                memo="货款",
            )
            assert inv.due_date is not None
            paid_day: dt.date = min(today, inv.due_date + dt.timedelta(days=rng.randint(-20, 40)))
            if i % 5 == 4 and n < 3:
                continue  # recent invoices of some customers stay unpaid (overdue)
            if paid_day < day:
                paid_day = day
            method = methods[(i + n) % len(methods)]
            line = {
                "method": method,
                "amount": amount,
                **({"bill_maturity": paid_day + dt.timedelta(days=180)} if method == "acceptance" else {}),
            }
            if n % 4 == 1:  # mixed settlement: part money, part owed (现…欠…)
                part = (amount * Decimal("0.6")).quantize(Decimal("1"))
                services.receipt_post(
                    actor=fin,
                    customer_id=c.pk,
                    entry_date=paid_day,
                    lines=[
                        {"method": "cash", "amount": part},
                        {"method": "on_credit", "amount": amount - part},
                    ],
                    allocations=[{"invoice_id": inv.pk, "amount": part}],
                )
            else:
                services.receipt_post(actor=fin, customer_id=c.pk, entry_date=paid_day, lines=[line])
        if i % 6 == 0:
            services.receipt_post(
                actor=fin,
                customer_id=c.pk,
                entry_date=today - dt.timedelta(days=5),
                prepayment=True,
                lines=[{"method": "wire", "amount": Decimal("20000")}],
                memo="预付货款",
            )
        if i % 7 == 3:
            services.credit_note_post(
                actor=fin,
                customer_id=c.pk,
                entry_date=today - dt.timedelta(days=10),
                amount=Decimal("1500"),
                memo="质量折让",
            )
        if i % 4 == 0:
            services.deposit_create(
                actor=credit,
                customer_id=c.pk,
                kind=["margin", "guarantee", "collateral", "insurance"][i % 4 if i % 8 else 1],
                reference=f"BZ-{c.pk:05d}",
                provider=c.name if i % 8 else "中国出口信用保险公司",
                amount=Decimal("50000"),
                usable_amount=Decimal("40000"),
                valid_from=today - dt.timedelta(days=200),
                valid_to=today + dt.timedelta(days=165 if i % 3 else -10),
            )
        if i % 5 == 4:
            owner = c.owner
            collections.collection_record(
                actor=owner,
                customer_id=c.pk,
                kind="call",
                happened_on=today - dt.timedelta(days=20),
                note="电话催收，财务称月底安排付款。",
            )
            collections.collection_record(
                actor=owner,
                customer_id=c.pk,
                kind="promise",
                happened_on=today - dt.timedelta(days=19),
                promise_date=today - dt.timedelta(days=8 if i % 10 == 4 else -10),
                promise_amount=Decimal("30000"),
                note="客户承诺付款",
            )
        if i == 4:
            collections.report_create(
                actor=credit,
                customer_id=c.pk,
                kind="abnormal",
                report_date=today - dt.timedelta(days=3),
                amount=Decimal("30000"),
                situation="承诺付款日已过仍未到账，客户财务联系不上。",
                cause="客户资金周转困难。",
                measures="暂停发货，上门催收。",
            )
            open_inv = list(
                c.ledger_entries.filter(kind="invoice", open_amount__gt=0).order_by("due_date")[:1]
            )
            if open_inv:
                writeoff.write_off_request(
                    actor=credit,
                    customer_id=c.pk,
                    invoice_ids=[open_inv[0].pk],
                    reason="客户已停业，经多次催收无果，申请核销。",
                )
    collections.collection_alerts_run()
