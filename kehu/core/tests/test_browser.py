"""The shell in a real browser: sign in, switch to English (persists per user), open the audit trail.

Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to test-artifacts/.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import PASSWORD, UserFactory

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
def browser_page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1366, "height": 860}, locale="zh-CN")
        page = context.new_page()
        page.set_default_timeout(15000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def _login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.fixture
def admin_like():
    # Created before the browser starts: Playwright's sync API runs an event loop in this thread.
    return UserFactory(
        username="browser-admin", display_name="系统管理员", roles=[RoleCode.SYSADMIN, RoleCode.AUDITOR]
    )


def test_language_switch_persists_and_audit_page_opens(live_server, admin_like, browser_page):
    page = browser_page
    base = live_server.url

    page.goto(f"{base}/login/")
    assert page.get_attribute("html", "lang") == "zh-Hans"
    _shot(page, "login")
    page.fill("#id_username", "browser-admin")
    page.fill("#id_password", "wrong-password")
    page.click("#login-submit")
    assert page.locator(".alert-danger").is_visible()
    _shot(page, "login-error")

    page.fill("#id_username", "browser-admin")
    page.fill("#id_password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(f"{base}/")
    assert page.locator("nav.kehu-topbar").is_visible()
    assert page.locator('[data-module="audit"]').count() == 1
    _shot(page, "home-zh")

    # switch to English from the navbar: the select submits its form
    with page.expect_navigation():
        page.select_option("select.kehu-lang", "en")
    page.reload()
    assert page.get_attribute("html", "lang") == "en"
    _shot(page, "home-en")

    # sign out, sign in again: still English
    page.click("#user-menu")
    with page.expect_navigation():
        page.click("#logout")
    page.context.clear_cookies()  # a fresh browser: the language must come with the user
    _login(page, base, "browser-admin")
    assert page.get_attribute("html", "lang") == "en"

    page.goto(f"{base}/account/")
    _shot(page, "account")
    page.goto(f"{base}/account/tokens/")
    page.fill("#id_name", "ERP")
    page.locator("main form .btn-primary").last.click()
    page.wait_for_selector("#new-token")
    _shot(page, "tokens")
    page.goto(f"{base}/account/password/")
    _shot(page, "password-change")

    # the audit trail, opened from the navigation: it lists this user's sign-ins and the token just created
    page.goto(f"{base}/")
    link = page.locator('[data-module="audit"]')
    assert link.count() == 1
    with page.expect_navigation():
        link.click()
    assert page.url.startswith(f"{base}{reverse('audit_search')}")
    assert page.get_attribute("html", "lang") == "en"
    rows = page.locator("table.kehu-table tbody tr")
    assert rows.count() >= 3  # sign-ins, the language change, the token
    assert "browser-admin" in page.locator("table.kehu-table").inner_text()
    page.fill("#id_actor", "browser-admin")
    page.fill("#id_q", "ERP")
    with page.expect_navigation():
        page.locator("form[role=search] button[type=submit]").click()
    assert page.locator("table.kehu-table tbody tr").count() == 1  # the token named ERP, nothing else
    _shot(page, "audit")
