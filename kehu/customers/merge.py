"""Merging two dossiers of the same legal entity (R-CUS-11): an audited action approved on the workflow engine.

"Merge B into A": whoever may edit both customers (their owner, the sales manager of the department, the general
manager) asks with a reason; the request opens a case of the process ``customers.merge`` (submitted → approved /
rejected) decided by the general manager or the system administrator, never by the requester (segregation of
duties, guard ``not_preparer``). On approval, in the approver's transaction:

- contacts, contact-log entries, the assigned staff and the open tasks on B move to A;
- documents (attachments) move to A with their version chains and their own audit trails, except a document type
  A already holds a current version of: those stay on B, are listed in the merge as kept, and remain readable on
  B's dossier (A's own valid document is not displaced by an older copy);
- B ends with reason "merged" and points to A (``merged_into``); both dossiers get a timeline row (source "档案合并")
  whose old value is B's name, so B's name is found as a former name of A; B's own history (audit trail, timeline,
  documents kept) stays readable on B's dossier.

Rejection changes neither dossier.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.models.attachments import Attachment
from kehu.customers.documents import refresh_documents_summary
from kehu.customers.models import (
    ChangeField,
    ChangeSource,
    Contact,
    ContactGap,
    ContactLog,
    Customer,
    CustomerMerge,
    CustomerStatus,
    DocumentWarning,
    EndedReason,
    GroupDeadline,
    MergeState,
)
from kehu.customers.services import _record_change
from kehu.workflow import engine
from kehu.workflow.models import Case, Task, TaskState

DEFINITION = "customers_merge"
APPROVE, REJECT = "approve", "reject"

_registered = False


# --------------------------------------------------------------------------------------------------------------
# The process definition
# --------------------------------------------------------------------------------------------------------------


def _merge_of(case: Case) -> CustomerMerge:
    return CustomerMerge.objects.get(pk=int((case.data or {}).get("merge_id") or case.subject_id))


def _approvers(case: Case) -> list[User]:
    """Every active holder of an approving role, except the requester (one task each)."""
    roles = list(access.roles_with("customer.merge.approve"))
    return list(
        User.objects.filter(is_active=True, roles__code__in=roles).exclude(pk=case.opened_by_id).distinct()
    )


def _on_approve(case: Case, user: Any, data: dict[str, Any]) -> None:
    merge_apply(actor=user, merge=_merge_of(case), comment=str(data.get("comment", "")))


def _on_reject(case: Case, user: Any, data: dict[str, Any]) -> None:
    merge_reject_apply(actor=user, merge=_merge_of(case), comment=str(data.get("comment", "")))


def ensure_registered() -> None:
    """Declare the merge process with the workflow engine (once)."""
    global _registered
    if _registered:
        return
    roles = sorted(access.roles_with("customer.merge.approve"))
    engine.register_definition(
        engine.Definition(
            key=DEFINITION,
            name=gettext_lazy("客户档案合并审批"),
            level="L3",
            owner_role="general_manager",
            departments=["sales"],
            key_control_points=[
                gettext_lazy("合并须说明原因并经总经理批准"),
                gettext_lazy("申请人不得批准本人的合并申请"),
                gettext_lazy("被并入档案保留全部历史并标注并入去向"),
            ],
            kpis=[gettext_lazy("合并审批周期（工作日）")],
            initial="submitted",
            states=[
                engine.State(
                    "submitted", gettext_lazy("待审批"), assignee_role="general_manager", assignee=_approvers
                ),
                engine.State("approved", gettext_lazy("已批准"), final=True),
                engine.State("rejected", gettext_lazy("已驳回"), final=True),
            ],
            transitions=[
                engine.Transition(
                    APPROVE,
                    gettext_lazy("批准合并"),
                    source="submitted",
                    target="approved",
                    roles=roles,
                    guards=[engine.not_preparer()],
                    effects=[_on_approve],
                ),
                engine.Transition(
                    REJECT,
                    gettext_lazy("驳回"),
                    source="submitted",
                    target="rejected",
                    roles=roles,
                    comment_required=True,
                    guards=[engine.not_preparer()],
                    effects=[_on_reject],
                ),
            ],
        )
    )
    _registered = True


# --------------------------------------------------------------------------------------------------------------
# Request
# --------------------------------------------------------------------------------------------------------------


def _may_edit(actor: User, c: Customer) -> bool:
    if not access.can(actor, "customer.edit") or not access.in_scope(actor, "customer.edit", c):
        return False
    return access.scope_for(actor, "customer.edit") != access.Scope.OWN or c.owner_id == actor.pk


@transaction.atomic
def merge_request(*, actor: User, merged_id: int, survivor_id: int, reason: str) -> CustomerMerge:
    """Ask to merge dossier ``merged_id`` (B) into ``survivor_id`` (A); opens the approval case."""
    access.require(actor, "customer.merge.request")
    ensure_registered()
    qs = Customer.objects.select_for_update(of=("self",))
    merged = access.get_scoped(actor, "customer.view", qs, pk=merged_id)
    if str(survivor_id) == str(merged.pk):
        raise ValidationFailed(_("不能将档案合并到其自身。"), field="survivor", rule="distinct")
    survivor = access.get_scoped(actor, "customer.view", qs, pk=survivor_id)
    if not (_may_edit(actor, merged) and _may_edit(actor, survivor)):
        raise PermissionDenied(_("合并档案须对两个客户都有修改权限，或由主管办理。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写合并原因。"), field="reason", rule="required")
    if merged.status == CustomerStatus.ENDED:
        raise ValidationFailed(
            _("客户 %(name)s 已终止，不能再申请合并。") % {"name": merged.name}, field="merged", rule="ended"
        )
    if survivor.status == CustomerStatus.ENDED:
        raise ValidationFailed(
            _("保留档案 %(name)s 已终止或已并入其他档案，不能作为合并目标。") % {"name": survivor.name},
            field="survivor",
            rule="ended",
        )
    if CustomerMerge.objects.filter(merged=merged, state=MergeState.PENDING).exists():
        raise Conflict(
            _("客户 %(name)s 已有待审批的合并申请。") % {"name": merged.name}, field="merged", rule="pending"
        )
    if CustomerMerge.objects.filter(merged=survivor, state=MergeState.PENDING).exists():
        raise Conflict(
            _("保留档案 %(name)s 自身正在申请并入其他档案。") % {"name": survivor.name},
            field="survivor",
            rule="pending",
        )
    try:
        with transaction.atomic():
            m = CustomerMerge.objects.create(
                survivor=survivor,
                merged=merged,
                reason=reason,
                requested_by=actor,
                requested_at=timezone.now(),
            )
    except IntegrityError:  # a concurrent request for the same dossier committed first
        raise Conflict(
            _("客户 %(name)s 已有待审批的合并申请。") % {"name": merged.name}, field="merged", rule="pending"
        ) from None
    case = engine.case_open(
        actor=actor,
        definition_key=DEFINITION,
        subject=m,
        title=_("档案合并：%(b)s（%(bn)s）并入 %(a)s（%(an)s）")
        % {"b": merged.name, "bn": merged.number, "a": survivor.name, "an": survivor.number},
        data={
            "merge_id": m.pk,
            "merged": merged.number,
            "survivor": survivor.number,
            "reason": reason,
        },
    )
    m.case = case
    m.save(update_fields=["case"])
    audit.record(
        actor=actor,
        action="create",
        obj=m,
        changes={
            "merged": [None, merged.number],
            "survivor": [None, survivor.number],
            "state": [None, m.state],
            "case": [None, case.number],
        },
        reason=reason,
    )
    return m


# --------------------------------------------------------------------------------------------------------------
# Decision (through the engine) and its effects
# --------------------------------------------------------------------------------------------------------------


def merge_decide(*, actor: User, merge_id: int, decision: str, comment: str = "") -> CustomerMerge:
    """Approve or reject through the engine's case (the same path as the case page's buttons)."""
    if decision not in (APPROVE, REJECT):
        raise ValidationFailed(_("未知的决定。"), field="decision", rule="choices")
    m = merge_get(actor=actor, pk=merge_id)
    if m.case_id is None or m.state != MergeState.PENDING:
        raise Conflict(_("该合并申请已处理。"), field="state", rule="decided")
    engine.case_transition(
        actor=actor, case_id=m.case_id, transition=decision, comment=comment, expected_state="submitted"
    )
    return CustomerMerge.objects.select_related("survivor", "merged", "requested_by", "case").get(pk=m.pk)


def _lock(m: CustomerMerge) -> tuple[CustomerMerge, Customer, Customer]:
    m = CustomerMerge.objects.select_for_update().get(pk=m.pk)
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[m.survivor_id, m.merged_id])
    }
    return m, locked[m.survivor_id], locked[m.merged_id]


def merge_apply(*, actor: User, merge: CustomerMerge, comment: str = "") -> CustomerMerge:
    """Move everything movable from B to A and end B (runs in the approver's transaction)."""
    m, a, b = _lock(merge)
    if m.state != MergeState.PENDING:
        raise Conflict(_("该合并申请已处理。"), field="state", rule="decided")
    if a.status == CustomerStatus.ENDED:
        raise Conflict(
            _("保留档案 %(name)s 已终止或已并入其他档案，不能合并；请驳回本申请。") % {"name": a.name},
            field="survivor",
            rule="ended",
        )
    if b.status == CustomerStatus.ENDED:
        raise Conflict(
            _("客户 %(name)s 已终止，不能合并；请驳回本申请。") % {"name": b.name},
            field="merged",
            rule="ended",
        )
    now = timezone.now()
    on = timezone.localdate()
    reason = _("合并申请 #%(id)s：%(reason)s") % {"id": m.pk, "reason": m.reason}

    # contacts (the contact log refers to them, so they move together)
    contacts = list(Contact.objects.filter(customer=b).order_by("pk"))
    Contact.objects.filter(pk__in=[x.pk for x in contacts]).update(customer=a)
    for x in contacts:
        audit.record(
            actor=actor, action="update", obj=x, changes={"customer": [b.number, a.number]}, reason=reason
        )
    log_ids = list(ContactLog.objects.filter(customer=b).order_by("pk").values_list("pk", flat=True))
    ContactLog.objects.filter(pk__in=log_ids).update(customer=a)
    last = ContactLog.objects.filter(customer=a).aggregate(m=Max("contacted_at"))["m"]

    # staff: B's team joins A's; B keeps its owner only
    staff_a = sorted(a.staff.values_list("username", flat=True))
    moved_staff = list(b.staff.exclude(pk=b.owner_id).order_by("username"))
    a.staff.add(*b.staff.all())
    b.staff.set([b.owner])

    # documents
    ct_customer = ContentType.objects.get_for_model(Customer)
    held = set(
        Attachment.objects.filter(content_type=ct_customer, object_id=str(a.pk), current=True)
        .exclude(doc_type="")
        .values_list("doc_type", flat=True)
    )
    docs = list(Attachment.objects.filter(content_type=ct_customer, object_id=str(b.pk)).order_by("pk"))
    moved_docs = [d for d in docs if not d.doc_type or d.doc_type not in held]
    kept_docs = [d for d in docs if d not in moved_docs]
    Attachment.objects.filter(pk__in=[d.pk for d in moved_docs]).update(object_id=str(a.pk))
    for d in moved_docs:
        audit.record(
            actor=actor, action="update", obj=d, changes={"object_id": [str(b.pk), str(a.pk)]}, reason=reason
        )
    DocumentWarning.objects.filter(attachment__in=[d.pk for d in moved_docs]).update(customer=a)

    # open tasks: those on B itself go to A; reminders about B's own deadlines and contact gaps end with B
    tasks = list(
        Task.objects.filter(target_type=ct_customer, target_id=str(b.pk), state=TaskState.OPEN).order_by("pk")
    )
    Task.objects.filter(pk__in=[t.pk for t in tasks]).update(target_id=str(a.pk))
    for t in tasks:
        audit.record(
            actor=actor, action="update", obj=t, changes={"target": [b.number, a.number]}, reason=reason
        )
    closed = 0
    for gap in ContactGap.objects.filter(customer=b, closed_at__isnull=True):
        gap.closed_at = now
        gap.save(update_fields=["closed_at"])
        closed += engine.task_close(target=gap, actor=actor)
    for deadline in GroupDeadline.objects.filter(customer=b, completed_at__isnull=True):
        closed += engine.task_close(target=deadline, actor=actor)

    # B ends, pointing to A; both timelines say so
    b_before = {"status": b.status, "ended_reason": b.ended_reason, "merged_into": None}
    b.status, b.ended_reason, b.merged_into, b.status_changed_at = (
        CustomerStatus.ENDED,
        EndedReason.MERGED,
        a,
        now,
    )
    b.save(update_fields=["status", "ended_reason", "merged_into", "status_changed_at", "updated_at"])
    if last is not None and (a.last_contact_at is None or last > a.last_contact_at):
        a.last_contact_at = last
        a.save(update_fields=["last_contact_at", "updated_at"])
    _record_change(
        a,
        actor,
        ChangeField.NAME,
        b.name,
        a.name,
        on=on,
        source=ChangeSource.MERGE,
        note=_("档案 %(n)s 并入本档案") % {"n": b.number},
    )
    _record_change(
        b,
        actor,
        ChangeField.NAME,
        b.name,
        a.name,
        on=on,
        source=ChangeSource.MERGE,
        note=_("本档案已并入 %(n)s") % {"n": a.number},
    )
    refresh_documents_summary(a)
    refresh_documents_summary(b)
    from kehu.customers.search import refresh_search

    refresh_search(a)  # B's name, now a former name, and B's contacts are found on A
    refresh_search(b)

    m.moved = {
        "contacts": [x.pk for x in contacts],
        "contact_logs": log_ids,
        "staff": [u.username for u in moved_staff],
        "attachments": [d.pk for d in moved_docs],
        "attachments_kept": [d.pk for d in kept_docs],
        "tasks": [t.pk for t in tasks],
        "tasks_closed": closed,
    }
    m.state, m.decided_at = MergeState.DONE, now
    m.save(update_fields=["state", "decided_at", "moved"])
    audit.record(
        actor=actor,
        action="transition",
        obj=b,
        changes={
            "status": [b_before["status"], b.status],
            "ended_reason": [b_before["ended_reason"], b.ended_reason],
            "merged_into": [None, a.number],
        },
        reason=reason,
    )
    audit.record(
        actor=actor,
        action="update",
        obj=a,
        changes={
            "merged_in": [None, b.number],
            "staff": [staff_a, sorted(a.staff.values_list("username", flat=True))],
            "contacts": [None, len(contacts)],
            "contact_logs": [None, len(log_ids)],
            "attachments": [None, len(moved_docs)],
        },
        reason=reason,
    )
    audit.record(
        actor=actor,
        action="decision",
        obj=m,
        changes={"state": [MergeState.PENDING, MergeState.DONE], "moved": m.moved},
        reason=comment,
    )
    return m


def merge_reject_apply(*, actor: User, merge: CustomerMerge, comment: str = "") -> CustomerMerge:
    m = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    if m.state != MergeState.PENDING:
        raise Conflict(_("该合并申请已处理。"), field="state", rule="decided")
    m.state, m.decided_at = MergeState.REJECTED, timezone.now()
    m.save(update_fields=["state", "decided_at"])
    audit.record(
        actor=actor,
        action="decision",
        obj=m,
        changes={"state": [MergeState.PENDING, MergeState.REJECTED]},
        reason=comment,
    )
    return m


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


def merge_get(*, actor: User, pk: int | str) -> CustomerMerge:
    """One merge: visible to whoever sees one of the two dossiers, or takes part in its case (404 otherwise)."""
    try:
        m = CustomerMerge.objects.select_related(
            "survivor", "merged", "requested_by", "case", "survivor__owner", "merged__owner"
        ).get(pk=pk)
    except (CustomerMerge.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    visible = access.restrict(
        actor, "customer.view", Customer.objects.filter(pk__in=[m.survivor_id, m.merged_id])
    ).exists()
    if not visible and not (m.case is not None and engine.can_view_case(actor, m.case)):
        raise NotFound()
    return m


def merges_of(customer: Customer) -> QuerySet[CustomerMerge]:
    """Merge requests involving a dossier (into it or out of it), newest first."""
    return (
        CustomerMerge.objects.filter(Q(survivor=customer) | Q(merged=customer))
        .select_related("survivor", "merged", "requested_by", "case")
        .order_by("-requested_at", "-pk")
    )


def merged_into_list(customer: Customer) -> list[CustomerMerge]:
    """The dossiers merged into this one (done merges)."""
    return list(
        CustomerMerge.objects.filter(survivor=customer, state=MergeState.DONE)
        .select_related("merged")
        .order_by("-decided_at")
    )


def merge_targets(*, actor: User, merged: Customer) -> QuerySet[Customer]:
    """Dossiers the actor may offer as survivor: within edit scope, not ended, not the merged one."""
    qs = access.restrict(actor, "customer.edit", Customer.objects.all()).exclude(status=CustomerStatus.ENDED)
    if access.scope_for(actor, "customer.edit") == access.Scope.OWN:
        qs = qs.filter(owner=actor)
    return qs.exclude(pk=merged.pk).order_by("number")
