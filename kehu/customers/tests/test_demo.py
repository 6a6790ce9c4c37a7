"""The demo loader makes a few hundred customers across classes, regions and owners, with contacts, documents
(valid, expiring, expired, missing), contact logs, and the reminders the daily jobs raise."""

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
    # documents: every state of the list filter occurs, and the summary equals a recomputation
    from django.utils import timezone

    from kehu.customers import documents
    from kehu.customers.models import ContactGap, ContactLog, DocumentWarning, GroupDeadline

    today = timezone.localdate()
    states = {documents.summary_state(c, today) for c in Customer.objects.all()}
    assert {"valid", "expiring", "expired", "missing"} <= states
    # contact logs on trading customers, and the reminders the jobs raised
    assert ContactLog.objects.count() >= DEMO_COUNT // 2
    assert Customer.objects.exclude(last_contact_at=None).count() >= DEMO_COUNT // 4
    assert DocumentWarning.objects.exists()
    assert GroupDeadline.objects.exclude(task_raised_at=None).exists()
    assert ContactGap.objects.filter(closed_at=None).exists()
