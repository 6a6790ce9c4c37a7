"""The demo loader leaves credit applications in every stage and limits in force (R-CRD-02, R-CRD-08)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.core.demo import DEMO_PASSWORD, load_org
from kehu.customers.demo import load_customers
from kehu.limits.demo import load_limits
from kehu.limits.models import CreditApplication, CreditLimit, CreditReview, LimitStatus

pytestmark = pytest.mark.django_db


def test_demo_limits(client):
    load_org()
    load_customers()
    load_limits()
    statuses = set(CreditApplication.objects.values_list("status", flat=True))
    assert {"draft", "investigation", "approval", "approved", "rejected"} <= statuses
    in_force = CreditLimit.objects.filter(status=LimitStatus.IN_FORCE)
    assert in_force.count() >= 5
    assert CreditApplication.objects.filter(
        status="approved", approved_amount__lt=models_f("requested_amount")
    ).exists()
    assert set(CreditReview.objects.values_list("trigger", flat=True)) >= {"periodic", "litigation"}

    assert client.login(username="creditmgr", password=DEMO_PASSWORD)
    for name in ("credit_overview", "limits_applications", "limits_list", "limits_reviews"):
        assert client.get(reverse(name)).status_code == 200, name
    for app in CreditApplication.objects.all():
        assert client.get(reverse("limits_application", args=[app.pk])).status_code == 200
    for limit in in_force:
        assert client.get(reverse("limits_letter", args=[limit.pk])).status_code == 200
    assert client.login(username="sales1", password=DEMO_PASSWORD)
    assert client.get(reverse("credit_overview")).status_code == 200


def models_f(name: str):
    from django.db.models import F

    return F(name)
