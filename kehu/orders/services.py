"""Every write of orders (R-ORD-01, R-ORD-02, R-ORD-03, R-CRD-05).

Submit is one transaction: lock the order row, run the checks, lock the customer's exposure row (receivables
interface), compare exposure − what this order already counts + this order with the limit in force, and either
count the order in exposure (approved, or waiting for its review) or put it on credit hold (not counted). Release
runs every check again in the same way.

The lock order, the same in every service (and the same as the receivables postings, which lock the exposure row
first and record the audit entry last):

1. the order row (``select_for_update(of=("self",))``: never the customer row, which a posting's entry insert
   share-locks while it holds the exposure row);
2. the customer's exposure row, through :func:`kehu.receivables.interface.exposure_lock` (a new order submitted at
   once takes it before its number: the number series row comes after the exposure row);
3. the audit trail head (:func:`kehu.core.audit.record`, always last).

Amending, reopening, copying and releasing always run the full checks again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditAction
from kehu.core.numbering import number_next
from kehu.core.numbering import register_series as _register_series
from kehu.customers.models import Customer
from kehu.orders import adapters, checks, execution, policies
from kehu.orders import review as review_flow
from kehu.orders.models import (
    ZERO,
    AmendmentCause,
    Channel,
    CheckKey,
    CheckResult,
    CreditHold,
    Delivery,
    Order,
    OrderAmendment,
    OrderLine,
    OrderStatus,
    Product,
    Scope,
)
from kehu.orders.policies import MAX_QUANTITY
from kehu.workflow import engine

SERIES = "ORDER"
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
MAX_LINES = 200
COUNTED = (OrderStatus.APPROVED, OrderStatus.REVIEW_PENDING)
AMENDABLE = (
    OrderStatus.DRAFT,
    OrderStatus.CREDIT_HOLD,
    OrderStatus.REVIEW_PENDING,
    OrderStatus.APPROVED,
    OrderStatus.EXECUTING,
)


def is_amendment(order: Order) -> bool:
    """A change of a submitted order, or of a draft that had been approved before (sent back by the review after
    an amendment): it needs a reason and is kept (R-ORD-07)."""
    return order.status != OrderStatus.DRAFT or order.approved_at is not None


def has_deliveries(order: Order) -> bool:
    """Whether anything of the order was delivered (by the delivery notes: a free line's is worth nothing)."""
    return Delivery.objects.filter(order=order).exists()


def after_approval(order: Order) -> bool:
    """The order has been approved at some time: an amendment says who answers for it, whatever the order's
    state now (on hold or under review after an earlier amendment, or sent back to draft)."""
    return order.approved_at is not None


def register_series() -> None:
    _register_series(SERIES, prefix="DD", width=6, label=_("订单"))


# ---------------------------------------------------------------------------------------------------------------
# Input
#
# Every message names the field in the user's language ("第1行 数量：不是有效数字。"); ``field`` keeps the key the
# API names (``lines[1].quantity``). Bounds are the columns' limits and the policy's largest order amount, each
# refused with rule ``max`` before anything is written.

# the largest values the columns hold: quantity 14 digits with 3 places, unit price 14 digits with 2 places
MAX_PRICE = Decimal("999999999999.99")


def _line_labels() -> dict[str, str]:
    return {
        "product_id": _("产品"),
        "product_code": _("产品编码"),
        "spec": _("规格型号"),
        "quantity": _("数量"),
        "unit": _("单位"),
        "unit_price": _("单价"),
        "discount": _("折扣（%）"),
        "tax_rate": _("税率（%）"),
        "amount": _("价税合计"),
    }


def _problem(
    problem: str, *, field: str, rule: str, label: str, line: int | None = None, key: str = ""
) -> ValidationFailed:
    """A ValidationFailed naming the field in words: "第n行 label：problem" for a line, "label：problem" else.
    ``problem`` (the message without the line and label) and ``line`` stay on the error for the import, which names
    the row and the column itself."""
    if line is not None:
        message = _("第%(n)s行 %(label)s：%(problem)s") % {"n": line, "label": label, "problem": problem}
    else:
        message = _("%(label)s：%(problem)s") % {"label": label, "problem": problem}
    exc = ValidationFailed(message, field=field, rule=rule)
    exc.problem = problem  # type: ignore[attr-defined]
    exc.line = line  # type: ignore[attr-defined]
    exc.key = key or field  # type: ignore[attr-defined]
    exc.label = label  # type: ignore[attr-defined]
    return exc


def _decimal(
    value: Any,
    field: str,
    label: str,
    *,
    places: int = 2,
    required: bool = False,
    maximum: Decimal | None = None,
    line: int | None = None,
    key: str = "",
) -> Decimal | None:
    where: dict[str, Any] = {"field": field, "label": label, "line": line, "key": key}
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _problem(_("必须填写。"), rule="required", **where)
        return None
    if isinstance(value, float):
        value = str(value)
    try:
        d = Decimal(str(value).strip())
    except InvalidOperation:
        raise _problem(_("不是有效数字。"), rule="decimal", **where) from None
    if not d.is_finite():
        raise _problem(_("不是有效数字。"), rule="decimal", **where)
    if maximum is not None and abs(d) > maximum:
        raise _problem(_("不能超过 %(max)s。") % {"max": f"{maximum:,}"}, rule="max", **where)
    try:
        exact = d == d.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:  # more digits than any column holds
        raise _problem(_("数值过大。"), rule="max", **where) from None
    if not exact:
        raise _problem(_("最多 %(n)s 位小数。") % {"n": places}, rule="decimal_places", **where)
    return d


def _line_in(
    r: Mapping[str, Any], n: int, by_id: dict[int, Product], by_code: dict[str, Product], most: Decimal
) -> OrderLine:
    """One line from its input (n: its position), or ValidationFailed naming the line and the field."""
    labels = _line_labels()

    def where(key: str) -> dict[str, Any]:
        return {"field": f"lines[{n}].{key}", "label": labels[key], "line": n, "key": key}

    product: Product | None = None
    if r.get("product_id"):
        product = by_id.get(int(r["product_id"])) if str(r["product_id"]).isdigit() else None
        if product is None:
            raise _problem(_("产品不存在。"), rule="exists", **where("product_id"))
    elif r.get("product_code"):
        product = by_code.get(str(r["product_code"]).strip())
        if product is None:
            raise _problem(
                _("产品编码 %(code)s 不存在。") % {"code": str(r["product_code"]).strip()},
                rule="exists",
                **where("product_code"),
            )
    qty = _decimal(r.get("quantity"), places=3, maximum=MAX_QUANTITY, **where("quantity"))
    if qty is not None and qty <= 0:
        raise _problem(_("必须大于零。"), rule="positive", **where("quantity"))
    price = _decimal(r.get("unit_price"), maximum=MAX_PRICE, **where("unit_price"))
    if price is None and product is not None:
        price = product.control_price
    if price is not None and price < 0:
        raise _problem(_("不能为负。"), rule="not_negative", **where("unit_price"))
    discount = _decimal(r.get("discount"), maximum=HUNDRED, **where("discount")) or ZERO
    if not ZERO <= discount < HUNDRED:
        raise _problem(_("须在 0 至 100%% 之间（不含 100）。") % {}, rule="range", **where("discount"))
    tax = _decimal(r.get("tax_rate"), maximum=HUNDRED, **where("tax_rate"))
    if product is not None:
        # the credit amount is not the rep's to lower: a product's tax rate is the catalogue's
        if tax is not None and tax != product.tax_rate:
            raise _problem(
                _("须与产品目录一致（%(rate)s%%）。") % {"rate": product.tax_rate.normalize()},
                rule="catalogue",
                **where("tax_rate"),
            )
        tax = product.tax_rate
    if tax is not None and not ZERO <= tax <= 50:
        raise _problem(_("须在 0 至 50%% 之间。") % {}, rule="range", **where("tax_rate"))
    spec = str(r.get("spec") or (product.spec if product else "")).strip()
    unit = str(r.get("unit") or (product.unit if product else "")).strip()
    if len(spec) > 120:
        raise _problem(_("不能超过 %(n)s 个字符。") % {"n": 120}, rule="max_length", **where("spec"))
    if len(unit) > 12:
        raise _problem(_("不能超过 %(n)s 个字符。") % {"n": 12}, rule="max_length", **where("unit"))
    line = OrderLine(
        position=n,
        product=product,
        spec=spec,
        quantity=qty,
        unit=unit,
        unit_price=price,
        discount=discount,
        tax_rate=tax,
    )
    _amounts(line)
    if line.amount > most:
        raise _problem(
            _("%(a)s 超过单张订单金额上限 %(max)s。") % {"a": f"{line.amount:,}", "max": f"{most:,}"},
            rule="max",
            **where("amount"),
        )
    return line


def _lines_in(
    raw: Iterable[Mapping[str, Any]], problems: list[ValidationFailed] | None = None
) -> list[OrderLine]:
    """The order lines from their input (one query for the products). The first bad line raises; with
    ``problems`` every bad line is added there instead (one error per line) and the good lines are returned."""
    rows = list(raw)
    if len(rows) > MAX_LINES:
        exc = _problem(
            _("不能超过 %(n)s 行。") % {"n": MAX_LINES}, field="lines", rule="max_lines", label=_("订单行")
        )
        exc.line = MAX_LINES + 1  # type: ignore[attr-defined]
        if problems is None:
            raise exc
        problems.append(exc)
        rows = rows[:MAX_LINES]
    ids = {r.get("product_id") for r in rows if r.get("product_id")}
    codes = {str(r.get("product_code")).strip() for r in rows if r.get("product_code")}
    found = list(Product.objects.filter(Q(pk__in=[i for i in ids if str(i).isdigit()]) | Q(code__in=codes)))
    by_id = {p.pk: p for p in found}
    by_code = {p.code: p for p in found}
    most = policies.checks()[0].max_order_amount
    out: list[OrderLine] = []
    total = ZERO
    for n, r in enumerate(rows, start=1):
        try:
            line = _line_in(r, n, by_id, by_code, most)
            total += line.amount
            if total > most:
                raise _problem(
                    _("%(a)s 超过单张订单金额上限 %(max)s。") % {"a": f"{total:,}", "max": f"{most:,}"},
                    field="total_amount",
                    rule="max",
                    label=_("订单价税合计"),
                    key="amount",
                )
        except ValidationFailed as exc:
            if problems is None:
                raise
            if getattr(exc, "line", None) is None:
                exc.line = n  # type: ignore[attr-defined]  # the line that takes the total over the maximum
            problems.append(exc)
            continue
        out.append(line)
    return out


def line_problems(raw: Iterable[Mapping[str, Any]]) -> list[ValidationFailed]:
    """Every bad line of an order's line input, one error each (``line``: the position in ``raw``, ``key``: the
    line field, ``problem``: the message without line and label), without writing anything; for the import."""
    problems: list[ValidationFailed] = []
    _lines_in(raw, problems)
    return problems


def header_problem(**head: Any) -> ValidationFailed | None:
    """The first problem of an order's header fields (channel, requested_date, payment_terms, customer_ref), or
    None; nothing is written."""
    try:
        _header(**head)
    except ValidationFailed as exc:
        return exc
    return None


def _amounts(line: OrderLine) -> None:
    if line.quantity is None or line.unit_price is None:
        line.net_amount = line.tax_amount = line.amount = ZERO
        return
    net = (line.quantity * line.unit_price * (HUNDRED - line.discount) / HUNDRED).quantize(
        CENT, ROUND_HALF_UP
    )
    tax = (net * (line.tax_rate or ZERO) / HUNDRED).quantize(CENT, ROUND_HALF_UP)
    line.net_amount, line.tax_amount, line.amount = net, tax, net + tax


def _header(
    *, channel: Any, requested_date: Any, payment_terms: Any, customer_ref: Any = "", notes: Any = ""
) -> dict[str, Any]:
    if channel not in Channel.values:
        raise ValidationFailed(_("接单渠道不是有效选项。"), field="channel", rule="choice")
    if payment_terms not in policies.TERMS:
        raise ValidationFailed(_("付款条件不是有效选项。"), field="payment_terms", rule="choice")
    if isinstance(requested_date, str):
        try:
            requested_date = dt.date.fromisoformat(requested_date.strip())
        except ValueError:
            raise ValidationFailed(
                _("要求交货日期不是有效日期（YYYY-MM-DD）。"), field="requested_date", rule="date"
            ) from None
    if isinstance(requested_date, dt.datetime):
        requested_date = requested_date.date()
    if not isinstance(requested_date, dt.date):
        raise ValidationFailed(_("要求交货日期必须填写。"), field="requested_date", rule="required")
    if requested_date < timezone.localdate():
        raise ValidationFailed(_("要求交货日期不能早于今天。"), field="requested_date", rule="not_past")
    if len(str(customer_ref or "")) > 60:
        raise ValidationFailed(_("客户订单号不能超过60个字符。"), field="customer_ref", rule="max_length")
    return {
        "channel": channel,
        "requested_date": requested_date,
        "payment_terms": payment_terms,
        "customer_ref": str(customer_ref or "").strip(),
        "notes": str(notes or "").strip(),
    }


def _set_lines(order: Order, lines: list[OrderLine], *, new: bool = False) -> None:
    if not new:
        OrderLine.objects.filter(order=order).delete()
    for line in lines:
        line.order = order
    OrderLine.objects.bulk_create(lines)
    order.net_amount = sum((x.net_amount for x in lines), ZERO)
    order.tax_amount = sum((x.tax_amount for x in lines), ZERO)
    order.total_amount = sum((x.amount for x in lines), ZERO)


def _snapshot(order: Order) -> dict[str, Any]:
    return {
        "status": order.status,
        "total_amount": str(order.total_amount),
        "counted_amount": str(order.counted_amount),
        "requested_date": str(order.requested_date),
        "payment_terms": order.payment_terms,
    }


# ---------------------------------------------------------------------------------------------------------------
# Catalogue


@transaction.atomic
def product_save(
    *,
    actor: Any,
    code: str,
    name: str,
    unit: str,
    control_price: Any,
    spec: str = "",
    tax_rate: Any = "13",
    scope: str = Scope.STANDARD,
    active: bool = True,
) -> Product:
    """Create or update (by code) a catalogue product."""
    access.require(actor, "orders.product.edit")
    code = (code or "").strip()
    if not code or len(code) > 40:
        raise ValidationFailed(_("产品编码必须填写且不超过40个字符。"), field="code", rule="required")
    if not (name or "").strip():
        raise ValidationFailed(_("产品名称必须填写。"), field="name", rule="required")
    if not (unit or "").strip():
        raise ValidationFailed(_("单位必须填写。"), field="unit", rule="required")
    if scope not in Scope.values:
        raise ValidationFailed(_("产品范围不是有效选项。"), field="scope", rule="choice")
    price = _decimal(control_price, "control_price", _("内控价"), required=True, maximum=MAX_PRICE)
    assert price is not None
    if price <= 0:
        raise ValidationFailed(_("内控价必须大于零。"), field="control_price", rule="positive")
    tax = _decimal(tax_rate, "tax_rate", _("税率（%）"), required=True, maximum=HUNDRED)
    assert tax is not None
    if not ZERO <= tax <= 50:
        raise ValidationFailed(_("税率（%）须在 0 至 50% 之间。"), field="tax_rate", rule="range")
    values = {
        "name": name.strip(),
        "unit": unit.strip(),
        "spec": (spec or "").strip(),
        "control_price": price,
        "tax_rate": tax,
        "scope": scope,
        "active": bool(active),
    }
    product, created = Product.objects.update_or_create(code=code, defaults=values)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=product,
        changes={k: str(v) for k, v in values.items()},
    )
    return product


