"""Order execution (R-ORD-05) and the order archive (R-ORD-06).

After approval, management names the responsible person in an **execution notice** with the delivery deadline and
the quality requirements (the order goes to "in execution" and the person gets a to-do due on the deadline).
**Deliveries** (partial allowed, by line and quantity) and **invoices** move the order's amount through the
customer's exposure: approved open order → unbilled delivery → receivable (the invoice is posted to the
receivables ledger). What an order counts moves with it: an order that counted nothing (payment terms that take
no credit) moves nothing but its invoice. Fully delivered and invoiced, the order is completed. Cancelling an order
releases what is still undelivered; delivered goods stay in the unbilled deliveries until invoiced.

The lock order is the one of every order service: the order row, then the customer's exposure row, then numbering
and the audit head.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, F, Max, QuerySet, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditAction
from kehu.core.numbering import number_next
from kehu.core.numbering import register_series as _register_series
from kehu.orders import adapters, policies
from kehu.orders.models import (
    ZERO,
    AmendmentCause,
    Delivery,
    DeliveryLine,
    ExecutionNotice,
    FeedbackKind,
    Order,
    OrderAmendment,
    OrderFeedback,
    OrderInvoice,
    OrderLine,
    OrderStatus,
)
from kehu.orders.policies import MAX_AMOUNT, MAX_QUANTITY
from kehu.workflow import engine
from kehu.workflow.models import Task, TaskState

NOTICE_SERIES = "ORDER_NOTICE"
DELIVERY_SERIES = "ORDER_DELIVERY"
CENT = Decimal("0.01")

# statuses in which a notice may be issued, goods may still be delivered, and delivered goods may be invoiced
ASSIGNABLE = (OrderStatus.APPROVED, OrderStatus.EXECUTING)
DELIVERABLE = (OrderStatus.EXECUTING,)
INVOICEABLE = (OrderStatus.EXECUTING, OrderStatus.COMPLETED, OrderStatus.CANCELLED)


def register_series() -> None:
    _register_series(NOTICE_SERIES, prefix="ZXTZ", width=6, label=_("订单执行通知"))
    _register_series(DELIVERY_SERIES, prefix="FH", width=6, label=_("发货单"))


def _day(value: Any, *, field: str, label: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationFailed(
            _("%(label)s不是有效日期（YYYY-MM-DD）。") % {"label": label}, field=field, rule="date"
        ) from None


def _number(value: Any, *, field: str, label: str, places: int, maximum: Decimal) -> Decimal:
    """A positive amount or quantity, read as the order lines are (the same messages and rules)."""
    from kehu.orders.services import _decimal

    d = _decimal(value, field, label, places=places, required=True, maximum=maximum)
    if d is None or d <= 0:
        raise ValidationFailed(_("%(label)s须大于零。") % {"label": label}, field=field, rule="positive")
    return d


def _locked(order_id: Any) -> Order:
    try:
        return Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=int(order_id))
    except (Order.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None


def _order_for(actor: Any, order_id: Any, action: str, *, responsible_may: bool = False) -> Order:
    """The order locked, when the actor may do ``action`` on it (within scope), or is its responsible person and
    ``responsible_may``. Someone who may not see the order gets NotFound, as everywhere."""
    if not getattr(actor, "is_authenticated", False):
        raise PermissionDenied()
    order = _locked(order_id)
    if allowed(actor, action, order, responsible_may=responsible_may):
        return order
    if access.can(actor, "orders.order.view") and access.in_scope(actor, "orders.order.view", order):
        raise PermissionDenied()
    raise NotFound()


def allowed(actor: Any, action: str, order: Order, *, responsible_may: bool = False) -> bool:
    """Whether the actor may do ``action`` on the order: within the action's scope, or as the order's responsible
    person when ``responsible_may``."""
    if responsible_may and order.responsible_id is not None and order.responsible_id == actor.pk:
        return True
    return access.can(actor, action) and access.in_scope(actor, action, order)


def feedback_open(order: Order) -> bool:
    """Customer feedback is recorded on an order in execution or completed, or one with deliveries."""
    return order.status in (OrderStatus.EXECUTING, OrderStatus.COMPLETED) or order.deliveries.exists()


def actions_for(actor: Any, order: Order) -> dict[str, bool]:
    """What the actor may do now on the order's execution (the order page shows those forms): the same state and
    permission rules the services apply."""
    return {
        "can_assign": order.status in ASSIGNABLE and allowed(actor, "orders.order.assign", order),
        "can_deliver": order.status in DELIVERABLE
        and allowed(actor, "orders.delivery.post", order, responsible_may=True),
        "can_invoice": order.status in INVOICEABLE
        and order.unbilled > 0
        and allowed(actor, "orders.invoice.post", order),
        "can_feedback": feedback_open(order)
        and allowed(actor, "orders.delivery.post", order, responsible_may=True),
    }


def _status_label(order: Order) -> str:
    return str(OrderStatus(order.status).label)


def retain_until(order: Order) -> dt.date | None:
    """The first day the order's archive and review records may be disposed of (R-ORD-06): the end of the order
    (completed or cancelled) plus the policy's retention years; None while the order is open."""
    end = order.completed_at or order.cancelled_at
    if end is None or order.status not in (OrderStatus.COMPLETED, OrderStatus.CANCELLED):
        return None
    policy, _version = policies.execution()
    day = timezone.localtime(end).date()
    try:
        return day.replace(year=day.year + policy.retention_years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + policy.retention_years, day=28)


