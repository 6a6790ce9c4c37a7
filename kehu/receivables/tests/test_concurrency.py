"""Concurrent postings on one customer never lose an update of the maintained exposure: every posting locks the
customer's exposure row first (R-CRD-05). The threads use their own connections, so the set-up is committed and
removed again at the end (the audit entries stay: the trail is append-only)."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection

from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread as _in_thread
from kehu.receivables import interface, services
from kehu.receivables.exposure import exposure_check
from kehu.receivables.models import Allocation, CustomerExposure, Entry, ExposureMove, SettlementLine
from kehu.receivables.tests.conftest import customer, days_ago


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_postings_keep_exposure_exact():
    tag = uuid.uuid4().hex[:6]

    def setup() -> Any:
        dept = DepartmentFactory(kind="sales", code=f"R{tag}")
        rep = user_with("sales_rep", department=dept, username=f"r{tag}")
        fin = user_with("finance", username=f"f{tag}")
        return customer(rep), fin

    c, fin = _in_thread(setup)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def work(k: int) -> None:
        try:
            barrier.wait(10)
            for n in range(5):
                services.invoice_post(
                    actor=fin, customer_id=c.pk, number=f"T{k}-{n}", entry_date=days_ago(1), amount="100.00"
                )
                interface.exposure_add(c, kind="order", amount=D("10.00"), ref=f"O{k}-{n}")
                if n % 2:
                    services.receipt_post(
                        actor=fin,
                        customer_id=c.pk,
                        entry_date=days_ago(0),
                        lines=[{"method": "wire", "amount": "30.00"}],
                    )
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    try:
        assert errors == []
        view = _in_thread(lambda: interface.exposure_parts(c))
        assert view.open_receivables == D("6") * (5 * D("100") - 2 * D("30"))
        assert view.approved_orders == D("300.00")
        assert _in_thread(lambda: exposure_check([c.pk])) == []
    finally:

        def cleanup() -> None:
            entries = Entry.objects.filter(customer=c)
            Allocation.objects.filter(debit__in=entries).delete()
            SettlementLine.objects.filter(entry__in=entries).delete()
            entries.filter(reverses__isnull=False).delete()
            entries.delete()
            ExposureMove.objects.filter(customer=c).delete()
            CustomerExposure.objects.filter(pk=c.pk).delete()
            c.delete()

        _in_thread(cleanup)
