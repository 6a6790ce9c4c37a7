"""Periodic jobs of the workflow engine (discovered by the jobs scheduler)."""

PERIODIC = [
    {
        "name": "workflow.remind_and_escalate",
        "func": "kehu.workflow.jobs.remind_and_escalate",
        "every": "hourly",
    },
]
