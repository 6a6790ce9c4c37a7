"""Credit applications (R-CRD-02): the request, the investigation, authority-matrix routing at the band edges,
class policies with refusals and authorised override (R-CRD-04), the limit table and the notification letter."""

from __future__ import annotations

from decimal import Decimal
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.limits import interface, policies, services
from kehu.limits.models import AppStatus, Channel, CreditApplication, CreditLimit, LimitStatus
from kehu.workflow.models import Task, TaskState

from .conftest import active_customer

pytestmark = pytest.mark.django_db


def apply(rep, customer, amount="50000", term=0, **kw):
    return services.application_create(
        actor=rep,
        customer_id=customer.pk,
        requested_amount=amount,
        requested_term_days=term,
        reason="月度采购稳定",
        **kw,
    )


def investigate(app, officer):
    services.application_act(actor=app.customer.owner, application_id=app.pk, transition="submit")
    services.finding_save(actor=officer, application_id=app.pk, channel=Channel.BANK, findings="结算正常")
    services.conclusion_save(actor=officer, application_id=app.pk, conclusion="建议授信")


def route_key(app, officer):
    """The only routing transition the engine offers the investigator."""
    app.case.refresh_from_db()
    from kehu.workflow import engine

    keys = [t.key for t in engine.allowed_transitions(app.case, officer) if t.key.startswith("route_")]
    assert len(keys) == 1, keys
    return keys[0]


def approve(app, team, approved_amount=None):
    investigate(app, team["credit"])
    key = route_key(app, team["credit"])
    services.application_act(actor=team["credit"], application_id=app.pk, transition=key)
    role = key.removeprefix("route_")
    approver = {
        "credit_officer": team["credit2"],
        "credit_manager": team["cmgr"],
        "credit_committee": team["committee"],
    }[role]
    return services.application_act(
        actor=approver,
        application_id=app.pk,
        transition=f"approve_{role}",
        comment="同意",
        approved_amount=approved_amount,
    )


@pytest.mark.parametrize(
    ("amount", "route"),
    [
        ("100000.00", "route_credit_officer"),  # the upper edge is inclusive
        ("100000.01", "route_credit_manager"),
        ("1000000.00", "route_credit_manager"),
        ("1000000.01", "route_credit_committee"),
    ],
)
def test_authority_matrix_band_edges(team, rated, amount, route):
    c = active_customer(team["rep1"])
    rated[c.pk] = "A"
    app = apply(team["rep1"], c, amount, term=60, expected_sales=Decimal("5000000"))
    investigate(app, team["credit"])
    assert route_key(app, team["credit"]) == route
    assert policies.approver_role(policies.credit()[0], Decimal(amount)) == route.removeprefix("route_")
    # the wrong band is refused by the engine
    wrong = "route_credit_committee" if route != "route_credit_committee" else "route_credit_officer"
    with pytest.raises(ValidationFailed) as exc:
        services.application_act(actor=team["credit"], application_id=app.pk, transition=wrong)
    assert exc.value.rule == "guard"
    services.application_act(actor=team["credit"], application_id=app.pk, transition=route)
    app.refresh_from_db()
    assert app.status == AppStatus.APPROVAL and app.approver_role == route.removeprefix("route_")
    task = Task.objects.get(case=app.case, state=TaskState.OPEN)
    assert task.assignee_role == app.approver_role and task.due is not None


def test_full_flow_writes_limit_and_letter(team):
    c = active_customer(team["rep1"])
    app = apply(team["rep1"], c, "40000")
    assert app.status == AppStatus.DRAFT and app.credit_class == "C"  # unrated: the policy's class C
    app = approve(app, team, approved_amount=Decimal("30000"))  # lower than requested
    assert app.status == AppStatus.APPROVED and app.approved_amount == Decimal("30000.00")
    limit = CreditLimit.objects.get(customer=c)
    assert limit.status == LimitStatus.IN_FORCE and limit.amount == Decimal("30000.00")
    year = timezone.localdate().year
    assert limit.letter_number == f"SXTZ-{year}-00001"
    assert limit.policy_version_id is not None and limit.next_review_on > limit.valid_from
    view = interface.credit_limit(c)
    assert (
        view is not None and view.amount == Decimal("30000.00") and view.letter_number == limit.letter_number
    )
    assert AuditEntry.objects.filter(object_type="limits.creditlimit", object_id=str(limit.pk)).exists()


