"""The automatic checks of an order on submit (R-ORD-02) apart from the credit check, which the submit service
runs under the customer's exposure row lock (R-CRD-05). Each check gives its own result, reason and figures."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from typing import Any

from django.utils.translation import gettext as _

from kehu.core.workdays import workdays_add
from kehu.customers.models import CustomerStatus
from kehu.orders import adapters
from kehu.orders.models import CheckKey, Order, OrderLine, Product
from kehu.orders.policies import ChecksPolicy

HUNDRED = Decimal("100")


@dataclass
class Outcome:
    key: str
    passed: bool
    reason: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    policy_versions: dict[str, int | None] = field(default_factory=dict)


def _s(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal | dt.date) else value


def check_customer(order: Order) -> Outcome:
    c = order.customer
    ok = c.status == CustomerStatus.ACTIVE and c.merged_into_id is None
    reason = (
        _("客户状态为“%(status)s”，可以下单。")
        if ok
        else _("客户状态为“%(status)s”，只有交易中的合格客户可以下单。")
    ) % {"status": c.get_status_display()}
    return Outcome(CheckKey.CUSTOMER, ok, reason, {"status": c.status})


def check_documents(order: Order, day: dt.date) -> Outcome:
    got = adapters.customer_documents_valid(order.customer, day)
    reason = _("证照齐全且在有效期内。") if got.ok else _("证照问题：%(msg)s") % {"msg": got.message}
    return Outcome(
        CheckKey.DOCUMENTS,
        got.ok,
        reason,
        {"problems": len(got.problems)},
        {"customers.documents": got.policy_version_id},
    )


def check_lines(lines: list[OrderLine]) -> Outcome:
    if not lines:
        return Outcome(CheckKey.LINES, False, _("订单没有订单行。"), {"lines": 0})
    missing: list[str] = []
    for line in lines:
        names = []
        if line.product_id is None:
            names.append(_("产品"))
        if line.quantity is None or line.quantity <= 0:
            names.append(_("数量"))
        if not line.unit:
            names.append(_("单位"))
        if line.unit_price is None or line.unit_price <= 0:
            names.append(_("单价"))
        if line.tax_rate is None:
            names.append(_("税率"))
        if names:
            missing.append(_("第%(n)s行缺少%(what)s") % {"n": line.position, "what": "、".join(names)})
    if missing:
        return Outcome(CheckKey.LINES, False, "；".join(missing) + "。", {"lines": len(lines)})
    return Outcome(
        CheckKey.LINES, True, _("%(n)s 行均已填写完整。") % {"n": len(lines)}, {"lines": len(lines)}
    )


def check_scope(
    lines: list[OrderLine], products: dict[int, Product], policy: ChecksPolicy, version: int | None
) -> Outcome:
    bad: list[str] = []
    for line in lines:
        p = products.get(line.product_id or 0)
        if p is None:
            continue
        if not p.active or p.scope not in policy.in_scope:
            bad.append(
                _("第%(n)s行 %(code)s（%(scope)s%(inactive)s）")
                % {
                    "n": line.position,
                    "code": p.code,
                    "scope": p.get_scope_display(),
                    "inactive": "" if p.active else _("，已停售"),
                }
            )
    versions = {"orders.checks": version}
    if bad:
        return Outcome(
            CheckKey.SCOPE, False, _("不在经营范围内：%(items)s。") % {"items": "、".join(bad)}, {}, versions
        )
    return Outcome(CheckKey.SCOPE, True, _("全部产品在经营范围内。"), {}, versions)


def effective_price(line: OrderLine) -> Decimal:
    """The line's net unit price after its discount, exact (not rounded)."""
    price = line.unit_price or Decimal(0)
    return price * (HUNDRED - (line.discount or Decimal(0))) / HUNDRED


def lowest_price(product: Product, cap: Decimal) -> Decimal:
    """The lowest net unit price a discount cap of ``cap`` percent allows: control price x (1 - cap / 100), exact
    (a negative cap asks for a price above the control price)."""
    return product.control_price * (HUNDRED - cap) / HUNDRED


def below_control_pct(line: OrderLine, product: Product) -> Decimal:
    """How many percent the line's net unit price lies below the control price (negative: above it), to four
    places, for display; the check itself compares prices exactly (:func:`within_cap`)."""
    if not product.control_price:
        return Decimal(0)
    return _places((product.control_price - effective_price(line)) * HUNDRED / product.control_price)


def within_cap(line: OrderLine, product: Product, cap: Decimal) -> bool:
    """R-ORD-02: the net unit price is not below control price x (1 - cap / 100), compared exactly, so that no
    rounding of the percentage lets 5.004 % pass a 5 % cap."""
    return effective_price(line) >= lowest_price(product, cap)


