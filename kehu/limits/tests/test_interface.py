"""The published interface (credit_limit, credit_available, payment_terms_level) — R-CRD-02, R-CRD-05, R-CRD-09."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from kehu.limits import adapters, interface
from kehu.limits.models import CreditLimit, LimitStatus

from .conftest import active_customer


def _limit(customer, amount="100000", status=LimitStatus.IN_FORCE, **kw):
    kw.setdefault("valid_from", timezone.localdate())
    return CreditLimit.objects.create(
        customer=customer,
        amount=Decimal(amount),
        term_days=30,
        credit_class="B",
        terms_level="B",
        status=status,
        **kw,
    )


@pytest.mark.django_db
def test_no_limit_means_no_credit(team):
    c = active_customer(team["rep1"])
    assert interface.credit_limit(c) is None
    assert interface.credit_available(c) is None
    assert interface.payment_terms_level(c) == "D"


@pytest.mark.django_db
def test_limit_in_force_and_history(team):
    c = active_customer(team["rep1"])
    today = timezone.localdate()
    _limit(
        c,
        "50000",
        status=LimitStatus.SUPERSEDED,
        valid_from=today - dt.timedelta(days=100),
        valid_to=today - dt.timedelta(days=11),
    )
    _limit(c, "80000", valid_from=today - dt.timedelta(days=10), letter_number="SXTZ-2026-00001")
    view = interface.credit_limit(c)
    assert view is not None and view.amount == Decimal("80000") and view.currency == "CNY"
    assert view.letter_number == "SXTZ-2026-00001" and view.terms_level == "B"
    old = interface.credit_limit(c, at=today - dt.timedelta(days=50))
    assert old is not None and old.amount == Decimal("50000")
    assert interface.credit_limit(c, at=today - dt.timedelta(days=500)) is None
    assert interface.payment_terms_level(c) == "B"


@pytest.mark.django_db
def test_credit_available_is_limit_minus_exposure(team, monkeypatch):
    c = active_customer(team["rep1"])
    _limit(c, "100000")
    if adapters.receivables_installed():
        # the real exposure of the receivables app (R-CRD-05): approved open orders count
        from kehu.receivables.interface import exposure_add

        assert interface.credit_available(c) == Decimal("100000")
        exposure_add(c, kind="order", amount=Decimal("30000"), ref="SO-1")
        assert interface.credit_available(c) == Decimal("70000")
        exposure_add(c, kind="delivery", amount=Decimal("80000.50"), ref="DN-1")
        assert interface.credit_available(c) == Decimal("-10000.50")  # over limit: negative
    else:
        assert interface.credit_available(c) == Decimal("100000")
        monkeypatch.setattr(adapters, "receivables_installed", lambda: True)
        import sys
        import types

        fake = types.ModuleType("kehu.receivables.interface")
        fake.credit_exposure = lambda customer: Decimal("130000.50")
        monkeypatch.setitem(sys.modules, "kehu.receivables", types.ModuleType("kehu.receivables"))
        monkeypatch.setitem(sys.modules, "kehu.receivables.interface", fake)
        assert interface.credit_available(c) == Decimal("-30000.50")  # over limit: negative


@pytest.mark.django_db
def test_rating_class_comes_from_the_credit_app(team):
    """Without a rating the policy's unrated class applies (C by default)."""
    from kehu.limits import services

    c = active_customer(team["rep1"])
    assert adapters.rating_in_force(c) is None
    allow = services.allowance(c)
    assert allow.credit_class == "C" and not allow.rated


@pytest.mark.django_db
def test_bulk_exposures_equal_the_single_reads(team):
    customers = [active_customer(team["rep1"], name=f"批量客户{i}有限公司") for i in range(3)]
    if adapters.receivables_installed():
        from kehu.receivables.interface import exposure_add

        exposure_add(customers[0], kind="order", amount=Decimal("1200"), ref="SO-1")
        exposure_add(customers[2], kind="delivery", amount=Decimal("300.50"), ref="DN-1")
    bulk = adapters.credit_exposures([c.pk for c in customers])
    assert bulk == {c.pk: adapters.credit_exposure(c) for c in customers}


@pytest.mark.django_db
def test_customer_list_shows_the_limit_in_force(team, client):
    """R-CUS-08: the customer list shows the credit limit in force with its term, in the list's one query."""
    from django.urls import reverse

    c = active_customer(team["rep1"])
    _limit(c, "80000", status=LimitStatus.SUPERSEDED, valid_to=timezone.localdate())
    _limit(c, "250000")
    client.force_login(team["rep1"])
    body = client.get(reverse("customer_list")).content.decode()
    assert "250,000 元 · 30 天" in body and "80,000" not in body
