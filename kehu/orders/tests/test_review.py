"""The order review on the workflow engine (R-ORD-03, R-ORD-04): content and feasibility review, the opinions of
sales, purchasing, logistics and finance, management approval; reject, send back, roles, required opinions,
stale decisions and the page and API."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.tests.factories import user_with
from kehu.orders import review, services
from kehu.orders.models import Order, OrderStatus
from kehu.orders.tests.conftest import line, submitted
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import exposure_parts
from kehu.workflow.models import TaskState

pytestmark = pytest.mark.django_db

PASSES = ["content_pass", "sales_pass", "purchasing_pass", "logistics_pass", "finance_pass"]


@pytest.fixture
def people(org):
    return {
        "reviewer": user_with("reviewer", username="rev1"),
        "sales": org["mgr_east"],
        "finance": user_with("finance", username="fin9"),
        "gm": org["gm"],
    }


def step_user(people, step):
    return {
        "content": people["reviewer"],
        "sales": people["sales"],
        "purchasing": people["reviewer"],
        "logistics": people["reviewer"],
        "finance": people["finance"],
        "management": people["gm"],
    }[step]


def in_review(org, cust, catalogue) -> Order:
    """A non-standard order of 1 000.00 (within the limit): it waits for review and counts in exposure."""
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "10")], non_standard=True)
    assert o.status == OrderStatus.REVIEW_PENDING and o.counted_amount == Decimal("1000.00")
    return o


def counted(c) -> Decimal:
    return exposure_parts(c).approved_orders


def to_management(o, people):
    for t in PASSES:
        case = review.open_case(o)
        review.order_review(
            actor=step_user(people, case.state),
            order_id=o.pk,
            transition=t,
            comment=f"{t} 意见",
            expected_state=case.state,
        )


def test_r_ord_03_going_to_review_opens_the_case_with_a_deadline_and_a_task(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    case = review.open_case(o)
    assert case is not None and case.state == "content" and case.state_due is not None
    assert case.number.startswith("DDPS")
    task = case.tasks.get(state=TaskState.OPEN)
    assert task.due == case.state_due and task.assignee_id == people["reviewer"].pk
    # an order approved straight away has no case
    direct = submitted(org["rep1"], cust, [line(catalogue["p1"], "1")])
    assert direct.status == OrderStatus.APPROVED and review.open_case(direct) is None


def test_r_ord_04_full_path_records_each_opinion_and_approves(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    to_management(o, people)
    case = review.open_case(o)
    assert case.state == "management"
    o = review.order_review(
        actor=people["gm"], order_id=o.pk, transition="approve", comment="同意", expected_state="management"
    )
    assert o.status == OrderStatus.APPROVED and o.approved_at is not None
    assert counted(cust) == Decimal("1000.00")  # still counted
    case.refresh_from_db()
    assert case.state == "approved" and case.closed_at is not None
    opinions = case.data["opinions"]
    assert [x["step"] for x in opinions] == [
        "content",
        "sales",
        "purchasing",
        "logistics",
        "finance",
        "management",
    ]
    assert opinions[1]["opinion"] == "sales_pass 意见" and opinions[1]["reviewer_id"] == people["sales"].pk
    assert all(x["at"] for x in opinions)
    assert exposure_check([cust.pk]) == []


def test_r_ord_04_reject_cancels_and_releases_exposure(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    to_management(o, people)
    with pytest.raises(ValidationFailed) as exc:  # the reason of a rejection is required
        review.order_review(actor=people["gm"], order_id=o.pk, transition="reject", comment=" ")
    assert exc.value.field == "comment"
    o = review.order_review(actor=people["gm"], order_id=o.pk, transition="reject", comment="交期不可行")
    assert o.status == OrderStatus.CANCELLED and o.counted_amount == 0
    assert counted(cust) == 0
    assert exposure_check([cust.pk]) == []
    assert review.latest_case(o).state == "rejected"


def test_r_ord_04_send_back_returns_to_draft_and_resubmit_runs_checks_again(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    review.order_review(actor=people["reviewer"], order_id=o.pk, transition="content_pass", comment="可行")
    o = review.order_review(actor=people["sales"], order_id=o.pk, transition="send_back", comment="请改交期")
    assert o.status == OrderStatus.DRAFT and o.counted_amount == 0 and counted(cust) == 0
    first = review.latest_case(o)
    assert first.state == "returned"
    runs = o.check_run
    o = services.order_submit(actor=org["rep1"], order_id=o.pk)
    assert o.check_run == runs + 1 and o.status == OrderStatus.REVIEW_PENDING
    second = review.open_case(o)
    assert second.pk != first.pk and second.state == "content"


def test_r_ord_04_wrong_role_and_outsiders(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    with pytest.raises(PermissionDenied):  # the finance step is not yet open; content is the reviewer's
        review.order_review(actor=people["finance"], order_id=o.pk, transition="content_pass", comment="x")
    with pytest.raises(NotFound):  # another department's rep does not even see the order
        review.order_review(actor=org["rep2"], order_id=o.pk, transition="content_pass", comment="x")
    with pytest.raises(PermissionDenied):  # the order's own rep may not review it
        review.order_review(actor=org["rep1"], order_id=o.pk, transition="content_pass", comment="x")
    o.refresh_from_db()
    assert review.open_case(o).state == "content" and o.status == OrderStatus.REVIEW_PENDING


def test_r_ord_04_opinion_required(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    with pytest.raises(ValidationFailed) as exc:
        review.order_review(actor=people["reviewer"], order_id=o.pk, transition="content_pass", comment="")
    assert exc.value.field == "comment" and exc.value.rule == "required"
    assert review.open_case(o).event_count == 0


def test_r_ord_04_a_stale_decision_is_a_conflict(org, cust, catalogue, people):
    """Two finance users open the same step; the first records the opinion, the second gets a Conflict."""
    other = user_with("finance", username="fin8")
    o = in_review(org, cust, catalogue)
    for t in PASSES[:4]:
        review.order_review(
            actor=step_user(people, review.open_case(o).state), order_id=o.pk, transition=t, comment="意见"
        )
    review.order_review(
        actor=people["finance"],
        order_id=o.pk,
        transition="finance_pass",
        comment="可",
        expected_state="finance",
    )
    with pytest.raises(Conflict):
        review.order_review(
            actor=other, order_id=o.pk, transition="finance_pass", comment="可", expected_state="finance"
        )
    assert review.open_case(o).state == "management"


def test_r_ord_04_amend_or_cancel_during_review_ends_the_case(org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    first = review.open_case(o)
    services.order_cancel(actor=org["rep1"], order_id=o.pk, reason="客户取消")
    first.refresh_from_db()
    assert first.state == "withdrawn" and not first.tasks.filter(state=TaskState.OPEN).exists()
    with pytest.raises(Conflict):
        review.order_review(actor=people["reviewer"], order_id=o.pk, transition="content_pass", comment="x")


def test_r_ord_04_submitter_may_not_approve(org, cust, catalogue, people):
    o = submitted(org["gm"], cust, [line(catalogue["p1"], "10")], non_standard=True)
    to_management(o, people)
    with pytest.raises(ValidationFailed) as exc:
        review.order_review(actor=org["gm"], order_id=o.pk, transition="approve", comment="")
    assert exc.value.rule == "guard"


def test_r_ord_04_page_shows_steps_and_actions(client, org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)
    client.force_login(people["reviewer"])
    page = client.get(f"/orders/{o.pk}/").content.decode()
    assert 'id="review-content_pass"' in page and 'id="review-send_back"' in page
    r = client.post(
        f"/orders/{o.pk}/review/content_pass/", {"comment": "内容可行", "expected_state": "content"}
    )
    assert r.status_code == 302
    page = client.get(f"/orders/{o.pk}/").content.decode()
    assert "内容可行" in page and 'id="review-content_pass"' not in page
    # the rep sees the steps but has no action
    client.force_login(org["rep1"])
    page = client.get(f"/orders/{o.pk}/").content.decode()
    assert "内容可行" in page and 'id="review-form"' not in page
    # the inbox holds the sales manager's task
    client.force_login(people["sales"])
    assert o.number in client.get("/inbox/").content.decode()


def test_r_ord_04_api(client, org, cust, catalogue, people):
    o = in_review(org, cust, catalogue)

    def post(user, t, body):
        client.force_login(user)
        return client.post(
            f"/api/v1/orders/{o.pk}/review/{t}", data=json.dumps(body), content_type="application/json"
        )

    # the step the caller saw is required: a decision never lands on a step its author did not see
    r = post(people["reviewer"], "content_pass", {"comment": "可行"})
    assert r.status_code == 400 and "expected_state" in r.content.decode()
    r = post(people["reviewer"], "content_pass", {"comment": "", "expected_state": "content"})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "comment"
    assert (
        post(people["finance"], "content_pass", {"comment": "x", "expected_state": "content"}).status_code
        == 403
    )
    r = post(people["reviewer"], "content_pass", {"comment": "可行", "expected_state": "content"})
    assert r.status_code == 200, r.content
    assert (
        post(people["reviewer"], "content_pass", {"comment": "可行", "expected_state": "content"}).status_code
        == 409
    )
    assert (
        post(people["sales"], "send_back", {"comment": "退回", "expected_state": "content"}).status_code
        == 409
    )
    r = post(people["sales"], "send_back", {"comment": "退回", "expected_state": "sales"})
    assert r.status_code == 200 and r.json()["status"] == OrderStatus.DRAFT
