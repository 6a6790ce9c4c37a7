"""Periodic jobs of the customer dossier (discovered by the jobs scheduler): overdue information groups
(R-CUS-04), document expiry warnings and the documents summary (R-CUS-05)."""

PERIODIC = [
    {
        "name": "customers.group_deadlines_overdue",
        "func": "kehu.customers.reminders.group_deadlines_overdue",
        "every": "daily@07:00",
    },
    {
        "name": "customers.documents_warn",
        "func": "kehu.customers.reminders.documents_warn",
        "every": "daily@07:10",
    },
    {
        "name": "customers.documents_summaries_refresh",
        "func": "kehu.customers.reminders.documents_summaries_refresh",
        "every": "daily@02:30",
    },
    {
        "name": "customers.contact_gaps_raise",
        "func": "kehu.customers.contactlog.contact_gaps_raise",
        "every": "daily@07:20",
    },
]
