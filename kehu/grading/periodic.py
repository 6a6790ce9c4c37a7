"""Periodic jobs of the grading module (discovered by the jobs scheduler): the quarterly visits a grade calls for
(R-GRD-03)."""

PERIODIC = [
    {
        "name": "grading.quarter_visits_raise",
        "func": "kehu.grading.visits.quarter_visits_raise",
        "every": "daily@07:30",
    },
]
