"""Demo orders: a catalogue of twenty products and a few orders of demo customers in each state — draft, approved,
waiting for review, cancelled and one on credit hold (an order worth more than the customer's available credit)."""

from __future__ import annotations

from decimal import Decimal

from django.utils import timezone

from kehu.core.models import User
from kehu.core.workdays import workdays_add
from kehu.customers.models import Customer, CustomerStatus
from kehu.limits.models import CreditLimit, LimitStatus
from kehu.orders import services
from kehu.orders.models import Product, Scope

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


def load_orders() -> None:
    admin = (
        User.objects.filter(is_superuser=True).first() or User.objects.filter(roles__code="sysadmin").first()
    )
    if admin is None or Product.objects.exists():
        return
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
    limits = {
        row.customer_id: row.amount
        for row in CreditLimit.objects.filter(
            status=LimitStatus.IN_FORCE, customer__status=CustomerStatus.ACTIVE
        )
    }
    customers = list(
        Customer.objects.filter(pk__in=list(limits), status=CustomerStatus.ACTIVE)
        .select_related("owner")
        .order_by("pk")[:6]
    )
    products = {p.code: p for p in Product.objects.all()}
    far = workdays_add(timezone.localdate(), 45)
    for i, c in enumerate(customers):
        rep = c.owner
        if rep is None or not rep.is_active:
            continue
        lines = [
            {"product_id": products["P-1002"].pk, "quantity": "10"},
            {"product_id": products["P-1003"].pk, "quantity": "20", "discount": "2"},
        ]
        kind = i % 5
        if kind == 4:
            # more than the customer's whole limit: goes on credit hold
            qty = (limits[c.pk] / products["P-1017"].control_price).quantize(Decimal(1)) + 2
            lines = [{"product_id": products["P-1017"].pk, "quantity": str(qty)}]
        order = services.order_create(
            actor=rep,
            customer_id=c.pk,
            channel=["phone", "email", "fax", "on_site", "portal"][kind],
            requested_date=far,
            payment_terms="net_30",
            lines=lines,
        )
        if kind == 0:
            continue  # draft
        order = services.order_submit(actor=rep, order_id=order.pk)
        if kind == 3 and order.status != "cancelled":
            services.order_cancel(actor=rep, order_id=order.pk, reason="客户改期，另行下单。")