def test_approved_amount_above_request_is_refused_and_changes_nothing(team):
    c = active_customer(team["rep1"])
    app = apply(team["rep1"], c, "40000")
    investigate(app, team["credit"])
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_officer")
    with pytest.raises(ValidationFailed) as exc:
        services.application_act(
            actor=team["credit2"],
            application_id=app.pk,
            transition="approve_credit_officer",
            approved_amount="40001",
        )
    assert exc.value.field == "approved_amount" and exc.value.rule == "not_above_requested"
    app.refresh_from_db()
    assert app.status == AppStatus.APPROVAL and not CreditLimit.objects.exists()


def test_one_limit_in_force_history_kept_and_letters_numbered(team, rated):
    c = active_customer(team["rep1"])
    rated[c.pk] = "B"
    approve(apply(team["rep1"], c, "200000", term=30), team)
    first = CreditLimit.objects.get(customer=c)
    # B: the next step is at most +30 % (policy)
    with pytest.raises(ValidationFailed) as exc:
        apply(team["rep1"], c, "260000.01", term=30)
    assert exc.value.rule == "class_b_step"
    approve(apply(team["rep1"], c, "260000", term=30), team)
    rows = list(CreditLimit.objects.filter(customer=c).order_by("pk"))
    assert [r.status for r in rows] == [LimitStatus.SUPERSEDED, LimitStatus.IN_FORCE]
    assert rows[0].valid_to is not None
    year = timezone.localdate().year
    assert [r.letter_number for r in rows] == [f"SXTZ-{year}-00001", f"SXTZ-{year}-00002"]
    assert interface.credit_limit(c).amount == Decimal("260000.00")
    assert first.pk == rows[0].pk


def test_db_allows_only_one_limit_in_force(team):
    from django.db import IntegrityError, transaction

    c = active_customer(team["rep1"])
    kw = {"customer": c, "amount": 1, "term_days": 0, "credit_class": "C", "terms_level": "C"}
    kw["valid_from"] = timezone.localdate()
    CreditLimit.objects.create(**kw)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditLimit.objects.create(**kw)


@pytest.mark.parametrize(
    ("cls", "amount", "term", "expected", "field", "rule"),
    [
        ("D", "1000", 0, None, "requested_amount", "class_d"),
        ("C", "50000.01", 0, None, "requested_amount", "class_c_amount"),
        ("C", "1000", 1, None, "requested_term_days", "class_c_term"),  # C: cash on delivery
        ("B", "200000.01", 30, None, "requested_amount", "class_b_amount"),  # starting limit
        ("B", "1000", 61, None, "requested_term_days", "class_b_term"),
        ("A", "500000", 60, "499999.99", "requested_amount", "class_a_sales"),
        ("A", "500000", 60, None, "expected_sales", "required"),
        ("A", "500000", 91, "600000", "requested_term_days", "class_a_term"),
    ],
)
def test_class_policy_refusals(team, rated, cls, amount, term, expected, field, rule):
    c = active_customer(team["rep1"])
    rated[c.pk] = cls
    with pytest.raises(ValidationFailed) as exc:
        apply(team["rep1"], c, amount, term=term, expected_sales=Decimal(expected) if expected else None)
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert not CreditApplication.objects.exists()


@pytest.mark.parametrize(
    ("cls", "amount", "term", "expected"),
    [
        ("C", "50000", 0, None),
        ("B", "200000", 60, None),
        ("A", "500000", 90, "500000"),
    ],
)
def test_class_policy_allows_at_the_edge(team, rated, cls, amount, term, expected):
    c = active_customer(team["rep1"])
    rated[c.pk] = cls
    app = apply(team["rep1"], c, amount, term=term, expected_sales=Decimal(expected) if expected else None)
    assert app.credit_class == cls and not app.override