def check_discount(lines: list[OrderLine], products: dict[int, Product], terms: Any) -> Outcome:
    if terms is None:
        return Outcome(CheckKey.DISCOUNT, False, _("客户尚无有效等级，无法确定折扣上限。"))
    cap = terms.discount_cap
    worst = None
    bad: list[str] = []
    for line in lines:
        p = products.get(line.product_id or 0)
        if p is None or line.unit_price is None:
            continue
        pct = below_control_pct(line, p)
        worst = pct if worst is None or pct > worst else worst
        if not within_cap(line, p, cap):
            bad.append(
                _("第%(n)s行折后单价 %(price)s 低于最低价 %(floor)s（低于内控价 %(pct)s%%）")
                % {
                    "n": line.position,
                    "price": _money(effective_price(line)),
                    "floor": _money(lowest_price(p, cap)),
                    "pct": pct,
                }
            )
    figures = {"grade": terms.grade, "cap": _s(cap), "worst": _s(worst)}
    versions = {"grading.scheme": terms.policy_version_id}
    if bad:
        return Outcome(
            CheckKey.DISCOUNT,
            False,
            _("超出%(grade)s级折扣上限 %(cap)s%%：%(items)s。")
            % {"grade": terms.grade, "cap": cap, "items": "、".join(bad)},
            figures,
            versions,
        )
    return Outcome(
        CheckKey.DISCOUNT,
        True,
        _("价格在%(grade)s级折扣上限 %(cap)s%% 内。") % {"grade": terms.grade, "cap": cap},
        figures,
        versions,
    )


def _places(value: Decimal) -> Decimal:
    """Two decimal places, more when the value has them (up to four, rounded away from zero)."""
    q = value.quantize(Decimal("0.0001"), ROUND_UP)
    return q.quantize(Decimal("0.01")) if q == q.quantize(Decimal("0.01")) else q.normalize()


def _money(value: Decimal) -> str:
    return str(_places(value))


def check_terms(order: Order, terms: Any, policy: ChecksPolicy, version: int | None) -> Outcome:
    if terms is None:
        return Outcome(CheckKey.TERMS, False, _("客户尚无有效等级，无法确定允许的付款条件。"))
    level = adapters.payment_terms_level(order.customer)
    by_level = policy.terms_by_level.get(level, [])
    figures = {
        "grade": terms.grade,
        "grade_terms": terms.payment_terms,
        "level": level,
        "level_terms": by_level,
    }
    versions = {"grading.scheme": terms.policy_version_id, "orders.checks": version}
    problems = []
    if order.payment_terms not in terms.payment_terms:
        problems.append(_("%(grade)s级客户不允许该付款条件") % {"grade": terms.grade})
    if order.payment_terms not in by_level:
        problems.append(_("付款条件等级 %(level)s 不允许该付款条件") % {"level": level})
    if problems:
        return Outcome(CheckKey.TERMS, False, "；".join(problems) + "。", figures, versions)
    return Outcome(CheckKey.TERMS, True, _("付款条件符合等级与信用类别。"), figures, versions)


def check_lead_time(order: Order, terms: Any, day: dt.date) -> Outcome:
    if terms is None:
        return Outcome(CheckKey.LEAD_TIME, False, _("客户尚无有效等级，无法确定标准交期。"))
    versions = {"grading.scheme": terms.policy_version_id}
    if terms.lead_time_days is None:
        return Outcome(
            CheckKey.LEAD_TIME,
            True,
            _("%(grade)s级无标准交期，按急单规则处理。") % {"grade": terms.grade},
            {"grade": terms.grade, "rush_rule": terms.rush_rule},
            versions,
        )
    earliest = workdays_add(day, terms.lead_time_days)
    figures = {
        "grade": terms.grade,
        "lead_time_days": terms.lead_time_days,
        "earliest": _s(earliest),
        "requested": _s(order.requested_date),
        "rush_rule": terms.rush_rule,
    }
    if order.requested_date < earliest:
        return Outcome(
            CheckKey.LEAD_TIME,
            False,
            _("要求交货日期 %(req)s 早于%(grade)s级标准交期 %(n)s 个工作日（最早 %(earliest)s）。")
            % {
                "req": order.requested_date,
                "grade": terms.grade,
                "n": terms.lead_time_days,
                "earliest": earliest,
            },
            figures,
            versions,
        )
    return Outcome(
        CheckKey.LEAD_TIME,
        True,
        _("交期不短于 %(n)s 个工作日（最早 %(earliest)s）。")
        % {"n": terms.lead_time_days, "earliest": earliest},
        figures,
        versions,
    )


def run_checks(
    order: Order, lines: list[OrderLine], policy: ChecksPolicy, version: int | None, day: dt.date
) -> list[Outcome]:
    """Every check but the credit check, in the order they are shown."""
    ids = {line.product_id for line in lines if line.product_id}
    products = {p.pk: p for p in Product.objects.filter(pk__in=ids)}
    terms = adapters.grade_terms(order.customer, day)
    return [
        check_customer(order),
        check_documents(order, day),
        check_scope(lines, products, policy, version),
        check_lines(lines),
        check_discount(lines, products, terms),
        check_terms(order, terms, policy, version),
        check_lead_time(order, terms, day),
    ]
