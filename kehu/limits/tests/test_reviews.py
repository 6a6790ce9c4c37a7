"""Periodic and event reviews (R-CRD-08) and the late-payment downgrade (R-CRD-09)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.customers.models import CustomerChange
from kehu.limits import adapters, interface, services
from kehu.limits.models import (
    AppStatus,
    CreditLimit,
    CreditReview,
    LimitStatus,
    ReviewTrigger,
    TermsDowngrade,
)
from kehu.workflow.models import Task, TaskState

from .conftest import active_customer

pytestmark = pytest.mark.django_db


def limit_for(customer, amount="100000", level="B", review_on=None):
    today = timezone.localdate()
    return CreditLimit.objects.create(
        customer=customer,
        amount=Decimal(amount),
        term_days=30,
        credit_class=level,
        terms_level=level,
        valid_from=today - dt.timedelta(days=400),
        next_review_on=review_on or today + dt.timedelta(days=30),
    )


def test_periodic_job_opens_due_reviews_once(team):
    today = timezone.localdate()
    due = active_customer(team["rep1"])
    later = active_customer(team["rep1"], name="苏州远景电子有限公司")
    limit_for(due, review_on=today)
    limit_for(later, review_on=today + dt.timedelta(days=1))
    assert services.reviews_due_run() == {"checked": 1, "opened": 1}
    assert services.reviews_due_run() == {"checked": 1, "opened": 0}  # idempotent
    review = CreditReview.objects.get()
    assert review.customer == due and review.trigger == ReviewTrigger.PERIODIC and review.due > today
    assert review.context["limit"]["amount"] == "100000.00" and "statements" in review.context
    task = Task.objects.get(state=TaskState.OPEN, target_id=str(review.pk))
    assert task.assignee_role == "credit_officer"
    # the next day the other limit is due
    assert services.reviews_due_run(at=(today + dt.timedelta(days=1)).isoformat())["opened"] == 1


def test_review_keep_moves_next_review_and_closes_task(team):
    c = active_customer(team["rep1"])
    limit = limit_for(c, review_on=timezone.localdate())
    services.reviews_due_run()
    review = CreditReview.objects.get()
    with pytest.raises(PermissionDenied):
        services.review_decide(actor=team["credit"], review_id=review.pk, decision="keep", reason="正常")
    with pytest.raises(ValidationFailed) as exc:
        services.review_decide(actor=team["cmgr"], review_id=review.pk, decision="keep", reason="")
    assert exc.value.field == "reason"
    services.review_decide(actor=team["cmgr"], review_id=review.pk, decision="keep", reason="付款正常，维持")
    limit.refresh_from_db()
    assert limit.next_review_on > timezone.localdate() + dt.timedelta(days=300)
    assert not Task.objects.filter(state=TaskState.OPEN, target_id=str(review.pk)).exists()
    with pytest.raises(Conflict):
        services.review_decide(actor=team["cmgr"], review_id=review.pk, decision="suspend", reason="再议")
    # a new review is due only at the new date: the job opens nothing today
    assert services.reviews_due_run()["opened"] == 0


def test_review_suspend_ends_credit(team):
    c = active_customer(team["rep1"])
    limit_for(c)
    review, created = services.review_open(customer=c, reason="人工", trigger="manual", actor=team["credit"])
    assert created
    services.review_decide(actor=team["cmgr"], review_id=review.pk, decision="suspend", reason="涉诉严重")
    assert interface.credit_limit(c) is None and interface.credit_available(c) is None
    assert CreditLimit.objects.get(customer=c).status == LimitStatus.SUSPENDED


def test_review_change_goes_to_the_credit_committee(team):
    c = active_customer(team["rep1"])
    limit_for(c, amount="40000", level="C")
    review, _ = services.review_open(customer=c, reason="逾期", trigger="manual", actor=team["credit"])
    services.review_decide(
        actor=team["cmgr"],
        review_id=review.pk,
        decision="change",
        reason="降低额度",
        requested_amount="20000",
        requested_term_days=0,
    )
    app = review.applications.get()
    assert app.source == "review" and app.status == AppStatus.INVESTIGATION
    services.finding_save(actor=team["credit"], application_id=app.pk, channel="bank", findings="资金紧张")
    services.conclusion_save(actor=team["credit"], application_id=app.pk, conclusion="降额")
    # R-CRD-08: not the amount band (officer for 20,000) but the committee
    with pytest.raises(ValidationFailed) as exc:
        services.application_act(
            actor=team["credit"], application_id=app.pk, transition="route_credit_officer"
        )
    assert "R-CRD-08" in str(exc.value.message)
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_committee")
    services.application_act(
        actor=team["committee"], application_id=app.pk, transition="approve_credit_committee"
    )
    assert interface.credit_limit(c).amount == Decimal("20000.00")
    review.refresh_from_db()
    assert review.decision == "change"


def test_litigation_flag_opens_a_review_at_once(team, client):
    c = active_customer(team["rep1"])
    no_limit = active_customer(team["rep1"], name="杭州无额度贸易有限公司")
    limit_for(c)
    with pytest.raises(PermissionDenied):
        services.litigation_record(actor=team["rep1"], customer_id=c.pk, description="被诉")
    with pytest.raises(ValidationFailed):
        services.litigation_record(
            actor=team["credit"],
            customer_id=c.pk,
            description="被诉",
            occurred_on=timezone.localdate() + dt.timedelta(days=1),
        )
    flag, review = services.litigation_record(
        actor=team["credit"], customer_id=c.pk, description="被供应商起诉"
    )
    assert (
        review is not None
        and review.trigger == ReviewTrigger.LITIGATION
        and review.trigger_key == f"flag-{flag.pk}"
    )
    _flag, none = services.litigation_record(
        actor=team["credit"], customer_id=no_limit.pk, description="被诉"
    )
    assert none is None
    client.force_login(team["credit"])
    r = client.post(
        reverse("limits_litigation", args=[c.pk]),
        {"description": "二次起诉", "occurred_on": timezone.localdate()},
    )
    assert r.status_code == 302 and CreditReview.objects.filter(trigger="litigation").count() == 2


def test_ownership_change_triggers_a_review_once(team):
    c = active_customer(team["rep1"])
    limit_for(c)
    CustomerChange.objects.create(
        customer=c, field="address", old="a", new="b", changed_on=timezone.localdate()
    )
    assert services.review_events_run()["opened"] == 0
    change = CustomerChange.objects.create(
        customer=c, field="legal_representative", old="张三", new="李四", changed_on=timezone.localdate()
    )
    # a change from before the limit took effect does not count
    CustomerChange.objects.create(
        customer=c, field="owner", old="x", new="y", changed_on=timezone.localdate() - dt.timedelta(days=500)
    )
    assert services.review_events_run()["opened"] == 1
    assert services.review_events_run()["opened"] == 0
    review = CreditReview.objects.get()
    assert review.trigger == ReviewTrigger.OWNERSHIP and review.trigger_key == f"change-{change.pk}"


@dataclass
class Overdue:
    amount: Decimal
    oldest_days: int
    items: int


def test_overdue_spike_triggers_a_review(team, monkeypatch):
    c = active_customer(team["rep1"])
    calm = active_customer(team["rep1"], name="宁波平稳物资有限公司")
    limit_for(c)
    limit_for(calm)
    monkeypatch.setattr(adapters, "receivables_installed", lambda: True)
    monkeypatch.setattr(adapters, "credit_exposure", lambda customer: Decimal("90000"))
    spikes = {c.pk: Overdue(Decimal("100000"), 10, 3), calm.pk: Overdue(Decimal("99999.99"), 59, 2)}
    monkeypatch.setattr(adapters, "overdue_summary", lambda customer, at=None: spikes[customer.pk])
    assert services.review_events_run()["opened"] == 1  # amount edge (policy 100 000) reached; days 59 < 60
    review = CreditReview.objects.get()
    assert review.customer == c and review.trigger == ReviewTrigger.OVERDUE
    assert review.context["overdue"]["amount"] == "100000" and review.context["exposure"] == "90000"
    assert services.review_events_run()["opened"] == 0  # once per month
    spikes[calm.pk] = Overdue(Decimal("1"), 60, 1)
    assert services.review_events_run()["opened"] == 1  # days edge


@dataclass
class Late:
    invoice_id: int
    due_on: dt.date
    paid_on: dt.date
    days_late: int


@pytest.fixture
def late(monkeypatch):
    """Late payments per customer pk; the fake answers by paid_on between start and end like the ledger does."""
    rows: dict[int, list[Late]] = {}

    def fake(customer, start, end):
        return [r for r in rows.get(customer.pk, []) if start <= r.paid_on <= end]

    monkeypatch.setattr(adapters, "late_payments", fake)
    return rows


def _late(i, paid_on):
    return Late(i, paid_on - dt.timedelta(days=5), paid_on, 5)


def test_two_late_payments_in_different_quarters_do_not_downgrade(team, late):
    c = active_customer(team["rep1"])
    limit_for(c, level="A")
    late[c.pk] = [_late(1, dt.date(2026, 3, 31)), _late(2, dt.date(2026, 4, 1))]
    assert services.terms_check(customer=c, at=dt.date(2026, 3, 31)) is None
    assert services.terms_check(customer=c, at=dt.date(2026, 4, 1)) is None
    assert interface.payment_terms_level(c) == "A"


def test_two_late_payments_in_one_quarter_drop_one_level_once(team, late):
    c = active_customer(team["rep1"])
    limit = limit_for(c, level="A")
    late[c.pk] = [
        _late(1, dt.date(2026, 4, 1)),
        _late(2, dt.date(2026, 6, 30)),
        _late(3, dt.date(2026, 7, 1)),
    ]
    assert services.terms_check(customer=c, at=dt.date(2026, 6, 29)) is None  # only one so far
    row = services.terms_check(customer=c, at=dt.date(2026, 6, 30))
    assert row is not None and (row.from_level, row.to_level) == ("A", "B")
    assert row.quarter_start == dt.date(2026, 4, 1) and [e["invoice_id"] for e in row.evidence] == [1, 2]
    assert row.policy_version_id is not None
    assert interface.payment_terms_level(c) == "B"
    assert services.terms_check(customer=c, at=dt.date(2026, 6, 30)) is None  # idempotent per quarter
    assert interface.payment_terms_level(c) == "B"
    entry = AuditEntry.objects.filter(object_type="limits.creditlimit", object_id=str(limit.pk)).last()
    assert entry is not None and entry.changes["terms_level"] == ["A", "B"] and entry.policy_version
    # next quarter: one late payment so far, no further drop; a second one drops to C
    assert services.terms_check(customer=c, at=dt.date(2026, 7, 1)) is None
    late[c.pk].append(_late(4, dt.date(2026, 9, 30)))
    assert services.terms_check(customer=c, at=dt.date(2026, 9, 30)).to_level == "C"
    assert TermsDowngrade.objects.filter(customer=c).count() == 2


def test_terms_job_runs_daily_and_stops_at_d(team, late):
    c = active_customer(team["rep1"])
    limit_for(c, level="D")
    other = active_customer(team["rep1"], name="厦门海联进出口有限公司")
    limit_for(other, level="C")
    day = dt.date(2026, 12, 31)
    late[c.pk] = [_late(1, day), _late(2, day)]
    late[other.pk] = [_late(3, dt.date(2026, 10, 1)), _late(4, day)]
    assert services.terms_check_run(at=day.isoformat()) == {"checked": 1, "downgraded": 1}
    assert services.terms_check_run(at=day.isoformat())["downgraded"] == 0
    assert interface.payment_terms_level(other) == "D" and interface.payment_terms_level(c) == "D"


def test_reviews_are_confidential(team, client):
    c = active_customer(team["rep1"])
    limit_for(c)
    review, _ = services.review_open(customer=c, reason="人工", trigger="manual")
    with pytest.raises(PermissionDenied):
        services.review_get(actor=team["rep1"], review_id=review.pk)
    client.force_login(team["rep1"])
    assert client.get(reverse("limits_review", args=[review.pk])).status_code == 403
    assert client.get(f"/api/v1/credit/reviews/{review.pk}").status_code == 403
    client.force_login(team["finance"])
    assert client.get(reverse("limits_review", args=[review.pk])).status_code == 200
    assert client.get(reverse("limits_reviews") + "?state=open").status_code == 200
    r = client.post(
        f"/api/v1/credit/reviews/{review.pk}/decision",
        {"decision": "keep", "reason": "x"},
        content_type="application/json",
    )
    assert r.status_code == 403
    client.force_login(team["cmgr"])
    r = client.post(reverse("limits_review", args=[review.pk]), {"decision": "keep", "reason": "维持"})
    assert r.status_code == 302
    review.refresh_from_db()
    assert review.decision == "keep"
    with pytest.raises(NotFound):
        services.review_get(actor=team["cmgr"], review_id=999999)


def test_periodic_jobs_are_declared_and_importable():
    import importlib

    from kehu.core.jobs.scheduler import discover

    jobs = {j.name: j for j in discover()}
    for name in ("limits.reviews_due", "limits.review_events", "limits.terms_check"):
        module, func = jobs[name].func.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), func))


def test_manual_review_from_the_dossier(team, client):
    c = active_customer(team["rep1"])
    bare = active_customer(team["rep1"], name="青岛无额度商贸有限公司")
    client.force_login(team["rep1"])
    assert client.post(reverse("limits_review_open", args=[c.pk])).status_code == 403
    client.force_login(team["credit"])
    r = client.post(reverse("limits_review_open", args=[bare.pk]))
    assert r.status_code == 302 and not CreditReview.objects.exists()
    limit_for(c)
    html = client.get(c.get_absolute_url() + "?tab=3").content.decode()
    assert reverse("limits_review_open", args=[c.pk]) in html
    r = client.post(reverse("limits_review_open", args=[c.pk]), {"reason": "客户经营变化"})
    review = CreditReview.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("limits_review", args=[review.pk])
    assert review.trigger == "manual" and review.reason == "客户经营变化"


def test_downgrade_from_the_real_ledger_at_the_quarter_edge(team):
    """With the receivables ledger: late payments on the last day of a quarter and on the first day of the next
    quarter fall in different quarters (R-CRD-09)."""
    if not adapters.receivables_installed():
        pytest.skip("the receivables app is not installed")
    from kehu.receivables import services as ledger

    c = active_customer(team["rep1"])
    limit_for(c, level="B")
    this_q = services._quarter_start(timezone.localdate())
    prev_end = this_q - dt.timedelta(days=1)
    prev_start = services._quarter_start(prev_end)

    def late_paid(number, due, paid):
        inv = ledger.invoice_post(
            actor=team["finance"],
            customer_id=c.pk,
            number=number,
            entry_date=due - dt.timedelta(days=30),
            due_date=due,
            amount="100",
        )
        ledger.receipt_post(
            actor=team["finance"],
            customer_id=c.pk,
            entry_date=paid,
            lines=[{"method": "wire", "amount": "100"}],
            allocations=[{"invoice_id": inv.pk, "amount": "100"}],
        )
        return inv

    first = late_paid("Q-1", prev_start, prev_start + dt.timedelta(days=2))
    late_paid("Q-2", prev_end - dt.timedelta(days=3), this_q)  # paid on the first day of the next quarter
    assert services.terms_check(customer=c, at=prev_end) is None  # one late payment in that quarter
    second = late_paid("Q-3", prev_end - dt.timedelta(days=3), prev_end)  # paid on the quarter's last day
    row = services.terms_check(customer=c, at=prev_end)
    assert row is not None and (row.from_level, row.to_level) == ("B", "C")
    assert sorted(e["invoice_id"] for e in row.evidence) == sorted([first.pk, second.pk])
    assert interface.payment_terms_level(c) == "C"


def test_terms_job_also_checks_the_previous_quarter(team, late):
    c = active_customer(team["rep1"])
    limit_for(c, level="A")
    late[c.pk] = [_late(1, dt.date(2026, 9, 29)), _late(2, dt.date(2026, 9, 30))]
    assert services.terms_check_run(at="2026-10-01")["downgraded"] == 1
    assert TermsDowngrade.objects.get(customer=c).quarter_start == dt.date(2026, 7, 1)
    assert services.terms_check_run(at="2026-10-02")["downgraded"] == 0


def test_review_carries_the_latest_statements(team, monkeypatch, client):
    if not adapters.credit_installed():
        pytest.skip("the credit app is not installed")
    from kehu.credit.interface import StatementsView

    c = active_customer(team["rep1"])
    limit_for(c, review_on=timezone.localdate())
    view = StatementsView(
        id=5, period_end=dt.date(2025, 12, 31), period_type="year", ratios={"current": Decimal("1.52")}
    )
    monkeypatch.setattr(adapters, "latest_statements", lambda customer: view)
    services.reviews_due_run()
    ctx = CreditReview.objects.get().context["statements"]
    assert ctx == {"id": 5, "period_end": "2025-12-31", "ratios": {"current": "1.52"}}
    client.force_login(team["credit"])
    html = client.get(reverse("limits_review", args=[CreditReview.objects.get().pk])).content.decode()
    assert "2025-12-31" in html and "current 1.52" in html


def test_reviews_api(team, client):
    c = active_customer(team["rep1"])
    limit_for(c)
    client.force_login(team["credit"])
    r = client.post(
        "/api/v1/credit/reviews/",
        {"customer_id": c.pk, "reason": "客户股东变更"},
        content_type="application/json",
    )
    assert r.status_code == 201 and r.json()["trigger"] == "manual"
    review_id = r.json()["id"]
    bad = client.post(
        "/api/v1/credit/reviews/",
        {"customer_id": c.pk, "reason": "x", "trigger": "gossip"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["detail"]["field"] == "trigger"
    assert [x["id"] for x in client.get("/api/v1/credit/reviews/?state=open").json()["items"]] == [review_id]
    client.force_login(team["cmgr"])
    r = client.post(
        f"/api/v1/credit/reviews/{review_id}/decision",
        {"decision": "suspend", "reason": "暂停"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["decision"] == "suspend"
    assert client.get(f"/api/v1/credit/limits/customer/{c.pk}").json()["limit"] is None
    assert client.get("/api/v1/credit/reviews/?state=decided").json()["count"] == 1
