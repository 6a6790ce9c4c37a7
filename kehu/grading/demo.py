"""Demo grading (R-GRD-01..03): the sales staff enter the scorecard items of most active demo customers (the
receivables demo gave the first thirty a year of ledger; every twelfth customer gets no entries and scores low),
the sales manager starts a grading run, it is computed at once and the general manager approves it, so grades are
in force; then the quarterly visit job runs once, so the owners of the A customers not yet visited this quarter
find a visit task in their inbox."""

from __future__ import annotations

import random

from kehu.core.models import User
from kehu.customers.models import Customer, CustomerStatus

DEMO_INPUTS = 300


def load_grading() -> None:
    from kehu.core import access
    from kehu.core.jobs.runner import run_job
    from kehu.grading import policies, services, visits
    from kehu.grading.models import RunStatus

    users = {u.username: u for u in User.objects.filter(username__in=["salesmgr", "gm"])}
    manager, gm = users.get("salesmgr"), users.get("gm")
    if manager is None or gm is None:
        return
    customers = list(
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .select_related("owner")
        .order_by("pk")[:DEMO_INPUTS]
    )
    if not customers:
        return
    rng = random.Random(20260301)
    models = [key for key, _label in policies.SALES_MODELS]
    for i, c in enumerate(customers):
        if i % 12 == 11:
            continue  # nothing entered yet: the entered items score as missing
        may = access.can(c.owner, "grading.input.enter") and access.in_scope(
            c.owner, "grading.input.enter", c
        )
        values = {
            "margin": str(rng.randint(8, 36)),
            "sales_model": models[i % len(models)],
            "purchase_share": str(rng.randint(10, 70)),
            "industry_reputation": str(rng.randint(2, 5)),
        }
        if i % 7 == 6:
            del values["purchase_share"]  # not known yet: scores as missing
        services.inputs_enter(
            actor=c.owner if may else gm, customer_id=c.pk, values=values, note="年度客户分级资料"
        )
    run = services.run_start(actor=manager)
    if run.job_run_id is not None:
        run_job(run.job_run_id)  # computed now rather than by the worker
    run.refresh_from_db()
    if run.status != RunStatus.COMPUTED:
        return
    services.run_approve(actor=gm, run_id=run.pk, comment="同意按本次评分结果分级。")
    visits.quarter_visits_raise()