# ---------------------------------------------------------------------------------------------------------------
# Entry


def _customer_for(actor: Any, customer_id: Any) -> Customer:
    return access.get_scoped(
        actor, "orders.order.edit", Customer.objects.select_related("owner"), pk=customer_id
    )


def _order_for(actor: Any, order_id: Any, action: str = "orders.order.edit", lock: bool = True) -> Order:
    """The order within the actor's scope; with ``lock``, its row locked for update (the first lock of the fixed
    order). Only the order's own row: locking the customer row too would wait on a posting that holds the
    exposure row and inserts an entry for that customer (a key share lock on the customer row)."""
    access.require(actor, action)
    order = access.get_scoped(actor, action, Order.objects.all(), pk=order_id)
    if lock:
        order = Order.objects.select_for_update(of=("self",)).select_related("customer").get(pk=order.pk)
    return order


@transaction.atomic
def order_create(
    *,
    actor: Any,
    customer_id: Any,
    channel: str,
    requested_date: Any,
    payment_terms: str,
    lines: Iterable[Mapping[str, Any]],
    non_standard: bool = False,
    customer_ref: str = "",
    notes: str = "",
    copied_from: Order | None = None,
    submit: bool = False,
) -> Order:
    """A draft order (R-ORD-01); its owner is the customer's owner at entry. Lines may still be incomplete: the
    check of complete lines runs on submit. With ``submit`` the new order is submitted in the same transaction
    ("save and submit", copy and submit): the customer's exposure row is locked before the numbering and the audit
    head, as on every submit."""
    customer = _customer_for(actor, customer_id)
    head = _header(
        channel=channel,
        requested_date=requested_date,
        payment_terms=payment_terms,
        customer_ref=customer_ref,
        notes=notes,
    )
    parsed = _lines_in(lines)
    if submit:
        adapters.exposure_lock(customer)  # the fixed order: exposure row, then numbering and the audit head
    order = Order(
        customer=customer,
        owner=customer.owner,
        non_standard=bool(non_standard),
        created_by=actor,
        copied_from=copied_from,
        number=number_next(SERIES),
        **head,
    )
    order.save()
    _set_lines(order, parsed, new=True)
    order.save(update_fields=["net_amount", "tax_amount", "total_amount"])
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=order,
        changes={**_snapshot(order), "customer": customer.pk, "lines": len(parsed)}
        | ({"copied_from": copied_from.number} if copied_from else {}),
    )
    if submit:
        _submit(order, actor=actor, why="copy" if copied_from else "submit")
    return order


