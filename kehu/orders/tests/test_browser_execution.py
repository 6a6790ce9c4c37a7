"""In a real browser: execution of an approved order (R-ORD-05). The sales manager issues the execution notice
naming a responsible person (the deadline defaults to the requested date), the responsible person (not the
customer's owner) records a partial delivery, finance invoices it into the receivables ledger; the order page shows
the notice, the delivery, the invoice, the delivered quantity per line, and the exposure moved from approved order
to unbilled delivery to receivable. Runs with KEHU_BROWSER_TESTS=1 (headless Chromium); screenshots go to
test-artifacts/."""

from __future__ import annotations

import pytest

from kehu.core.tests.factories import user_with
from kehu.core.tests.test_browser import _shot
from kehu.orders.tests.conftest import line, submitted
from kehu.orders.tests.test_browser_review import Browser, read
from kehu.receivables.exposure import exposure_check
from kehu.receivables.interface import exposure_parts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ready(db, org, cust, catalogue):
    """An approved order of 10 × 100.00 and 5 × 100.00 (no tax) and a finance user, made before the browser starts."""
    order = submitted(org["rep1"], cust, [line(catalogue["p1"], "10"), line(catalogue["p1"], "5")])
    assert order.status == "approved"
    return {"order": order, "fin": user_with("finance", username="fin-x1", display_name="财务周会计")}


def test_r_ord_05_notice_delivery_invoice_in_the_browser(live_server, org, cust, ready, browser_page):
    order, fin = ready["order"], ready["fin"]
    b = Browser(browser_page, live_server.url)
    page = b.order(org["mgr_east"], order.pk)
    assert page.locator("#notice-missing").count() == 1
    assert page.input_value("#notice-form input[name=delivery_deadline]") == str(order.requested_date)
    label = next(
        o
        for o in page.locator("#notice-form select[name=responsible] option").all_inner_texts()
        if "rep3" in o
    )
    page.select_option("#notice-form select[name=responsible]", label=label)
    page.fill("#notice-form textarea[name=quality_requirements]", "按图纸检验，附出厂检验报告")
    with page.expect_navigation():
        page.click("#issue-notice")
    assert page.inner_text("#order-status").strip() == "执行中"
    assert "按图纸检验" in page.inner_text("#notices")
    _shot(page, "order-notice-issued")

    page = b.order(org["rep3"], order.pk)  # the responsible person, not the customer's owner
    page.fill("#deliver-1", "4")
    with page.expect_navigation():
        page.click("#post-delivery")
    assert "发货单" in page.inner_text(".alert")
    assert page.inner_text("#delivered-amount").strip() == "400.00"
    assert page.inner_text("#line-1-delivered").strip() == "4"
    assert page.locator("#invoice-form").count() == 0  # finance invoices
    _shot(page, "order-delivered")

    page = b.order(fin, order.pk)
    page.fill("#invoice-form input[name=number]", "FP-B-001")
    with page.expect_navigation():
        page.click("#post-invoice")
    assert "已记入应收台账" in page.inner_text(".alert")
    assert page.inner_text("#invoiced-amount").strip() == "400.00"
    assert "FP-B-001" in page.inner_text("#invoices")
    _shot(page, "order-invoiced")

    parts = read(lambda: exposure_parts(cust))
    assert (parts.approved_orders, parts.unbilled_deliveries, parts.open_receivables) == (1100, 0, 400)
    assert read(lambda: exposure_check([cust.pk])) == []
