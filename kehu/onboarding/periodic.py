"""Periodic jobs of the onboarding module (discovered by the jobs scheduler)."""

PERIODIC = [
    {
        "name": "onboarding.requalification",
        "func": "kehu.onboarding.jobs.requalification_run",
        "every": "daily@02:30",
    },
    {
        # R-ONB-07: the reviewer performance report of the quarter just ended (stored once per quarter)
        "name": "onboarding.reviewer_report",
        "func": "kehu.onboarding.reviewers.quarterly_report_run",
        "every": "daily@03:10",
    },
]
