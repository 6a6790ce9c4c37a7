"""Demo orders (R-ORD-01..07, R-CRD-05): a catalogue of twenty products and orders of demo customers in every state
a new user should find in the order module:

- a draft, and orders on credit hold (receivables overdue beyond the tolerance, an order far above the limit, a
  customer without a credit limit), each needing a different release authority;
- orders in review at the content, sales, finance and management steps, the opinions of the steps before recorded
  by the reviewers the policy names (the review group, the sales manager, finance), one recorded by the review
  group's backup while its member is away;
- approved orders without an execution notice, one changed after approval at the customer's request;
- orders in execution (notice by the sales manager or the general manager, sales1 or sales2 responsible) with
  partial deliveries, one of them invoiced by finance (posted to the receivables ledger), and one corrected after
  approval for an internal error of the sales department (the order error report's row);
- a completed order (delivered and invoiced in full, with the customer's feedback) and one cancelled after a
  partial delivery;
- an A-grade rush order (requested sooner than the grade's lead time): reviewed, approved and first in the open
  order list.

Customers are chosen by what the checks read, never by id. Orders that take credit go to four active customers
with a grade in force, valid documents and a credit limit in force (the A-grade one with the most credit left, for
the rush order, and the three others with the most); when such a customer has receivables overdue beyond the
tolerance, finance first records the customer settling them (a receipt allocated to the overdue invoices), as it
would before supply is resumed. The reviews of customers without a limit are of orders paid in advance (prepayment,
which takes no credit). Everything goes through the services, so the exposure rows stay consistent; the loader
runs once (nothing is loaded when the catalogue exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal
from typing import Any

from django.utils import timezone

from kehu.core.models import User
from kehu.core.workdays import workdays_add
from kehu.customers.models import Customer, CustomerStatus
from kehu.grading.interface import GradeTerms
from kehu.limits.models import CreditLimit, LimitStatus
from kehu.orders import adapters, execution, policies, services
from kehu.orders import review as review_flow
from kehu.orders.models import AmendmentCause, FeedbackKind, Order, OrderStatus, Product, Scope

CATALOGUE = [
    ("P-1001", "数控车床主轴", "CK6140-φ80", "件", "12800", Scope.STANDARD),
    ("P-1002", "精密滚珠丝杠", "SFU2005-1000", "根", "860", Scope.STANDARD),
    ("P-1003", "直线导轨", "HGR20-1200", "根", "540", Scope.STANDARD),
    ("P-1004", "伺服电机", "1.5kW-2500rpm", "台", "3200", Scope.STANDARD),
    ("P-1005", "伺服驱动器", "AC220V-1.5kW", "台", "2600", Scope.STANDARD),
    ("P-1006", "液压卡盘", "KS-08", "套", "5400", Scope.STANDARD),
    ("P-1007", "刀塔", "BMT55-12工位", "套", "18600", Scope.STANDARD),
    ("P-1008", "冷却泵", "DB-25", "台", "420", Scope.STANDARD),
    ("P-1009", "润滑泵", "AMR-II-150", "台", "380", Scope.STANDARD),
    ("P-1010", "防护罩", "定尺1500", "套", "1600", Scope.CUSTOM),
    ("P-1011", "非标夹具", "按图加工", "套", "7800", Scope.CUSTOM),
    ("P-1012", "专用刀具", "按图刃磨", "把", "950", Scope.CUSTOM),
    ("P-1013", "联轴器", "GS28", "个", "160", Scope.TRADED),
    ("P-1014", "轴承", "7206AC/P4", "套", "420", Scope.TRADED),
    ("P-1015", "同步带轮", "5M-30T", "个", "95", Scope.TRADED),
    ("P-1016", "电控柜", "定制", "台", "26000", Scope.CUSTOM),
    ("P-1017", "数控系统", "FANUC 0i-TF", "套", "68000", Scope.TRADED),
    ("P-1018", "光栅尺", "LS487-1240", "支", "5200", Scope.TRADED),
    ("P-1019", "手摇脉冲发生器", "MPG-60", "个", "310", Scope.STANDARD),
    ("P-1020", "旧型号主轴", "CK6136-φ60", "件", "9800", Scope.DISCONTINUED),
]

USERNAMES = ("admin", "gm", "salesmgr", "sales1", "sales2", "finance1", "reviewer1", "quality1")
# who records a review step's opinion: the first of these holding the step's role (policy ``orders.review``)
REVIEWERS = ("reviewer1", "salesmgr", "finance1", "gm")
# payment terms in the order a rep offers them; the first one the grade and the credit level both allow is used
TERMS_PREFERENCE = ("net_30", "after_delivery_90", "cash_on_delivery", "no_deferral", "prepayment")
CENT = Decimal("0.01")
HUNDRED = Decimal("100")
TAX = Decimal("1.13")
POOL_CREDIT = Decimal("100000")  # the least credit left of a customer the orders on credit go to
FAR = 45  # working days to the requested date of an ordinary order (longer than every grade's lead time)

# the opinion each review step records (R-ORD-04)
OPINIONS = {
    "content_pass": "订单范围、技术与质量要求明确，交期经生产确认可行，风险可控，同意转销售部。",
    "sales_pass": "客户合作稳定，价格与折扣符合等级政策，同意。",
    "purchasing_pass": "主要材料有库存，外购件两周内可到货，采购无障碍。",
    "logistics_pass": "按客户要求交期安排汽运，可分两批发货。",
    "finance_pass": "付款条件符合客户等级与信用类别，信用额度充足。",
    "approve": "同意，按评审意见组织生产，确保交期。",
}
TO_FINANCE = ("content_pass", "sales_pass", "purchasing_pass", "logistics_pass")


@dataclass
class Standing:
    """What the order checks would read of a customer today."""

    customer: Customer
    grade: GradeTerms
    terms: list[str]  # payment terms both the grade and the customer's credit level allow, preferred first
    limit: Decimal | None
    available: Decimal
    overdue_days: int
    overdue_amount: Decimal = Decimal(0)
    credit_terms: list[str] = field(default_factory=list)  # of ``terms``, those that take credit
    orders: int = 0  # orders the demo gave the customer so far


def _users() -> dict[str, User] | None:
    """The demo users by username (the admin: any superuser when ``admin`` is not there), None without one."""
    users = {u.username: u for u in User.objects.filter(username__in=USERNAMES, is_active=True)}
    admin = users.get("admin") or User.objects.filter(is_superuser=True).first()
    if admin is None:
        return None
    users["admin"] = admin
    return users


def _catalogue(admin: User) -> dict[str, Product]:
    for code, name, spec, unit, price, scope in CATALOGUE:
        services.product_save(
            actor=admin,
            code=code,
            name=name,
            spec=spec,
            unit=unit,
            control_price=Decimal(price),
            scope=scope,
            active=scope != Scope.DISCONTINUED,
        )
    return {p.code: p for p in Product.objects.all()}


class _Demo:
    def __init__(self, users: dict[str, User], products: dict[str, Product]) -> None:
        self.users = users
        self.products = products
        self.today = timezone.localdate()
        self.policy, _version = policies.checks()
        self.po = 0  # customer purchase order numbers

    # -----------------------------------------------------------------------------------------------------------
    # Customers

    def standing(self, c: Customer) -> Standing | None:
        """The customer's standing when it could order at all (active, documents valid, graded), else None."""
        if c.status != CustomerStatus.ACTIVE or c.merged_into_id is not None:
            return None
        if c.owner is None or not c.owner.is_active:
            return None
        grade = adapters.grade_terms(c, self.today)
        if grade is None or not adapters.customer_documents_valid(c, self.today).ok:
            return None
        level = adapters.payment_terms_level(c)
        by_level = self.policy.terms_by_level.get(level, [])
        terms = [t for t in TERMS_PREFERENCE if t in grade.payment_terms and t in by_level]
        limit = adapters.credit_limit(c)
        amount = limit.amount if limit is not None else None
        available = (amount - adapters.credit_exposure(c)) if amount is not None else Decimal(0)
        overdue = adapters.overdue_summary(c, self.today)
        return Standing(
            customer=c,
            grade=grade,
            terms=terms,
            limit=amount,
            available=available,
            overdue_days=overdue.oldest_days,
            overdue_amount=overdue.amount,
            credit_terms=[t for t in terms if t not in self.policy.exempt_terms],
        )

    def overdue_bad(self, s: Standing) -> bool:
        return s.overdue_days > self.policy.overdue_tolerance_days

    def with_limits(self) -> list[Standing]:
        """Customers with a credit limit in force (none with a write-off in approval) whose grade and credit level
        allow payment terms that take credit, the most credit left once their overdue invoices are paid first."""
        from kehu.receivables.models import WriteOff, WriteOffStatus

        pending = WriteOff.objects.filter(status=WriteOffStatus.PENDING).values("customer_id")
        rows = (
            CreditLimit.objects.filter(status=LimitStatus.IN_FORCE, customer__status=CustomerStatus.ACTIVE)
            .exclude(customer_id__in=pending)
            .select_related("customer", "customer__owner")
            .order_by("customer_id")
        )
        out = [s for s in (self.standing(r.customer) for r in rows) if s is not None and s.credit_terms]
        out.sort(key=lambda s: -(s.available + s.overdue_amount))
        return out

    def settle_overdue(self, s: Standing) -> None:
        """Finance records the customer paying every overdue invoice (a wire receipt allocated to them)."""
        from kehu.receivables import services as ledger
        from kehu.receivables.models import Entry, EntryKind

        overdue = list(
            Entry.objects.filter(
                customer=s.customer, kind=EntryKind.INVOICE, open_amount__gt=0, due_date__lt=self.today
            ).order_by("due_date", "pk")
        )
        if overdue:
            total = sum((e.open_amount for e in overdue), Decimal(0))
            ledger.receipt_post(
                actor=self.users["finance1"],
                customer_id=s.customer.pk,
                entry_date=self.today,
                lines=[{"method": "wire", "amount": total}],
                allocations=[{"invoice_id": e.pk, "amount": e.open_amount} for e in overdue],
                memo="客户结清逾期货款，恢复供货",
            )
        fresh = self.standing(Customer.objects.select_related("owner").get(pk=s.customer.pk))
        if fresh is not None:
            s.available, s.overdue_days, s.overdue_amount = (
                fresh.available,
                fresh.overdue_days,
                fresh.overdue_amount,
            )

    def without_limit(
        self, want: int, *, grades: tuple[str, ...], terms: str, skip: set[int]
    ) -> list[Standing]:
        """Up to ``want`` customers without a credit limit, nothing overdue beyond the tolerance, of one of
        ``grades``, whose grade and credit level allow ``terms``."""
        limited = CreditLimit.objects.filter(status=LimitStatus.IN_FORCE).values("customer_id")
        out: list[Standing] = []
        candidates = (
            Customer.objects.filter(status=CustomerStatus.ACTIVE, merged_into__isnull=True)
            .exclude(pk__in=limited)
            .exclude(pk__in=skip)
            .select_related("owner")
            .order_by("pk")
        )
        for c in candidates.iterator(chunk_size=50):
            s = self.standing(c)
            if s is None or s.grade.grade not in grades or terms not in s.terms or self.overdue_bad(s):
                continue
            out.append(s)
            if len(out) >= want:
                break
        return out

    # -----------------------------------------------------------------------------------------------------------
    # Orders

    def line(self, s: Standing, code: str, qty: int, discount: str = "0") -> dict[str, Any]:
        """A line within the customer's discount cap (a negative cap, grade D, asks for a price above the
        control price)."""
        p = self.products[code]
        cap = s.grade.discount_cap
        row: dict[str, Any] = {"product_id": p.pk, "quantity": str(qty)}
        if cap < 0:
            row["unit_price"] = str((p.control_price * (HUNDRED - cap) / HUNDRED).quantize(CENT, ROUND_UP))
        else:
            row["discount"] = str(min(Decimal(discount), cap))
        return row

    def estimate(self, lines: list[tuple[str, int, str]]) -> Decimal:
        return sum(
            (
                self.products[c].control_price * q * (HUNDRED - Decimal(d)) / HUNDRED * TAX
                for c, q, d in lines
            ),
            Decimal(0),
        )

    def take(
        self, pool: list[Standing], lines: list[tuple[str, int, str]], grade: str = ""
    ) -> Standing | None:
        """A customer of ``pool`` whose credit left covers the order (of ``grade`` when given): the one with the
        fewest demo orders so far, then the most credit left, so that the orders spread over the customers."""
        need = self.estimate(lines)
        fits = [s for s in pool if s.available >= need and (not grade or s.grade.grade == grade)]
        if not fits:
            return None
        s = min(fits, key=lambda x: (x.orders, -x.available))
        s.available -= need
        s.orders += 1
        return s

    def order(
        self,
        s: Standing,
        lines: list[tuple[str, int, str]],
        *,
        channel: str,
        days: int = FAR,
        terms: str = "",
        non_standard: bool = False,
        notes: str = "",
        submit: bool = True,
    ) -> Order:
        self.po += 1
        rep = s.customer.owner
        order = services.order_create(
            actor=rep,
            customer_id=s.customer.pk,
            channel=channel,
            requested_date=workdays_add(self.today, days),
            payment_terms=terms or (s.credit_terms or s.terms)[0],
            lines=[self.line(s, c, q, d) for c, q, d in lines],
            non_standard=non_standard,
            customer_ref=f"PO{self.today:%Y%m}-{self.po:03d}",
            notes=notes,
        )
        if submit:
            order = services.order_submit(actor=rep, order_id=order.pk)
        return order

    def review(
        self,
        order: Order,
        steps: tuple[str, ...],
        acting: dict[str, str] | None = None,
        opinions: dict[str, str] | None = None,
    ) -> Order:
        """Take the review steps, each by the holder of the step's role (``acting``: by someone else, e.g. the
        absent holder's backup), with the step's opinion (``opinions``: this order's own)."""
        policy, _v = policies.review()
        for transition in steps:
            case = review_flow.open_case(order)
            if case is None:
                break
            role = policy.role(case.state)
            who = (acting or {}).get(transition) or next(
                (u for u in REVIEWERS if self.users.get(u) and self.users[u].has_role(role)), "gm"
            )
            order = review_flow.order_review(
                actor=self.users[who],
                order_id=order.pk,
                transition=transition,
                comment=(opinions or {}).get(transition) or OPINIONS[transition],
                expected_state=case.state,
            )
        return order

    def responsible(self, order: Order, fallback: str) -> User:
        owner = order.customer.owner
        if owner is not None and owner.username in ("sales1", "sales2"):
            return owner
        return self.users[fallback]

    def assign(self, order: Order, *, by: str, quality: str, plan: str, days: int = 25) -> Order:
        from kehu.core import access

        actor = self.users[by]
        if not access.in_scope(actor, "orders.order.assign", order):
            actor = self.users["gm"]
        person = self.responsible(order, "sales1" if order.pk % 2 else "sales2")
        execution.order_assign(
            actor=actor,
            order_id=order.pk,
            responsible_id=person.pk,
            delivery_deadline=min(order.requested_date, workdays_add(self.today, days)),
            quality_requirements=quality,
            production_plan=plan,
        )
        return Order.objects.select_related("customer", "responsible").get(pk=order.pk)

    def deliver(self, order: Order, quantities: dict[int, Any], note: str) -> Order:
        """A delivery of ``quantities`` (line position -> quantity), entered by the order's responsible person."""
        by_position = {x.position: x for x in order.lines.all()}
        execution.delivery_post(
            actor=order.responsible,
            order_id=order.pk,
            delivered_on=self.today,
            lines=[{"line_id": by_position[n].pk, "quantity": str(q)} for n, q in quantities.items()],
            note=note,
        )
        return Order.objects.select_related("customer", "responsible").get(pk=order.pk)

    def deliver_rest(self, order: Order, note: str) -> Order:
        left = {x.position: (x.quantity or Decimal(0)) - x.delivered_quantity for x in order.lines.all()}
        return self.deliver(order, {n: q for n, q in left.items() if q > 0}, note)

    def invoice(self, order: Order, seq: int) -> Order:
        execution.order_invoice(
            actor=self.users["finance1"],
            order_id=order.pk,
            number=f"FP{order.number[-6:]}{seq:02d}",
            invoiced_on=self.today,
        )
        return Order.objects.select_related("customer", "responsible").get(pk=order.pk)

    def amend(
        self, order: Order, lines: list[dict[str, Any]], *, reason: str, cause: str, error: bool
    ) -> Order:
        rep = order.customer.owner
        return services.order_update(
            actor=rep,
            order_id=order.pk,
            channel=order.channel,
            requested_date=order.requested_date,
            payment_terms=order.payment_terms,
            lines=lines,
            non_standard=order.non_standard,
            customer_ref=order.customer_ref,
            notes=order.notes,
            reason=reason,
            cause=cause,
            department_id=rep.department_id if error and rep is not None else None,
            person_id=rep.pk if error and rep is not None else None,
        )


