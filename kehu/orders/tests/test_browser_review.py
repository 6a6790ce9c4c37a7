"""In a real browser: the order review (R-ORD-03, R-ORD-04). A sales rep enters a non-standard order, which goes
to review; each reviewer of the sequence (review group, sales manager, review group for purchasing and logistics,
finance) logs in, opens the order page, finds the review panel of their step, enters an opinion and passes it on;
the general manager approves. The order page then shows 已批准 and, in the review record, each step's opinion,
reviewer and time. A second path: finance sends the order back to sales (an opinion is required), the order is a
draft again and counts nothing. Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to
test-artifacts/."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest

from kehu.core.tests.factories import user_with
from kehu.core.tests.test_browser import _login, _shot
from kehu.core.tests.threads import in_thread
from kehu.orders import review
from kehu.orders.models import Order, OrderStatus
from kehu.orders.tests.conftest import far_date, line, submitted
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import exposure_parts
from kehu.workflow.models import Case

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# the step, the opinion entered there, the button
SEQUENCE = [
    ("content", "内容清楚，技术与质量要求可行", "content_pass"),
    ("sales", "客户信誉良好，同意接单", "sales_pass"),
    ("purchasing", "原材料库存充足", "purchasing_pass"),
    ("logistics", "按期发货可行", "logistics_pass"),
    ("finance", "付款条件符合额度", "finance_pass"),
    ("management", "同意", "approve"),
]
STEP_LABELS = {
    "content": "内容与可行性评审",
    "sales": "销售部意见",
    "purchasing": "采购部意见",
    "logistics": "物流部意见",
    "finance": "财务部意见",
    "management": "管理层审批",
}
WHEN = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}")


@pytest.fixture
def reviewers(org) -> dict[str, Any]:
    """The holder of each step: the review group (content, purchasing, logistics: no purchasing or logistics role
    exists), the sales manager of the order's department, a finance user (neither review group nor finance is in
    the org fixture) and the general manager. Created before the browser starts."""
    group = user_with("reviewer", username="rev-b1", display_name="评审组王工")
    fin = user_with("finance", username="fin-b1", display_name="财务李会计")
    return {
        "content": group,
        "sales": org["mgr_east"],
        "purchasing": group,
        "logistics": group,
        "finance": fin,
        "management": org["gm"],
    }


@pytest.fixture
def when(db, cust):
    """The requested delivery date, read before the browser starts; the customer's search text built."""
    from kehu.customers.search import refresh_search

    refresh_search(cust, new=True)
    return str(far_date())


class Browser:
    """One page; logs in as another user only when needed."""

    def __init__(self, page: Any, base: str) -> None:
        self.page, self.base, self.user = page, base, ""

    def as_user(self, user: Any) -> Any:
        if self.user != user.username:
            self.page.context.clear_cookies()
            _login(self.page, self.base, user.username)
            self.user = user.username
        return self.page

    def order(self, user: Any, pk: int) -> Any:
        page = self.as_user(user)
        page.goto(f"{self.base}/orders/{pk}/")
        return page


def read(fn: Any) -> Any:
    """Read the database on a connection of its own (the browser's event loop runs in the test's thread)."""
    return in_thread(fn)


