"""Ownership and hand-over (R-CUS-10): reassign one customer, or hand over everything a departing rep holds to a
successor in one step.

What moves, in one transaction (rows locked first, so that two hand-overs of the same rep cannot both move the
same customers):

- every customer the leaver owns gets the successor as owner (department and region follow the owner, as in
  :func:`kehu.customers.services.customer_update`); the change is a timeline row (source "工作交接") and an audit
  entry;
- wherever the leaver is assigned staff, the successor takes the leaver's place (the staffing rule of R-CUS-03
  still holds afterwards, otherwise the hand-over is refused and names the customers);
- every open inbox task assigned to the leaver is reassigned to the successor (one audit entry per task);
- the contact history: the leaver's contact-log entries stay authored by the leaver (who made a contact is a fact
  and is never rewritten); they are counted and listed in the hand-over summary, together with the next steps
  still open, and they appear on the successor's customers, whose follow-up now belongs to the successor.

The successor receives one inbox task per customer to inform the customer's contacts; confirming it on the
hand-over page marks the item informed. :func:`handover_leftovers` lists whatever still stays with a person.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.models.org import RoleCode
from kehu.core.numbering import number_next, register_series
from kehu.customers.models import (
    ChangeField,
    ChangeSource,
    ContactLog,
    Customer,
    CustomerClass,
    HandOver,
    HandOverItem,
)
from kehu.customers.policies import staffing
from kehu.customers.services import AUDITED, _record_change
from kehu.workflow.engine import task_close, task_create
from kehu.workflow.models import Task, TaskState

SERIES = "HO"
register_series(SERIES, prefix="HO", width=5, label=gettext_lazy("工作交接单"))

# Who may own customers, and so receive them.
SUCCESSOR_ROLES = (RoleCode.SALES_REP, RoleCode.SALES_MANAGER)

KIND_HANDOVER = "handover"
KIND_REASSIGN = "reassign"


# --------------------------------------------------------------------------------------------------------------
# Who may do it
# --------------------------------------------------------------------------------------------------------------


def users_in_scope(actor: User) -> QuerySet[User]:
    """People whose work the actor may hand over (their department subtree or region; everyone for ALL)."""
    return access.restrict(actor, "customer.handover", User.objects.all()).select_related("department")


def eligible_successors(actor: User) -> QuerySet[User]:
    """Active sales reps and sales managers within the actor's scope."""
    return (
        users_in_scope(actor)
        .filter(is_active=True, roles__code__in=SUCCESSOR_ROLES)
        .distinct()
        .order_by("username")
    )


def _scoped_user(actor: User, user_id: int | None, field_name: str) -> User:
    if not user_id:
        raise ValidationFailed(
            _("请选择%(label)s。") % {"label": _("移交人") if field_name == "from_user" else _("接收人")},
            field=field_name,
            rule="required",
        )
    try:
        return access.get_scoped(actor, "customer.handover", User.objects.all(), pk=user_id)
    except NotFound:
        raise NotFound(_("该人员不在您的管理范围内。")) from None


def _check_successor(from_user: User, to_user: User) -> None:
    if to_user.pk == from_user.pk:
        raise ValidationFailed(_("接收人不能与移交人相同。"), field="to_user", rule="distinct")
    if not to_user.is_active:
        raise ValidationFailed(
            _("接收人 %(name)s 已停用，不能接收客户。") % {"name": to_user.label},
            field="to_user",
            rule="active",
        )
    if not to_user.has_role(*SUCCESSOR_ROLES):
        raise ValidationFailed(
            _("接收人 %(name)s 不是销售代表或销售经理，不能负责客户。") % {"name": to_user.label},
            field="to_user",
            rule="eligible",
        )


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("请填写交接原因。"), field="reason", rule="required")
    return reason


# --------------------------------------------------------------------------------------------------------------
# The plan: what will move (the preview) and, under lock, what moves
# --------------------------------------------------------------------------------------------------------------


