"""The demo loader leaves reviews in every stage of the onboarding review (R-ONB-02)."""

from __future__ import annotations

import pytest

from kehu.core.demo import load_org
from kehu.customers.demo import load_customers
from kehu.onboarding.demo import load_reviews
from kehu.onboarding.models import Qualification, Rectification, Review

pytestmark = pytest.mark.django_db


def test_demo_reviews_in_every_stage(client):
    load_org()
    load_customers()
    load_reviews()
    states = set(Review.objects.values_list("case__state", flat=True))
    assert {
        "screening",
        "qualification",
        "business",
        "risk",
        "interview",
        "approval",
        "rectification",
        "approved",
        "deferred",
        "rejected",
        "check",
    } <= states
    assert Rectification.objects.filter(rereviewed_at__isnull=False).exists()
    assert Qualification.objects.count() >= 10

    # every page opens for the demo users
    from django.urls import reverse

    from kehu.core.demo import DEMO_PASSWORD

    assert client.login(username="reviewer1", password=DEMO_PASSWORD)
    for name in ("onboarding_list", "onboarding_queue", "onboarding_schedule", "onboarding_reports"):
        assert client.get(reverse(name)).status_code == 200, name
    for review in Review.objects.all():
        assert client.get(reverse("onboarding_detail", args=[review.pk])).status_code == 200
    assert client.login(username="sales1", password=DEMO_PASSWORD)
    assert client.get(reverse("onboarding_apply")).status_code == 200