def test_r_ord_04_each_reviewer_records_an_opinion_and_management_approves(
    live_server, org, cust, catalogue, when, reviewers, browser_page
):
    b = Browser(browser_page, live_server.url)
    page = b.as_user(org["rep1"])
    page.goto(f"{b.base}/orders/new/")
    page.fill("#id_customer", cust.name[:6])
    page.click(f"#customer-results [data-customer='{cust.pk}']")
    page.wait_for_selector(f"#id_customer[data-customer='{cust.pk}']")
    page.select_option("#id_channel", "phone")
    page.fill("#id_requested_date", when)
    page.select_option("#id_payment_terms", "net_30")
    page.check("#id_non_standard")  # non-standard: goes to review whatever its value
    page.select_option("#line-1-product", str(catalogue["p1"].pk))
    page.fill("#line-1-quantity", "20")  # 20 x 100.00, no tax: 2 000.00, within the limit
    page.click("#submit-order")
    page.wait_for_url(re.compile(r".*/orders/\d+/$"))
    pk = int(re.search(r"/orders/(\d+)/$", page.url).group(1))
    assert page.inner_text("#order-status").strip() == "待评审"
    assert page.inner_text("#order-counted").strip() == "2,000.00"  # counts while in review
    assert page.inner_text("#review-state").strip() == STEP_LABELS["content"]
    assert page.locator("#review-form").count() == 0  # the submitter has no review step
    _shot(page, "order-review-submitted")

    for n, (step, opinion, button) in enumerate(SEQUENCE, start=1):
        user = reviewers[step]
        page = b.order(user, pk)
        assert page.inner_text("#review-state").strip() == STEP_LABELS[step]
        assert page.locator("#review-form").count() == 1, step
        assert page.input_value("#review-form input[name=expected_state]") == step
        assert STEP_LABELS[step] in page.inner_text("label[for=review-comment]")
        assert page.locator(f"#review-{button}").count() == 1
        assert page.locator("#review-send_back").count() == 1  # every step may send the order back
        page.fill("#review-comment", opinion)
        if step == "finance":
            _shot(page, "order-review-finance-step")
        with page.expect_navigation():
            page.click(f"#review-{button}")
        page = b.order(user, pk)
        # the decision is in the review record at once: the next step (or the end) and this step's event
        event = page.inner_text(f"#review-event-{n}")
        assert opinion in event and user.label in event and WHEN.search(event), event
        if step != "management":
            assert page.inner_text("#review-state").strip() == STEP_LABELS[SEQUENCE[n][0]]

    # management approved: the order page shows it, with every step's opinion, reviewer and time
    page = b.order(org["rep1"], pk)
    assert page.inner_text("#order-status").strip() == "已批准"
    assert page.inner_text("#review-state").strip() == "已批准"
    assert page.inner_text("#order-counted").strip() == "2,000.00"
    assert page.locator("#review-form").count() == 0
    events = page.locator("#review li[id^=review-event-]")
    assert events.count() == len(SEQUENCE)
    for n, (step, opinion, _button) in enumerate(SEQUENCE, start=1):
        text = page.inner_text(f"#review-event-{n}")
        assert opinion in text and reviewers[step].label in text and WHEN.search(text), (step, text)
    _shot(page, "order-review-approved")

    def stored() -> Any:
        o = Order.objects.get(pk=pk)
        case = Case.objects.get(pk=review.latest_case(o).pk)
        return o, case, exposure_parts(o.customer).approved_orders, exposure_check([o.customer_id])

    o, case, counted, diffs = read(stored)
    assert o.status == OrderStatus.APPROVED and o.approved_at is not None
    assert case.state == "approved" and case.closed_at is not None
    opinions = case.data["opinions"]
    assert [(x["step"], x["opinion"], x["reviewer_id"]) for x in opinions] == [
        (step, opinion, reviewers[step].pk) for step, opinion, _b in SEQUENCE
    ]
    assert all(x["at"] for x in opinions)
    assert counted == o.counted_amount == Decimal("2000.00") and diffs == []


@pytest.fixture
def at_finance(org, cust, catalogue, reviewers) -> Order:
    """A non-standard order of 1 000.00 whose review waits for finance (made before the browser starts)."""
    o = submitted(org["rep1"], cust, [line(catalogue["p1"], "10")], non_standard=True)
    for step, opinion, button in SEQUENCE[:4]:
        review.order_review(
            actor=reviewers[step], order_id=o.pk, transition=button, comment=opinion, expected_state=step
        )
    assert review.open_case(o).state == "finance"
    return o


def test_r_ord_04_finance_sends_the_order_back_to_sales(
    live_server, org, cust, at_finance, reviewers, browser_page
):
    b = Browser(browser_page, live_server.url)
    pk = at_finance.pk
    page = b.order(reviewers["finance"], pk)
    assert page.inner_text("#review-state").strip() == STEP_LABELS["finance"]
    assert page.inner_text("#order-counted").strip() == "1,000.00"
    # sending back needs an opinion: refused, nothing moves
    with page.expect_navigation():
        page.click("#review-send_back")
    assert "须填写意见" in page.inner_text("body")
    page = b.order(reviewers["finance"], pk)
    assert page.inner_text("#review-state").strip() == STEP_LABELS["finance"]
    assert page.locator("#review-event-5").count() == 0
    page.fill("#review-comment", "付款条件须改为预付款")
    _shot(page, "order-review-send-back")
    with page.expect_navigation():
        page.click("#review-send_back")

    page = b.order(org["rep1"], pk)
    assert page.inner_text("#order-status").strip() == "草稿"
    assert page.inner_text("#review-state").strip() == "已退回销售"
    assert page.inner_text("#order-counted").strip() == "0.00"  # released at once
    event = page.inner_text("#review-event-5")
    assert "付款条件须改为预付款" in event and reviewers["finance"].label in event and WHEN.search(event)
    assert page.locator("#submit-order").count() == 1  # the rep may correct and submit it again
    _shot(page, "order-review-returned")

    def stored() -> Any:
        o = Order.objects.get(pk=pk)
        return (
            o,
            review.latest_case(o),
            exposure_parts(o.customer).approved_orders,
            exposure_check([o.customer_id]),
        )

    o, case, counted, diffs = read(stored)
    assert o.status == OrderStatus.DRAFT and o.counted_amount == 0 and counted == 0 and diffs == []
    assert case.state == "returned" and case.closed_at is not None
    assert [x["step"] for x in case.data["opinions"]] == [
        "content",
        "sales",
        "purchasing",
        "logistics",
        "finance",
    ]
    assert case.data["opinions"][-1]["transition"] == "send_back"
