"""The one lock order of orders against the receivables ledger (R-CRD-05): order row, then the customer's exposure
row, then the audit trail head; the customer row itself is never locked for update (a posting's entry insert takes
a key share lock on it while holding the exposure row). Each test makes two writers meet at the exposure lock in
the interleaving that deadlocked before, and checks that both finish. PostgreSQL only (SQLite serialises writers);
the rows are committed from threads and removed again at the end (audit entries stay: the trail is append-only)."""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread
from kehu.limits.models import CreditLimit
from kehu.orders import adapters, services
from kehu.orders.models import CheckResult, CreditHold, Order, OrderLine, OrderStatus, Product
from kehu.orders.tests.conftest import Docs, draft, far_date, give_limit, line, terms
from kehu.receivables import services as ledger
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import OverdueView, exposure_lock
from kehu.receivables.models import CustomerExposure, Entry, ExposureMove
from kehu.receivables.tests.conftest import customer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

WAIT = 10  # seconds a writer waits for the other to reach its lock (never reached when both run through)


@pytest.fixture
def stand_ins(monkeypatch):
    monkeypatch.setattr(adapters, "grade_terms", lambda c, at=None: terms("A"))
    monkeypatch.setattr(adapters, "customer_documents_valid", lambda c, at=None: Docs())
    monkeypatch.setattr(adapters, "overdue_summary", lambda c, at=None: OverdueView(D("0"), 0, 0))


def _world(tag: str) -> dict[str, Any]:
    dept = DepartmentFactory(kind="sales", code=f"L{tag}")
    rep = user_with("sales_rep", department=dept, username=f"l{tag}")
    fin = user_with("finance", username=f"f{tag}")
    c = customer(rep)
    give_limit(c, "100000.00")
    with transaction.atomic():
        exposure_lock(c)  # the exposure row exists before the writers meet
    p = Product.objects.create(
        code=f"L{tag}", name="丝杠", unit="根", control_price=D("100"), tax_rate=D("0")
    )
    return {"rep": rep, "fin": fin, "c": c, "p": p}


def _run(workers: dict[str, Callable[[], Any]]) -> list[BaseException]:
    errors: list[BaseException] = []

    def wrap(fn: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                fn()
            except BaseException as exc:  # pragma: no cover - reported by the test
                errors.append(exc)
            finally:
                connection.close()

        return run

    threads = [threading.Thread(target=wrap(fn), name=name) for name, fn in workers.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return errors


def _cleanup(w: dict[str, Any]) -> None:
    def run() -> None:
        ids = list(Order.objects.filter(customer=w["c"]).values_list("pk", flat=True))
        CreditHold.objects.filter(order_id__in=ids).delete()
        CheckResult.objects.filter(order_id__in=ids).delete()
        OrderLine.objects.filter(order_id__in=ids).delete()
        Order.objects.filter(pk__in=ids).delete()
        w["p"].delete()
        Entry.objects.filter(customer=w["c"]).delete()
        ExposureMove.objects.filter(customer=w["c"]).delete()
        CustomerExposure.objects.filter(pk=w["c"].pk).delete()
        CreditLimit.objects.filter(customer=w["c"]).delete()
        w["c"].delete()
        type(w["rep"]).objects.filter(pk__in=[w["rep"].pk, w["fin"].pk]).update(is_active=False)

    in_thread(run)


def test_r_crd_05_invoice_posting_and_submit_together_neither_fails(stand_ins, monkeypatch):
    """A submit holds its order row and comes for the exposure row while an invoice posting holds the exposure row
    and inserts its entry (a key share lock on the customer row): the submit must not hold the customer row."""
    tag = uuid.uuid4().hex[:6]
    w = in_thread(lambda: _world(tag))
    order = in_thread(lambda: draft(w["rep"], w["c"], [line(w["p"], "10")]))
    order_held, exposure_held = threading.Event(), threading.Event()
    real_lock_row, real_exposure_lock = ledger._lock_row, adapters.exposure_lock

    def lock_row(customer_id: int) -> Any:
        row = real_lock_row(customer_id)
        if threading.current_thread().name == "posting":
            exposure_held.set()
            order_held.wait(WAIT)  # the submit holds its order row now
        return row

    def submit_exposure_lock(c: Any) -> Any:
        if threading.current_thread().name == "submit":
            order_held.set()
            exposure_held.wait(WAIT)  # the posting holds the exposure row now
        return real_exposure_lock(c)

    monkeypatch.setattr(ledger, "_lock_row", lock_row)
    monkeypatch.setattr(adapters, "exposure_lock", submit_exposure_lock)
    today = timezone.localdate()
    try:
        errors = _run(
            {
                "posting": lambda: ledger.invoice_post(
                    actor=w["fin"],
                    customer_id=w["c"].pk,
                    number=f"FP-{tag}",
                    entry_date=today,
                    due_date=today + dt.timedelta(days=30),
                    amount="3000.00",
                ),
                "submit": lambda: services.order_submit(actor=w["rep"], order_id=order.pk),
            }
        )
        assert errors == []

        def read() -> Any:
            return Order.objects.get(pk=order.pk), exposure_check([w["c"].pk])

        got, diffs = in_thread(read)
        assert got.status == OrderStatus.APPROVED and got.counted_amount == D("1000.00")
        assert diffs == []
    finally:
        _cleanup(w)


def test_r_crd_05_save_and_submit_page_and_another_submit_together_neither_fails(stand_ins, monkeypatch):
    """ "Save and submit" on the entry page (numbering, new order, audit) while another order of the same customer
    is submitted: the page takes the exposure row before the numbering and the audit head, as every submit."""
    tag = uuid.uuid4().hex[:6]
    w = in_thread(lambda: _world(tag))
    other = in_thread(lambda: draft(w["rep"], w["c"], [line(w["p"], "20")]))
    page_ready, submit_holds = threading.Event(), threading.Event()
    real_exposure_lock = adapters.exposure_lock

    def exposure_lock_(c: Any) -> Any:
        name = threading.current_thread().name
        if name == "page":
            page_ready.set()
            submit_holds.wait(WAIT)  # the other submit holds the exposure row now
            return real_exposure_lock(c)
        view = real_exposure_lock(c)
        if name == "submit":
            submit_holds.set()
            page_ready.wait(WAIT)  # the page has come for the exposure row
        return view

    monkeypatch.setattr(adapters, "exposure_lock", exposure_lock_)
    data = {
        "customer": w["c"].pk,
        "channel": "phone",
        "requested_date": str(in_thread(lambda: far_date())),
        "payment_terms": "net_30",
        "line-count": "1",
        "line-1-product": w["p"].pk,
        "line-1-quantity": "10",
        "submit": "1",
    }
    answers: list[int] = []

    def page() -> None:
        client = Client()
        client.force_login(w["rep"])
        answers.append(client.post(reverse("orders_new"), data).status_code)

    try:
        errors = _run(
            {"page": page, "submit": lambda: services.order_submit(actor=w["rep"], order_id=other.pk)}
        )
        assert errors == [] and answers == [302]

        def read() -> Any:
            rows = list(Order.objects.filter(customer=w["c"]).values_list("status", "counted_amount"))
            return rows, exposure_check([w["c"].pk])

        rows, diffs = in_thread(read)
        assert sorted(rows) == [(OrderStatus.APPROVED, D("1000.00")), (OrderStatus.APPROVED, D("2000.00"))]
        assert diffs == []
    finally:
        _cleanup(w)
