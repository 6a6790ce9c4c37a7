"""Periodic jobs of the receivables module (discovered by the jobs scheduler)."""

PERIODIC = [
    {
        "name": "receivables.collection_alerts",
        "func": "kehu.receivables.collections.collection_alerts_run",
        "every": "daily@06:30",
    },
]
