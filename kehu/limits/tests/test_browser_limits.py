"""In a real browser: a sales rep applies for a credit limit, the credit officer investigates and routes it by the
authority matrix, another credit officer approves a lower amount, and the notification letter shows the approved
limit (R-CRD-02). Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to test-artifacts/."""

from __future__ import annotations

import re

import pytest

from kehu.core.tests.factories import user_with
from kehu.core.tests.test_browser import ARTIFACTS, _login, _shot

from .conftest import active_customer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def people(org):
    return {
        "rep": org["rep1"],
        "officer": user_with("credit_officer", username="officer-a"),
        "approver": user_with("credit_officer", username="officer-b"),
        "customer": active_customer(org["rep1"], name="无锡新锐机电有限公司"),
    }


def _as(page, base, username):
    page.context.clear_cookies()
    _login(page, base, username)


def test_application_from_request_to_letter(live_server, people, browser_page):
    page = browser_page
    base = live_server.url
    customer = people["customer"]

    # the sales rep applies; the form shows what the class allows
    _as(page, base, people["rep"].username)
    page.goto(f"{base}/credit/applications/new/?customer={customer.pk}")
    assert page.locator("[data-allowance]").get_attribute("data-allowance") == "C"
    page.select_option("#id_customer", str(customer.pk))
    page.fill("#id_requested_amount", "60000")  # above the class C small limit: refused
    page.fill("#id_requested_term_days", "0")
    page.fill("#id_reason", "首批订单，月度采购约 4 万元")
    page.click("#save-application")
    assert page.locator(".is-invalid").count() >= 1
    _shot(page, "credit-apply-refused")
    page.fill("#id_requested_amount", "40000")
    page.click("#save-application")
    page.wait_for_url(re.compile(r".*/credit/applications/\d+/$"))
    app_url = page.url
    _shot(page, "credit-application-draft")
    with page.expect_navigation():
        page.locator("#act-submit button[type=submit]").click()
    assert "信用调查" in page.inner_text("#app-status")
    assert page.locator("#investigation").count() == 0  # the rep does not see the investigation

    # the credit officer investigates and routes it to the authority of its band
    _as(page, base, people["officer"].username)
    page.goto(app_url)
    page.select_option("#finding-form select[name=channel]", "bank")
    page.fill("#finding-form textarea[name=findings]", "开户行反馈结算正常，无不良记录")
    with page.expect_navigation():
        page.locator("#finding-form button[type=submit]").click()
    page.fill("#conclusion-form textarea[name=conclusion]", "经营稳定，建议授信 3.5 万元")
    with page.expect_navigation():
        page.locator("#conclusion-form button[type=submit]").click()
    _shot(page, "credit-investigation")
    assert page.locator("#act-route_credit_manager").count() == 0
    with page.expect_navigation():
        page.locator("#act-route_credit_officer button[type=submit]").click()
    assert "审批中" in page.inner_text("#app-status")

    # another credit officer approves a lower amount
    _as(page, base, people["approver"].username)
    page.goto(app_url)
    form = page.locator("#act-approve_credit_officer")
    form.locator("input[name$=approved_amount]").fill("35000")
    form.locator("textarea[name$=comment]").fill("同意，先给 3.5 万")
    with page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert "已批准" in page.inner_text("#app-status")
    assert "35,000.00" in page.inner_text("#approved-amount")
    _shot(page, "credit-application-approved")

    # the notification letter shows the approved limit
    with page.expect_navigation():
        page.click("#letter-link")
    assert "35,000.00" in page.inner_text("#letter-amount")
    assert page.inner_text("#letter-number").startswith("SXTZ-")
    _shot(page, "credit-letter")

    # the credit overview (module home) draws its charts
    page.goto(f"{base}/credit/")
    page.wait_for_selector("#chart-class canvas")
    assert "1" in page.inner_text("#kpi-count")
    _shot(page, "credit-overview")
    assert (ARTIFACTS / "credit-letter.png").exists()
