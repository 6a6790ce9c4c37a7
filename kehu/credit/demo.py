"""Demo credit data: two years of statements and an approved rating for about twenty active demo customers,
entered by the credit officer (credit1) and approved by the credit manager (creditmgr)."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from kehu.core.models import User
from kehu.customers.models import Customer, CustomerStatus

DEMO_RATED = 20


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, -2))).quantize(Decimal("0.01"))


def demo_lines(rng: random.Random, scale: float) -> dict[str, Decimal]:
    """One plausible, balanced set of statement lines (yuan)."""
    ta = scale * rng.uniform(5e6, 3e8)
    tl = ta * rng.uniform(0.3, 0.88)
    ca = ta * rng.uniform(0.4, 0.7)
    cash, recv, inv = ca * rng.uniform(0.1, 0.3), ca * rng.uniform(0.2, 0.35), ca * rng.uniform(0.15, 0.3)
    cl = tl * rng.uniform(0.5, 0.9)
    revenue = ta * rng.uniform(0.6, 2.0)
    cogs = revenue * rng.uniform(0.7, 0.9)
    interest = tl * 0.045
    op = revenue * rng.uniform(-0.03, 0.12)
    net = op * 0.75
    total_assets, total_liabilities = _money(ta), _money(tl)
    return {
        "cash": _money(cash),
        "receivables": _money(recv),
        "inventory": _money(inv),
        "current_assets": _money(ca),
        "fixed_assets": _money(ta * 0.25),
        "total_assets": total_assets,
        "current_liabilities": _money(cl),
        "total_liabilities": total_liabilities,
        "equity": total_assets - total_liabilities,
        "revenue": _money(revenue),
        "cost_of_sales": _money(cogs),
        "operating_profit": _money(op),
        "interest_expense": _money(interest),
        "net_profit": _money(net),
        "operating_cash_flow": _money(net * rng.uniform(0.4, 1.6)),
        "investing_cash_flow": _money(-ta * rng.uniform(0.01, 0.08)),
        "financing_cash_flow": _money(ta * rng.uniform(-0.05, 0.05)),
    }


def load_credit() -> None:
    from kehu.credit import selectors, services

    users = {u.username: u for u in User.objects.filter(username__in=["credit1", "creditmgr"])}
    officer, manager = users.get("credit1"), users.get("creditmgr")
    if officer is None or manager is None:
        return
    year = timezone.localdate().year - 1
    customers = list(
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .exclude(ratings__isnull=False)
        .order_by("pk")[:DEMO_RATED]
    )
    for i, c in enumerate(customers):
        rng = random.Random(7000 + c.pk)
        for k, period in enumerate((dt.date(year - 1, 12, 31), dt.date(year, 12, 31))):
            services.statement_save(
                actor=officer,
                customer_id=c.pk,
                period_end=period,
                period_type="year",
                lines=demo_lines(rng, 1.0 + 0.08 * k),
                note="审计报告",
                replace=True,
            )
        rating = services.rating_prepare(
            actor=officer,
            customer_id=c.pk,
            payment_history=5 - i % 4,
            years_of_trade=max(selectors.default_years_of_trade(c), Decimal(1 + i % 12)),
            industry_outlook=3 + i % 3,
            management=2 + i % 4,
            litigation=5 - (i % 5 == 4) * 2,
            note="根据最近一期年报及往来记录评定。",
        )
        services.rating_submit(actor=officer, rating_id=rating.pk)
        services.rating_decide(actor=manager, rating_id=rating.pk, decision="approve", comment="同意")
