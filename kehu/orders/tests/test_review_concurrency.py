"""Two decisions on the same step of an order's review at the same moment (R-ORD-03, R-ORD-04): the order row lock
serialises them, exactly one lands and the other is a Conflict; the case holds one event for the step; the order's
status and what it counts in exposure match the decision that landed and the exposure row equals its
recomputation. A management approval racing the owner's cancel ends in one consistent state.

The threads use their own connections, so the set-up is committed (in a thread of its own); the orders, the
customer and its exposure rows are removed at the end, the cases' open tasks closed and the users deactivated
(cases and the audit trail stay: the trail is append-only)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal as D
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from kehu.core.errors import Conflict
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread, retire_committed
from kehu.limits.models import CreditLimit
from kehu.orders import adapters, review, services
from kehu.orders.models import CheckResult, CreditHold, Order, OrderLine, OrderStatus, Product
from kehu.orders.tests.conftest import Docs, draft, give_limit, line, terms
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import OverdueView, exposure_parts
from kehu.receivables.models import CustomerExposure, ExposureMove
from kehu.receivables.tests.conftest import customer
from kehu.workflow.models import Case, CaseEvent, TaskState

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

PASSES = ["content_pass", "sales_pass", "purchasing_pass", "logistics_pass", "finance_pass"]
AMOUNT = D("1000.00")  # 10 x 100.00, no tax: within the limit, non-standard, so it goes to review
ROUNDS = 3


@dataclass
class World:
    """Committed people, a customer with a limit of 100 000.00 and a product; what the test made, to remove."""

    rep: Any
    reviewer: Any
    sales: list[Any]
    finance: Any
    gms: list[Any]
    customer: Any
    product: Any
    orders: list[int] = field(default_factory=list)
    cases: list[int] = field(default_factory=list)

    def users(self) -> list[Any]:
        return [self.rep, self.reviewer, *self.sales, self.finance, *self.gms]

    def step_user(self, step: str) -> Any:
        return {
            "content": self.reviewer,
            "sales": self.sales[0],
            "purchasing": self.reviewer,
            "logistics": self.reviewer,
            "finance": self.finance,
            "management": self.gms[0],
        }[step]


@pytest.fixture
def world(monkeypatch) -> Iterator[World]:
    monkeypatch.setattr(adapters, "grade_terms", lambda c, at=None: terms("A"))
    monkeypatch.setattr(adapters, "customer_documents_valid", lambda c, at=None: Docs())
    monkeypatch.setattr(adapters, "overdue_summary", lambda c, at=None: OverdueView(D("0"), 0, 0))
    tag = uuid.uuid4().hex[:6]

    def setup() -> World:
        dept = DepartmentFactory(kind="sales", code=f"RV{tag}")
        rep = user_with("sales_rep", department=dept, username=f"rvrep{tag}")
        c = customer(rep)
        give_limit(c, "100000.00")
        p = Product.objects.create(
            code=f"RV{tag}", name="丝杠", unit="根", control_price=D("100"), tax_rate=D("0")
        )
        return World(
            rep=rep,
            reviewer=user_with("reviewer", username=f"rvrev{tag}"),
            # two holders of the sales step (the order's department), two of the management step
            sales=[user_with("sales_manager", department=dept, username=f"rvsm{n}{tag}") for n in (1, 2)],
            finance=user_with("finance", username=f"rvfin{tag}"),
            gms=[user_with("general_manager", username=f"rvgm{n}{tag}") for n in (1, 2)],
            customer=c,
            product=p,
        )

    w = in_thread(setup)
    try:
        yield w
    finally:
        ids, c = w.orders, w.customer

        def cleanup() -> None:
            CreditHold.objects.filter(order_id__in=ids).delete()
            CheckResult.objects.filter(order_id__in=ids).delete()
            OrderLine.objects.filter(order_id__in=ids).delete()
            Order.objects.filter(pk__in=ids).delete()
            w.product.delete()
            ExposureMove.objects.filter(customer=c).delete()
            CustomerExposure.objects.filter(pk=c.pk).delete()
            CreditLimit.objects.filter(customer=c).delete()
            c.delete()
            # the cases of the removed orders still open (passed on, not decided) end: no list shows them
            Case.objects.filter(pk__in=w.cases, closed_at__isnull=True).update(
                state="withdrawn", closed_at=timezone.now()
            )

        in_thread(cleanup)
        retire_committed(case_ids=w.cases, users=w.users())


def order_at(w: World, step: str) -> tuple[int, int]:
    """A committed non-standard order of 1 000.00 whose review waits at ``step`` (order id, case id)."""

    def make() -> tuple[int, int]:
        o = draft(w.rep, w.customer, [line(w.product, "10")], non_standard=True)
        o = services.order_submit(actor=w.rep, order_id=o.pk)
        assert o.status == OrderStatus.REVIEW_PENDING and o.counted_amount == AMOUNT
        case = review.open_case(o)
        assert case is not None
        while case.state != step:
            review.order_review(
                actor=w.step_user(case.state),
                order_id=o.pk,
                transition=f"{case.state}_pass",
                comment=f"{case.state} 意见",
                expected_state=case.state,
            )
            case.refresh_from_db()
        return o.pk, case.pk

    order_id, case_id = in_thread(make)
    w.orders.append(order_id)
    w.cases.append(case_id)
    return order_id, case_id


def race(calls: list[Callable[[], Any]]) -> list[str]:
    """Run the calls at the same moment (a barrier), each in its own thread and connection; per call "ok",
    "conflict", or the name of the error it raised."""
    barrier = threading.Barrier(len(calls))
    out: list[str] = ["unfinished"] * len(calls)

    def run(n: int) -> None:
        try:
            barrier.wait(30)
            calls[n]()
            out[n] = "ok"
        except Conflict:
            out[n] = "conflict"
        except BaseException as exc:  # pragma: no cover - shows in the assertion
            out[n] = f"{type(exc).__name__}: {exc}"
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return out


def decide(actor: Any, order_id: int, transition: str, step: str, comment: str) -> Callable[[], Any]:
    return lambda: review.order_review(
        actor=actor, order_id=order_id, transition=transition, comment=comment, expected_state=step
    )


def state_of(w: World, order_id: int, case_id: int) -> dict[str, Any]:
    """What the database holds after the race (read on a connection of its own)."""

    def read() -> dict[str, Any]:
        o = Order.objects.get(pk=order_id)
        case = Case.objects.get(pk=case_id)
        return {
            "status": o.status,
            "counted": o.counted_amount,
            "case_state": case.state,
            "closed": case.closed_at is not None,
            "events": list(
                CaseEvent.objects.filter(case_id=case_id)
                .order_by("seq")
                .values_list("from_state", "transition", "actor_id", "comment")
            ),
            "opinions": (case.data or {}).get("opinions", []),
            "open_tasks": case.tasks.filter(state=TaskState.OPEN).count(),
            "exposure_orders": exposure_parts(w.customer).approved_orders,
            # what the customer's orders say they count (earlier rounds' orders included)
            "customer_counted": sum(
                Order.objects.filter(customer=w.customer).values_list("counted_amount", flat=True), D("0")
            ),
            "diffs": exposure_check([w.customer.pk]),
        }

    return in_thread(read)


# (step, first decision, second decision): both users hold the step
SAME_STEP = [
    pytest.param("sales", "sales_pass", "sales_pass", id="sales-both-pass"),
    pytest.param("sales", "sales_pass", "send_back", id="sales-pass-vs-send-back"),
    pytest.param("management", "approve", "approve", id="management-both-approve"),
    pytest.param("management", "approve", "reject", id="management-approve-vs-reject"),
]

# the outcome of the decision that landed: order status, counted amount, case state, case closed
OUTCOME = {
    "sales_pass": (OrderStatus.REVIEW_PENDING, AMOUNT, "purchasing", False),
    "send_back": (OrderStatus.DRAFT, D("0"), "returned", True),
    "approve": (OrderStatus.APPROVED, AMOUNT, "approved", True),
    "reject": (OrderStatus.CANCELLED, D("0"), "rejected", True),
}


@pytest.mark.parametrize(("step", "first", "second"), SAME_STEP)
def test_r_ord_04_two_holders_decide_the_same_step_at_once_exactly_one_lands(world, step, first, second):
    holders = world.sales if step == "sales" else world.gms
    for n in range(ROUNDS):
        order_id, case_id = order_at(world, step)
        decisions = [(holders[0], first), (holders[1], second)]
        if n % 2:  # the other holder starts first in every other round
            decisions.reverse()
        calls = [decide(user, order_id, t, step, f"{t} by {user.username}") for user, t in decisions]
        results = race(calls)
        assert sorted(results) == ["conflict", "ok"], results
        winner_user, winner = decisions[results.index("ok")]
        got = state_of(world, order_id, case_id)
        on_step = [e for e in got["events"] if e[0] == step]
        assert len(on_step) == 1, got["events"]  # one event for the step: the winner's
        assert on_step[0][1:] == (winner, winner_user.pk, f"{winner} by {winner_user.username}")
        opinions = [x for x in got["opinions"] if x["step"] == step]
        assert len(opinions) == 1 and opinions[0]["reviewer_id"] == winner_user.pk
        assert opinions[0]["opinion"] == f"{winner} by {winner_user.username}"
        status, counted, case_state, closed = OUTCOME[winner]
        assert (got["status"], got["counted"], got["case_state"], got["closed"]) == (
            status,
            counted,
            case_state,
            closed,
        ), got
        assert (got["open_tasks"] == 0) == closed  # the next step's tasks only while the case is open
        assert got["exposure_orders"] == got["customer_counted"]
        assert got["diffs"] == []


def test_r_ord_04_a_decision_without_the_step_seen_does_not_land_twice(world):
    """API callers may leave ``expected_state`` out: the second of two sales managers passing the sales step finds
    the case at purchasing, which is not theirs, and nothing of theirs is recorded."""
    order_id, case_id = order_at(world, "sales")
    calls = [
        lambda u=u: review.order_review(actor=u, order_id=order_id, transition="sales_pass", comment="同意")
        for u in world.sales
    ]
    results = race(calls)
    assert results.count("ok") == 1, results
    loser = next(r for r in results if r != "ok")
    # the loser is refused: a Conflict or "not yours" (the case has moved to a step they do not hold)
    assert loser == "conflict" or loser.startswith("PermissionDenied"), loser
    got = state_of(world, order_id, case_id)
    assert [e[:2] for e in got["events"]] == [("content", "content_pass"), ("sales", "sales_pass")]
    assert got["status"] == OrderStatus.REVIEW_PENDING and got["case_state"] == "purchasing"
    assert got["counted"] == AMOUNT and got["diffs"] == []


def test_r_ord_04_management_approval_racing_the_owners_cancel_ends_consistent(world):
    """The general manager approves while the order's owner cancels it. Either the cancel comes first (the case is
    withdrawn and the approval is a Conflict) or the approval comes first and the cancel then cancels the approved
    order; never an order approved and cancelled at once, never exposure left counted for a cancelled order."""
    seen: list[str] = []
    for n in range(ROUNDS + 1):
        order_id, case_id = order_at(world, "management")
        approve = decide(world.gms[0], order_id, "approve", "management", "同意")

        def cancel(order_id: int = order_id) -> Any:
            return services.order_cancel(actor=world.rep, order_id=order_id, reason="客户取消")

        named = [("approve", approve), ("cancel", cancel)]
        if n % 2:  # the cancel's thread starts first in every other round
            named.reverse()
        results = dict(zip([k for k, _f in named], race([f for _k, f in named]), strict=True))
        assert results["cancel"] == "ok", results  # cancelling an approved order is allowed too
        got = state_of(world, order_id, case_id)
        assert got["status"] == OrderStatus.CANCELLED and got["counted"] == 0, got
        assert got["closed"] and got["open_tasks"] == 0
        approvals = [e for e in got["events"] if e[1] == "approve"]
        withdrawals = [e for e in got["events"] if e[1] == "withdraw"]
        if results["approve"] == "ok":  # approved first, then cancelled: the case stays approved
            seen.append("approve-then-cancel")
            assert got["case_state"] == "approved" and len(approvals) == 1 and withdrawals == []
        else:  # cancelled first: the case was withdrawn and the approval refused
            seen.append("cancel-then-approve")
            assert results["approve"] == "conflict", results
            assert got["case_state"] == "withdrawn" and approvals == [] and len(withdrawals) == 1
        assert got["exposure_orders"] == got["customer_counted"] == 0  # every order of the customer cancelled
        assert got["diffs"] == []
    assert len(seen) == ROUNDS + 1