# ---------------------------------------------------------------------------------------------------------------
# Execution notice


@transaction.atomic
def order_assign(
    *,
    actor: Any,
    order_id: Any,
    responsible_id: Any,
    delivery_deadline: Any,
    quality_requirements: str,
    production_plan: str = "",
) -> ExecutionNotice:
    """Issue the execution notice of an approved order (R-ORD-05): the responsible person, the delivery deadline
    (not before today, not after the customer's requested date) and the quality requirements. A new notice on an
    order in execution supersedes the earlier one (the earlier person's to-do closes)."""
    from kehu.core.models import User

    order = _order_for(actor, order_id, "orders.order.assign")
    if order.status not in ASSIGNABLE:
        raise Conflict(
            _("订单状态为“%(s)s”，只有已批准或执行中的订单可以下达执行通知。") % {"s": _status_label(order)},
            field="status",
            rule="state",
        )
    if not str(responsible_id or "").isdigit():
        raise ValidationFailed(_("执行责任人必须指定。"), field="responsible", rule="required")
    person = User.objects.filter(pk=int(responsible_id), is_active=True).first()
    if person is None:
        raise ValidationFailed(_("执行责任人不存在或已停用。"), field="responsible", rule="exists")
    deadline = _day(delivery_deadline, field="delivery_deadline", label=_("交付期限"))
    if deadline < timezone.localdate():
        raise ValidationFailed(_("交付期限不能早于今天。"), field="delivery_deadline", rule="not_past")
    if deadline > order.requested_date:
        raise ValidationFailed(
            _("交付期限不能晚于客户要求交货日期 %(d)s；客户同意延期时，请先变更订单。")
            % {"d": order.requested_date.isoformat()},
            field="delivery_deadline",
            rule="after_requested",
        )
    quality = (quality_requirements or "").strip()
    if not quality:
        raise ValidationFailed(_("质量要求必须填写。"), field="quality_requirements", rule="required")
    previous = order.notices.order_by("-issued_at", "-pk").first()
    number = number_next(NOTICE_SERIES)  # the fixed order: order row, numbering, then the audit head
    engine.task_close(target=order, actor=actor)
    notice = ExecutionNotice.objects.create(
        order=order,
        number=number,
        responsible=person,
        delivery_deadline=deadline,
        quality_requirements=quality,
        production_plan=(production_plan or "").strip(),
        issued_by=actor,
    )
    before = order.status
    order.responsible = person
    order.status = OrderStatus.EXECUTING
    order.save(update_fields=["responsible", "status", "updated_at"])
    _open_task(order, notice, actor)
    audit.record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=order,
        changes={
            "status": [before, order.status],
            "notice": notice.number,
            "responsible": person.pk,
            "delivery_deadline": deadline.isoformat(),
            **({"supersedes": previous.number} if previous else {}),
        },
    )
    return notice