@dataclass
class HandOverPlan:
    kind: str
    from_user: User
    to_user: User
    customers: list[Customer] = field(default_factory=list)  # owned by the leaver
    staffed: list[Customer] = field(default_factory=list)  # the leaver is assigned staff, not owner
    tasks: list[Task] = field(default_factory=list)
    contact_logs: dict[int, int] = field(default_factory=dict)  # customer id -> entries by the leaver
    next_steps: list[dict[str, Any]] = field(default_factory=list)
    staff_problems: list[Customer] = field(default_factory=list)
    extra_staff: User | None = None  # joins the teams that would fall below the policy's minimum
    staff_added: list[Customer] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.customers or self.staffed or self.tasks)

    @property
    def contact_log_count(self) -> int:
        return sum(self.contact_logs.values())

    def summary(self) -> dict[str, Any]:
        """What moves, as stored on the hand-over (the preview shows the same)."""

        def row(c: Customer) -> dict[str, Any]:
            return {
                "id": c.pk,
                "number": c.number,
                "name": c.name,
                "status": c.status,
                "contact_logs": self.contact_logs.get(c.pk, 0),
            }

        return {
            "kind": self.kind,
            "from_user": self.from_user.username,
            "to_user": self.to_user.username,
            "counts": {
                "customers": len(self.customers),
                "staff": len(self.staffed),
                "tasks": len(self.tasks),
                "contact_logs": self.contact_log_count,
            },
            "customers": [row(c) for c in self.customers],
            "staff": [row(c) for c in self.staffed],
            "tasks": [
                {"id": t.pk, "title": t.title, "due": t.due.isoformat() if t.due else None}
                for t in self.tasks
            ],
            "next_steps": self.next_steps,
            "staff_added": {
                "user": self.extra_staff.username if self.extra_staff else None,
                "customers": [row(c) for c in self.staff_added],
            },
        }


def _customers_qs(lock: bool) -> QuerySet[Customer]:
    qs = Customer.objects.all()
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.order_by("pk")


def _build_plan(
    kind: str,
    from_user: User,
    to_user: User,
    *,
    customer: Customer | None = None,
    lock: bool = False,
    extra_staff: User | None = None,
) -> HandOverPlan:
    plan = HandOverPlan(kind=kind, from_user=from_user, to_user=to_user, extra_staff=extra_staff)
    through = Customer.staff.through
    if customer is not None:  # one customer: its ownership, the owner's place in its staff, its open tasks
        plan.customers = [customer]
        ct = ContentType.objects.get_for_model(Customer)
        tasks = Task.objects.filter(
            assignee=from_user, state=TaskState.OPEN, target_type=ct, target_id=str(customer.pk)
        )
    else:
        owned = list(_customers_qs(lock).filter(owner=from_user))
        staffed_ids = through.objects.filter(user_id=from_user.pk).values("customer_id")
        staffed = list(_customers_qs(lock).filter(pk__in=staffed_ids).exclude(owner=from_user))
        plan.customers, plan.staffed = owned, staffed
        tasks = Task.objects.filter(assignee=from_user, state=TaskState.OPEN)
    if lock:
        tasks = tasks.select_for_update(of=("self",))
    plan.tasks = list(tasks.order_by("pk"))
    ids = [c.pk for c in plan.customers + plan.staffed]
    if ids:
        logs = ContactLog.objects.filter(staff=from_user, customer_id__in=ids)
        plan.contact_logs = dict(
            logs.values_list("customer_id").annotate(n=Count("pk")).values_list("customer_id", "n")
        )
        today = timezone.localdate()
        names = {c.pk: c.name for c in plan.customers + plan.staffed}
        plan.next_steps = [
            {
                "customer_id": cid,
                "customer": names.get(cid, ""),
                "contacted_at": timezone.localtime(at).date().isoformat(),
                "next_step": step,
                "due": due.isoformat() if due else None,
            }
            for cid, at, step, due in logs.exclude(next_step="")
            .filter(Q(next_step_due__isnull=True) | Q(next_step_due__gte=today))
            .order_by("next_step_due", "pk")
            .values_list("customer_id", "contacted_at", "next_step", "next_step_due")
        ]
    # the successor takes the leaver's place: important customers keep the policy's number of staff
    important = [c for c in plan.customers + plan.staffed if c.customer_class in _IMPORTANT]
    if important:
        policy, _version = staffing()
        teams: dict[int, set[int]] = {c.pk: set() for c in important}
        for cid, uid in through.objects.filter(customer_id__in=list(teams)).values_list(
            "customer_id", "user_id"
        ):
            teams[cid].add(uid)
        for c in important:
            team = teams[c.pk]
            if from_user.pk in team:
                team = (team - {from_user.pk}) | {to_user.pk}
            if c in plan.customers:
                team |= {to_user.pk}
            if len(team) >= policy.min_staff_important:
                continue
            if extra_staff is not None and len(team | {extra_staff.pk}) >= policy.min_staff_important:
                plan.staff_added.append(c)
            else:
                plan.staff_problems.append(c)
    return plan


