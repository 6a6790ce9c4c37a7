from __future__ import annotations

import random
from decimal import Decimal
from typing import Any

import pytest

from kehu.core.tests.factories import DepartmentFactory, RegionFactory, user_with
from kehu.core.uscc import uscc_generate
from kehu.customers import services as customer_services

_rng = random.Random(61)


@pytest.fixture
def people(db) -> dict[str, Any]:
    sales = DepartmentFactory(code="S", name="营销部", kind="sales")
    east = DepartmentFactory(code="SE", name="华东销售部", kind="sales", parent=sales)
    from kehu.core.org import department_path

    department_path(east)
    region = RegionFactory(code="EC", name="华东")
    return {
        "rep1": user_with("sales_rep", username="rep1", department=east, region=region),
        "mgr": user_with("sales_manager", username="mgr_east", department=east, region=region),
        "officer": user_with("credit_officer", username="officer1"),
        "officer2": user_with("credit_officer", username="officer2"),
        "manager": user_with("credit_manager", username="cmgr1"),
        "manager2": user_with("credit_manager", username="cmgr2"),
        "committee": user_with("credit_committee", username="committee1"),
        "finance": user_with("finance", username="fin1"),
        "gm": user_with("general_manager", username="gm1"),
    }


def make_customer(owner: Any, name: str, **fields: Any):
    fields.setdefault("credit_code", uscc_generate(_rng))
    return customer_services.customer_create(actor=owner, name=name, confirm_duplicates=True, **fields)


@pytest.fixture
def customer(people):
    return make_customer(people["rep1"], "上海华信精密机械有限公司", industry="machinery")


# A balanced statement (yuan) used across the tests; its ratios are computed by hand in test_statements.
GOOD_LINES: dict[str, Decimal] = {
    "cash": Decimal("2000000"),
    "receivables": Decimal("3000000"),
    "inventory": Decimal("2500000"),
    "current_assets": Decimal("8000000"),
    "fixed_assets": Decimal("9000000"),
    "total_assets": Decimal("20000000"),
    "current_liabilities": Decimal("5000000"),
    "total_liabilities": Decimal("9000000"),
    "equity": Decimal("11000000"),
    "revenue": Decimal("30000000"),
    "cost_of_sales": Decimal("24000000"),
    "operating_profit": Decimal("2400000"),
    "interest_expense": Decimal("300000"),
    "net_profit": Decimal("1800000"),
    "operating_cash_flow": Decimal("2700000"),
    "investing_cash_flow": Decimal("-1000000"),
    "financing_cash_flow": Decimal("-500000"),
}
