"""Two reviewers pass the same stage at the same moment: the case row lock lets exactly one win (PostgreSQL).

The threads use their own connections, so the set-up is committed in a thread of its own; the rows stay in the
test database until it is dropped (the audit trail is append-only), so the test retires them: open tasks closed,
users deactivated."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from kehu.core.errors import Conflict
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread as _in_thread
from kehu.core.tests.threads import retire_committed
from kehu.core.uscc import uscc_generate
from kehu.customers import services as customers
from kehu.onboarding import services
from kehu.onboarding.tests.conftest import ANSWERS, APPLICATION, licence
from kehu.workflow.models import CaseEvent


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_stage_pass_exactly_one_wins():
    tag = uuid.uuid4().hex[:6]

    def setup() -> Any:
        import random

        dept = DepartmentFactory(kind="sales", code=f"O{tag}")
        rep = user_with("sales_rep", department=dept, username=f"orep{tag}")
        r1 = user_with("reviewer", username=f"or1{tag}")
        r2 = user_with("reviewer", username=f"or2{tag}")
        c = customers.customer_create(
            actor=rep,
            name=f"并发测试{tag}机械有限公司",
            credit_code=uscc_generate(random.Random(tag)),
            confirm_duplicates=True,
        )
        licence(rep, c)
        review = services.review_apply(actor=rep, customer_id=c.pk, **APPLICATION)
        services.review_act(
            actor=rep, review_id=review.pk, transition="submit", checklist=ANSWERS["screening"]
        )
        return review, rep, r1, r2

    review, rep, r1, r2 = _in_thread(setup)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def take(user: Any) -> None:
        try:
            barrier.wait(timeout=10)
            services.review_act(
                actor=user, review_id=review.pk, transition="qualify", checklist=ANSWERS["qualification"]
            )
            results.append("ok")
        except Conflict:
            results.append("conflict")
        except Exception as exc:  # pragma: no cover - shows in the assertion
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(u,)) for u in (r1, r2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert sorted(results) == ["conflict", "ok"]
        count = _in_thread(
            lambda: CaseEvent.objects.filter(case_id=review.case_id, transition="qualify").count()
        )
        assert count == 1
    finally:
        retire_committed(case_ids=[review.case_id], users=[rep, r1, r2])
