from __future__ import annotations

import random
from typing import Any

import pytest

from kehu.core.tests.factories import user_with
from kehu.core.tests.test_browser import browser_page  # noqa: F401  (fixture for the browser tests)
from kehu.core.uscc import uscc_generate
from kehu.customers import services as customer_services
from kehu.customers.models import Customer, CustomerStatus
from kehu.customers.tests.conftest import org  # noqa: F401  (fixture)

_rng = random.Random(77)
NAMES = "甲乙丙丁戊己庚辛壬癸子丑寅卯辰巳午未申酉戌亥"


def make_active(owner: Any, i: int, **fields: Any) -> Customer:
    fields.setdefault("credit_code", uscc_generate(_rng))
    c = customer_services.customer_create(
        actor=owner, name=f"{NAMES[i % len(NAMES)]}{i}号精密机械有限公司", confirm_duplicates=True, **fields
    )
    Customer.objects.filter(pk=c.pk).update(status=CustomerStatus.ACTIVE)
    c.refresh_from_db()
    return c


@pytest.fixture
def finance(db) -> Any:
    return user_with("finance", username="fin1")


@pytest.fixture
def gm2(db) -> Any:
    return user_with("general_manager", username="gm2")