def test_authorised_override_with_reason_is_recorded(team, rated):
    c = active_customer(team["rep1"])
    rated[c.pk] = "D"
    # the rep may not override
    with pytest.raises(PermissionDenied):
        apply(team["rep1"], c, "1000", override=True, override_reason="战略客户")
    # the credit manager may, with a reason
    with pytest.raises(ValidationFailed) as exc:
        apply(team["cmgr"], c, "1000", override=True, override_reason=" ")
    assert exc.value.field == "override_reason"
    app = apply(team["cmgr"], c, "1000", override=True, override_reason="战略客户，总经理批示")
    assert app.override and app.override_by == team["cmgr"] and app.credit_class == "D"
    entry = AuditEntry.objects.filter(object_type="limits.creditapplication", object_id=str(app.pk)).first()
    assert entry is not None and entry.reason == "战略客户，总经理批示"


def test_customer_must_be_active_or_under_review_and_one_open_application(team):
    from kehu.customers.models import Customer

    c = active_customer(team["rep1"])
    Customer.objects.filter(pk=c.pk).update(status="prospect")
    with pytest.raises(ValidationFailed) as exc:
        apply(team["rep1"], c)
    assert exc.value.rule == "status"
    Customer.objects.filter(pk=c.pk).update(status="review")
    apply(team["rep1"], c)
    with pytest.raises(Conflict):
        apply(team["rep1"], c)


def test_bad_values_are_refused(team):
    c = active_customer(team["rep1"])
    for amount, term, rule in [
        ("0", 0, "positive"),
        ("-5", 0, "range"),
        ("abc", 0, "number"),
        ("100", 400, "range"),
    ]:
        with pytest.raises(ValidationFailed) as exc:
            apply(team["rep1"], c, amount, term=term)
        assert exc.value.rule == rule
    assert not CreditApplication.objects.exists()


def test_segregation_of_duties(team):
    c = active_customer(team["rep1"])
    app = apply(team["rep1"], c, "40000")
    investigate(app, team["credit"])
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_officer")
    # the investigator may not approve what they investigated
    with pytest.raises(ValidationFailed):
        services.application_act(
            actor=team["credit"], application_id=app.pk, transition="approve_credit_officer"
        )
    # a role outside the band may not act
    with pytest.raises((PermissionDenied, NotFound)):  # the engine: no task of theirs on this case
        services.application_act(
            actor=team["cmgr"], application_id=app.pk, transition="approve_credit_officer"
        )


def test_investigation_needed_before_routing(team):
    c = active_customer(team["rep1"])
    app = apply(team["rep1"], c, "40000")
    services.application_act(actor=team["rep1"], application_id=app.pk, transition="submit")
    with pytest.raises(ValidationFailed):
        services.application_act(
            actor=team["credit"], application_id=app.pk, transition="route_credit_officer"
        )
    with pytest.raises(ValidationFailed) as exc:
        services.finding_save(actor=team["credit"], application_id=app.pk, channel="gossip", findings="x")
    assert exc.value.field == "channel"
    with pytest.raises(PermissionDenied):
        services.finding_save(actor=team["rep1"], application_id=app.pk, channel="bank", findings="x")


def test_reject_needs_comment(team):
    c = active_customer(team["rep1"])
    app = apply(team["rep1"], c, "40000")
    investigate(app, team["credit"])
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_officer")
    with pytest.raises(ValidationFailed):
        services.application_act(
            actor=team["credit2"], application_id=app.pk, transition="reject_credit_officer"
        )
    app = services.application_act(
        actor=team["credit2"], application_id=app.pk, transition="reject_credit_officer", comment="资料不足"
    )
    assert app.status == AppStatus.REJECTED and not CreditLimit.objects.exists()


def test_onboarding_approval_opens_a_draft_application(team, monkeypatch):
    from kehu.onboarding import hooks

    monkeypatch.setattr(hooks, "on_customer_approved", [services.on_customer_approved])
    from kehu.onboarding.hooks import run_on_approved

    c = active_customer(team["rep1"])
    run_on_approved(c, None, team["gm"])
    app = CreditApplication.objects.get(customer=c)
    assert app.status == AppStatus.DRAFT and app.source == "onboarding" and app.requested_amount is None
    task = Task.objects.get(case=app.case, state=TaskState.OPEN)
    assert task.assignee == team["rep1"]  # the owner fills it in
    with pytest.raises(ValidationFailed):  # incomplete drafts cannot be submitted
        services.application_act(actor=team["rep1"], application_id=app.pk, transition="submit")
    services.application_update(
        actor=team["rep1"],
        application_id=app.pk,
        requested_amount="30000",
        requested_term_days=0,
        reason="首单",
    )
    app = services.application_act(actor=team["rep1"], application_id=app.pk, transition="submit")
    assert app.status == AppStatus.INVESTIGATION
    run_on_approved(c, None, team["gm"])  # an open application exists: no second one
    assert CreditApplication.objects.filter(customer=c).count() == 1


