"""kehu.credit.interface: rating_in_force and latest_statements as the limits and receivables apps read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu.credit.interface import latest_statements, rating_in_force
from kehu.credit.models import FinancialStatement, Rating

from .conftest import GOOD_LINES

pytestmark = pytest.mark.django_db


def _rating(customer, user, status, rated_on, grade="BBB", cls="B"):
    return Rating.objects.create(
        customer=customer,
        status=status,
        category="industrial",
        payment_history=4,
        years_of_trade=3,
        industry_outlook=3,
        management=3,
        litigation=5,
        score=Decimal("71.20"),
        computed_grade=grade,
        grade=grade,
        credit_class=cls,
        prepared_by=user,
        rated_on=rated_on,
        policy_version_id=None,
    )


def test_rating_in_force_none_then_approved(people, customer):
    assert rating_in_force(customer) is None
    _rating(customer, people["officer"], "draft", None)
    assert rating_in_force(customer) is None  # a draft is not in force
    old = _rating(customer, people["officer"], "superseded", dt.date(2025, 3, 1), "BB", "C")
    new = _rating(customer, people["officer"], "approved", dt.date(2026, 3, 1), "A", "A")
    view = rating_in_force(customer)
    assert view is not None
    assert (view.id, view.grade, view.credit_class, view.score) == (new.pk, "A", "A", Decimal("71.20"))
    assert view.rated_on == dt.date(2026, 3, 1) and view.overridden is False
    past = rating_in_force(customer.pk, at=dt.date(2025, 12, 31))
    assert past is not None and past.id == old.pk and past.grade == "BB"
    assert rating_in_force(customer, at=dt.date(2025, 1, 1)) is None


def test_latest_statements(people, customer, django_assert_max_num_queries):
    assert latest_statements(customer) is None
    FinancialStatement.objects.create(
        customer=customer,
        period_end=dt.date(2024, 12, 31),
        period_type="year",
        created_by=people["officer"],
        **GOOD_LINES,
    )
    latest = FinancialStatement.objects.create(
        customer=customer,
        period_end=dt.date(2025, 12, 31),
        period_type="year",
        created_by=people["officer"],
        **{**GOOD_LINES, "interest_expense": Decimal(0)},
    )
    with django_assert_max_num_queries(1):
        view = latest_statements(customer)
    assert view is not None and view.id == latest.pk and view.period_end == dt.date(2025, 12, 31)
    assert view.ratios["current_ratio"] == Decimal("1.6000")
    assert view.ratios["interest_cover"] is None  # zero interest: no ratio, no error


def test_customer_list_shows_the_grade_in_force(people, customer, client):
    """R-CUS-08: the customer list shows the credit grade and class of the rating in force, in its one query."""
    from django.urls import reverse

    _rating(customer, people["officer"], "superseded", dt.date(2025, 3, 1), "BB", "C")
    _rating(customer, people["officer"], "approved", dt.date(2026, 3, 1), "BBB+", "B")
    client.force_login(customer.owner)
    body = client.get(reverse("customer_list")).content.decode()
    assert "信用等级" in body and "BBB+ · B" in body and "BB · C" not in body