def _accountability(order: Order, cause: str, department_id: Any, person_id: Any) -> dict[str, Any]:
    """Who answers for an amendment (R-ORD-07): required after approval; before it, optional."""
    from kehu.core.models import Department, User

    after = after_approval(order)
    cause = (cause or "").strip()
    if cause and cause not in AmendmentCause.values:
        raise ValidationFailed(_("变更原因类别无效。"), field="cause", rule="choice")
    if after and not cause:
        raise ValidationFailed(
            _("批准后变更订单须说明原因类别（客户变更或内部差错）。"), field="cause", rule="required"
        )
    department = person = None
    if cause == AmendmentCause.ERROR:
        if not str(department_id or "").isdigit():
            raise ValidationFailed(_("内部差错须指定责任部门。"), field="department", rule="required")
        department = Department.objects.filter(pk=int(department_id), active=True).first()
        if department is None:
            raise ValidationFailed(_("责任部门不存在或已停用。"), field="department", rule="exists")
        if str(person_id or "").isdigit():
            person = User.objects.filter(pk=int(person_id), is_active=True).first()
            if person is None:
                raise ValidationFailed(_("责任人不存在或已停用。"), field="person", rule="exists")
    return {"after_approval": after, "cause": cause, "department": department, "person": person}


@transaction.atomic
def order_update(
    *,
    actor: Any,
    order_id: Any,
    channel: str,
    requested_date: Any,
    payment_terms: str,
    lines: Iterable[Mapping[str, Any]],
    non_standard: bool = False,
    customer_ref: str = "",
    notes: str = "",
    reason: str = "",
    cause: str = "",
    department_id: Any = None,
    person_id: Any = None,
) -> Order:
    """Change an order. A draft just changes; an order on hold, waiting for review, approved or in execution is an
    amendment (a reason is required) and goes through the full checks again at once, its credit counted on the new
    total. Each amendment is kept (R-ORD-07); one after approval says whether it corrects an internal error
    (``cause`` "error", with the department and optionally the person who answer for it) or follows a change by
    the customer ("customer"). An order with deliveries is not amended: cancel what is left and copy it."""
    order = _order_for(actor, order_id)
    if order.status not in AMENDABLE:
        raise Conflict(
            _("订单状态为“%(s)s”，不能修改。") % {"s": order.get_status_display()},
            field="status",
            rule="state",
        )
    if has_deliveries(order):  # any delivery, also one worth nothing (a free line)
        raise Conflict(
            _("订单已有发货，不能变更；可取消未发货部分后复制为新订单。"), field="status", rule="delivered"
        )
    amend = is_amendment(order)
    if amend and not (reason or "").strip():
        raise ValidationFailed(_("修改已提交的订单须填写理由。"), field="reason", rule="required")
    accountability = _accountability(order, cause, department_id, person_id) if amend else None
    head = _header(
        channel=channel,
        requested_date=requested_date,
        payment_terms=payment_terms,
        customer_ref=customer_ref,
        notes=notes,
    )
    parsed = _lines_in(lines)
    if amend:
        adapters.exposure_lock(order.customer)  # the fixed order: order row, exposure row, audit head
    before = _snapshot(order)
    total_before, status_before = order.total_amount, order.status
    for k, v in head.items():
        setattr(order, k, v)
    order.non_standard = bool(non_standard)
    _set_lines(order, parsed)
    order.save()
    changes = audit.diff(before, _snapshot(order))
    if accountability is not None:
        OrderAmendment.objects.create(
            order=order,
            status_before=status_before,
            reason=reason.strip(),
            changes=changes,
            total_before=total_before,
            total_after=order.total_amount,
            amended_by=actor,
            **accountability,
        )
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=order,
        changes=changes
        | {"lines": len(parsed), "amendment": amend}
        | (
            {
                "cause": accountability["cause"],
                "department": accountability["department"].pk if accountability["department"] else None,
            }
            if accountability and accountability["cause"]
            else {}
        ),
        reason=reason,
    )
    if amend and order.status != OrderStatus.DRAFT:
        _submit(order, actor=actor, why="amend")
    return order


