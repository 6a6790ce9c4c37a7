"""Collections (R-CRD-07): records and promises; broken promises and overdue invoices raise inbox tasks for the
owner and the credit officer exactly once; the 收款异样报告表 / 问题帐款报告书 are confidential."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from kehu.core.errors import NotFound, PermissionDenied, ValidationFailed
from kehu.receivables import collections, policies, selectors, services
from kehu.receivables.models import AlertKind, CollectionAlert
from kehu.receivables.tests.conftest import customer, days_ago
from kehu.workflow.models import Task

pytestmark = pytest.mark.django_db


def promise(org, c, *, made=20, due=10, amount="1000"):
    return collections.collection_record(
        actor=org["rep1"],
        customer_id=c.pk,
        kind="promise",
        happened_on=days_ago(made),
        promise_date=days_ago(due),
        promise_amount=amount,
        note="承诺月底付款",
    )


def test_record_kinds_and_bad_input(org, cust):
    rec = collections.collection_record(
        actor=org["rep1"], customer_id=cust.pk, kind="call", happened_on=days_ago(1), note="已电话"
    )
    assert rec.pk
    with pytest.raises(ValidationFailed) as exc:
        collections.collection_record(
            actor=org["rep1"], customer_id=cust.pk, kind="promise", happened_on=days_ago(1)
        )
    assert exc.value.field == "promise_date"
    with pytest.raises(ValidationFailed) as exc:
        collections.collection_record(
            actor=org["rep1"],
            customer_id=cust.pk,
            kind="promise",
            happened_on=days_ago(1),
            promise_date=days_ago(2),
            promise_amount="10",
        )
    assert exc.value.rule == "after_record"
    with pytest.raises(ValidationFailed):
        collections.collection_record(
            actor=org["rep1"], customer_id=cust.pk, kind="visit", happened_on=days_ago(1), note=""
        )
    with pytest.raises(NotFound):  # another rep's customer
        collections.collection_record(
            actor=org["rep2"], customer_id=cust.pk, kind="call", happened_on=days_ago(1), note="x"
        )
    with pytest.raises(PermissionDenied):
        collections.collection_record(
            actor=org["auditor"], customer_id=cust.pk, kind="call", happened_on=days_ago(1), note="x"
        )


def test_broken_promise_raises_tasks_once(fin, org, cust):
    promise(org, cust, made=20, due=10, amount="1000")
    kept = customer(org["rep1"])
    promise(org, kept, made=20, due=10, amount="500")
    services.receipt_post(
        actor=fin,
        customer_id=kept.pk,
        entry_date=days_ago(12),
        prepayment=True,
        lines=[{"method": "wire", "amount": "500"}],
    )
    # received some, not all: still broken
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(12),
        prepayment=True,
        lines=[{"method": "wire", "amount": "999.99"}],
    )
    counts = collections.collection_alerts_run()
    assert counts["broken_promises"] == 1
    alert = CollectionAlert.objects.get(kind=AlertKind.BROKEN_PROMISE)
    assert alert.customer_id == cust.pk and alert.amount == D("0.01")
    tasks = Task.objects.filter(target_id=str(alert.pk))
    assert {t.assignee_id for t in tasks} == {org["rep1"].pk, org["credit"].pk}
    again = collections.collection_alerts_run()
    assert again["broken_promises"] == 0 and Task.objects.filter(target_id=str(alert.pk)).count() == 2


def test_promise_within_tolerance_is_not_broken_yet(org, cust):
    promise(org, cust, made=10, due=2)  # policy tolerance: 3 days
    assert collections.collection_alerts_run()["broken_promises"] == 0
    assert [p["state"] for p in collections.promises_of(cust.pk)] == ["open"]


def test_overdue_invoice_task_after_policy_days(fin, org, cust):
    services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="A",
        entry_date=days_ago(80),
        due_date=days_ago(31),
        amount="10",
    )
    services.invoice_post(
        actor=fin,
        customer_id=cust.pk,
        number="B",
        entry_date=days_ago(80),
        due_date=days_ago(30),
        amount="10",
    )
    counts = collections.collection_alerts_run()
    assert counts["overdue"] == 1 and counts["tasks"] == 2
    assert collections.collection_alerts_run()["overdue"] == 0
    assert selectors.alerts(org["rep1"]).count() == 1 and selectors.alerts(org["rep2"]).count() == 0


def test_reports_are_confidential(org, fin, cust):
    with pytest.raises(PermissionDenied):
        collections.report_create(
            actor=org["rep1"],
            customer_id=cust.pk,
            kind="abnormal",
            report_date=days_ago(0),
            amount="100",
            situation="x",
        )
    with pytest.raises(ValidationFailed) as exc:
        collections.report_create(
            actor=org["credit"],
            customer_id=cust.pk,
            kind="problem",
            report_date=days_ago(0),
            amount="100",
            situation="长期拖欠",
        )
    assert exc.value.field == "measures"
    r = collections.report_create(
        actor=org["credit"],
        customer_id=cust.pk,
        kind="problem",
        report_date=days_ago(0),
        amount="100",
        situation="长期拖欠",
        measures="法律催收",
    )
    assert r.number.startswith("WTZK-")
    assert list(selectors.reports(org["gm"])) == [r]
    assert list(selectors.reports(org["rep1"])) == []


def test_daily_job_is_declared():
    from kehu.core.jobs.scheduler import discover

    job = next(j for j in discover() if j.name == "receivables.collection_alerts")
    assert job.func == "kehu.receivables.collections.collection_alerts_run" and job.every.startswith("daily")


def test_promises_list_queries_do_not_grow_and_the_list_is_capped(
    fin, org, cust, django_assert_max_num_queries
):
    """R-CRD-07: the promises page reads the receipts for all its promises at once, newest promises first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    promise(org, cust, made=30, due=20, amount="100")
    promise(org, cust, made=8, due=1, amount="50")
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(25),
        prepayment=True,
        lines=[{"method": "wire", "amount": "100"}],
    )
    services.receipt_post(
        actor=fin,
        customer_id=cust.pk,
        entry_date=days_ago(5),
        prepayment=True,
        lines=[{"method": "wire", "amount": "20"}],
    )
    collections.promises_of(cust.pk)  # policies cached
    with CaptureQueriesContext(connection) as few:
        got = collections.promises_of(cust.pk)
    assert [(p["record"].promise_date, p["received"], p["state"]) for p in got] == [
        (days_ago(1), D("20.00"), "open"),
        (days_ago(20), D("100.00"), "kept"),
    ]
    for n in range(12):
        promise(org, cust, made=15, due=14 - n % 10, amount="10")
    with django_assert_max_num_queries(len(few.captured_queries)):
        many = collections.promises_of(cust.pk)
    assert len(many) == 14
    tolerance = policies.collection()[0].promise_tolerance_days
    for p in many:
        rec = p["record"]
        end = min(rec.promise_date + dt.timedelta(days=tolerance), days_ago(0))
        assert p["received"] == collections.received_between(cust.pk, rec.happened_on, end)
    capped = collections.promises_of(cust.pk, limit=5)
    assert [p["record"].pk for p in capped] == [p["record"].pk for p in many[:5]]