def _open_task(order: Order, notice: ExecutionNotice, actor: Any) -> None:
    engine.task_create(
        target=order,
        title=_("执行订单 %(n)s（%(c)s），交付期限 %(d)s")
        % {"n": order.number, "c": order.customer.name, "d": notice.delivery_deadline.isoformat()},
        assignee=notice.responsible,
        due=notice.delivery_deadline,
        actor=actor,
    )


def sync_task(order: Order, actor: Any) -> None:
    """The responsible person's to-do follows the order: open while it is in execution (opened again from the
    latest notice when an amended order is approved again), closed while it is held, reviewed, a draft or done."""
    if order.responsible_id is None:
        return
    ct_open = Task.objects.filter(
        target_type=ContentType.objects.get_for_model(Order), target_id=str(order.pk), state=TaskState.OPEN
    ).exists()
    if order.status == OrderStatus.EXECUTING and not ct_open:
        notice = order.notices.select_related("responsible").order_by("-issued_at", "-pk").first()
        if notice is not None:
            _open_task(order, notice, actor)
    elif order.status != OrderStatus.EXECUTING and ct_open:
        engine.task_close(target=order, actor=actor)


# ---------------------------------------------------------------------------------------------------------------
# Deliveries and invoices


def _delivery_lines(order: Order, raw: Iterable[Mapping[str, Any]]) -> list[tuple[OrderLine, Decimal]]:
    """(order line, quantity) pairs, each a line of this order delivered at most to its ordered quantity."""
    lines = {x.pk: x for x in OrderLine.objects.select_for_update().filter(order=order)}
    out: list[tuple[OrderLine, Decimal]] = []
    seen: set[int] = set()
    for n, row in enumerate(raw, start=1):
        raw_qty = row.get("quantity")
        if raw_qty in (None, "") or (isinstance(raw_qty, str) and not raw_qty.strip()):
            continue  # a line not delivered this time
        line_id = row.get("line_id") or row.get("line")
        if not str(line_id or "").isdigit() or int(str(line_id)) not in lines:
            raise ValidationFailed(
                _("第%(n)s项：订单行不属于本订单。") % {"n": n}, field=f"lines[{n}].line_id", rule="exists"
            )
        line = lines[int(str(line_id))]
        if line.pk in seen:
            raise ValidationFailed(
                _("第%(n)s项：订单行 %(p)s 重复。") % {"n": n, "p": line.position},
                field=f"lines[{n}].line_id",
                rule="unique",
            )
        seen.add(line.pk)
        qty = _number(
            raw_qty,
            field=f"lines[{n}].quantity",
            label=_("订单行 %(n)s 发货数量") % {"n": line.position},
            places=3,
            maximum=MAX_QUANTITY,
        )
        left = (line.quantity or ZERO) - line.delivered_quantity
        if qty > left:
            raise ValidationFailed(
                _("订单行 %(n)s 发货数量 %(q)s 超过未发货数量 %(left)s。")
                % {"n": line.position, "q": f"{qty.normalize():f}", "left": f"{left.normalize():f}"},
                field=f"lines[{n}].quantity",
                rule="max",
            )
        out.append((line, qty))
    if not out:
        raise ValidationFailed(_("请至少填写一行发货数量。"), field="lines", rule="required")
    return out


def _line_amount(line: OrderLine, qty: Decimal) -> Decimal:
    """The delivered part of the line's amount, rounded on the cumulative quantity (what the line's deliveries
    add up to after this one, less what they were): never more than the line's amount in all, and exactly it once
    the line is fully delivered, whatever the steps."""
    after = line.delivered_quantity + qty
    upto = (line.amount * after / (line.quantity or 1)).quantize(CENT, rounding=ROUND_HALF_UP)
    return upto - line.delivered_amount


