"""Reads of orders, each within the acting user's scope (R-PLT-02)."""

from __future__ import annotations

from typing import Any

from django.db.models import BooleanField, ExpressionWrapper, Q, QuerySet, Value
from django.utils.translation import gettext as _

from kehu.core import access
from kehu.orders.models import CheckResult, CreditHold, Order, OrderLine, OrderStatus, Product


def order_list(*, actor: Any, filters: dict[str, Any] | None = None) -> QuerySet[Order]:
    """Orders the user may see; filters: status ("open": approved or in execution, rush orders of grades whose
    rush rule jumps the queue first), hold ("1"/"0"), customer (id), owner (id), overdue ("1"), q.
    PermissionDenied without ``orders.order.view`` (as the page)."""
    access.require(actor, "orders.order.view")
    qs = access.restrict(actor, "orders.order.view", Order.objects.all()).select_related(
        "customer", "owner", "responsible"
    )
    f = filters or {}
    if f.get("status") and f["status"] != "open" and f["status"] not in OrderStatus.values:
        from kehu.core.errors import ValidationFailed

        raise ValidationFailed(_("状态不是有效选项。"), field="status", rule="choice")
    open_only = f.get("status") == "open"
    if open_only:  # approved or in execution
        qs = qs.filter(status__in=(OrderStatus.APPROVED, OrderStatus.EXECUTING))
    elif f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("hold") in ("1", True, "true"):
        qs = qs.filter(on_hold=True)
    elif f.get("hold") in ("0", False, "false"):
        qs = qs.filter(on_hold=False)
    if str(f.get("customer") or "").isdigit():
        qs = qs.filter(customer_id=int(f["customer"]))
    if str(f.get("owner") or "").isdigit():
        qs = qs.filter(owner_id=int(f["owner"]))
    if f.get("overdue") in ("1", True, "true"):
        from kehu.receivables.interface import overdue_exists

        qs = qs.filter(overdue_exists("customer_id"))
    if f.get("q"):
        q = str(f["q"]).strip()
        qs = qs.filter(Q(number__icontains=q) | Q(customer__name__icontains=q) | Q(customer_ref__icontains=q))
    if open_only:  # the open order list: A-grade rush orders first, then by the requested date (R-ORD-05)
        return qs.order_by("-priority", "requested_date", "pk")
    return qs.order_by("-created_at", "-pk")


def order_get(*, actor: Any, order_id: Any) -> Order:
    return access.get_scoped(
        actor,
        "orders.order.view",
        Order.objects.select_related("customer", "owner", "created_by"),
        pk=order_id,
    )


def order_get_for_review(*, actor: Any, order_id: Any) -> Order:
    """The order within the actor's view scope, one whose open review task the actor holds (R-ORD-03), or one
    whose execution the actor is responsible for (R-ORD-05)."""
    from kehu.core.errors import NotFound, PermissionDenied
    from kehu.orders import review
    from kehu.workflow import engine

    try:
        return order_get(actor=actor, order_id=order_id)
    except (NotFound, PermissionDenied):
        order = Order.objects.select_related("customer", "owner", "created_by").filter(pk=order_id).first()
        if order is not None and order.responsible_id is not None and order.responsible_id == actor.pk:
            return order
        case = review.open_case(order) if order is not None else None
        if order is None or case is None or engine.acting_task(case, actor)[0] is None:
            raise
        return order


def order_lines(order: Order) -> list[OrderLine]:
    return list(order.lines.select_related("product").order_by("position"))


def order_checks(order: Order, run: int | None = None) -> list[CheckResult]:
    """The results of one run (the latest by default)."""
    return list(CheckResult.objects.filter(order=order, run=run or order.check_run).order_by("pk"))


def order_holds(order: Order) -> list[CreditHold]:
    return list(
        CreditHold.objects.filter(order=order).select_related("released_by").order_by("-created_at", "-pk")
    )


def hold_queue(*, actor: Any) -> QuerySet[CreditHold]:
    """Open credit holds within the user's release scope, each with ``can_release``: whether the user's authority
    covers the role the hold asked for (the band is checked again on the excess at release). PermissionDenied
    without ``orders.hold.release`` (as the page)."""
    from kehu.orders.services import releasable_roles

    access.require(actor, "orders.hold.release")
    orders = access.restrict(
        actor, "orders.hold.release", Order.objects.filter(status=OrderStatus.CREDIT_HOLD)
    )
    roles = releasable_roles(actor)
    can_release = (
        ExpressionWrapper(Q(required_role__in=roles), output_field=BooleanField())
        if roles
        else Value(False, output_field=BooleanField())
    )
    return (
        CreditHold.objects.filter(open=True, order__in=orders)
        .annotate(can_release=can_release)
        .select_related("order", "order__customer", "order__owner")
        .order_by("created_at", "pk")
    )


def product_list(*, actor: Any, active_only: bool = False) -> QuerySet[Product]:
    access.require(actor, "orders.product.view")
    qs = Product.objects.all()
    return qs.filter(active=True) if active_only else qs