_IMPORTANT = (CustomerClass.CORE, CustomerClass.IMPORTANT)


def _refuse_empty(plan: HandOverPlan) -> None:
    if plan.empty:
        raise ValidationFailed(
            _("%(name)s 名下没有需要交接的客户、跟进分配或待办，未做任何变更。")
            % {"name": plan.from_user.label},
            field="from_user",
            rule="nothing_to_hand_over",
        )


def _refuse_staffing(plan: HandOverPlan) -> None:
    if plan.staff_problems:
        policy, _version = staffing()
        raise ValidationFailed(
            _(
                "交接后以下核心或重要客户的跟进人员将少于 %(n)s 名：%(names)s。"
                "请选择一名“补充跟进人员”一并加入这些客户，或先为其增加跟进人员。"
            )
            % {"n": policy.min_staff_important, "names": "、".join(c.name for c in plan.staff_problems)},
            field="extra_staff",
            rule="min_staff",
        )


def _extra_staff(actor: User, extra_staff_id: int | None, from_user: User, to_user: User) -> User | None:
    """The optional extra staff member: an eligible sales person in scope, neither the leaver nor the successor."""
    if not extra_staff_id:
        return None
    extra = _scoped_user(actor, extra_staff_id, "extra_staff")
    if extra.pk in (from_user.pk, to_user.pk) or not eligible_successors(actor).filter(pk=extra.pk).exists():
        raise ValidationFailed(
            _("补充跟进人员须为在职的销售人员，且不能是移交人或接收人。"),
            field="extra_staff",
            rule="eligible",
        )
    return extra


def handover_preview(
    *, actor: User, from_user_id: int, to_user_id: int, extra_staff_id: int | None = None
) -> HandOverPlan:
    """What a hand-over of ``from_user`` to ``to_user`` would move, without writing anything."""
    access.require(actor, "customer.handover")
    from_user = _scoped_user(actor, from_user_id, "from_user")
    to_user = _scoped_user(actor, to_user_id, "to_user")
    _check_successor(from_user, to_user)
    extra = _extra_staff(actor, extra_staff_id, from_user, to_user)
    return _build_plan(KIND_HANDOVER, from_user, to_user, extra_staff=extra)


# --------------------------------------------------------------------------------------------------------------
# Performing it
# --------------------------------------------------------------------------------------------------------------


def _move_owner(c: Customer, plan: HandOverPlan, actor: User, on: dt.date, note: str, reason: str) -> None:
    before = audit.snapshot(c, AUDITED)
    staff_before = sorted(c.staff.values_list("username", flat=True))
    old_label = plan.from_user.label
    to = plan.to_user
    c.owner, c.department, c.region = to, to.department, to.region
    _record_change(
        c, actor, ChangeField.OWNER, old_label, to.label, on=on, source=ChangeSource.HANDOVER, note=note
    )
    c.save(update_fields=["owner", "department", "region", "updated_at"])
    c.staff.remove(plan.from_user)
    c.staff.add(to)
    changes = audit.diff(before, audit.snapshot(c, AUDITED))
    changes["staff"] = [staff_before, sorted(c.staff.values_list("username", flat=True))]
    audit.record(actor=actor, action="update", obj=c, changes=changes, reason=reason)


def _replace_staff(c: Customer, plan: HandOverPlan, actor: User, reason: str) -> None:
    staff_before = sorted(c.staff.values_list("username", flat=True))
    c.staff.remove(plan.from_user)
    c.staff.add(plan.to_user)
    audit.record(
        actor=actor,
        action="update",
        obj=c,
        changes={"staff": [staff_before, sorted(c.staff.values_list("username", flat=True))]},
        reason=reason,
    )