def all_delivered(order: Order) -> bool:
    return not OrderLine.objects.filter(order=order, delivered_quantity__lt=F("quantity")).exists()


def _complete_if_done(order: Order, actor: Any) -> None:
    """Completed once every line is delivered in full and everything delivered is invoiced."""
    if (
        order.status == OrderStatus.EXECUTING
        and order.invoiced_amount == order.delivered_amount
        and all_delivered(order)
    ):
        order.status = OrderStatus.COMPLETED
        order.completed_at = timezone.now()
        engine.task_close(target=order, actor=actor)


@transaction.atomic
def delivery_post(
    *, actor: Any, order_id: Any, delivered_on: Any, lines: Iterable[Mapping[str, Any]], note: str = ""
) -> Delivery:
    """Record a delivery of an order in execution (partial allowed): the delivered amount moves from the approved
    open order to the unbilled deliveries of the customer's exposure."""
    order = _order_for(actor, order_id, "orders.delivery.post", responsible_may=True)
    if order.status not in DELIVERABLE:
        if order.status == OrderStatus.APPROVED:
            message = _("订单尚未下达执行通知，不能登记发货。")
        else:
            message = _("订单状态为“%(s)s”，不能登记发货。") % {"s": _status_label(order)}
        raise Conflict(message, field="status", rule="state")
    day = _day(delivered_on, field="delivered_on", label=_("发货日期"))
    if day > timezone.localdate():
        raise ValidationFailed(_("发货日期不能晚于今天。"), field="delivered_on", rule="not_future")
    approved_on = timezone.localtime(order.approved_at).date() if order.approved_at else None
    if approved_on is not None and day < approved_on:
        raise ValidationFailed(
            _("发货日期不能早于订单批准日期 %(d)s。") % {"d": approved_on.isoformat()},
            field="delivered_on",
            rule="before_approval",
        )
    picked = _delivery_lines(order, lines)
    amounts = [(line, qty, _line_amount(line, qty)) for line, qty in picked]
    total = sum((a for _l, _q, a in amounts), ZERO)  # zero for lines given free of charge
    adapters.exposure_lock(order.customer)  # the fixed order: order row, exposure row, numbering, audit head
    number = number_next(DELIVERY_SERIES)
    take = min(total, order.counted_amount)  # what the order counted moves with the goods
    if take:
        adapters.exposure_add(order.customer, kind="order", amount=-take, ref=order.number)
        adapters.exposure_add(order.customer, kind="delivery", amount=take, ref=order.number)
    delivery = Delivery.objects.create(
        order=order,
        number=number,
        delivered_on=day,
        amount=total,
        note=(note or "").strip(),
        created_by=actor,
    )
    DeliveryLine.objects.bulk_create(
        [
            DeliveryLine(delivery=delivery, order_line=line, quantity=qty, amount=amt)
            for line, qty, amt in amounts
        ]
    )
    for line, qty, amt in amounts:
        line.delivered_quantity += qty
        line.delivered_amount += amt
    OrderLine.objects.bulk_update([x for x, _q, _a in amounts], ["delivered_quantity", "delivered_amount"])
    before = order.status
    order.delivered_amount += total
    order.counted_amount -= take
    order.unbilled_amount += take
    _complete_if_done(order, actor)
    order.save()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=order,
        changes={
            **({"status": [before, order.status]} if before != order.status else {}),
            "delivery": delivery.number,
            "delivered": str(total),
            "delivered_amount": str(order.delivered_amount),
            "counted_amount": str(order.counted_amount),
        },
    )
    return delivery