def _line_rows(order: Order, change: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The order's lines as input, with ``change`` (position -> fields) applied."""
    rows = []
    for x in order.lines.order_by("position"):
        row = {
            "product_id": x.product_id,
            "spec": x.spec,
            "quantity": str(x.quantity),
            "unit": x.unit,
            "unit_price": str(x.unit_price),
            "discount": str(x.discount),
        }
        row.update(change.get(x.position, {}))
        rows.append(row)
    return rows


def load_orders() -> None:
    users = _users()
    if users is None or Product.objects.exists():
        return
    products = _catalogue(users["admin"])
    missing = {"gm", "salesmgr", "sales1", "sales2", "finance1", "reviewer1"} - set(users)
    if missing:
        return
    d = _Demo(users, products)
    limited = d.with_limits()
    # orders on credit go to the A-grade customer with the most credit left (the rush order) and the three others
    # with the most; customers of these with invoices overdue beyond the tolerance pay them first
    first_a = [s for s in limited if s.grade.grade == "A"][:1]
    others = [s for s in limited if s not in first_a and s.available + s.overdue_amount >= POOL_CREDIT]
    pool = first_a + others[:3]
    for s in pool:
        if d.overdue_bad(s):
            d.settle_overdue(s)
    pool = [s for s in pool if not d.overdue_bad(s)]
    used = {s.customer.pk for s in limited}
    _credit_orders(d, pool)
    _prepaid_reviews(d, used)
    _holds(d, [s for s in limited if s not in pool], used)


def _credit_orders(d: _Demo, pool: list[Standing]) -> None:
    """Orders taking credit: the rush order, approved, in execution, completed, cancelled, in review, amended."""
    quality = "按国家标准及客户技术协议验收，随货附出厂检验报告与合格证。"

    # an A-grade rush order: requested sooner than the grade's lead time, reviewed, approved, notice given
    rush_lines = [("P-1004", 8, "3"), ("P-1005", 8, "3")]
    s = d.take(pool, rush_lines, grade="A")
    if s is not None and s.grade.lead_time_days:
        rush = d.order(
            s,
            rush_lines,
            channel="phone",
            days=max(1, s.grade.lead_time_days // 2),
            notes="客户产线改造提前，要求提前交货，急单。",
        )
        rush = d.review(
            rush,
            (*TO_FINANCE, "finance_pass", "approve"),
            opinions={
                "content_pass": "急单：要求交期短于A级标准交期，生产确认可插单，伺服电机与驱动器现有库存，同意。",
                "approve": "A级客户急单，同意优先排产，按客户要求日期交货。",
            },
        )
        if rush.status == OrderStatus.APPROVED:
            d.assign(rush, by="gm", quality=quality, plan="插单生产，优先排产，装配后逐台通电测试。", days=10)

    # approved without an execution notice; the first changed after approval at the customer's request
    lines = [("P-1002", 20, "2"), ("P-1003", 40, "2")]
    s = d.take(pool, [("P-1002", 20, "2"), ("P-1003", 60, "2")])
    if s is not None:
        o = d.order(s, lines, channel="email")
        if o.status == OrderStatus.APPROVED:
            d.amend(
                o,
                _line_rows(o, {2: {"quantity": "60"}}),
                reason="客户来函：新增一条生产线，直线导轨由40根增至60根。",
                cause=AmendmentCause.CUSTOMER,
                error=False,
            )
    lines = [("P-1009", 20, "0"), ("P-1008", 20, "0"), ("P-1019", 10, "0")]
    s = d.take(pool, lines)
    if s is not None:
        d.order(s, lines, channel="portal", notes="年度备件补货。")

    # in execution, partly delivered
    lines = [("P-1006", 6, "3"), ("P-1008", 12, "0")]
    s = d.take(pool, lines)
    if s is not None:
        o = d.order(s, lines, channel="fax")
        if o.status == OrderStatus.APPROVED:
            o = d.assign(
                o, by="salesmgr", quality=quality, plan="卡盘分两批装配：首批3套本周发运，其余下周。"
            )
            d.deliver(o, {1: 3, 2: 12}, "首批发货：液压卡盘3套、冷却泵12台。")

    # in execution, partly delivered and invoiced (the invoice goes to the receivables ledger)
    lines = [("P-1014", 100, "2"), ("P-1013", 60, "0"), ("P-1015", 80, "0")]
    s = d.take(pool, lines)
    if s is not None:
        o = d.order(s, lines, channel="on_site")
        if o.status == OrderStatus.APPROVED:
            o = d.assign(o, by="salesmgr", quality=quality, plan="现货发运，带轮外协加工两周。")
            o = d.deliver(o, {1: 100, 2: 60}, "轴承、联轴器现货发运。")
            d.invoice(o, 1)

    # in execution, corrected after approval for an internal error (before any delivery)
    lines = [("P-1003", 3, "0"), ("P-1002", 10, "0")]
    s = d.take(pool, [("P-1003", 30, "0"), ("P-1002", 10, "0")])
    if s is not None:
        o = d.order(s, lines, channel="phone")
        if o.status == OrderStatus.APPROVED:
            o = d.assign(o, by="salesmgr", quality=quality, plan="导轨按长度下料，丝杠配磨。")
            d.amend(
                o,
                _line_rows(o, {1: {"quantity": "30"}}),
                reason="录单差错：客户订单直线导轨为30根，录入时误为3根，按客户订单更正。",
                cause=AmendmentCause.ERROR,
                error=True,
            )

    # completed: delivered and invoiced in full, with the customer's feedback
    lines = [("P-1018", 4, "0"), ("P-1019", 4, "0")]
    s = d.take(pool, lines)
    if s is not None:
        o = d.order(s, lines, channel="email")
        if o.status == OrderStatus.APPROVED:
            o = d.assign(o, by="salesmgr", quality=quality, plan="外购件，到货检验后发运。", days=10)
            o = d.deliver_rest(o, "全部发货，客户已签收。")
            o = d.invoice(o, 1)
            execution.feedback_add(
                actor=o.responsible,
                order_id=o.pk,
                kind=FeedbackKind.QUALITY,
                content="光栅尺安装调试顺利，精度符合要求，客户表示满意。",
                rating=5,
            )

    # cancelled after a partial delivery (the delivered set stays in the unbilled deliveries until invoiced)
    lines = [("P-1007", 3, "0")]
    s = d.take(pool, lines)
    if s is not None:
        o = d.order(s, lines, channel="on_site")
        if o.status == OrderStatus.APPROVED:
            o = d.assign(o, by="salesmgr", quality=quality, plan="刀塔逐套装配，出厂前精度检测。")
            o = d.deliver(o, {1: 1}, "首套刀塔发货。")
            services.order_cancel(
                actor=o.customer.owner,
                order_id=o.pk,
                reason="客户项目暂停，剩余两套刀塔取消，已发货一套按实际结算。",
            )

    # non-standard orders in review: one at the content step, one at the finance step (paid in advance by a
    # customer without a limit when the pool's credit is used up: how much is left depends on the ledger's dates)
    lines = [("P-1011", 4, "0"), ("P-1012", 10, "0")]
    s, terms = _taken_or_prepaid(d, pool, lines)
    if s is not None:
        d.order(
            s,
            lines,
            channel="email",
            terms=terms,
            non_standard=True,
            notes="按客户图纸 JG-2031 加工，需技术评审。",
        )
    lines = [("P-1016", 2, "0"), ("P-1010", 2, "0")]
    s, terms = _taken_or_prepaid(d, pool, lines)
    if s is not None:
        o = d.order(
            s, lines, channel="on_site", terms=terms, non_standard=True, notes="电控柜按客户电气图定制。"
        )
        d.review(o, TO_FINANCE, acting={"logistics_pass": "quality1"})


def _taken_or_prepaid(
    d: _Demo, pool: list[Standing], lines: list[tuple[str, int, str]]
) -> tuple[Standing | None, str]:
    """A customer of the pool with credit for the lines, else one without a limit paying in advance."""
    s = d.take(pool, lines)
    if s is not None:
        return s, ""
    prepaid = d.without_limit(1, grades=("A", "B", "C"), terms="prepayment", skip=set())
    return (prepaid[0], "prepayment") if prepaid else (None, "")


def _prepaid_reviews(d: _Demo, used: set[int]) -> None:
    """Orders paid in advance of customers without a limit, in review: a grade-D order (strict review) at the sales
    step, a non-standard order of a grade-C customer at the management step."""
    for s in d.without_limit(1, grades=("D",), terms="prepayment", skip=used):
        used.add(s.customer.pk)
        o = d.order(
            s,
            [("P-1016", 1, "0")],
            channel="email",
            terms="prepayment",
            notes="D级客户，款到发货。",
        )
        d.review(o, ("content_pass",))
    for s in d.without_limit(1, grades=("C",), terms="prepayment", skip=used):
        used.add(s.customer.pk)
        o = d.order(
            s,
            [("P-1010", 10, "0"), ("P-1011", 2, "0")],
            channel="portal",
            terms="prepayment",
            non_standard=True,
            notes="防护罩按现场尺寸定制，预付全款。",
        )
        d.review(
            o,
            (*TO_FINANCE, "finance_pass"),
            opinions={"finance_pass": "预付全款，不占用信用额度；款到后安排生产。"},
        )


def _holds(d: _Demo, overdue: list[Standing], used: set[int]) -> None:
    """Orders on credit hold, each needing a different release authority, and a draft."""
    # receivables overdue beyond the tolerance (credit manager)
    held = [s for s in overdue if d.overdue_bad(s)]
    if held:
        d.order(held[0], [("P-1002", 10, "0"), ("P-1003", 20, "0")], channel="phone")
    # far above the limit: five systems more than the whole limit (general manager)
    limit = held[1].limit if len(held) > 1 else None
    if limit:
        qty = int((limit / d.products["P-1017"].control_price).to_integral_value(ROUND_UP)) + 5
        d.order(held[1], [("P-1017", qty, "0")], channel="fax", notes="新建车间整线数控系统采购。")
    # no credit limit at all: the whole order is the excess (sales manager)
    for s in d.without_limit(1, grades=("C",), terms="no_deferral", skip=used):
        used.add(s.customer.pk)
        d.order(s, [("P-1008", 10, "0"), ("P-1009", 10, "0")], channel="phone", terms="no_deferral")
    # a draft not submitted yet
    for s in d.without_limit(1, grades=("C",), terms="prepayment", skip=used):
        d.order(
            s,
            [("P-1001", 2, "0"), ("P-1014", 20, "0")],
            channel="email",
            terms="prepayment",
            submit=False,
            notes="待客户确认主轴型号后提交。",
        )
