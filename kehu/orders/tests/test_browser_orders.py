"""In a real browser: a sales rep finds the customer through the search field, enters an order (adding a ninth
line row) whose live checks show the credit problem as the quantity changes, submits it, it goes on credit hold,
and the sales manager releases it from the hold queue (R-ORD-01, R-ORD-02, R-CRD-05). Runs with
KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from kehu.core.tests.test_browser import _login, _shot
from kehu.orders.tests.conftest import far_date

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def when(db, cust):
    """The requested delivery date, read before the browser starts (the calendar lives in the database); the
    customer's search text built, as the customer services do."""
    from kehu.customers.search import refresh_search

    refresh_search(cust, new=True)
    return str(far_date())


def test_order_goes_on_hold_and_manager_releases_it(live_server, org, cust, catalogue, when, browser_page):
    page = browser_page
    base = live_server.url
    _login(page, base, org["rep1"].username)
    page.goto(f"{base}/orders/new/")
    page.fill("#id_customer", cust.name[:6])  # the customer search (htmx), within the rep's customers
    page.click(f"#customer-results [data-customer='{cust.pk}']")
    page.wait_for_selector(f"#id_customer[data-customer='{cust.pk}']")
    page.select_option("#id_channel", "phone")
    page.fill("#id_requested_date", when)
    page.select_option("#id_payment_terms", "net_30")
    page.select_option("#line-1-product", str(catalogue["p1"].pk))
    page.fill("#line-1-quantity", "10")
    page.locator("#line-1-quantity").dispatch_event("change")
    page.wait_for_selector("#live-list li")
    assert page.locator("#live-list li[data-passed='0']").count() == 0
    page.click("#add-line")  # a ninth row
    assert page.locator("#line-9-quantity").count() == 1 and page.input_value("#line-count") == "9"
    page.fill("#line-1-quantity", "150")  # 150 x 100 (no tax) = 15 000 > limit 10 000
    page.locator("#line-1-quantity").dispatch_event("change")
    page.wait_for_function("document.querySelectorAll(\"#live-list li[data-passed='0']\").length > 0")
    assert "信用" in page.inner_text("#live-checks")
    _shot(page, "order-entry-live-checks")
    page.click("#submit-order")
    page.wait_for_url(re.compile(r".*/orders/\d+/$"))
    assert "信用冻结" in page.inner_text("#order-status")
    assert page.locator("#check-credit[data-passed='0']").count() == 1
    _shot(page, "order-on-hold")
    number = re.search(r"DD-\d{4}-\d+", page.inner_text("h1")).group(0)
    total = page.inner_text("#order-total")
    assert page.inner_text("#order-counted").strip() == "0.00"

    page.context.clear_cookies()
    _login(page, base, org["mgr_east"].username)
    page.goto(f"{base}/orders/holds/")
    page.click(f"text={number}")
    page.wait_for_url(re.compile(r".*/orders/\d+/$"))
    page.fill("#release-form textarea[name=reason]", "老客户，回款稳定，同意放行")
    with page.expect_navigation():
        page.click("#release-order")
    assert "已批准" in page.inner_text("#order-status")
    _shot(page, "order-released")
    assert page.inner_text("#order-counted").strip() == total.strip() == "15,000.00"  # counts at once