def test_rep_sees_own_limits_not_the_investigation(team, client):
    c = active_customer(team["rep1"])
    other = active_customer(team["rep2"], name="广州南方贸易有限公司")
    app = approve(apply(team["rep1"], c, "40000"), team)
    app2 = apply(team["rep2"], other, "20000")
    with pytest.raises(NotFound):
        services.application_get(actor=team["rep1"], application_id=app2.pk)
    client.force_login(team["rep1"])
    page = client.get(reverse("limits_application", args=[app.pk]))
    assert (
        page.status_code == 200
        and "结算正常" not in page.content.decode()
        and "建议授信" not in page.content.decode()
    )
    assert client.get(reverse("limits_application", args=[app2.pk])).status_code == 404
    data = client.get(f"/api/v1/credit/applications/{app.pk}").json()
    assert data["investigation"] is None and data["approved_amount"] == "40000.00"
    assert client.get(f"/api/v1/credit/applications/{app2.pk}").status_code == 404
    rows = client.get("/api/v1/credit/limits/").json()["items"]
    assert [r["customer_id"] for r in rows] == [c.pk]
    assert client.get(f"/api/v1/credit/limits/customer/{other.pk}").status_code == 404
    export = client.get(reverse("limits_applications") + "?export=xlsx")
    assert export.status_code == 200
    import python_calamine

    sheet = python_calamine.CalamineWorkbook.from_filelike(BytesIO(export.content)).get_sheet_by_index(0)
    rows_x = sheet.to_python()
    assert len(rows_x) == 2 and rows_x[1][0] == app.number  # header + own application only
    assert "建议授信" not in str(rows_x) and "结算正常" not in str(rows_x)
    assert client.get("/api/v1/credit/reviews/").json()["items"] == []  # reviews: credit roles only ... empty
    client.force_login(team["credit"])
    page = client.get(reverse("limits_application", args=[app.pk]))
    assert "结算正常" in page.content.decode()
    assert (
        client.get(f"/api/v1/credit/applications/{app.pk}").json()["investigation"]["conclusion"]
        == "建议授信"
    )


def test_letter_page_and_pages_render(team, client):
    c = active_customer(team["rep1"])
    approve(apply(team["rep1"], c, "40000"), team, approved_amount=Decimal("35000"))
    limit = CreditLimit.objects.get(customer=c)
    client.force_login(team["rep1"])
    letter = client.get(reverse("limits_letter", args=[limit.pk]))
    html = letter.content.decode()
    assert letter.status_code == 200 and "35,000.00" in html  # amounts grouped by thousands
    assert limit.letter_number in html and "@media print" in html
    for name in ("credit_overview", "limits_applications", "limits_list", "limits_apply"):
        assert client.get(reverse(name)).status_code == 200, name
    assert client.get(reverse("limits_reviews")).status_code == 403
    detail = client.get(c.get_absolute_url() + "?tab=3")
    assert detail.status_code == 200 and "credit-limits-section" in detail.content.decode()
    client.force_login(team["rep2"])
    assert client.get(reverse("limits_letter", args=[limit.pk])).status_code == 404


