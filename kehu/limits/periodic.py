"""Periodic jobs of credit limits (discovered by the jobs scheduler): periodic reviews and event reviews
(R-CRD-08), the late-payment downgrade (R-CRD-09)."""

PERIODIC = [
    {"name": "limits.reviews_due", "func": "kehu.limits.services.reviews_due_run", "every": "daily@03:00"},
    {
        "name": "limits.review_events",
        "func": "kehu.limits.services.review_events_run",
        "every": "daily@03:10",
    },
    {"name": "limits.terms_check", "func": "kehu.limits.services.terms_check_run", "every": "daily@03:20"},
]
