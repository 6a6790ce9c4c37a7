from __future__ import annotations

import random
from typing import Any

import pytest

from kehu.core.tests.factories import DepartmentFactory, RegionFactory, user_with
from kehu.core.tests.test_browser import browser_page  # noqa: F401  (fixture for the browser tests)
from kehu.core.uscc import uscc_generate
from kehu.customers import services

_rng = random.Random(7)


def code() -> str:
    return uscc_generate(_rng)


@pytest.fixture
def org(db):
    sales = DepartmentFactory(code="S", name="营销部", kind="sales")
    east = DepartmentFactory(code="SE", name="华东销售部", kind="sales", parent=sales)
    south = DepartmentFactory(code="SS", name="华南销售部", kind="sales", parent=sales)
    from kehu.core.org import department_path

    department_path(east)
    department_path(south)
    r_east = RegionFactory(code="EC", name="华东")
    r_south = RegionFactory(code="SC", name="华南")
    return {
        "rep1": user_with("sales_rep", username="rep1", department=east, region=r_east),
        "rep2": user_with("sales_rep", username="rep2", department=south, region=r_south),
        "rep3": user_with("sales_rep", username="rep3", department=east, region=r_east),
        "mgr_east": user_with("sales_manager", username="mgr_east", department=east, region=r_east),
        "gm": user_with("general_manager", username="gm1"),
        "credit": user_with("credit_officer", username="credit1"),
        "auditor": user_with("auditor", username="aud1"),
        "east": east,
        "r_east": r_east,
    }


def make(actor: Any, name: str = "上海华信精密机械有限公司", **kwargs: Any):
    kwargs.setdefault("credit_code", code())
    return services.customer_create(actor=actor, name=name, **kwargs)