# ---------------------------------------------------------------------------------------------------------------
# Submit and the credit check


def _credit(
    order: Order, policy: policies.ChecksPolicy, version: int | None, *, lock: bool = True
) -> tuple[checks.Outcome, Decimal]:
    """The credit check under the customer's exposure row lock (taken here; without ``lock``, a preview that
    decides nothing). Returns the outcome and the excess over the limit that holds the order (zero when within it).

    An order whose new amount is not more than what it already counts in exposure (an approved order reduced)
    takes nothing more: it is not held for an excess the customer had already (the overdue rule still applies).
    The figures keep the id of the limit row compared with, so the decision can be replayed."""
    view = adapters.exposure_lock(order.customer) if lock else adapters.exposure_parts(order.customer)
    limit = adapters.credit_limit(order.customer)
    limit_amount = limit.amount if limit is not None else ZERO
    exempt = order.payment_terms in policy.exempt_terms
    adding = ZERO if exempt else order.total_amount
    after = view.total - order.counted_amount + adding
    over = max(ZERO, after - limit_amount) if adding else ZERO
    grows = adding > order.counted_amount
    excess = over if grows else ZERO
    overdue = adapters.overdue_summary(order.customer)
    overdue_bad = overdue.oldest_days > policy.overdue_tolerance_days
    figures = {
        "limit": str(limit_amount),
        "has_limit": limit is not None,
        "limit_id": limit.id if limit is not None else None,
        "exposure": str(view.total),
        "already_counted": str(order.counted_amount),
        "order": str(adding),
        "after": str(after),
        "over_limit": str(over),
        "not_increasing": not grows,
        "excess": str(excess),
        "overdue_amount": str(overdue.amount),
        "overdue_days": overdue.oldest_days,
        "tolerance_days": policy.overdue_tolerance_days,
        "exempt": exempt,
    }
    problems = []
    if excess > 0:
        if limit is None:
            problems.append(_("客户没有生效的信用额度，订单金额 %(a)s 全部超额") % {"a": _amount(adding)})
        else:
            problems.append(
                _("订单后信用占用 %(after)s 超过额度 %(limit)s，超额 %(excess)s")
                % {"after": _amount(after), "limit": _amount(limit_amount), "excess": _amount(excess)}
            )
    if overdue_bad:
        problems.append(
            _("有逾期应收 %(amt)s，最长逾期 %(d)s 天，超过容忍 %(tol)s 天")
            % {"amt": _amount(overdue.amount), "d": overdue.oldest_days, "tol": policy.overdue_tolerance_days}
        )
    versions = {"orders.checks": version}
    if problems:
        return checks.Outcome(CheckKey.CREDIT, False, "；".join(problems) + "。", figures, versions), excess
    if exempt:
        reason = _("付款条件不占用信用额度；无超出容忍的逾期。")
    elif over > 0:
        reason = _(
            "订单后信用占用 %(after)s 超过额度 %(limit)s，但本订单计入金额未增加（原 %(was)s，现 %(now)s），"
            "不因超额冻结；无超出容忍的逾期。"
        ) % {
            "after": _amount(after),
            "limit": _amount(limit_amount),
            "was": _amount(order.counted_amount),
            "now": _amount(adding),
        }
    else:
        reason = _("订单后信用占用 %(after)s，不超过额度 %(limit)s；无超出容忍的逾期。") % {
            "after": _amount(after),
            "limit": _amount(limit_amount),
        }
    return checks.Outcome(CheckKey.CREDIT, True, reason, figures, versions), ZERO