def test_api_flow(team, client, rated):
    c = active_customer(team["rep1"])
    rated[c.pk] = "A"
    client.force_login(team["rep1"])
    r = client.post(
        "/api/v1/credit/applications/",
        {"customer_id": c.pk, "requested_amount": "900000", "requested_term_days": 60, "reason": "扩大合作"},
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["detail"]["field"] == "expected_sales"
    r = client.post(
        "/api/v1/credit/applications/",
        {
            "customer_id": c.pk,
            "requested_amount": "900000",
            "requested_term_days": 60,
            "expected_sales": "1200000",
            "reason": "扩大合作",
        },
        content_type="application/json",
    )
    assert r.status_code == 201, r.content
    app_id = r.json()["id"]
    assert [a["key"] for a in client.get(f"/api/v1/credit/applications/{app_id}/actions").json()] == [
        "submit",
        "withdraw",
    ]
    assert (
        client.post(
            f"/api/v1/credit/applications/{app_id}/actions/submit", {}, content_type="application/json"
        ).status_code
        == 200
    )
    client.force_login(team["credit"])
    assert (
        client.post(
            f"/api/v1/credit/applications/{app_id}/findings",
            {"channel": "site_visit", "findings": "厂房运转正常"},
            content_type="application/json",
        ).status_code
        == 200
    )
    assert (
        client.put(
            f"/api/v1/credit/applications/{app_id}/conclusion",
            {"conclusion": "同意"},
            content_type="application/json",
        ).status_code
        == 200
    )
    keys = [a["key"] for a in client.get(f"/api/v1/credit/applications/{app_id}/actions").json()]
    assert "route_credit_manager" in keys and "route_credit_officer" not in keys
    client.post(
        f"/api/v1/credit/applications/{app_id}/actions/route_credit_manager",
        {},
        content_type="application/json",
    )
    client.force_login(team["cmgr"])
    r = client.post(
        f"/api/v1/credit/applications/{app_id}/actions/approve_credit_manager",
        {"comment": "同意", "approved_amount": "800000"},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["letter_number"]
    r = client.get(f"/api/v1/credit/limits/customer/{c.pk}").json()
    assert r["limit"]["amount"] == "800000.00" and r["payment_terms_level"] == "A"
    assert Decimal(r["available"]) == Decimal("800000") - Decimal(r["exposure"])
    assert client.get("/api/v1/credit/applications/?status=approved").json()["count"] == 1
    assert client.get("/api/v1/credit/applications/?band=0").json()["count"] == 0
    assert client.get("/api/v1/credit/applications/?band=1").json()["count"] == 1


def test_list_query_counts_bounded(team, client):
    """The list pages and the overview take the same number of queries for 2 and for 6 customers."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def counts() -> dict[str, int]:
        out = {}
        for name in ("limits_applications", "limits_list", "credit_overview"):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(reverse(name)).status_code == 200
            out[name] = len(ctx.captured_queries)
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/credit/applications/").status_code == 200
        out["api"] = len(ctx.captured_queries)
        return out

    def add(i: int) -> None:
        c = active_customer(team["rep1"], name=f"测试客户{i}有限公司")
        approve(apply(team["rep1"], c, "40000"), team)
        apply(team["rep1"], c, "45000")

    client.force_login(team["cmgr"])
    for i in range(2):
        add(i)
    small = counts()
    for i in range(2, 6):
        add(i)
    assert counts() == small
    assert max(small.values()) <= 30, small


def test_overview_shows_utilisation_and_over_limit_customers(team, client):
    from kehu.core import access
    from kehu.limits import adapters, selectors

    c = active_customer(team["rep1"])
    approve(apply(team["rep1"], c, "40000"), team)
    if adapters.receivables_installed():
        from kehu.receivables.interface import exposure_add

        exposure_add(c, kind="order", amount=Decimal("50000"), ref="SO-9")
        data = selectors.overview(actor=team["cmgr"])
        assert [r.customer for r in data["over"]] == [c]
        assert data["utilisation"] == Decimal("125.0") and data["total_exposure"] == Decimal("50000")
    ageing = adapters.ageing_summary(team["cmgr"])
    assert (ageing is not None) == (
        adapters.receivables_installed() and access.can(team["cmgr"], "receivables.ageing")
    )
    client.force_login(team["cmgr"])
    html = client.get(reverse("credit_overview")).content.decode()
    assert "echarts.min.js" in html and "chart-class" in html and c.name in html
    client.force_login(team["rep2"])  # another region's rep: nothing of rep1's
    assert c.name not in client.get(reverse("credit_overview")).content.decode()


def test_approver_override_outside_class_is_recorded(team, rated):
    """The class changed between application and approval: the approver needs an authorised override."""
    c = active_customer(team["rep1"])
    rated[c.pk] = "A"
    app = apply(team["rep1"], c, "300000", term=60, expected_sales=Decimal("400000"))
    investigate(app, team["credit"])
    services.application_act(actor=team["credit"], application_id=app.pk, transition="route_credit_manager")
    rated[c.pk] = "C"  # a new rating came in force: C allows at most 50 000, cash on delivery
    with pytest.raises(ValidationFailed) as exc:
        services.application_act(
            actor=team["cmgr"], application_id=app.pk, transition="approve_credit_manager"
        )
    assert exc.value.rule.startswith("class_c")
    with pytest.raises(ValidationFailed):
        services.application_act(
            actor=team["cmgr"], application_id=app.pk, transition="approve_credit_manager", override=True
        )
    app = services.application_act(
        actor=team["cmgr"],
        application_id=app.pk,
        transition="approve_credit_manager",
        override=True,
        override_reason="长期合作，董事会同意",
    )
    assert app.status == AppStatus.APPROVED and app.override and app.override_by == team["cmgr"]
    limit = CreditLimit.objects.get(customer=c)
    entry = AuditEntry.objects.filter(object_type="limits.creditlimit", object_id=str(limit.pk)).get()
    assert entry.changes["override"] == [None, True] and entry.reason == "长期合作，董事会同意"


def test_english_translation(team):
    from django.utils import translation

    c = active_customer(team["rep1"])
    with translation.override("en"):
        assert services.allowance(c).text.startswith("Not rated: treated as class C.")
        with pytest.raises(ValidationFailed) as exc:
            apply(team["rep1"], c, "60000")
        assert "exceeds the 50,000.00 CNY class C allows" in str(exc.value.message)


def test_limits_filter_by_utilisation(team, client):
    from kehu.limits import adapters

    if not adapters.receivables_installed():
        pytest.skip("the receivables app is not installed")
    from kehu.receivables.interface import exposure_add

    busy = active_customer(team["rep1"], name="满额客户有限公司")
    calm = active_customer(team["rep1"], name="低占用客户有限公司")
    approve(apply(team["rep1"], busy, "40000"), team)
    approve(apply(team["rep1"], calm, "40000"), team)
    exposure_add(busy, kind="order", amount=Decimal("32000"), ref="SO-1")  # 80 %
    exposure_add(calm, kind="order", amount=Decimal("31999.99"), ref="SO-2")
    client.force_login(team["cmgr"])
    rows = client.get("/api/v1/credit/limits/?min_utilisation=80").json()["items"]
    assert [r["customer_id"] for r in rows] == [busy.pk]
    html = client.get(reverse("limits_list") + "?min_utilisation=80").content.decode()
    assert busy.name in html and calm.name not in html
    assert len(client.get("/api/v1/credit/limits/?min_utilisation=0").json()["items"]) == 2


def test_investigation_attachments_are_confidential(team):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kehu.core import attachments

    c = active_customer(team["rep1"])
    app = apply(team["rep1"], c, "40000")
    investigate(app, team["credit"])
    pdf = SimpleUploadedFile(
        "现场考察.pdf", b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "application/pdf"
    )
    with pytest.raises(PermissionDenied):
        attachments.attachment_add(actor=team["rep1"], target=app, upload=pdf, doc_type="report")
    att = attachments.attachment_add(
        actor=team["credit"], target=app, upload=pdf, doc_type="report", title="现场考察"
    )
    assert list(attachments.attachment_list(actor=team["credit2"], target=app)) == [att]
    with pytest.raises(PermissionDenied):
        list(attachments.attachment_list(actor=team["rep1"], target=app))


def test_application_list_filters(team, client):
    a = active_customer(team["rep1"], name="甲方机械有限公司")
    b = active_customer(team["rep3"], name="乙方电子有限公司")
    first = apply(team["rep1"], a, "40000")
    services.application_act(actor=team["rep1"], application_id=first.pk, transition="submit")
    apply(team["rep3"], b, "20000")
    client.force_login(team["cmgr"])
    url = reverse("limits_applications")

    def names(query: str) -> set[str]:
        html = client.get(url + query).content.decode()
        return {n for n in ("甲方机械有限公司", "乙方电子有限公司") if n in html}

    assert names("") == {"甲方机械有限公司", "乙方电子有限公司"}
    assert names("?stage=investigation") == {"甲方机械有限公司"}
    assert names("?status=draft") == {"乙方电子有限公司"}
    assert names(f"?owner={team['rep3'].pk}") == {"乙方电子有限公司"}
    assert names("?band=0") == {"甲方机械有限公司", "乙方电子有限公司"}
    assert names("?band=1") == set()
    assert names("?q=甲方") == {"甲方机械有限公司"}
