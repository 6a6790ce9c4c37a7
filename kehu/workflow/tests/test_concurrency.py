"""Two people take the same transition at the same moment: the case row lock lets exactly one win.

The threads use their own connections, so the set-up is committed (in a thread of its own); the rows stay in the
test database until it is dropped (the audit trail is append-only and cannot be truncated)."""

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
from kehu.workflow import engine
from kehu.workflow.engine import case_open, case_transition
from kehu.workflow.models import CaseEvent
from kehu.workflow.tests.conftest import make_definition


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_same_transition_exactly_one_wins():
    engine.register_definition(make_definition("wf_pg"))
    tag = uuid.uuid4().hex[:6]
    case = r1 = r2 = None
    try:

        def setup() -> Any:
            dept = DepartmentFactory(kind="sales", code=f"PG{tag}")
            rep = user_with("sales_rep", department=dept, username=f"pgrep{tag}")
            r1 = user_with("reviewer", department=dept, username=f"pgr1{tag}")
            r2 = user_with("reviewer", department=dept, username=f"pgr2{tag}")
            case = case_open(actor=rep, definition_key="wf_pg", title="x")
            case_transition(actor=rep, case_id=case.pk, transition="submit")
            return case, r1, r2

        case, r1, r2 = _in_thread(setup)
        barrier = threading.Barrier(2)
        results: list[str] = []

        def take(user: Any) -> None:
            try:
                barrier.wait(timeout=10)
                case_transition(actor=user, case_id=case.pk, transition="send_back", comment=f"by {user.pk}")
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
        assert sorted(results) == ["conflict", "ok"]
        count = _in_thread(lambda: CaseEvent.objects.filter(case_id=case.pk, transition="send_back").count())
        assert count == 1
    finally:
        engine.unregister_definition("wf_pg")
        if case is not None:
            retire_committed(case_ids=[case.pk], users=[r1, r2, case.opened_by])
