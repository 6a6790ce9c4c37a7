"""What other modules hook into the onboarding review.

``on_customer_approved``: callbacks ``fn(customer, review, actor)`` run inside the approval's transaction, after the
customer became active. The credit module registers the opening of the customer's first (draft) credit
application here (R-ONB-03); an exception in a callback rolls the approval back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ApprovedCallback = Callable[[Any, Any, Any], None]

on_customer_approved: list[ApprovedCallback] = []


def register_on_approved(fn: ApprovedCallback) -> ApprovedCallback:
    """Add ``fn`` (once) to the callbacks run when a customer is approved; usable as a decorator."""
    if fn not in on_customer_approved:
        on_customer_approved.append(fn)
    return fn


def run_on_approved(customer: Any, review: Any, actor: Any) -> None:
    for fn in list(on_customer_approved):
        fn(customer, review, actor)