def _perform(plan: HandOverPlan, *, actor: User, reason: str) -> HandOver:
    now = timezone.now()
    on = timezone.localdate()
    ho = HandOver(
        number=number_next(SERIES),
        from_user=plan.from_user,
        to_user=plan.to_user,
        reason=reason,
        performed_by=actor,
        performed_at=now,
        customers_moved=len(plan.customers),
        staff_replaced=len(plan.staffed),
        tasks_moved=len(plan.tasks),
        contact_logs_moved=plan.contact_log_count,
        summary=plan.summary(),
    )
    ho.save()
    note = _("交接单 %(n)s") % {"n": ho.number}
    entry_reason = f"{ho.number} {reason}"
    for c in plan.customers:
        _move_owner(c, plan, actor, on, note, entry_reason)
    for c in plan.staffed:
        _replace_staff(c, plan, actor, entry_reason)
    for c in plan.staff_added:  # the extra staff member keeps the important customers' teams at the minimum
        staff_before = sorted(c.staff.values_list("username", flat=True))
        c.staff.add(plan.extra_staff)  # type: ignore[arg-type]
        audit.record(
            actor=actor,
            action="update",
            obj=c,
            changes={"staff": [staff_before, sorted(c.staff.values_list("username", flat=True))]},
            reason=entry_reason,
        )
    if plan.tasks:
        Task.objects.filter(pk__in=[t.pk for t in plan.tasks]).update(assignee=plan.to_user)
        for t in plan.tasks:
            audit.record(
                actor=actor,
                action="update",
                obj=t,
                changes={"assignee": [plan.from_user.username, plan.to_user.username]},
                reason=entry_reason,
            )
    items = HandOverItem.objects.bulk_create([HandOverItem(handover=ho, customer=c) for c in plan.customers])
    for item, c in zip(items, plan.customers, strict=True):
        task_create(
            target=item,
            title=_("告知客户联系人负责人变更：%(name)s") % {"name": c.name},
            assignee=plan.to_user,
            actor=actor,
        )
    audit.record(
        actor=actor,
        action="create",
        obj=ho,
        changes={
            "from_user": [None, plan.from_user.username],
            "to_user": [None, plan.to_user.username],
            "customers_moved": [None, ho.customers_moved],
            "staff_replaced": [None, ho.staff_replaced],
            "tasks_moved": [None, ho.tasks_moved],
            "contact_logs_moved": [None, ho.contact_logs_moved],
        },
        reason=reason,
    )
    return ho


@transaction.atomic
def handover_perform(
    *, actor: User, from_user_id: int, to_user_id: int, reason: str, extra_staff_id: int | None = None
) -> HandOver:
    """Hand over everything ``from_user`` holds to ``to_user`` (R-CUS-10). Refused when there is nothing to hand
    over (nothing is written then)."""
    access.require(actor, "customer.handover")
    reason = _reason(reason)
    from_user = _scoped_user(actor, from_user_id, "from_user")
    to_user = _scoped_user(actor, to_user_id, "to_user")
    _check_successor(from_user, to_user)
    # one hand-over of a person at a time: the second waits here and then finds what is left
    User.objects.select_for_update().filter(pk=from_user.pk).first()
    extra = _extra_staff(actor, extra_staff_id, from_user, to_user)
    plan = _build_plan(KIND_HANDOVER, from_user, to_user, lock=True, extra_staff=extra)
    _refuse_empty(plan)
    _refuse_staffing(plan)
    return _perform(plan, actor=actor, reason=reason)


