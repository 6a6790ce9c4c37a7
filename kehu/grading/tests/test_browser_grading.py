"""In a real browser: a sales manager starts a grading run, the background job computes it, a general manager
approves it and sees the distribution (R-GRD-02). Runs with KEHU_BROWSER_TESTS=1 (headless Chromium)."""

from __future__ import annotations

import re
import threading

import pytest

from kehu.core.jobs.testing import run_pending_jobs
from kehu.core.tests.test_browser import _login, _shot

from .conftest import make_active

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _run_jobs() -> int:
    # Playwright's sync API runs an event loop in this thread: the worker runs in a thread of its own.
    ran: list[int] = []
    worker = threading.Thread(target=lambda: ran.append(run_pending_jobs()))
    worker.start()
    worker.join()
    return ran[0] if ran else 0


@pytest.fixture
def people(org):
    for i in range(5):
        make_active(org["rep1"], i)
    return {"mgr": org["mgr_east"], "gm": org["gm"]}


def test_start_approve_and_see_the_distribution(live_server, people, browser_page):
    page, base = browser_page, live_server.url
    _login(page, base, people["mgr"].username)
    page.goto(f"{base}/grading/runs/")
    with page.expect_navigation():
        page.locator("#start-run button[type=submit]").click()
    page.wait_for_url(re.compile(r".*/grading/runs/\d+/$"))
    run_url = page.url
    assert _run_jobs() >= 1
    page.reload()
    assert "待批准" in page.inner_text("#run-status")
    assert page.locator("#approve-run").count() == 0  # the starter cannot approve

    page.context.clear_cookies()
    _login(page, base, people["gm"].username)
    page.goto(run_url)
    with page.expect_navigation():
        page.locator("#approve-run button[type=submit]").click()
    assert "已生效" in page.inner_text("#run-status")
    counts = [int(page.inner_text(f"#distribution tr[data-grade='{g}'] td:nth-child(2)")) for g in "ABCD"]
    assert sum(counts) == 5
    _shot(page, "grading-run-approved")