def _amount(value: Any) -> str:
    """An amount in a check's reason: 1,234,567.50."""
    return f"{Decimal(value or 0):,.2f}"


def _move(order: Order, new_counted: Decimal) -> None:
    """Bring what the order counts in exposure to ``new_counted`` (the exposure row is locked)."""
    delta = new_counted - order.counted_amount
    if delta:
        adapters.exposure_add(order.customer, kind="order", amount=delta, ref=order.number)
        order.counted_amount = new_counted


def _close_hold(order: Order, how: str) -> None:
    CreditHold.objects.filter(order=order, open=True).update(open=False, closed_reason=how)
    order.on_hold = False


def approve(order: Order, now: Any = None) -> None:
    """The order is approved: in execution at once when an execution notice already named its responsible person
    (an amendment after the notice, approved again)."""
    order.status = OrderStatus.EXECUTING if order.responsible_id else OrderStatus.APPROVED
    order.approved_at = now or timezone.now()


def _review_reasons(order: Order, outcomes: list[checks.Outcome], policy: policies.ChecksPolicy) -> list[str]:
    """Why the order goes to the order review (R-ORD-03), empty when it need not: a failed check, a value above
    the threshold, a non-standard order, or a grade whose rush rule asks for strict review (grade D)."""
    why = []
    if any(not o.passed for o in outcomes if o.key != CheckKey.CREDIT):
        why.append("failed_check")
    if order.total_amount > policy.review_threshold:
        why.append("threshold")
    if order.non_standard:
        why.append("non_standard")
    lead = next((o for o in outcomes if o.key == CheckKey.LEAD_TIME), None)
    if lead is not None and lead.figures.get("rush_rule") == "strict_review":
        why.append("strict_review")
    return why


