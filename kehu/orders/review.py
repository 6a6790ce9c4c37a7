"""The order review (R-ORD-03, R-ORD-04): the services behind the ``orders_review`` process.

The lock order is the one of every order service: the order row first, then the review case (engine), then the
customer's exposure row (when the decision releases it), the audit trail last. :func:`order_review` locks the
order row before it asks the engine to move the case, so a decision and an amendment or cancellation of the same
order are serialised on the order row; two decisions on the same step are too, and the later one is a Conflict.
"""

from __future__ import annotations

from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied
from kehu.core.models import User
from kehu.core.models.audit import AuditAction
from kehu.orders import policies
from kehu.orders.models import ZERO, Order, OrderStatus
from kehu.orders.workflow import KEY, STEPS
from kehu.workflow import engine
from kehu.workflow.models import Case, CaseEvent, TaskState


def _order_ct() -> ContentType:
    return ContentType.objects.get_for_model(Order)


def open_case(order: Order) -> Case | None:
    """The order's review case still open, if any."""
    return (
        Case.objects.filter(
            definition__key=KEY, subject_type=_order_ct(), subject_id=str(order.pk), closed_at__isnull=True
        )
        .select_related("definition_version")
        .first()
    )


def latest_case(order: Order) -> Case | None:
    """The order's newest review case (open or closed)."""
    return (
        Case.objects.filter(definition__key=KEY, subject_type=_order_ct(), subject_id=str(order.pk))
        .select_related("definition_version")
        .order_by("-opened_at", "-pk")
        .first()
    )


def case_events(case: Case) -> list[CaseEvent]:
    return list(case.events.select_related("actor", "acting_for").order_by("seq"))


def order_of(case: Case, lock: bool = False) -> Order:
    qs = Order.objects.select_related("customer")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.get(pk=int(case.subject_id))


# ---------------------------------------------------------------------------------------------------------------
# Opening and closing with the order's status


def sync_case(order: Order, *, actor: Any, why: str = "") -> None:
    """Called by the order services after the order's status was set (order row and exposure row locked): an open
    case ends (``withdrawn``) when the order left the review or was checked again; an order now waiting for its
    review gets a new case, so a changed order is reviewed from the first step."""
    case = open_case(order)
    if case is not None:
        engine.case_withdraw(actor=actor, case_id=case.pk, state="withdrawn", reason=why)
    if order.status == OrderStatus.REVIEW_PENDING:
        case = engine.case_open(
            actor=actor,
            definition_key=KEY,
            subject=order,
            title=_("订单评审 %(n)s %(c)s") % {"n": order.number, "c": order.customer.name},
            department=order.customer.department,
        )
        apply_deadline(case)


def apply_deadline(case: Case) -> None:
    """The current step's deadline in working days from policy ``orders.review``."""
    if case.closed_at is not None:
        return
    policy, _v = policies.review()
    days = policy.step_days.get(case.state)
    if not days:
        return
    due = engine.deadline_for(timezone.localdate(), days)
    Case.objects.filter(pk=case.pk).update(state_due=due)
    case.state_due = due
    case.tasks.filter(state=TaskState.OPEN, case_state=case.state).update(due=due)


# ---------------------------------------------------------------------------------------------------------------
# Assignees and guards


def step_holders(case: Case, step: str) -> list[Any]:
    """Active holders of the step's role (policy ``orders.review``); for the sales step only those of the order's
    department or above it. Empty: the engine gives the task to the step's fallback role."""
    policy, _v = policies.review()
    users = User.objects.filter(is_active=True, roles__code=policy.role(step)).distinct()
    if step == "sales" and case.department_id:
        path = case.department.path if case.department else ""
        ancestors = [int(x) for x in (path or "").strip("/").split("/") if x] or [case.department_id]
        users = users.filter(department_id__in=ancestors)
    return list(users[:50])


def guard_step_role(case: Case, user: Any) -> str | None:
    policy, _v = policies.review()
    role = policy.role(case.state)
    _task, acting_for = engine.acting_task(case, user)
    if user.has_role(role) or (acting_for is not None and acting_for.has_role(role)):
        return None
    return _("该评审环节须由%(role)s办理。") % {"role": _role_label(role)}


def guard_not_submitter(case: Case, user: Any) -> str | None:
    if user.pk == case.opened_by_id:
        return _("职责分离：提交订单的人不得审批该订单。")
    return None


def _role_label(code: str) -> str:
    from kehu.orders.services import role_label

    return role_label(code)


# ---------------------------------------------------------------------------------------------------------------
# Effects (the case has moved; the order row is locked by order_review, or here when the engine's own pages move
# the case)


