"""What other modules may call of the orders module (the later review and execution steps, reports).

- :func:`open_order_total` — the order amount a customer has counted in exposure (approved or waiting for review).

No permission checks here: the calling module does them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Sum

from kehu.orders.models import ZERO, Order


def open_order_total(customer: Any) -> Decimal:
    cid = int(getattr(customer, "pk", customer))
    got = Order.objects.filter(customer_id=cid).aggregate(s=Sum("counted_amount"))["s"]
    return got or ZERO
