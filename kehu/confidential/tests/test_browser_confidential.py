"""In a real browser (R-ARC-01, R-ARC-02): a sales rep asks for a customer's financial statements from the
dossier, the credit office head approves for 3 days, the rep reads them, and the read log shows the read with the
grant. Runs with KEHU_BROWSER_TESTS=1 (headless Chromium)."""

from __future__ import annotations

import re

import pytest

from kehu.core.tests.test_browser import _login, _shot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_request_approve_read_and_log(live_server, people, customer, credit, browser_page):
    page, base = browser_page, live_server.url
    rep, head = people["rep1"], people["cmgr"]

    _login(page, base, rep.username)
    page.goto(f"{base}/customers/{customer.pk}/?tab=3")
    assert page.locator("#confidential-credit").is_visible()
    _shot(page, "confidential-dossier-hidden")
    with page.expect_navigation():
        page.locator('[data-request-item="credit.statements"]').click()
    assert page.locator('input[name=items][value="credit.statements"]').is_checked()
    _shot(page, "confidential-request-form")
    page.fill("#id_purpose", "客户要求延长账期，需了解其近年财务状况")
    page.fill("#id_period_days", "3")
    with page.expect_navigation():
        page.click("#submit-request")
    page.wait_for_url(re.compile(r".*/confidential/requests/\d+/$"))
    request_url = page.url
    assert page.inner_text("#request-status").strip() == "待审批"
    _shot(page, "confidential-request-submitted")

    page.context.clear_cookies()
    _login(page, base, head.username)
    page.goto(f"{base}/confidential/requests/to-approve/")
    with page.expect_navigation():
        page.locator(f'a[href="{request_url.removeprefix(base)}"]').first.click()
    page.fill("#id_approve-days", "3")
    page.fill("#id_approve-comment", "同意查阅三天")
    with page.expect_navigation():
        page.locator("#act-approve button[type=submit]").click()
    assert page.inner_text("#request-status").strip() == "已批准"
    assert page.inner_text("#grant-state").strip() == "有效"
    grant_id = page.inner_text("#grant-id").strip()
    _shot(page, "confidential-request-approved")

    page.context.clear_cookies()
    _login(page, base, rep.username)
    page.goto(f"{base}/customers/{customer.pk}/?tab=3")
    with page.expect_navigation():
        page.locator('[data-open-item="credit.statements"]').click()
    assert "2024-12-31" in page.content()
    with page.expect_navigation():
        page.locator(f'a[href="/credit/statements/{credit["statement"].pk}/"]').first.click()
    assert "30,000,000" in page.content() or "30000000" in page.content()
    _shot(page, "confidential-statements-read")

    page.context.clear_cookies()
    _login(page, base, head.username)
    page.goto(f"{base}/confidential/read-log/?user={rep.username}")
    log = page.inner_text("#read-log")
    assert "张伟" in log and customer.name in log
    # the list read and the statement read, each under the grant
    assert page.locator(f'#read-log td a[href="/confidential/read-log/?grant={grant_id}"]').count() == 2
    _shot(page, "confidential-read-log")
