"""A review's limit change goes to the credit committee (R-CRD-08); the investigation's comments stay confidential
on the application page and on the engine's own case pages (R-PLT-02); API reads of reviews are logged."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from kehu.core.errors import ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.models.audit import AuditAction
from kehu.limits import interface, services
from kehu.limits.models import AppSource, AppStatus, Channel, CreditLimit, CreditReview
from kehu.workflow import engine

from .conftest import active_customer

pytestmark = pytest.mark.django_db

ROUTES = ("route_credit_officer", "route_credit_manager", "route_credit_committee")


def _limit(customer, amount="100000"):
    return CreditLimit.objects.create(
        customer=customer,
        amount=Decimal(amount),
        term_days=30,
        credit_class="A",
        terms_level="A",
        valid_from=timezone.localdate() - dt.timedelta(days=400),
        next_review_on=timezone.localdate() + dt.timedelta(days=30),
    )


def _investigated(app, officer):
    services.finding_save(actor=officer, application_id=app.pk, channel=Channel.BANK, findings="结算正常")
    services.conclusion_save(actor=officer, application_id=app.pk, conclusion="建议授信")
    app.case.refresh_from_db()


def _offered_routes(app, officer):
    app.case.refresh_from_db()
    return [t.key for t in engine.allowed_transitions(app.case, officer) if t.key in ROUTES]


# --- R-CRD-08: a review's change goes to the committee --------------------------------------------------------


def test_review_change_of_80000_goes_only_to_the_committee(team, rated):
    c = active_customer(team["rep1"])
    rated[c.pk] = "A"
    _limit(c)
    review, _ = services.review_open(customer=c, reason="逾期增加", trigger="manual", actor=team["credit"])
    services.review_decide(
        actor=team["cmgr"],
        review_id=review.pk,
        decision="change",
        reason="降低额度",
        requested_amount="80000",
        requested_term_days=30,
        expected_sales="200000",
    )
    app = review.applications.get()
    assert app.source == AppSource.REVIEW and app.status == AppStatus.INVESTIGATION
    _investigated(app, team["credit"])
    assert _offered_routes(app, team["credit"]) == ["route_credit_committee"]
    for wrong in ("route_credit_officer", "route_credit_manager"):
        with pytest.raises(ValidationFailed) as exc:
            services.application_act(actor=team["credit"], application_id=app.pk, transition=wrong)
        assert exc.value.rule == "guard" and "R-CRD-08" in str(exc.value.message)
    app.refresh_from_db()
    assert app.status == AppStatus.INVESTIGATION  # the refusal changed nothing
    with translation.override("en"):
        assert "proposed by a credit review" in services.guard_band(app.case, "credit_manager")
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_committee")
    app.refresh_from_db()
    assert app.status == AppStatus.APPROVAL and app.approver_role == "credit_committee"
    app.case.refresh_from_db()
    assert engine.allowed_transitions(app.case, team["credit2"]) == []  # the officer cannot approve alone
    services.application_act(
        actor=team["committee"], application_id=app.pk, transition="approve_credit_committee", comment="同意"
    )
    assert interface.credit_limit(c).amount == Decimal("80000.00")
    review.refresh_from_db()
    assert review.decision == "change"


def test_review_change_above_the_committee_band_still_goes_to_the_committee(team, rated):
    c = active_customer(team["rep1"])
    rated[c.pk] = "A"
    _limit(c, "2000000")
    review, _ = services.review_open(customer=c, reason="经营扩大", trigger="manual", actor=team["credit"])
    services.review_decide(
        actor=team["gm"],
        review_id=review.pk,
        decision="change",
        reason="提高额度",
        requested_amount="1500000",
        requested_term_days=30,
        expected_sales="3000000",
    )
    app = review.applications.get()
    _investigated(app, team["credit"])
    assert _offered_routes(app, team["credit"]) == ["route_credit_committee"]


def test_ordinary_application_of_80000_still_goes_to_the_officer(team, rated):
    c = active_customer(team["rep1"])
    rated[c.pk] = "A"
    app = services.application_create(
        actor=team["rep1"],
        customer_id=c.pk,
        requested_amount="80000",
        requested_term_days=30,
        expected_sales="200000",
        reason="月度采购稳定",
    )
    services.application_act(actor=team["rep1"], application_id=app.pk, transition="submit")
    _investigated(app, team["credit"])
    assert _offered_routes(app, team["credit"]) == ["route_credit_officer"]
    with pytest.raises(ValidationFailed) as exc:
        services.application_act(
            actor=team["credit"], application_id=app.pk, transition="route_credit_committee"
        )
    assert exc.value.rule == "guard" and "R-CRD-08" not in str(exc.value.message)
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_officer")
    services.application_act(
        actor=team["credit2"], application_id=app.pk, transition="approve_credit_officer", comment="同意"
    )
    assert interface.credit_limit(c).amount == Decimal("80000.00")


# --- confidentiality of the investigation's comments --------------------------------------------------------------

SUBMIT, RESUBMIT = "请尽快审批提交说明", "已补充经营说明"
SEND_BACK = "股东涉诉待核实请补充"
ROUTE = "银行流水显示资金紧张"
RETURN = "需补查同业付款记录"
ROUTE_AGAIN = "同业反馈付款拖延"
REJECT = "不符合授信条件"
CONFIDENTIAL_COMMENTS = (SEND_BACK, ROUTE, RETURN, ROUTE_AGAIN)


@pytest.fixture
def rejected_app(team):
    """An application with every kind of event: submit, send back, resubmit, route, return, route, reject."""
    c = active_customer(team["rep1"])
    app = services.application_create(
        actor=team["rep1"],
        customer_id=c.pk,
        requested_amount="40000",
        requested_term_days=0,
        reason="月度采购稳定",
    )

    def act(user, key, comment):
        services.application_act(actor=user, application_id=app.pk, transition=key, comment=comment)

    act(team["rep1"], "submit", SUBMIT)
    act(team["credit"], "send_back", SEND_BACK)
    act(team["rep1"], "submit", RESUBMIT)
    _investigated(app, team["credit"])
    act(team["credit"], "route_credit_officer", ROUTE)
    act(team["credit2"], "return_credit_officer", RETURN)
    act(team["credit"], "route_credit_officer", ROUTE_AGAIN)
    act(team["credit2"], "reject_credit_officer", REJECT)
    app.refresh_from_db()
    assert app.status == AppStatus.REJECTED
    return app


def test_rep_and_sales_manager_see_no_investigation_comment_on_the_application_page(
    team, client, rejected_app
):
    url = reverse("limits_application", args=[rejected_app.pk])
    for user in (team["rep1"], team["mgr_east"]):
        client.force_login(user)
        page = client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        for text in CONFIDENTIAL_COMMENTS:
            assert text not in html, (user.username, text)
        # the submission and the final decision stay readable, and every step is still listed
        assert SUBMIT in html and RESUBMIT in html and REJECT in html
        assert html.count("退回补充调查") == 1 and html.count("调查完成，报信用专员审批") == 2
    client.force_login(team["credit"])
    html = client.get(url).content.decode()
    for text in (*CONFIDENTIAL_COMMENTS, SUBMIT, REJECT):
        assert text in html


def test_rep_sees_the_withdrawal_comment(team, client):
    c = active_customer(team["rep1"])
    app = services.application_create(
        actor=team["rep1"], customer_id=c.pk, requested_amount="40000", requested_term_days=0, reason="采购"
    )
    services.application_act(
        actor=team["rep1"], application_id=app.pk, transition="withdraw", comment="客户暂不需要"
    )
    client.force_login(team["rep1"])
    assert "客户暂不需要" in client.get(reverse("limits_application", args=[app.pk])).content.decode()


def test_engine_case_pages_show_the_case_only_to_those_who_see_the_investigation(team, client, rejected_app):
    case_id = rejected_app.case_id
    page, api = reverse("workflow_case_detail", args=[case_id]), f"/api/v1/workflow/cases/{case_id}"
    for user in (team["rep1"], team["mgr_east"], team["auditor"]):
        client.force_login(user)
        assert client.get(page).status_code == 404, user.username
        assert client.get(api).status_code == 404, user.username
        listed = [row["id"] for row in client.get("/api/v1/workflow/cases").json()["items"]]
        assert case_id not in listed
        # the application page stays their way to follow it
        assert client.get(reverse("limits_application", args=[rejected_app.pk])).status_code == 200
    for user in (team["credit"], team["cmgr"], team["gm"]):
        client.force_login(user)
        assert client.get(page).status_code == 200, user.username
        assert client.get(api).status_code == 200, user.username
        assert ROUTE in client.get(page).content.decode()
        listed = [row["id"] for row in client.get("/api/v1/workflow/cases").json()["items"]]
        assert case_id in listed


def test_drafting_rep_still_reaches_the_case_while_holding_its_task(team, client):
    c = active_customer(team["rep1"])
    app = services.application_create(
        actor=team["rep1"], customer_id=c.pk, requested_amount="40000", requested_term_days=0, reason="采购"
    )
    client.force_login(team["rep1"])
    assert client.get(f"/api/v1/workflow/cases/{app.case_id}").status_code == 200
    r = client.post(
        f"/api/v1/credit/applications/{app.pk}/actions/submit",
        {"comment": "提交"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == AppStatus.INVESTIGATION
    assert client.get(f"/api/v1/workflow/cases/{app.case_id}").status_code == 404


# --- API reads of reviews are logged -------------------------------------------------------------------------


def _review_reads():
    return AuditEntry.objects.filter(action=AuditAction.READ, object_type="limits.creditreview")


def test_review_api_reads_leave_exactly_one_read_entry(team, client):
    c = active_customer(team["rep1"])
    other = active_customer(team["rep2"], name="广州南方贸易有限公司")
    _limit(c)
    _limit(other)
    review, _ = services.review_open(customer=c, reason="人工", trigger="manual")
    services.review_open(customer=other, reason="人工", trigger="manual")
    client.force_login(team["finance"])
    before = _review_reads().count()
    r = client.get(f"/api/v1/credit/reviews/{review.pk}")
    assert r.status_code == 200 and "statements" in r.json()["context"]
    entries = list(_review_reads().order_by("seq")[before:])
    assert len(entries) == 1
    one = entries[0]
    assert one.object_id == str(review.pk) and one.confidential and one.changes["channel"] == "api"
    assert one.actor_id == team["finance"].pk

    before = _review_reads().count()
    r = client.get("/api/v1/credit/reviews/?state=open")
    assert r.status_code == 200 and r.json()["count"] == 2
    entries = list(_review_reads().order_by("seq")[before:])
    assert len(entries) == 1
    assert entries[0].confidential and entries[0].changes == {
        "channel": "api",
        "rows": 2,
        "filters": {"state": "open"},
    }
    # a refused read leaves no read entry
    client.force_login(team["rep1"])
    before = _review_reads().count()
    assert client.get(f"/api/v1/credit/reviews/{review.pk}").status_code == 403
    assert _review_reads().count() == before
    assert CreditReview.objects.count() == 2
