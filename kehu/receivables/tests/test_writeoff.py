"""Write-off (R-CRD-11) through an approval case: the amount band of the policy picks the role; the preparer may not
approve; approval posts the write-off entry; rejection needs a comment and posts nothing."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from kehu.core.errors import KehuError, PermissionDenied, ValidationFailed
from kehu.core.tests.factories import user_with
from kehu.receivables import interface, services, writeoff
from kehu.receivables.exposure import exposure_check
from kehu.receivables.models import EntryKind, WriteOffStatus
from kehu.receivables.tests.conftest import days_ago

pytestmark = pytest.mark.django_db


def _invoice(fin, c, number, amount):
    return services.invoice_post(
        actor=fin,
        customer_id=c.pk,
        number=number,
        entry_date=days_ago(400),
        due_date=days_ago(370),
        amount=amount,
    )


@pytest.mark.parametrize(
    ("amount", "role"),
    [
        ("10000.00", "credit_manager"),
        ("10000.01", "general_manager"),
        ("100000.00", "general_manager"),
        ("100000.01", "credit_committee"),
    ],
)
def test_band_edges_route_to_the_policy_role(fin, org, cust, amount, role):
    inv = _invoice(fin, cust, "A", amount)
    wo = writeoff.write_off_request(
        actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
    )
    assert (wo.approver_role, wo.case.state) == (role, f"approval_{role}")


def test_approval_by_the_band_role_not_the_preparer(fin, org, cust):
    inv = _invoice(fin, cust, "A", "5000")
    manager = user_with(["credit_manager", "credit_officer"], username="cm1")
    wo = writeoff.write_off_request(
        actor=manager, customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
    )
    # the preparer holds the approving role but may not approve his own request
    with pytest.raises(ValidationFailed) as exc:
        writeoff.write_off_decide(actor=manager, write_off_id=wo.pk, approve=True)
    assert exc.value.rule == "guard"
    # a general manager has no task at the credit manager's band
    with pytest.raises(KehuError):
        writeoff.write_off_decide(actor=org["gm"], write_off_id=wo.pk, approve=True)
    other = user_with("credit_manager", username="cm2")
    wo = writeoff.write_off_decide(actor=other, write_off_id=wo.pk, approve=True)
    inv.refresh_from_db()
    assert wo.status == WriteOffStatus.APPROVED and wo.entry.kind == EntryKind.WRITE_OFF
    assert inv.open_amount == 0 and interface.credit_exposure(cust) == 0
    assert exposure_check() == []
    # the approved write-off cannot be reversed on the ledger
    with pytest.raises(ValidationFailed):
        services.entry_reverse(actor=fin, entry_id=wo.entry_id, entry_date=days_ago(0), reason="x")


def test_reject_needs_comment_and_posts_nothing(fin, org, cust):
    inv = _invoice(fin, cust, "A", "5000")
    wo = writeoff.write_off_request(
        actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
    )
    cm = user_with("credit_manager", username="cm3")
    with pytest.raises(ValidationFailed):
        writeoff.write_off_decide(actor=cm, write_off_id=wo.pk, approve=False)
    wo = writeoff.write_off_decide(actor=cm, write_off_id=wo.pk, approve=False, comment="继续催收")
    inv.refresh_from_db()
    assert wo.status == WriteOffStatus.REJECTED and inv.open_amount == D("5000.00")


def test_request_rules(fin, org, cust):
    inv = _invoice(fin, cust, "A", "100")
    with pytest.raises(PermissionDenied):
        writeoff.write_off_request(
            actor=org["rep1"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
        )
    with pytest.raises(ValidationFailed):
        writeoff.write_off_request(actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="")
    with pytest.raises(ValidationFailed):
        writeoff.write_off_request(
            actor=org["credit"], customer_id=cust.pk, invoice_ids=[], reason="客户已注销"
        )
    writeoff.write_off_request(
        actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
    )
    with pytest.raises(ValidationFailed) as exc:
        writeoff.write_off_request(
            actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
        )
    assert exc.value.rule == "pending"


def _tables_in_order(queries):
    """The ledger tables each captured query reads, in order (the SQL of every database names them)."""
    out = []
    for q in queries:
        sql = q["sql"].lower()
        for table in ("receivables_customerexposure", "receivables_writeoff", "receivables_entry"):
            if f'from "{table}"' in sql or f"from {table}" in sql:
                out.append((table, sql))
    return out


def test_approval_refused_when_open_amount_grew_after_the_request(fin, org, cust):
    """R-CRD-11: never more written off than the approval covered; a reversed receipt raised the open amount."""
    from kehu.core.models.audit import AuditEntry
    from kehu.receivables.models import Allocation, Entry

    inv = _invoice(fin, cust, "A", "1000")
    receipt = services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(3),
        lines=[{"method": "wire", "amount": "200"}],
        allocations=[{"invoice_id": inv.pk, "amount": "200"}],
    ).entry
    wo = writeoff.write_off_request(
        actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
    )
    assert wo.amount == D("800.00")
    services.entry_reverse(actor=fin, entry_id=receipt.pk, entry_date=days_ago(0), reason="银行退票")
    before = (Entry.objects.count(), Allocation.objects.count(), AuditEntry.objects.count())
    cm = user_with("credit_manager", username="cm5")
    with pytest.raises(ValidationFailed) as exc:
        writeoff.write_off_decide(actor=cm, write_off_id=wo.pk, approve=True)
    assert exc.value.rule == "approved_amount"
    assert (Entry.objects.count(), Allocation.objects.count(), AuditEntry.objects.count()) == before
    wo.refresh_from_db()
    inv.refresh_from_db()
    assert (wo.status, wo.entry_id, inv.open_amount) == (WriteOffStatus.PENDING, None, D("1000.00"))
    assert interface.credit_exposure(cust) == D("1000.00") and exposure_check() == []


def test_approval_locks_the_exposure_row_and_invoices_before_comparing(fin, org, cust):
    """The open amount is read under the customer's exposure-row lock (then the invoices, locked), so a posting
    running at the same time cannot raise it between the comparison and the write-off."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    inv = _invoice(fin, cust, "A", "500")
    wo = writeoff.write_off_request(
        actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
    )
    cm = user_with("credit_manager", username="cm6")
    with CaptureQueriesContext(connection) as ctx:
        writeoff.write_off_decide(actor=cm, write_off_id=wo.pk, approve=True)
    tables = _tables_in_order(ctx.captured_queries)
    first_lock = next(n for n, (t, _sql) in enumerate(tables) if t == "receivables_customerexposure")
    first_entry = next(n for n, (t, _sql) in enumerate(tables) if t == "receivables_entry")
    assert first_lock < first_entry
    if connection.vendor == "postgresql":
        assert "for update" in tables[first_lock][1] and "for update" in tables[first_entry][1]
    wo.refresh_from_db()
    assert wo.status == WriteOffStatus.APPROVED and exposure_check() == []


def test_request_locks_the_exposure_row_before_the_pending_check(fin, org, cust):
    """Two requests for the same invoice at the same time: the second waits for the first (customer's exposure
    row lock) and then sees it pending."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    inv = _invoice(fin, cust, "A", "500")
    with CaptureQueriesContext(connection) as ctx:
        writeoff.write_off_request(
            actor=org["credit"], customer_id=cust.pk, invoice_ids=[inv.pk], reason="客户已注销"
        )
    tables = _tables_in_order(ctx.captured_queries)
    locks = [n for n, (t, _sql) in enumerate(tables) if t == "receivables_customerexposure"]
    pending = next(n for n, (t, _sql) in enumerate(tables) if t == "receivables_writeoff")
    assert locks and locks[0] < pending
    if connection.vendor == "postgresql":
        assert "for update" in tables[locks[0]][1]