@transaction.atomic
def customer_reassign(
    *, actor: User, customer_id: int, to_user_id: int, reason: str, extra_staff_id: int | None = None
) -> HandOver:
    """Give one customer a new owner through the hand-over path: timeline row, audit, the old owner's place in the
    staff, the old owner's open tasks on this customer, and the task to inform its contacts."""
    access.require(actor, "customer.handover")
    reason = _reason(reason)
    c = access.get_scoped(
        actor,
        "customer.handover",
        Customer.objects.select_for_update(of=("self",)).select_related("owner"),
        pk=customer_id,
    )
    to_user = _scoped_user(actor, to_user_id, "to_user")
    _check_successor(c.owner, to_user)
    extra = _extra_staff(actor, extra_staff_id, c.owner, to_user)
    plan = _build_plan(KIND_REASSIGN, c.owner, to_user, customer=c, lock=True, extra_staff=extra)
    _refuse_staffing(plan)
    return _perform(plan, actor=actor, reason=reason)


@transaction.atomic
def handover_item_inform(*, actor: User, item_id: int) -> HandOverItem:
    """The successor confirms that the customer's contacts were told who now looks after them."""
    try:
        item = (
            HandOverItem.objects.select_for_update(of=("self",))
            .select_related("handover", "customer")
            .get(pk=item_id)
        )
    except (HandOverItem.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    handover_get(actor=actor, pk=item.handover_id)  # 404 when the hand-over is out of reach
    if actor.pk != item.handover.to_user_id and not access.can(actor, "customer.handover"):
        raise PermissionDenied(_("只有接收人或其主管可以确认已告知联系人。"))
    if item.contacts_informed_at is not None:
        raise Conflict(_("已确认告知过该客户的联系人。"), field="item", rule="already_informed")
    item.contacts_informed_at = timezone.now()
    item.save(update_fields=["contacts_informed_at"])
    task_close(target=item, actor=actor)
    audit.record(
        actor=actor,
        action="update",
        obj=item,
        changes={"contacts_informed_at": [None, item.contacts_informed_at]},
    )
    return item


# --------------------------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Leftovers:
    customers: list[Customer]
    staffed: list[Customer]
    tasks: list[Task]

    @property
    def empty(self) -> bool:
        return not (self.customers or self.staffed or self.tasks)

    def as_dict(self) -> dict[str, Any]:
        return {
            "customers": [{"id": c.pk, "number": c.number, "name": c.name} for c in self.customers],
            "staff": [{"id": c.pk, "number": c.number, "name": c.name} for c in self.staffed],
            "tasks": [{"id": t.pk, "title": t.title} for t in self.tasks],
        }


def handover_leftovers(user: User) -> Leftovers:
    """Everything still with ``user``: customers owned, staff assignments, open tasks assigned to them."""
    through = Customer.staff.through
    return Leftovers(
        customers=list(Customer.objects.filter(owner=user).order_by("pk")),
        staffed=list(
            Customer.objects.filter(pk__in=through.objects.filter(user_id=user.pk).values("customer_id"))
            .exclude(owner=user)
            .order_by("pk")
        ),
        tasks=list(Task.objects.filter(assignee=user, state=TaskState.OPEN).order_by("pk")),
    )


def _visible_q(actor: User) -> Q:
    mine = Q(to_user=actor) | Q(from_user=actor) | Q(performed_by=actor)
    scope = access.scope_for(actor, "customer.handover")
    if scope is None:
        return mine
    if scope == access.Scope.ALL:
        return Q()
    people = users_in_scope(actor).values("pk")
    return mine | Q(from_user__in=people) | Q(to_user__in=people)


def handover_list(*, actor: User) -> QuerySet[HandOver]:
    """Hand-overs the actor may see, newest first, with the number of customers whose contacts were informed."""
    access.require(actor, "customer.handover")
    return (
        HandOver.objects.filter(_visible_q(actor))
        .select_related("from_user", "to_user", "performed_by")
        .annotate(informed=Count("items", filter=Q(items__contacts_informed_at__isnull=False)))
        .order_by("-performed_at", "-pk")
    )


def handover_get(*, actor: User, pk: int | str) -> HandOver:
    """One hand-over: for the managers in scope, and for the people involved (404 otherwise)."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied()
    try:
        return (
            HandOver.objects.filter(_visible_q(actor))
            .select_related("from_user", "to_user", "performed_by")
            .get(pk=pk)
        )
    except (HandOver.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def handover_items(handover: HandOver) -> QuerySet[HandOverItem]:
    return handover.items.select_related("customer", "customer__owner").order_by("customer__number")
