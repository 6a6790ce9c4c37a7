"""Concurrent submits for one customer never jointly exceed its limit (R-CRD-05): 50 threads submit orders worth
three times the available credit; the approved total stays within the limit, the rest are on credit hold and none
is lost. The threads use their own connections, so the set-up is committed and removed again at the end (audit
entries stay: the trail is append-only)."""

from __future__ import annotations

import threading
import uuid
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection

from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread
from kehu.limits.models import CreditLimit
from kehu.orders import adapters, services
from kehu.orders.models import CheckResult, CreditHold, Order, OrderLine, OrderStatus, Product
from kehu.orders.tests.conftest import Docs, draft, far_date, give_limit, line, terms
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import OverdueView, exposure_parts
from kehu.receivables.models import CustomerExposure, ExposureMove
from kehu.receivables.tests.conftest import customer

THREADS = 50


@pytest.mark.postgres
@pytest.mark.django_db
def test_r_crd_05_fifty_concurrent_submits_never_exceed_the_limit(monkeypatch):
    monkeypatch.setattr(adapters, "grade_terms", lambda c, at=None: terms("A"))
    monkeypatch.setattr(adapters, "customer_documents_valid", lambda c, at=None: Docs())
    monkeypatch.setattr(adapters, "overdue_summary", lambda c, at=None: OverdueView(D("0"), 0, 0))
    tag = uuid.uuid4().hex[:6]

    def setup() -> Any:
        dept = DepartmentFactory(kind="sales", code=f"O{tag}")
        rep = user_with("sales_rep", department=dept, username=f"o{tag}")
        c = customer(rep)
        give_limit(c, "30000.00")
        p = Product.objects.create(
            code=f"C{tag}", name="丝杠", unit="根", control_price=D("100"), tax_rate=D("0")
        )
        # 50 orders of 1 800.00: 90 000.00, three times the available 30 000.00
        orders = [draft(rep, c, [line(p, "18")], requested_date=far_date()) for _ in range(THREADS)]
        return rep, c, p, [o.pk for o in orders]

    rep, c, p, ids = in_thread(setup)
    barrier = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def work(pk: int) -> None:
        try:
            barrier.wait(30)
            services.order_submit(actor=rep, order_id=pk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(pk,)) for pk in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    try:
        assert errors == []

        def read() -> Any:
            rows = list(Order.objects.filter(pk__in=ids).values_list("status", "counted_amount"))
            holds = CreditHold.objects.filter(order_id__in=ids, open=True).count()
            return rows, holds, exposure_parts(c), exposure_check([c.pk])

        rows, holds, view, diffs = in_thread(read)
        approved = [amt for st, amt in rows if st == OrderStatus.APPROVED]
        held = [st for st, _amt in rows if st == OrderStatus.CREDIT_HOLD]
        assert len(rows) == THREADS and len(approved) + len(held) == THREADS  # none lost
        assert sum(approved) == D("28800.00") and len(approved) == 16  # 16 x 1 800 <= 30 000 < 17 x 1 800
        assert view.approved_orders == sum(approved) <= D("30000.00")
        assert holds == len(held) == 34
        assert diffs == []
    finally:

        def cleanup() -> None:
            CreditHold.objects.filter(order_id__in=ids).delete()
            CheckResult.objects.filter(order_id__in=ids).delete()
            OrderLine.objects.filter(order_id__in=ids).delete()
            Order.objects.filter(pk__in=ids).delete()
            p.delete()
            ExposureMove.objects.filter(customer=c).delete()
            CustomerExposure.objects.filter(pk=c.pk).delete()
            CreditLimit.objects.filter(customer=c).delete()
            c.delete()
            type(rep).objects.filter(pk=rep.pk).update(is_active=False)

        in_thread(cleanup)
