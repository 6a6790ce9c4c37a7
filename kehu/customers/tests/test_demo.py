"""The demo loader makes about sixty customers across classes, regions and owners, with contacts."""

from __future__ import annotations

import pytest

from kehu.core.demo import load_org
from kehu.customers.demo import DEMO_COUNT, load_customers
from kehu.customers.models import Contact, Customer

pytestmark = pytest.mark.django_db


def test_demo_customers():
    load_org()
    load_customers()
    assert Customer.objects.count() == DEMO_COUNT
    assert set(Customer.objects.values_list("owner__username", flat=True)) == {"sales1", "sales2", "salesmgr"}
    assert set(Customer.objects.values_list("customer_class", flat=True)) == {"core", "important", "general"}
    assert {"prospect", "review", "active", "suspended", "ended"} <= set(
        Customer.objects.values_list("status", flat=True)
    )
    assert Contact.objects.count() >= DEMO_COUNT
    assert Customer.objects.filter(changes__field="name").exists()
    assert Customer.objects.exclude(region=None).values("region").distinct().count() >= 2
