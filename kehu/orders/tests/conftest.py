from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from kehu.core.workdays import workdays_add
from kehu.customers.tests.conftest import browser_page, org  # noqa: F401
from kehu.grading.interface import GradeTerms
from kehu.limits.models import CreditLimit
from kehu.orders import adapters, services
from kehu.orders.models import Product, Scope
from kehu.receivables.interface import OverdueView
from kehu.receivables.tests.conftest import customer

ZERO = Decimal("0.00")

# the default grading scheme's terms per grade: discount cap, payment terms, lead time, rush rule
GRADES = {
    "A": (Decimal("5"), ["after_delivery_90", "net_30", "cash_on_delivery"], 20, "jump_queue"),
    "B": (Decimal("3"), ["net_30", "cash_on_delivery"], 30, "case_by_case"),
    "C": (Decimal("0"), ["no_deferral", "prepayment"], 40, "queue"),
    "D": (Decimal("-5"), ["prepayment"], None, "strict_review"),
}


def terms(grade: str = "A") -> GradeTerms:
    cap, pay, lead, rush = GRADES[grade]
    return GradeTerms(
        grade=grade,
        score=Decimal("80"),
        rank=1,
        run_id=1,
        effective_on=timezone.localdate(),
        policy_version_id=None,
        discount_cap=cap,
        payment_terms=pay,
        lead_time_days=lead,
        rush_rule=rush,
        response_hours=24,
        visit_every_days=None,
    )


@dataclass
class Docs:
    ok: bool = True
    problems: list[Any] = field(default_factory=list)
    policy_version_id: int | None = None
    message: str = ""


@dataclass
class World:
    """What the checks read from other modules, per customer id (grade, documents, overdue)."""

    grades: dict[int, GradeTerms | None] = field(default_factory=dict)
    docs: dict[int, Docs] = field(default_factory=dict)
    overdue: dict[int, OverdueView] = field(default_factory=dict)


@pytest.fixture
def world(monkeypatch) -> World:
    w = World()
    monkeypatch.setattr(adapters, "grade_terms", lambda c, at=None: w.grades.get(c.pk, terms("A")))
    monkeypatch.setattr(adapters, "customer_documents_valid", lambda c, at=None: w.docs.get(c.pk, Docs()))
    monkeypatch.setattr(
        adapters, "overdue_summary", lambda c, at=None: w.overdue.get(c.pk, OverdueView(ZERO, 0, 0))
    )
    return w


def give_limit(c: Any, amount: str, level: str = "A") -> CreditLimit:
    return CreditLimit.objects.create(
        customer=c,
        amount=Decimal(amount),
        term_days=30,
        credit_class=level,
        terms_level=level,
        valid_from=timezone.localdate() - dt.timedelta(days=30),
    )


def far_date(days: int = 45) -> dt.date:
    return workdays_add(timezone.localdate(), days)


@pytest.fixture
def catalogue(org):  # noqa: F811
    """P1: standard, control price 100.00, no tax (amounts in the tests stay round); P2: out of scope; P3:
    stopped; P4: standard, control price 100.00, 13 % tax."""
    return {
        "p1": Product.objects.create(
            code="P1",
            name="滚珠丝杠",
            spec="SFU2005",
            unit="根",
            control_price=Decimal("100"),
            tax_rate=Decimal("0"),
        ),
        "p2": Product.objects.create(
            code="P2", name="旧主轴", unit="件", control_price=Decimal("100"), scope=Scope.DISCONTINUED
        ),
        "p3": Product.objects.create(
            code="P3", name="导轨", unit="根", control_price=Decimal("100"), active=False
        ),
        "p4": Product.objects.create(
            code="P4", name="伺服电机", spec="1.5kW", unit="台", control_price=Decimal("100")
        ),
    }


@pytest.fixture
def cust(org, world):  # noqa: F811
    c = customer(org["rep1"])
    give_limit(c, "10000.00")
    return c


def line(
    product: Product, qty: str = "10", price: str | None = "100", discount: str = "0", tax: str | None = None
) -> dict[str, Any]:
    """An order line's input; the tax rate is the catalogue's unless ``tax`` is given."""
    return {
        "product_id": product.pk,
        "quantity": qty,
        "unit_price": price,
        "discount": discount,
        "tax_rate": tax,
    }


def draft(actor: Any, c: Any, lines: list[dict[str, Any]], **kw: Any) -> Any:
    kw.setdefault("channel", "phone")
    kw.setdefault("requested_date", far_date())
    kw.setdefault("payment_terms", "net_30")
    return services.order_create(actor=actor, customer_id=c.pk, lines=lines, **kw)


def submitted(actor: Any, c: Any, lines: list[dict[str, Any]], **kw: Any) -> Any:
    o = draft(actor, c, lines, **kw)
    return services.order_submit(actor=actor, order_id=o.pk)
