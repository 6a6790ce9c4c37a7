"""Two people create the same legal entity at the same moment: exactly one dossier, the other is refused (409).

The threads use their own connections, so the set-up is committed (in a thread of its own); the customer is
deleted at the end, the users and audit entries stay in the test database until it is dropped (the audit trail
is append-only and cannot be truncated)."""

from __future__ import annotations

import random
import threading
import uuid
from typing import Any

import pytest
from django.db import connection

from kehu.core.errors import Conflict
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread as _in_thread
from kehu.core.uscc import uscc_generate
from kehu.customers import services
from kehu.customers.models import Customer


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_create_same_credit_code_exactly_one_wins():
    tag = uuid.uuid4().hex[:6]

    def setup() -> Any:
        dept = DepartmentFactory(kind="sales", code=f"C{tag}")
        return (
            user_with("sales_rep", department=dept, username=f"c1{tag}"),
            user_with("sales_rep", department=dept, username=f"c2{tag}"),
        )

    rep1, rep2 = _in_thread(setup)
    code = uscc_generate(random.Random(tag))
    barrier = threading.Barrier(2)
    results: list[str] = []

    def create(user: Any, name: str) -> None:
        try:
            barrier.wait(timeout=10)
            services.customer_create(actor=user, name=name, credit_code=code, confirm_duplicates=True)
            results.append("ok")
        except Conflict:
            results.append("conflict")
        except Exception as exc:  # pragma: no cover - shows in the assertion
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=create, args=(rep1, f"并发甲{tag}有限公司")),
        threading.Thread(target=create, args=(rep2, f"并发乙{tag}有限公司")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert sorted(results) == ["conflict", "ok"]
        assert _in_thread(lambda: Customer.objects.filter(credit_code=code).count()) == 1
    finally:  # committed rows would show in later tests' lists (the audit entries stay, append-only)
        _in_thread(lambda: Customer.objects.filter(credit_code=code).delete())