@transaction.atomic
def order_invoice(
    *,
    actor: Any,
    order_id: Any,
    number: str,
    invoiced_on: Any,
    amount: Any = None,
    due_date: Any = None,
) -> OrderInvoice:
    """Invoice delivered goods of an order (all that is delivered and not invoiced, unless ``amount`` says less):
    the invoice is posted to the receivables ledger, due after the order's payment terms (policy
    ``orders.execution``) unless ``due_date`` is given, and its amount leaves the unbilled deliveries."""
    order = _order_for(actor, order_id, "orders.invoice.post")
    unbilled = order.unbilled
    if order.status not in INVOICEABLE or unbilled <= 0:
        raise Conflict(_("订单没有已发货未开票的金额。"), field="amount", rule="nothing_to_invoice")
    value = (
        unbilled
        if amount in (None, "")
        else _number(amount, field="amount", label=_("开票金额"), places=2, maximum=MAX_AMOUNT)
    )
    if value > unbilled:
        raise ValidationFailed(
            _("开票金额 %(a)s 超过已发货未开票金额 %(u)s。")
            % {"a": f"{value:,.2f}", "u": f"{unbilled:,.2f}"},
            field="amount",
            rule="max",
        )
    day = _day(invoiced_on, field="invoiced_on", label=_("开票日期"))
    if due_date in (None, ""):
        policy, _version = policies.execution()
        due = day + dt.timedelta(days=policy.terms_days.get(order.payment_terms, 0))
    else:
        due = _day(due_date, field="due_date", label=_("到期日"))
    # the order's share of the unbilled deliveries leaves with the invoice (all of it with the last invoice)
    take = order.unbilled_amount if value == unbilled else min(value, order.unbilled_amount)
    adapters.exposure_lock(order.customer)
    try:
        entry_id = adapters.invoice_for_delivery(
            order.customer,
            actor=actor,
            number=number,
            entry_date=day,
            amount=value,
            due_date=due,
            unbilled=take,
            ref=order.number,
            memo=_("订单 %(n)s") % {"n": order.number},
        )
    except ValidationFailed as exc:  # the ledger names its own field: name the order invoice's
        exc.field = {"entry_date": "invoiced_on"}.get(exc.field or "", exc.field)
        exc.detail = None
        raise
    invoice = OrderInvoice.objects.create(
        order=order,
        number=str(number).strip(),
        invoiced_on=day,
        due_date=due,
        amount=value,
        entry_id=entry_id,
        created_by=actor,
    )
    before = order.status
    order.invoiced_amount += value
    order.unbilled_amount -= take
    _complete_if_done(order, actor)
    order.save()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=order,
        changes={
            **({"status": [before, order.status]} if before != order.status else {}),
            "invoice": invoice.number,
            "invoiced": str(value),
            "invoiced_amount": str(order.invoiced_amount),
        },
    )
    return invoice


# ---------------------------------------------------------------------------------------------------------------
# Customer feedback (the order archive)


@transaction.atomic
def feedback_add(*, actor: Any, order_id: Any, kind: str, content: str, rating: Any = None) -> OrderFeedback:
    """Record the customer's feedback on an order in execution or done (R-ORD-05 evaluation and feedback)."""
    order = _order_for(actor, order_id, "orders.delivery.post", responsible_may=True)
    if not feedback_open(order):
        raise Conflict(_("只有执行中或已完成的订单可以记录客户反馈。"), field="status", rule="state")
    if kind not in FeedbackKind.values:
        raise ValidationFailed(_("反馈类别不是有效选项。"), field="kind", rule="choice")
    text = (content or "").strip()
    if not text:
        raise ValidationFailed(_("客户反馈内容必须填写。"), field="content", rule="required")
    score = None
    if rating not in (None, ""):
        if not str(rating).strip().isdigit() or not 1 <= int(str(rating).strip()) <= 5:
            raise ValidationFailed(_("评分须为1到5的整数。"), field="rating", rule="range")
        score = int(str(rating).strip())
    feedback = OrderFeedback.objects.create(
        order=order, kind=kind, rating=score, content=text, recorded_by=actor
    )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=order,
        changes={"feedback": kind, **({"rating": score} if score else {})},
    )
    return feedback


# ---------------------------------------------------------------------------------------------------------------
# Reads


def order_deliveries(order: Order) -> list[Delivery]:
    return list(
        order.deliveries.select_related("created_by")
        .prefetch_related("lines__order_line")
        .order_by("delivered_on", "pk")
    )


