"""A policy change in a real browser: proposed by one user, reviewed by the PMO, approved by another user.

Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.conf import settings

from kehu.core.policies.models import PolicyStatus, PolicyVersion
from kehu.core.tests.factories import PASSWORD, user_with

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def _session(browser, base: str, username: str):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(15000)
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    return context, page


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_propose_review_and_approve_policy_change(live_server, browser, monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM reads are plain sync code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = live_server.url
    proposer = user_with("sysadmin", username="policy_proposer")
    user_with("pmo", username="policy_pmo")
    user_with("general_manager", username="policy_gm")
    effective = (dt.date.today() + dt.timedelta(days=3)).isoformat()

    # 1. The administrator proposes keeping audit records 15 years instead of 10.
    ctx, page = _session(browser, base, proposer.username)
    page.goto(f"{base}/policies/")
    page.click("tr[data-key='platform.retention'] a >> nth=0")
    page.wait_for_url(f"{base}/policies/platform.retention/")
    assert "10 年" in page.inner_text(".kehu-policy-values")
    page.click("#propose")
    page.fill("input[name='audit_years']", "0")
    page.fill("input[name='effective_from']", effective)
    page.fill("textarea[name='reason']", "监管要求延长保存期限")
    page.click("#propose-submit")
    # a bad value is refused inline, naming the field and the rule; what was typed is kept
    assert "audit_years" in page.inner_text("#propose-form")
    assert page.input_value("textarea[name='reason']") == "监管要求延长保存期限"
    _shot(page, "policy-propose-error")
    page.fill("input[name='audit_years']", "15")
    page.click("#propose-submit")
    page.wait_for_selector("#case-panel")
    _shot(page, "policy-proposed")
    version_url = page.url
    ctx.close()

    version = PolicyVersion.objects.get(type_key="platform.retention", number=2)
    assert version.status == PolicyStatus.PENDING and version.author == proposer

    # 2. The PMO reviews it.
    ctx, page = _session(browser, base, "policy_pmo")
    page.goto(version_url)
    form = page.locator("form[data-transition='review_pass']")
    form.locator("input[name='check_impact']").check()
    form.locator("textarea[name='comment']").fill("影响已评估")
    form.locator("button[type='submit']").click()
    page.wait_for_selector("[data-case-state='approval']")
    ctx.close()

    # 3. The proposer may not approve; the general manager does.
    ctx, page = _session(browser, base, proposer.username)
    page.goto(version_url)
    assert page.locator("form[data-transition='approve']").count() == 0
    ctx.close()

    ctx, page = _session(browser, base, "policy_gm")
    page.goto(version_url)
    page.locator("form[data-transition='approve'] button[type='submit']").click()
    page.wait_for_selector("[data-case-state='approved']")
    assert page.locator("[data-status='formal']").first.is_visible()
    _shot(page, "policy-approved")

    # 4. The diff shows the change side by side.
    page.goto(f"{base}/policies/platform.retention/diff/?a=1&b=2")
    changed = page.locator("tr[data-changed='1']")
    assert changed.count() == 1 and "15 年" in changed.inner_text()
    _shot(page, "policy-diff")
    ctx.close()

    version.refresh_from_db()
    assert version.status == PolicyStatus.FORMAL
    assert version.approver is not None and version.approver.username == "policy_gm"
