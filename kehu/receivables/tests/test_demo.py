"""The demo loader posts a consistent ledger: invoices, mixed receipts, prepayments, credit notes, deposits,
promises, a report and a pending write-off; the daily job raises its tasks; the maintained exposure checks out."""

from __future__ import annotations

import pytest

from kehu.core.tests.factories import user_with
from kehu.receivables.demo import load_receivables
from kehu.receivables.exposure import exposure_check
from kehu.receivables.models import (
    CollectionAlert,
    CollectionReport,
    Deposit,
    Entry,
    SettlementLine,
    WriteOff,
)
from kehu.receivables.tests.conftest import customer

pytestmark = pytest.mark.django_db


def test_demo_loader(org):
    user_with("finance", username="finance1")
    user_with("credit_officer", username="credit1")
    user_with(["credit_manager", "credit_committee"], username="creditmgr")
    for _ in range(10):
        customer(org["rep1"])
    load_receivables()
    assert Entry.objects.filter(kind="invoice").count() == 80
    assert SettlementLine.objects.filter(method="on_credit").exists()
    assert (
        Entry.objects.filter(kind="prepayment").exists() and Entry.objects.filter(kind="credit_note").exists()
    )
    assert Deposit.objects.exists() and CollectionReport.objects.count() == 1
    assert WriteOff.objects.filter(status="pending").count() == 1
    assert CollectionAlert.objects.filter(kind="overdue").exists()
    assert CollectionAlert.objects.filter(kind="broken_promise").exists()
    assert exposure_check() == []


def test_pages_in_english(client, org):
    from kehu.core.tests.factories import PASSWORD

    org["gm"].language = "en"
    org["gm"].save(update_fields=["language"])
    assert client.login(username=org["gm"].username, password=PASSWORD)
    body = client.get("/credit/ageing/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Ageing analysis" in body and "Over 365 days" in body
