"""The demo loader leaves a catalogue and orders in several states, one of them on credit hold (R-ORD-01,
R-CRD-05)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.core.demo import DEMO_PASSWORD, load_org
from kehu.core.models import User
from kehu.orders.demo import load_orders
from kehu.orders.models import Order, Product
from kehu.orders.tests.conftest import give_limit
from kehu.receivables.tests.conftest import customer

pytestmark = pytest.mark.django_db


def test_demo_orders(client):
    load_org()
    rep = User.objects.get(username="sales1")
    for k in range(5):
        give_limit(customer(rep), str(100000 * (k + 1)))
    load_orders()
    assert Product.objects.count() == 20
    statuses = set(Order.objects.values_list("status", flat=True))
    assert {"draft", "credit_hold", "cancelled"} <= statuses and statuses & {"approved", "review_pending"}
    load_orders()  # a second run adds nothing
    assert Product.objects.count() == 20
    assert client.login(username="creditmgr", password=DEMO_PASSWORD)
    for name in ("orders_list", "orders_holds", "orders_products"):
        assert client.get(reverse(name)).status_code == 200, name
    for order in Order.objects.all():
        assert client.get(reverse("orders_detail", args=[order.pk])).status_code == 200