def on_opinion(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """The step's opinion, reviewer and time on the case (R-ORD-04); the next step's deadline."""
    event = case.events.select_related("acting_for").order_by("-seq").first()
    if event is not None:
        opinions = list((case.data or {}).get("opinions", []))
        deputy_for = event.acting_for
        opinions.append(
            {
                "step": event.from_state,
                "transition": event.transition,
                "opinion": event.comment,
                "reviewer_id": actor.pk,
                "reviewer": actor.label if hasattr(actor, "label") else str(actor),
                # a deputy's opinion names whom they stood in for, as the case event does
                **(
                    {"acting_for_id": deputy_for.pk, "acting_for": deputy_for.label}
                    if deputy_for is not None
                    else {}
                ),
                "at": event.at.isoformat(),
            }
        )
        case.data = {**(case.data or {}), "opinions": opinions}
        Case.objects.filter(pk=case.pk).update(data=case.data)
    apply_deadline(case)


def on_approved(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """Management approved: the order is approved (it counts in exposure since it went to review)."""
    from kehu.orders import execution, services

    order = order_of(case, lock=True)
    if order.status != OrderStatus.REVIEW_PENDING:
        raise Conflict(_("订单已不在待评审状态。"), field="status", rule="state")
    services.approve(order)
    order.save(update_fields=["status", "approved_at", "updated_at"])
    execution.sync_task(order, actor)
    audit.record(
        actor=actor,
        action=AuditAction.DECISION,
        obj=order,
        changes={
            "status": [OrderStatus.REVIEW_PENDING, order.status],
            "review": "approved",
            "case": case.number,
        },
        reason=data.get("comment", ""),
    )


def on_rejected(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """Management rejected: the order is cancelled through the cancel path (its exposure released at once)."""
    from kehu.orders import services

    order = order_of(case, lock=True)
    if order.status != OrderStatus.REVIEW_PENDING:
        raise Conflict(_("订单已不在待评审状态。"), field="status", rule="state")
    services.cancel_locked(order, actor=actor, reason=data.get("comment", ""), how="review_rejected")


def on_returned(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """Sent back to sales: the order goes back to draft, its exposure released; the next submit runs every check."""
    from kehu.orders import adapters, execution, services

    order = order_of(case, lock=True)
    if order.status != OrderStatus.REVIEW_PENDING:
        raise Conflict(_("订单已不在待评审状态。"), field="status", rule="state")
    if order.counted_amount:
        adapters.exposure_lock(order.customer)
        services.move_counted(order, ZERO)
    order.status = OrderStatus.DRAFT
    order.save()
    execution.sync_task(order, actor)
    audit.record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=order,
        changes={
            "status": [OrderStatus.REVIEW_PENDING, order.status],
            "review": "returned",
            "case": case.number,
            "counted_amount": str(order.counted_amount),
        },
        reason=data.get("comment", ""),
    )


# ---------------------------------------------------------------------------------------------------------------
# The decision service (pages and API)


def _may_see(actor: Any, order: Order, case: Case | None) -> bool:
    if access.can(actor, "orders.order.view") and access.in_scope(actor, "orders.order.view", order):
        return True
    return case is not None and engine.acting_task(case, actor)[0] is not None


@transaction.atomic
def order_review(
    *, actor: Any, order_id: Any, transition: str, comment: str = "", expected_state: str | None = None
) -> Order:
    """Take a step of the order's review (R-ORD-03, R-ORD-04): lock the order row, then move its open case.

    ``expected_state`` is the step the user saw: when the case has moved on since (another reviewer decided
    first), the call is a Conflict and nothing changes."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied()
    try:
        order = Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    case = open_case(order)
    if not _may_see(actor, order, case):
        raise NotFound()
    if case is None or order.status != OrderStatus.REVIEW_PENDING:
        raise Conflict(_("订单不在评审中，请刷新后重试。"), field="status", rule="state")
    if expected_state and expected_state != case.state:
        raise Conflict(_("评审已由他人办理，请刷新后重试。"), field="state", rule="stale")
    if engine.acting_task(case, actor)[0] is None:
        raise PermissionDenied(_("该评审环节不由您办理。"), field="transition", rule="assignee")
    engine.case_transition(
        actor=actor,
        case_id=case.pk,
        transition=transition,
        comment=comment,
        expected_state=expected_state or case.state,
    )
    order.refresh_from_db()
    return order


def actions_for(case: Case | None, user: Any) -> list[Any]:
    """The review transitions the user may take now (empty when none)."""
    if case is None or case.closed_at is not None:
        return []
    return engine.allowed_transitions(case, user)


def step_keys() -> tuple[str, ...]:
    return STEPS
