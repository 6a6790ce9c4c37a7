"""The other modules' interfaces that the order checks read (one place, so tests can stand in for them)."""

from __future__ import annotations

from kehu.customers.documents import customer_documents_valid
from kehu.grading.interface import grade_terms
from kehu.limits.interface import credit_limit, payment_terms_level
from kehu.receivables.interface import (
    credit_exposure,
    exposure_add,
    exposure_lock,
    exposure_parts,
    invoice_for_delivery,
    overdue_summary,
)

__all__ = [
    "credit_exposure",
    "credit_limit",
    "customer_documents_valid",
    "exposure_add",
    "exposure_lock",
    "exposure_parts",
    "grade_terms",
    "invoice_for_delivery",
    "overdue_summary",
    "payment_terms_level",
]
