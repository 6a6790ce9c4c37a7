from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from django.utils import timezone

from kehu.core.tests.factories import user_with
from kehu.customers.models import Customer, CustomerStatus
from kehu.customers.tests.conftest import org  # noqa: F401  (the shared organisation fixture)

_seq = itertools.count(1)


def customer(owner: Any, name: str = "", **kwargs: Any) -> Customer:
    n = next(_seq)
    return Customer.objects.create(
        number=f"KH-T-{n:06d}",
        name=name or f"测试客户{n}有限公司",
        owner=owner,
        department=owner.department,
        region=owner.region,
        status=CustomerStatus.ACTIVE,
        **kwargs,
    )


def days_ago(n: int) -> dt.date:
    return timezone.localdate() - dt.timedelta(days=n)


@pytest.fixture
def fin(org):  # noqa: F811
    return user_with("finance", username="fin1")


@pytest.fixture
def cust(org):  # noqa: F811
    return customer(org["rep1"], "上海华信精密机械有限公司")
