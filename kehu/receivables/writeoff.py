"""Write-off of uncollectible receivables through an approval case (R-CRD-11)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import ValidationFailed
from kehu.core.numbering import number_next, register_series
from kehu.receivables import policies
from kehu.receivables.models import ZERO, Entry, EntryKind, WriteOff, WriteOffStatus
from kehu.receivables.selectors import customer_get
from kehu.receivables.services import _lock_row, write_off_entry
from kehu.receivables.workflow import KEY

register_series("rcv_write_off_request", prefix="HXSQ", width=5, label=_("坏账核销申请"))


@transaction.atomic
def write_off_request(*, actor: Any, customer_id: Any, invoice_ids: Sequence[Any], reason: str) -> WriteOff:
    """Request the write-off of the whole open amount of the chosen invoices; the case goes straight to the
    approval of the role the amount band of the policy requires."""
    from kehu.workflow.engine import case_open, case_transition

    access.require(actor, "receivables.writeoff.request")
    customer = customer_get(actor, "receivables.writeoff.request", customer_id)
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise ValidationFailed(_("请写明核销理由（不少于4个字）。"), field="reason", rule="required")
    try:
        ids = sorted({int(i) for i in invoice_ids})
    except (TypeError, ValueError):
        raise ValidationFailed(_("请选择要核销的发票。"), field="invoice_ids", rule="invoice") from None
    if not ids:
        raise ValidationFailed(_("请选择要核销的发票。"), field="invoice_ids", rule="required")
    # Lock the customer's exposure row before reading the open amounts and looking for pending requests: two
    # requests for the same invoices at the same time run one after the other, and the second sees the first.
    _lock_row(customer.pk)
    invoices = list(
        Entry.objects.filter(customer=customer, kind=EntryKind.INVOICE, pk__in=ids, open_amount__gt=0)
    )
    if len(invoices) != len(ids):
        raise ValidationFailed(
            _("所选发票须属于该客户且尚有未清金额。"), field="invoice_ids", rule="open_invoice"
        )
    pending = WriteOff.objects.filter(customer=customer, status=WriteOffStatus.PENDING).values_list(
        "invoice_ids", flat=True
    )
    if any(set(ids) & set(p) for p in pending):
        raise ValidationFailed(_("所选发票已在核销审批中。"), field="invoice_ids", rule="pending")
    amount = sum((inv.open_amount for inv in invoices), ZERO)
    policy, version = policies.write_off()
    role = policy.role_for(amount)
    wo = WriteOff.objects.create(
        customer=customer,
        number=number_next("rcv_write_off_request"),
        invoice_ids=ids,
        amount=amount,
        reason=reason[:4000],
        approver_role=role,
        policy_version_id=version,
        prepared_by=actor,
    )
    case = case_open(
        actor=actor,
        definition_key=KEY,
        subject=wo,
        title=_("坏账核销 %(n)s：%(c)s %(a)s") % {"n": wo.number, "c": customer.name, "a": amount},
        data={"approver_role": role, "amount": str(amount)},
    )
    wo.case = case
    wo.save(update_fields=["case"])
    wo.case = case_transition(
        actor=actor, case_id=case.pk, transition=f"submit_{role}", comment=reason[:4000]
    )
    audit.record(
        actor=actor,
        action="create",
        obj=wo,
        changes={"amount": str(amount), "invoices": ids, "approver_role": role},
        reason=reason,
        policy_version=version,
        confidential=True,
    )
    return wo


def write_off_decide(*, actor: Any, write_off_id: Any, approve: bool, comment: str = "") -> WriteOff:
    """Approve or reject through the case (the engine checks the role, the preparer rule and the state)."""
    from kehu.workflow.engine import case_transition

    wo = access.get_scoped(actor, "receivables.writeoff.view", WriteOff.objects.all(), pk=write_off_id)
    if wo.case_id is None:
        raise ValidationFailed(_("该核销申请没有审批流程。"), field="case", rule="missing")
    case_transition(
        actor=actor, case_id=wo.case_id, transition="approve" if approve else "reject", comment=comment
    )
    wo.refresh_from_db()
    return wo


def write_off_approved(*, case: Any, actor: Any) -> None:
    """The approval's effect: post the write-off entry (inside the transition's transaction)."""
    wo = WriteOff.objects.select_for_update().get(case=case)
    if wo.status != WriteOffStatus.PENDING:
        return
    # Lock first (the one order: exposure row, then the entries by id), then compare: no posting can raise the
    # open amount between the comparison and the write-off.
    _lock_row(wo.customer_id)
    invoices = list(
        Entry.objects.select_for_update()
        .filter(customer_id=wo.customer_id, kind=EntryKind.INVOICE, pk__in=wo.invoice_ids)
        .order_by("pk")
    )
    invoices = [inv for inv in invoices if inv.open_amount > 0]
    now_open = sum((inv.open_amount for inv in invoices), ZERO)
    if now_open > wo.amount:
        raise ValidationFailed(
            _("发票未清金额 %(open)s 已超过批准核销的金额 %(approved)s，不能核销多于批准的金额，请重新申请。")
            % {"open": now_open, "approved": wo.amount},
            field="amount",
            rule="approved_amount",
        )
    entry = write_off_entry(
        actor=actor,
        customer=wo.customer,
        invoice_ids=[inv.pk for inv in invoices],
        day=timezone.localdate(),
        reason=wo.reason,
        number=wo.number,
    )
    wo.status, wo.entry = WriteOffStatus.APPROVED, entry
    wo.save(update_fields=["status", "entry"])
    audit.record(
        actor=actor, action="decision", obj=wo, changes={"status": ["pending", "approved"]}, confidential=True
    )


def write_off_rejected(*, case: Any, actor: Any) -> None:
    wo = WriteOff.objects.select_for_update().get(case=case)
    wo.status = WriteOffStatus.REJECTED
    wo.save(update_fields=["status"])
    audit.record(
        actor=actor, action="decision", obj=wo, changes={"status": ["pending", "rejected"]}, confidential=True
    )
