from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from kehu.core.tests.factories import user_with
from kehu.customers.models import Customer, CustomerStatus
from kehu.customers.tests.conftest import browser_page, make, org  # noqa: F401
from kehu.limits import adapters


@pytest.fixture
def team(org):  # noqa: F811
    """The sales org plus the credit roles: two credit officers (one investigates, the other approves), a credit
    manager, a committee member."""
    return {
        **org,
        "credit2": user_with("credit_officer", username="credit2"),
        "cmgr": user_with("credit_manager", username="cmgr"),
        "committee": user_with("credit_committee", username="committee1"),
        "finance": user_with("finance", username="finance1"),
    }


def active_customer(owner: Any, name: str = "上海华信精密机械有限公司", **kw: Any) -> Customer:
    c = make(owner, name=name, **kw)
    Customer.objects.filter(pk=c.pk).update(status=CustomerStatus.ACTIVE)
    c.refresh_from_db()
    return c


class Rating:
    def __init__(self, cls: str) -> None:
        self.id = 77
        self.credit_class = cls
        self.grade = {"A": "AA", "B": "BBB", "C": "CCC", "D": "D"}[cls]
        self.score = Decimal("70")


@pytest.fixture
def rated(monkeypatch):
    """Give customers a rating class: rated({customer_pk: "A"})."""
    classes: dict[int, str] = {}

    def fake(customer: Any) -> Any:
        cls = classes.get(customer.pk)
        return Rating(cls) if cls else None

    monkeypatch.setattr(adapters, "rating_in_force", fake)
    return classes
