"""The demo loader: two years of statements and an approved rating for active demo customers."""

from __future__ import annotations

import pytest

from kehu.core.demo import load_org
from kehu.core.models import User
from kehu.credit.demo import load_credit
from kehu.credit.interface import latest_statements, rating_in_force
from kehu.credit.models import FinancialStatement, Rating
from kehu.customers import services as cs

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def test_demo_loader():
    load_org()
    owner = User.objects.get(username="sales1")
    gm = User.objects.get(username="gm")
    active = []
    for i, industry in enumerate(["machinery", "trade", "construction"]):
        c = make_customer(owner, f"演示{i}号有限公司", industry=industry)
        cs.customer_submit_review(actor=owner, customer_id=c.pk, reason="提交")
        cs.customer_activate(actor=gm, customer_id=c.pk, reason="通过")
        active.append(c)
    prospect = make_customer(owner, "演示潜在客户有限公司")
    load_credit()
    for c in active:
        assert FinancialStatement.objects.filter(customer=c).count() == 2
        view = rating_in_force(c)
        assert view is not None and view.grade and view.credit_class in "ABCD"
        assert latest_statements(c) is not None
    assert rating_in_force(prospect) is None
    load_credit()  # running again adds nothing for customers already rated
    assert Rating.objects.count() == 3
