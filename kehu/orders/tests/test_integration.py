"""The checks against the real interfaces of the other modules, with no stand-ins: the receivables ledger (an
overdue invoice and the exposure it adds), the grading interface (no grade yet) and the customer's documents
(R-ORD-02, R-CRD-05)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest
from django.utils import timezone

from kehu.core.tests.factories import user_with
from kehu.orders import selectors
from kehu.orders.models import CheckKey, CreditHold, OrderStatus
from kehu.orders.tests.conftest import give_limit, line, submitted
from kehu.receivables import services as ledger
from kehu.receivables.tests.conftest import customer

pytestmark = pytest.mark.django_db


def test_real_ledger_grade_and_documents(org, catalogue):
    fin = user_with("finance", username="fin-o")
    c = customer(org["rep1"])
    give_limit(c, "5000.00")
    today = timezone.localdate()
    ledger.invoice_post(
        actor=fin,
        customer_id=c.pk,
        number="FP-1",
        entry_date=today - dt.timedelta(days=90),
        due_date=today - dt.timedelta(days=45),
        amount="3000.00",
    )
    o = submitted(org["rep1"], c, [line(catalogue["p1"], "10")])  # 1 000 + 3 000 open: within 5 000
    got = {r.key: r for r in selectors.order_checks(o)}
    assert not got[CheckKey.DOCUMENTS].passed  # no business licence on file
    assert not got[CheckKey.DISCOUNT].passed and "等级" in got[CheckKey.DISCOUNT].reason  # no grade yet
    credit = got[CheckKey.CREDIT]
    assert (
        not credit.passed and credit.figures["overdue_days"] == 45 and credit.figures["exposure"] == "3000.00"
    )
    assert "逾期" in credit.reason and "超过额度" not in credit.reason
    assert o.status == OrderStatus.CREDIT_HOLD
    assert CreditHold.objects.get(order=o).required_role == "credit_manager"
    rows = selectors.order_list(actor=org["rep1"], filters={"overdue": "1"})
    assert list(rows) == [o]
    other = customer(org["rep1"])
    give_limit(other, "5000.00")
    submitted(org["rep1"], other, [line(catalogue["p1"], "1")])
    assert selectors.order_list(actor=org["rep1"], filters={"overdue": "1"}).count() == 1
    assert selectors.order_list(actor=org["rep1"]).count() == 2
    assert D(credit.figures["limit"]) == D("5000.00")
