"""In a real browser: a prospect from application to approval as four different users (sales rep, reviewer, credit
officer, general manager), with one send-back for rectification (R-ONB-01..05).

Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to test-artifacts/.
"""

from __future__ import annotations

import pytest

from kehu.core.tests.test_browser import _login, _shot, browser_page  # noqa: F401  (fixture)
from kehu.onboarding.tests.conftest import APPLICATION, prospect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _as(page, base, user) -> None:
    page.context.clear_cookies()
    _login(page, base, user.username)


def _act(page, base, review_pk: int, key: str, comment: str = "") -> None:
    page.goto(f"{base}/onboarding/{review_pk}/")
    page.click(f'[data-transition="{key}"]')
    box = page.locator(f"#tr-{key}")
    box.wait_for(state="visible")
    page.wait_for_selector(f"#tr-{key}.collapse.show")  # the panel has finished opening: its button stays put
    radios = box.locator("input[type=radio][value=yes]")
    for i in range(radios.count()):
        radios.nth(i).check()
    if comment:
        box.locator("textarea").first.fill(comment)
    with page.expect_navigation():  # the form posts and redirects: wait for the new page, not the old one
        box.locator("button[type=submit]").click()
    assert page.locator(".alert-success").count() == 1, page.content()[:2000]


@pytest.fixture
def setup(team):
    # Created before the browser starts: Playwright's sync API runs an event loop in this thread.
    return team, prospect(team)


def test_application_to_approval_four_users_with_send_back(live_server, setup, browser_page):  # noqa: F811
    team, customer = setup
    page, base = browser_page, live_server.url
    rep, reviewer, credit, gm = team["rep1"], team["reviewer"], team["credit_officer"], team["gm"]

    _as(page, base, rep)
    page.goto(f"{base}/onboarding/apply/")
    page.select_option("#id_customer", str(customer.pk))
    for field in ("purpose", "expected_business", "products", "requested_terms"):
        page.fill(f"#id_{field}", APPLICATION[field])
    page.fill("#id_expected_annual_volume", "3600000")
    page.click("form[novalidate] button[type=submit]")
    page.wait_for_url(f"{base}/onboarding/*/")
    pk = int(page.url.rstrip("/").rsplit("/", 1)[1])
    number = page.title().split(" ")[0]
    assert "审核中" in page.locator("dl").first.inner_text()
    _act(page, base, pk, "submit")

    _as(page, base, reviewer)
    page.goto(f"{base}/onboarding/queue/")
    assert number in page.content()
    _act(page, base, pk, "send_back_qualification", "请补充清晰的营业执照复印件")
    assert page.locator('[data-round="1"]').count() == 1

    _as(page, base, rep)
    _act(page, base, pk, "resubmit_qualification", "客户已重新提供营业执照复印件")

    _as(page, base, reviewer)
    _act(page, base, pk, "qualify")
    _act(page, base, pk, "pass_business")

    _as(page, base, credit)
    _act(page, base, pk, "pass_risk", "信用良好，风险低")

    _as(page, base, rep)
    _act(page, base, pk, "pass_interview")
    assert page.locator('[data-transition="approve"]').count() == 0  # the preparer cannot approve

    _as(page, base, gm)
    _act(page, base, pk, "approve", "同意合作")
    assert page.locator('[data-decision="approve"]').count() == 1
    assert "复核通过" in page.locator("#rounds").inner_text()
    assert "交易中" in page.locator("dl").first.inner_text()
    _shot(page, "onboarding-approved")