def _store_run(order: Order, outcomes: list[checks.Outcome]) -> None:
    """One more check run of the order: a result per check, with its figures and policy versions."""
    order.check_run += 1
    CheckResult.objects.bulk_create(
        [
            CheckResult(
                order=order,
                run=order.check_run,
                key=o.key,
                passed=o.passed,
                reason=o.reason,
                figures=o.figures,
                policy_versions=o.policy_versions,
            )
            for o in outcomes
        ]
    )
    order.checks_passed = all(o.passed for o in outcomes)
    lead = next((o for o in outcomes if o.key == CheckKey.LEAD_TIME), None)
    figures = lead.figures if lead is not None else {}
    order.grade = str(figures.get("grade") or "")[:2]
    # a rush order: requested sooner than the grade's standard lead time; the grade's rush rule "jump_queue"
    # (A by default, R-GRD-03) puts it first in the open order list (R-ORD-05)
    order.rush = lead is not None and not lead.passed and "earliest" in figures
    order.priority = 1 if order.rush and figures.get("rush_rule") == "jump_queue" else 0


def preview_checks(order: Order, lines: list[OrderLine]) -> list[checks.Outcome]:
    """Every check of an order being entered (unsaved), the credit check with the submit's own rule but without
    the lock: it stores nothing and decides nothing (the submit decides under the lock)."""
    policy, version = policies.checks()
    outcomes = checks.run_checks(order, lines, policy, version, timezone.localdate())
    credit, _excess = _credit(order, policy, version, lock=False)
    return [*outcomes, credit]


def _all_checks(
    order: Order, policy: policies.ChecksPolicy, version: int | None
) -> tuple[list[checks.Outcome], checks.Outcome, Decimal]:
    """Every check of the order, the credit check last (it takes the exposure row lock)."""
    outcomes = checks.run_checks(order, list(order.lines.all()), policy, version, timezone.localdate())
    credit, excess = _credit(order, policy, version)
    outcomes.append(credit)
    return outcomes, credit, excess


