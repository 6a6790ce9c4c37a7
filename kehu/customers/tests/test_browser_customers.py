"""A sales rep, in a real browser: creates a customer, attaches its business licence on the dossier's first
archive tab, and finds the customer in the list (R-CUS-02, R-CUS-05, R-CUS-06, R-CUS-08).

Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to test-artifacts/.
"""

from __future__ import annotations

import datetime as dt
import random
import re

import pytest

from kehu.core.tests.factories import DepartmentFactory, RegionFactory, user_with
from kehu.core.tests.test_browser import ARTIFACTS, _login, _shot
from kehu.core.uscc import uscc_generate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def rep():
    from kehu.core.org import department_path

    dept = DepartmentFactory(code="SE", name="华东销售部", kind="sales")
    department_path(dept)
    return user_with("sales_rep", username="browser-rep", department=dept, region=RegionFactory(code="EC"))


def test_rep_creates_customer_attaches_licence_and_finds_it(live_server, rep, browser_page, tmp_path):
    page = browser_page
    base = live_server.url
    code = uscc_generate(random.Random(11))
    name = "苏州恒泰精密模具有限公司"

    _login(page, base, "browser-rep")
    page.goto(f"{base}/customers/new/")
    page.fill("#id_name", name)
    page.fill("#id_credit_code", code)
    page.fill("#id_legal_representative", "周建国")
    page.fill("#id_phone", "0512-66881234")
    _shot(page, "customer-create")
    page.locator("main form button[type=submit].btn-primary").last.click()
    page.wait_for_url(re.compile(r".*/customers/\d+/$"))
    assert name in page.inner_text("h1")
    _shot(page, "customer-dossier-overview")

    # the licence goes on the first archive tab (basic materials)
    page.click('[data-archive-tab="1"]')
    page.wait_for_url(re.compile(r".*\?tab=1$"))
    page.locator('[data-bs-target^="#attach-modal-"]').first.click()
    modal = page.locator(".modal.show")
    modal.wait_for()
    licence = tmp_path / "营业执照.pdf"
    licence.write_bytes(PDF)
    modal.locator("input[type=file]").set_input_files(str(licence))
    modal.locator("select[name=doc_type]").select_option("business_licence")
    modal.locator("input[name=number]").fill(code)
    valid_to = dt.date.today() + dt.timedelta(days=400)
    modal.locator("input[name=valid_to]").fill(valid_to.isoformat())
    with page.expect_navigation():
        modal.locator("button[type=submit]").click()
    row = page.locator("tr[data-attachment]").filter(has_text="营业执照").first
    assert row.is_visible()
    assert row.locator('[data-state="valid"]').count() == 1
    _shot(page, "customer-dossier-licence")

    # the list finds it by a part of its name and by pinyin initials
    page.goto(f"{base}/customers/?q=恒泰")
    assert page.locator("table a", has_text=name).count() == 1
    _shot(page, "customer-list-search")
    page.goto(f"{base}/customers/?q=sz")
    assert page.locator("table a", has_text=name).count() == 1
    assert (ARTIFACTS / "customer-list-search.png").exists()
