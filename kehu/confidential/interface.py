"""What other modules may call (R-ARC-01): where to ask for access to a customer's confidential items, and whether
a user holds a grant for one now.

    request_url(customer_id, ["credit.statements"]) -> str
    grant_in_force(user, customer_id, "credit.statements") -> int | None   (the grant's id)
"""

from __future__ import annotations

from typing import Any

from kehu.confidential import gates


def request_url(customer_id: int, items: list[str]) -> str:
    return gates.request_url(customer_id, items)


def grant_in_force(user: Any, customer_id: int, item: str) -> int | None:
    return gates.grant_covering(user, customer_id, [item])