def _record_checked(
    order: Order,
    *,
    actor: Any,
    action: str,
    before: str,
    how: dict[str, Any],
    outcomes: list[checks.Outcome],
    review: list[str],
    versions: tuple[int | None, int | None],
    extra: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    """The audit entry of a submit or a release after the checks ran (R-ORD-02): the status change, how it came
    (``how``), the check run, the failed checks, the review reasons, ``extra`` and the amount now counted."""
    version, band_version = versions
    audit.record(
        actor=actor,
        action=action,
        obj=order,
        changes={
            "status": [before, order.status],
            **how,
            "run": order.check_run,
            # comma-separated, not lists: a list of two would read as a before/after pair in the trail
            "failed": ",".join(o.key for o in outcomes if not o.passed),
            "review": ",".join(review),
            **(extra or {}),
            "counted_amount": str(order.counted_amount),
        },
        reason=reason,
        policy_version=f"orders.checks:{version},orders.release_bands:{band_version}",
    )


def _submit(order: Order, *, actor: Any, why: str) -> Order:
    """The one submit path (submit, amend, reopen, copy): the order row is locked by the caller (or new)."""
    policy, version = policies.checks()
    band_policy, band_version = policies.bands()
    outcomes, credit, excess = _all_checks(order, policy, version)
    _store_run(order, outcomes)
    others_failed = any(not o.passed for o in outcomes[:-1])
    order.submitted_at = timezone.now()
    _close_hold(order, "resubmitted")
    before = order.status
    review: list[str] = []
    if not credit.passed:
        _move(order, ZERO)
        order.status = OrderStatus.CREDIT_HOLD
        order.on_hold = True
        overdue_days = int(credit.figures["overdue_days"])
        overdue_bad = overdue_days > policy.overdue_tolerance_days
        CreditHold.objects.create(
            order=order,
            run=order.check_run,
            excess=excess,
            overdue_days=overdue_days,
            required_role=band_policy.role_for(excess, overdue_bad),
            reason=credit.reason,
            policy_version_id=band_version,
        )
    elif others_failed and policy.failed_check_action == "block":
        _move(order, ZERO)
        order.status = OrderStatus.DRAFT
    else:
        _move(order, ZERO if credit.figures["exempt"] else order.total_amount)
        review = _review_reasons(order, outcomes, policy)
        if review:
            order.status = OrderStatus.REVIEW_PENDING
        else:
            approve(order)
    order.save()
    review_flow.sync_case(order, actor=actor, why=why)
    execution.sync_task(order, actor)
    _record_checked(
        order,
        actor=actor,
        action=AuditAction.TRANSITION,
        before=before,
        how={"via": why},
        outcomes=outcomes,
        review=review,
        versions=(version, band_version),
    )
    return order


@transaction.atomic
def order_submit(*, actor: Any, order_id: Any) -> Order:
    """Submit a draft: the automatic checks (R-ORD-02) and the atomic credit check (R-CRD-05)."""
    order = _order_for(actor, order_id)
    if order.status != OrderStatus.DRAFT:
        raise Conflict(
            _("订单状态为“%(s)s”，只有草稿可以提交。") % {"s": order.get_status_display()},
            field="status",
            rule="state",
        )
    return _submit(order, actor=actor, why="submit")


@transaction.atomic
def order_reopen(*, actor: Any, order_id: Any, reason: str) -> Order:
    """Bring a cancelled order back: it goes through the full checks again (never straight to its old state)."""
    if not (reason or "").strip():
        raise ValidationFailed(_("重新启用订单须填写理由。"), field="reason", rule="required")
    order = _order_for(actor, order_id)
    if order.status != OrderStatus.CANCELLED:
        raise Conflict(_("只有已取消的订单可以重新启用。"), field="status", rule="state")
    if has_deliveries(order):
        raise Conflict(_("订单已有发货，不能重新启用；请复制为新订单。"), field="status", rule="delivered")
    adapters.exposure_lock(order.customer)  # the fixed order: order row, exposure row, audit head
    audit.record(actor=actor, action=AuditAction.UPDATE, obj=order, changes={"reopen": True}, reason=reason)
    order.cancelled_at = None
    return _submit(order, actor=actor, why="reopen")


@transaction.atomic
def order_copy(*, actor: Any, order_id: Any, requested_date: Any = None, submit: bool = False) -> Order:
    """A new draft with the same customer, terms and lines (prices as they were; the tax rates the catalogue's
    now); its owner is the customer's owner now, as for every new order. When ``submit``, submitted through the
    full checks in the same transaction."""
    src = _order_for(actor, order_id, lock=False)
    lines = [
        {
            "product_id": x.product_id,
            "spec": x.spec,
            "quantity": x.quantity,
            "unit": x.unit,
            "unit_price": x.unit_price,
            "discount": x.discount,
            "tax_rate": None if x.product_id else x.tax_rate,
        }
        for x in src.lines.all()
    ]
    return order_create(
        actor=actor,
        customer_id=src.customer_id,
        channel=src.channel,
        requested_date=requested_date or max(src.requested_date, timezone.localdate()),
        payment_terms=src.payment_terms,
        lines=lines,
        non_standard=src.non_standard,
        customer_ref=src.customer_ref,
        notes=src.notes,
        copied_from=src,
        submit=submit,
    )


# ---------------------------------------------------------------------------------------------------------------
# Release and cancel


def actor_rank(actor: Any) -> tuple[int, str]:
    """The highest release role the actor holds (rank, code); (-1, "") without one."""
    best = (-1, "")
    for code in actor.role_codes():
        r = policies.rank(code)
        if r > best[0]:
            best = (r, code)
    return best


def releasable_roles(actor: Any) -> list[str]:
    """The required roles of the holds the actor's authority covers (their own and every lower one)."""
    rank, _role = actor_rank(actor)
    return list(policies.ROLE_ORDER[: rank + 1])


@transaction.atomic
def order_release(*, actor: Any, order_id: Any, reason: str) -> Order:
    """Release a credit hold (R-CRD-05, R-ORD-02): every check runs again (a new check run is stored) and the
    authority is checked on the excess at this moment, under the exposure row lock.

    - A customer no longer active and qualified is refused (Conflict): nothing changes, the order stays on hold.
    - Another check failing while policy ``orders.checks`` says ``block``: the hold ends and the order goes back
      to draft (not counted), to be corrected and submitted again.
    - Otherwise the order counts in exposure at once and is approved, or waits for its review when a check failed
      (``review``), its value is above the threshold, it is non-standard or the grade asks for strict review."""
    if not (reason or "").strip():
        raise ValidationFailed(_("解除信用冻结须填写理由。"), field="reason", rule="required")
    order = _order_for(actor, order_id, "orders.hold.release")
    if order.status != OrderStatus.CREDIT_HOLD:
        raise Conflict(_("订单不在信用冻结中。"), field="status", rule="state")
    policy, version = policies.checks()
    band_policy, band_version = policies.bands()
    outcomes, credit, excess = _all_checks(order, policy, version)  # takes the exposure row lock
    overdue_bad = int(credit.figures["overdue_days"]) > policy.overdue_tolerance_days
    required = band_policy.role_for(excess, overdue_bad)
    rank, role = actor_rank(actor)
    if rank < policies.rank(required):
        raise PermissionDenied(
            _("当前超额 %(excess)s 须由%(role)s或更高权限解除。")
            % {"excess": excess, "role": role_label(required)},
            field="reason",
            rule="release_band",
        )
    customer_check = next(o for o in outcomes if o.key == CheckKey.CUSTOMER)
    if not customer_check.passed:
        raise Conflict(
            _("不能解除信用冻结：%(why)s可取消该订单。") % {"why": customer_check.reason},
            field="customer",
            rule="customer_status",
        )
    _store_run(order, outcomes)
    others_failed = any(not o.passed for o in outcomes[:-1])
    now = timezone.now()
    before = order.status
    review: list[str] = []
    if others_failed and policy.failed_check_action == "block":
        _close_hold(order, "blocked")
        _move(order, ZERO)
        order.status = OrderStatus.DRAFT
        outcome = "blocked"
    else:
        hold = CreditHold.objects.select_for_update().filter(order=order, open=True).first()
        if hold is not None:
            CreditHold.objects.filter(pk=hold.pk).update(
                open=False,
                closed_reason="released",
                released_by=actor,
                released_role=role,
                released_at=now,
                release_reason=reason.strip(),
            )
        order.on_hold = False
        _move(order, ZERO if credit.figures["exempt"] else order.total_amount)
        review = _review_reasons(order, outcomes, policy)
        if review:
            order.status = OrderStatus.REVIEW_PENDING
        else:
            approve(order, now)
        outcome = "released"
    order.save()
    review_flow.sync_case(order, actor=actor, why="release")
    execution.sync_task(order, actor)
    _record_checked(
        order,
        actor=actor,
        action=AuditAction.DECISION,
        before=before,
        how={"release": outcome},
        outcomes=outcomes,
        review=review,
        versions=(version, band_version),
        extra={"excess": str(excess), "required_role": required, "released_role": role},
        reason=reason.strip(),
    )
    return order


def role_label(code: str) -> str:
    from kehu.core.models.org import RoleCode

    try:
        return str(RoleCode(code).label)
    except ValueError:
        return code


@transaction.atomic
def order_cancel(*, actor: Any, order_id: Any, reason: str) -> Order:
    """Cancel an order; what it counted in exposure comes off at once; an open hold ends; an open review case ends
    (withdrawn)."""
    if not (reason or "").strip():
        raise ValidationFailed(_("取消订单须填写理由。"), field="reason", rule="required")
    order = _order_for(actor, order_id)
    if order.status == OrderStatus.CANCELLED:
        raise Conflict(_("订单已取消。"), field="status", rule="state")
    if order.status == OrderStatus.COMPLETED:
        raise Conflict(_("订单已完成，不能取消。"), field="status", rule="state")
    if order.status == OrderStatus.EXECUTING and has_deliveries(order) and execution.all_delivered(order):
        raise Conflict(_("订单已全部发货，不能取消；全部开票后自动完成。"), field="status", rule="delivered")
    return cancel_locked(order, actor=actor, reason=reason.strip())


def cancel_locked(order: Order, *, actor: Any, reason: str, how: str = "cancelled") -> Order:
    """The cancel path on a locked order (cancel, and a review rejecting the order, R-ORD-04): the exposure it
    counted is released at once, an open hold ends."""
    if order.counted_amount:
        adapters.exposure_lock(order.customer)  # before the audit head
        _move(order, ZERO)
    _close_hold(order, "cancelled")
    before = order.status
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = timezone.now()
    if order.responsible_id:
        engine.task_close(target=order, actor=actor)  # the execution notice's to-do
        # the notices stay in the archive; brought back, the order needs a new notice (its deadline has gone)
        order.responsible = None
    order.save()
    review_flow.sync_case(order, actor=actor, why=reason)
    audit.record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=order,
        changes={
            "status": [before, order.status],
            **({"review": how} if how != "cancelled" else {}),
            "counted_amount": str(order.counted_amount),
        },
        reason=reason,
    )
    return order


def move_counted(order: Order, new_counted: Decimal) -> None:
    """What the order counts in exposure brought to ``new_counted`` (order row and exposure row locked)."""
    _move(order, new_counted)