def order_invoices(order: Order) -> list[OrderInvoice]:
    return list(order.invoices.select_related("created_by").order_by("invoiced_on", "pk"))


def order_notices(order: Order) -> list[ExecutionNotice]:
    return list(order.notices.select_related("responsible", "issued_by").order_by("-issued_at", "-pk"))


def order_amendments(order: Order) -> list[OrderAmendment]:
    return list(
        order.amendments.select_related("department", "person", "amended_by").order_by("amended_at", "pk")
    )


def order_feedback(order: Order) -> list[OrderFeedback]:
    return list(order.feedback.select_related("recorded_by").order_by("recorded_at", "pk"))


def error_window(start: Any = None, end: Any = None) -> tuple[dt.date, dt.date]:
    """The period of the error report: given, or the policy's last ``error_window_days`` up to today."""
    policy, _version = policies.execution()
    last = _day(end, field="end", label=_("截止日期")) if end not in (None, "") else timezone.localdate()
    try:
        first = (
            _day(start, field="start", label=_("起始日期"))
            if start not in (None, "")
            else last - dt.timedelta(days=policy.error_window_days - 1)
        )
    except OverflowError:
        raise ValidationFailed(_("截止日期过早。"), field="end", rule="range") from None
    if first > last:
        raise ValidationFailed(_("起始日期不能晚于截止日期。"), field="start", rule="range")
    return first, last


def error_report(*, actor: Any, start: Any = None, end: Any = None) -> QuerySet[Any]:
    """Internal errors corrected by amendments after approval, by responsible department (R-ORD-07): departments
    with at least one in the period, each with ``errors`` (how many), ``orders``, ``people``, ``changed`` (the
    amount changed, after − before), ``latest``, and ``repeated`` when the count reaches the policy's
    ``repeat_errors`` (such departments are reported for training or staffing)."""
    from django.db.models import (
        BooleanField,
        Case,
        DecimalField,
        IntegerField,
        OuterRef,
        Subquery,
        Value,
        When,
    )
    from django.db.models.functions import Coalesce

    from kehu.core.models import Department

    access.require(actor, "orders.errors.view")
    policy, _version = policies.execution()
    first, last = error_window(start, end)
    mine = (
        OrderAmendment.objects.filter(
            cause=AmendmentCause.ERROR,
            amended_at__date__gte=first,
            amended_at__date__lte=last,
            department_id=OuterRef("pk"),
        )
        .order_by()
        .values("department_id")
    )

    def one(expr: Any, field: Any) -> Subquery:
        return Subquery(mine.annotate(v=expr).values("v")[:1], output_field=field)

    count = IntegerField()
    return (
        Department.objects.annotate(
            errors=Coalesce(one(Count("pk"), count), Value(0)),
            orders=Coalesce(one(Count("order_id", distinct=True), count), Value(0)),
            people=Coalesce(one(Count("person_id", distinct=True), count), Value(0)),
            latest=one(Max("amended_at"), OrderAmendment._meta.get_field("amended_at")),
            changed=one(
                Sum("total_after") - Sum("total_before"), DecimalField(max_digits=18, decimal_places=2)
            ),
        )
        .filter(errors__gt=0)
        .annotate(
            repeated=Case(
                When(errors__gte=policy.repeat_errors, then=Value(True)),
                default=Value(False),
                output_field=BooleanField(),
            )
        )
        .order_by("-errors", "name")
    )


def error_entries(
    *, actor: Any, department_id: Any = None, start: Any = None, end: Any = None
) -> QuerySet[Any]:
    """The amendments behind the error report (one department's when given)."""
    access.require(actor, "orders.errors.view")
    first, last = error_window(start, end)
    qs = OrderAmendment.objects.filter(
        cause=AmendmentCause.ERROR, amended_at__date__gte=first, amended_at__date__lte=last
    ).select_related("order", "order__customer", "department", "person", "amended_by")
    if str(department_id or "").isdigit():
        qs = qs.filter(department_id=int(str(department_id)))
    return qs.order_by("-amended_at", "-pk")
