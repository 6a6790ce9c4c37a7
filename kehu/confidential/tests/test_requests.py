"""The access request (查阅申请单, R-ARC-01) on the workflow engine: routing to the credit or archive office head,
the general manager's step for originals and secret items, approval with a period, rejection with a reason,
segregation of duties, bad input, the pages, the API and the lending of originals."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.utils import timezone

from kehu.confidential import services
from kehu.confidential.models import AccessRequest, Grant, Lending, RequestStatus
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditEntry
from kehu.workflow.models import Task, TaskState

from .conftest import grant_for, set_policy

pytestmark = pytest.mark.django_db


def file_request(people, customer, items, who="rep1", **kw):
    kw.setdefault("purpose", "核对客户付款能力")
    return services.request_create(actor=people[who], customer_id=customer.pk, items=items, **kw)


def open_task_roles(req) -> set[str]:
    return set(
        Task.objects.filter(case=req.case, state=TaskState.OPEN).values_list("assignee_role", flat=True)
    )


def test_credit_items_go_to_the_credit_office_head(people, customer, credit):
    req = file_request(people, customer, ["credit.statements", "credit.ratings"], period_days=5)
    assert req.status == RequestStatus.PENDING and req.office == "credit" and req.number.startswith("CYSQ")
    assert req.case.state == "credit_review" and open_task_roles(req) == {"credit_manager"}
    assert req.case.state_due is not None  # working-day deadline from the policy
    with pytest.raises((PermissionDenied, NotFound)):  # not the archive head's task
        services.request_act(actor=people["archivist"], request_id=req.pk, transition="approve")
    with pytest.raises(NotFound):  # an unrelated user does not see the request
        services.request_get(actor=people["rep2"], request_id=req.pk)
    req = services.request_act(actor=people["cmgr"], request_id=req.pk, transition="approve", days=2)
    assert (
        req.status == RequestStatus.APPROVED and req.approved_days == 2 and req.decided_by == people["cmgr"]
    )
    grant = req.grant
    assert grant.user == people["rep1"] and grant.items == ["credit.statements", "credit.ratings"]
    assert grant.granted_by == people["cmgr"]
    assert AuditEntry.objects.filter(object_type="confidential.grant", object_id=str(grant.pk)).exists()


def test_dossier_files_go_to_the_archive_office_head(people, customer, secret_file):
    req = file_request(people, customer, [f"attachment:{secret_file.pk}"])
    assert req.office == "archive" and req.case.state == "archive_review"
    assert open_task_roles(req) == {"archivist"}
    with pytest.raises((PermissionDenied, NotFound)):
        services.request_act(actor=people["cmgr"], request_id=req.pk, transition="approve")
    req = services.request_act(actor=people["archivist"], request_id=req.pk, transition="approve")
    assert req.status == RequestStatus.APPROVED and req.approved_days == req.period_days


def test_an_original_needs_the_general_manager(people, customer, credit):
    req = file_request(people, customer, ["credit.file"], form="original", period_days=4)
    with pytest.raises(ValidationFailed) as exc:  # the head cannot approve an original alone
        services.request_act(actor=people["cmgr"], request_id=req.pk, transition="approve")
    assert exc.value.rule == "guard"
    req = services.request_act(actor=people["cmgr"], request_id=req.pk, transition="forward_gm", days=3)
    assert (
        req.status == RequestStatus.GM
        and req.approved_days == 3
        and open_task_roles(req) == {"general_manager"}
    )
    assert not Grant.objects.filter(request=req).exists()
    req = services.request_act(actor=people["gm"], request_id=req.pk, transition="approve_gm")
    assert req.status == RequestStatus.APPROVED and req.grant.granted_by == people["gm"]
    days = (timezone.localtime(req.grant.valid_until).date() - timezone.localdate()).days
    assert days == 4  # three whole days after the approval day, to midnight after the last
    # a copy cannot be forwarded
    copy = file_request(people, customer, ["credit.statements"])
    with pytest.raises(ValidationFailed):
        services.request_act(actor=people["cmgr"], request_id=copy.pk, transition="forward_gm")


def test_approve_awaiting_the_general_manager_is_the_general_managers_approval(people, customer, credit):
    req = file_request(people, customer, ["credit.file"], form="original", period_days=4)
    services.request_act(actor=people["cmgr"], request_id=req.pk, transition="forward_gm", days=3)
    with pytest.raises((Conflict, PermissionDenied, ValidationFailed)):  # not the head's step any more
        services.request_act(actor=people["cmgr"], request_id=req.pk, transition="approve")
    assert not Grant.objects.filter(request=req).exists()
    req = services.request_act(actor=people["gm"], request_id=req.pk, transition="approve")
    assert req.status == RequestStatus.APPROVED and req.case.state == "approved"
    assert req.decided_by == people["gm"] and req.grant.granted_by == people["gm"]


def test_reject_needs_a_reason(people, customer, credit):
    req = file_request(people, customer, ["credit.ratings"])
    with pytest.raises(ValidationFailed) as exc:
        services.request_act(actor=people["cmgr"], request_id=req.pk, transition="reject", comment=" ")
    assert exc.value.field == "comment"
    req = services.request_act(
        actor=people["cmgr"], request_id=req.pk, transition="reject", comment="用途不明确"
    )
    assert req.status == RequestStatus.REJECTED and req.decision_comment == "用途不明确"
    assert not Grant.objects.filter(request=req).exists()
    with pytest.raises((Conflict, PermissionDenied)):
        services.request_act(actor=people["cmgr"], request_id=req.pk, transition="approve")


def test_nobody_approves_their_own_request(people, customer):
    """An archivist asking for a dossier section raised to "secret" (above the archivist's levels) holds the role
    that approves it, but may not approve their own request (segregation of duties): another archivist does."""
    from kehu.core.tests.factories import user_with

    set_policy(sections={"customers.attachments": "secret"})
    other = user_with("archivist", username="arc2")
    req = services.request_create(
        actor=people["archivist"],
        customer_id=customer.pk,
        items=["section:customers.attachments"],
        purpose="核对",
    )
    assert req.office == "archive" and req.level == "secret"
    with pytest.raises(ValidationFailed) as exc:
        services.request_act(actor=people["archivist"], request_id=req.pk, transition="forward_gm")
    assert exc.value.rule == "guard"
    req = services.request_act(actor=other, request_id=req.pk, transition="forward_gm")  # secret: the GM too
    with pytest.raises((ValidationFailed, Conflict, PermissionDenied, NotFound)):
        services.request_act(actor=other, request_id=req.pk, transition="approve")
    assert services.request_act(actor=people["gm"], request_id=req.pk, transition="approve_gm").grant


@pytest.mark.parametrize(
    ("kwargs", "field", "rule"),
    [
        ({"items": []}, "items", "required"),
        ({"items": ["nonsense"]}, "items", "unknown"),
        ({"items": ["attachment:999999"]}, "items", "not_requestable"),
        ({"purpose": "  "}, "purpose", "required"),
        ({"purpose": "x" * 2001}, "purpose", "max_length"),
        ({"period_days": 0}, "period_days", "range"),
        ({"period_days": 31}, "period_days", "range"),
        ({"period_days": "三天"}, "period_days", "integer"),
        ({"form": "photocopy"}, "form", "choice"),
    ],
)
def test_bad_input_names_the_field(people, customer, credit, kwargs, field, rule):
    data = {"items": ["credit.statements"], "purpose": "核对", **kwargs}
    with pytest.raises(ValidationFailed) as exc:
        services.request_create(actor=people["rep1"], customer_id=customer.pk, **data)
    assert (exc.value.field, exc.value.rule) == (field, rule)
    assert not AccessRequest.objects.exists()


def test_what_may_be_asked_for(people, customer, other_customer, credit, secret_file):
    # items the role already shows are not requested
    with pytest.raises(ValidationFailed) as exc:
        file_request(people, customer, ["credit.statements"], who="finance")
    assert exc.value.rule == "not_requestable"
    # credit items and dossier files go to different offices
    with pytest.raises(ValidationFailed) as exc:
        file_request(people, customer, ["credit.file", f"attachment:{secret_file.pk}"])
    assert exc.value.rule == "one_office"
    # a customer out of sight cannot be asked about
    with pytest.raises(NotFound):
        file_request(people, other_customer, ["credit.statements"])
    # the auditor reads what the audit needs through the roles, not requests
    with pytest.raises(PermissionDenied):
        file_request(people, customer, ["credit.statements"], who="auditor")
    # the same items twice while the first is open
    file_request(people, customer, ["credit.statements"])
    with pytest.raises(Conflict) as exc:
        file_request(people, customer, ["credit.statements", "credit.ratings"])
    assert exc.value.rule == "duplicate"
    choices = {c.key for c in services.requestable_items(people["rep1"], customer)}
    assert choices == {"credit.file", "credit.statements", "credit.ratings", f"attachment:{secret_file.pk}"}
    assert {c.key for c in services.requestable_items(people["finance"], customer)} == set()


def test_request_pages(client, people, customer, credit, django_assert_max_num_queries):
    client.force_login(people["rep1"])
    url = f"/confidential/requests/new/?customer={customer.pk}&items=credit.statements"
    page = client.get(url).content.decode()
    assert 'value="credit.statements" id="item-2" checked' in page or (
        'value="credit.statements"' in page and "checked" in page
    )
    bad = client.post(
        url, {"customer": customer.pk, "items": ["credit.statements"], "purpose": "", "form": "copy"}
    )
    assert bad.status_code == 400 and "请填写查阅目的" in bad.content.decode()
    assert "credit.statements" in bad.content.decode()  # what was chosen is kept
    ok = client.post(
        url,
        {
            "customer": customer.pk,
            "items": ["credit.statements"],
            "purpose": "核对",
            "period_days": 3,
            "form": "copy",
        },
    )
    req = AccessRequest.objects.get()
    assert ok.status_code == 302 and ok["Location"] == f"/confidential/requests/{req.pk}/"
    mine = client.get("/confidential/requests/").content.decode()
    assert req.number in mine and customer.name in mine
    assert client.get("/confidential/requests/to-approve/").content.decode().count(req.number) == 0
    assert client.get(f"/confidential/requests/{req.pk}/print/").status_code == 200
    # the credit manager approves from the request page
    client.force_login(people["cmgr"])
    todo = client.get("/confidential/requests/to-approve/").content.decode()
    assert req.number in todo
    detail = client.get(f"/confidential/requests/{req.pk}/").content.decode()
    assert (
        'id="act-approve"' in detail and 'id="act-reject"' in detail and 'id="act-forward_gm"' not in detail
    )
    bad = client.post(f"/confidential/requests/{req.pk}/act/approve/", {"approve-days": 99})
    assert bad.status_code == 400 and "1 至 30" in bad.content.decode()
    r = client.post(
        f"/confidential/requests/{req.pk}/act/approve/",
        {"approve-days": 2, "approve-comment": "同意", "expected_state": "credit_review"},
    )
    assert r.status_code == 302
    req.refresh_from_db()
    assert req.status == "approved" and req.approved_days == 2
    stale = client.post(
        f"/confidential/requests/{req.pk}/act/reject/", {"reject-comment": "晚了"}, follow=True
    )
    # the decided request cannot be rejected any more: it stays approved, its grant in force, and the page says so
    assert stale.redirect_chain == [(f"/confidential/requests/{req.pk}/", 302)]
    assert "流程状态已变化，请刷新后重试。" in stale.content.decode()
    req.refresh_from_db()
    assert req.status == "approved" and req.case.state == "approved"
    assert req.grant.is_active() and req.grant.revoked_at is None
    # grants in force: the requester's own, and all for the office
    grants = client.get("/confidential/grants/").content.decode()
    assert req.number in grants
    client.force_login(people["rep1"])
    detail = client.get(f"/confidential/requests/{req.pk}/").content.decode()
    assert 'data-open-item="credit.statements"' in detail and 'id="revoke-form"' not in detail
    with django_assert_max_num_queries(20):
        assert client.get("/confidential/requests/?size=50").status_code == 200
    client.force_login(people["rep2"])
    assert client.get(f"/confidential/requests/{req.pk}/").status_code == 404
    assert req.number not in client.get("/confidential/grants/?state=all").content.decode()


def test_grant_list_page_refuses_an_unknown_state(client, people, customer, other_customer, credit):
    active = grant_for(people, customer, ["credit.statements"])
    revoked = grant_for(people, other_customer, ["credit.statements"], who="rep2")
    services.grant_revoke(actor=people["cmgr"], grant_id=revoked.pk, reason="不再需要")
    client.force_login(people["cmgr"])
    everything = client.get("/confidential/grants/?state=all").content.decode()
    assert active.request.number in everything and revoked.request.number in everything
    r = client.get("/confidential/grants/?state=nonsense")
    page = r.content.decode()
    assert r.status_code == 200 and 'class="invalid-feedback d-block"' in page and "nonsense" in page
    # the grants in force, not silently all of them
    assert active.request.number in page and revoked.request.number not in page


def test_list_pages_bounded_queries(client, people, customer, credit, django_assert_max_num_queries):
    from kehu.core.attachments import attachment_add

    from .conftest import make_customer, pdf

    def pages(who):
        client.force_login(people[who])
        counts = {}
        for url in (
            "/confidential/requests/?size=50",
            "/confidential/requests/to-approve/?size=50",
            "/confidential/requests/all/?size=50",
            "/confidential/grants/?size=50",
            "/confidential/lendings/",
        ):
            with django_assert_max_num_queries(20) as ctx:
                assert client.get(url).status_code in (200, 403), url
            counts[url] = len(ctx.captured_queries)
        return counts

    def add_rows(n):
        for i in range(n):
            c = make_customer(people["rep1"], f"测试{add_rows.k}号机械有限公司")
            add_rows.k += 1
            grant_for(people, c, ["credit.statements"])
            file_request(people, c, ["credit.ratings"], form="original")
            f = attachment_add(
                actor=people["rep1"],
                target=c,
                upload=pdf(),
                doc_type="report",
                title=f"说明{i}",
                confidential=True,
            )
            file_request(people, c, [f"attachment:{f.pk}"])

    add_rows.k = 0
    add_rows(2)
    small = {who: pages(who) for who in ("rep1", "cmgr", "archivist")}
    add_rows(6)
    for who, counts in small.items():
        assert pages(who) == counts, who  # the same number of queries for 2 rows or 8


def test_revoke_from_the_page(client, people, customer, credit):
    grant = grant_for(people, customer, ["credit.statements"])
    client.force_login(people["cmgr"])
    bad = client.post(f"/confidential/grants/{grant.pk}/revoke/", {"reason": ""})
    assert bad.status_code == 400 and "请填写撤销原因" in bad.content.decode()
    r = client.post(f"/confidential/grants/{grant.pk}/revoke/", {"reason": "不再需要"})
    assert r.status_code == 302
    grant.refresh_from_db()
    assert grant.revoked_at is not None and grant.revoked_by == people["cmgr"]
    revoked_at = grant.revoked_at
    again = client.post(f"/confidential/grants/{grant.pk}/revoke/", {"reason": "再次"}, follow=True)
    assert again.redirect_chain == [(f"/confidential/requests/{grant.request_id}/", 302)]
    assert "该授权已被撤销。" in again.content.decode()
    grant.refresh_from_db()
    assert grant.revoked_by == people["cmgr"] and grant.revoke_reason == "不再需要"
    assert grant.revoked_at == revoked_at
    client.force_login(people["rep1"])
    assert client.post(f"/confidential/grants/{grant.pk}/revoke/", {"reason": "x"}).status_code == 403


def api(client, method, path, body=None):
    kw = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return getattr(client, method)(f"/api/v1/access-requests{path}", **kw)


def test_api_flow(client, people, customer, credit):
    client.force_login(people["rep1"])
    bad = api(client, "post", "", {"customer_id": customer.pk, "items": [], "purpose": "核对"})
    assert bad.status_code == 400 and bad.json()["detail"] == {"field": "items", "rule": "required"}
    r = api(
        client,
        "post",
        "",
        {
            "customer_id": customer.pk,
            "items": ["credit.file"],
            "purpose": "核对",
            "period_days": 3,
            "form": "original",
        },
    )
    assert r.status_code == 201, r.content
    body = r.json()
    rid = body["id"]
    assert body["status"] == "pending" and body["state"] == "credit_review" and body["grant"] is None
    assert body["item_labels"]["credit.file"].startswith("信用档案")
    assert api(client, "get", "?box=mine").json()["count"] == 1
    assert api(client, "get", "?box=todo").json()["count"] == 0
    assert api(client, "get", "?box=nonsense").status_code == 400
    assert api(client, "post", f"/{rid}/approve", {}).status_code == 403  # not the requester's task
    client.force_login(people["cmgr"])
    assert api(client, "get", "?box=todo").json()["count"] == 1
    r = api(client, "post", f"/{rid}/approve", {"days": 3})
    assert (
        r.status_code == 400 and r.json()["detail"]["rule"] == "guard"
    )  # an original: to the general manager
    r = api(client, "post", f"/{rid}/forward", {"days": 2, "comment": "同意借阅原件"})
    assert r.status_code == 200 and r.json()["status"] == "gm"
    client.force_login(people["gm"])
    r = api(client, "post", f"/{rid}/approve", {})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    grant = r.json()["grant"]
    assert grant["state"] == "active" and grant["items"] == ["credit.file"]
    assert api(client, "post", f"/{rid}/reject", {"comment": "x"}).status_code == 409
    listed = api(client, "get", "/grants").json()
    assert listed["count"] == 1
    r = api(client, "post", f"/grants/{grant['id']}/revoke", {"reason": ""})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "reason"
    r = api(client, "post", f"/grants/{grant['id']}/revoke", {"reason": "提前收回"})
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    assert api(client, "get", "/grants").json()["count"] == 0
    assert api(client, "get", "/grants?state=revoked").json()["count"] == 1
    assert api(client, "get", "/grants?state=all").json()["count"] == 1
    bad = api(client, "get", "/grants?state=nonsense")  # not silently every grant
    assert bad.status_code == 400 and bad.json()["detail"] == {"field": "state", "rule": "choice"}
    client.force_login(people["rep2"])
    assert api(client, "get", f"/{rid}").status_code == 404
    assert api(client, "post", f"/grants/{grant['id']}/revoke", {"reason": "x"}).status_code == 404


def test_lending_of_originals(client, people, customer, credit):
    req = file_request(people, customer, ["credit.file"], form="original", period_days=5)
    with pytest.raises(Conflict):  # not approved yet
        services.lending_record(actor=people["archivist"], request_id=req.pk)
    services.request_act(actor=people["cmgr"], request_id=req.pk, transition="forward_gm")
    services.request_act(actor=people["gm"], request_id=req.pk, transition="approve_gm")
    with pytest.raises(PermissionDenied):
        services.lending_record(actor=people["cmgr"], request_id=req.pk)
    last_day = timezone.localdate() + dt.timedelta(days=5)
    with pytest.raises(ValidationFailed) as exc:
        services.lending_record(
            actor=people["archivist"], request_id=req.pk, due_back=last_day + dt.timedelta(1)
        )
    assert exc.value.field == "due_back"
    lending = services.lending_record(actor=people["archivist"], request_id=req.pk, note="原件一册")
    assert lending.due_back == last_day
    with pytest.raises(Conflict):
        services.lending_record(actor=people["archivist"], request_id=req.pk)
    client.force_login(people["archivist"])
    page = client.get("/confidential/lendings/").content.decode()
    assert f'data-request="{req.pk}"' in page and "借出中" in page
    Lending.objects.filter(pk=lending.pk).update(due_back=timezone.localdate() - dt.timedelta(days=1))
    assert "逾期未还" in client.get("/confidential/lendings/").content.decode()
    assert client.post(f"/confidential/lendings/{lending.pk}/return/", {"note": "完好"}).status_code == 302
    lending.refresh_from_db()
    assert lending.returned_at is not None and lending.received_by == people["archivist"]
    with pytest.raises(Conflict):
        services.lending_return(actor=people["archivist"], lending_id=lending.pk)
    # a copy request has nothing to lend
    copy = grant_for(people, customer, ["credit.statements"]).request
    with pytest.raises(Conflict) as exc:
        services.lending_record(actor=people["archivist"], request_id=copy.pk)
    assert exc.value.rule == "not_original"
    client.force_login(people["rep1"])
    assert client.get("/confidential/lendings/").status_code == 403


def test_engine_case_pages_hide_requests_from_others(client, people, customer, credit):
    req = file_request(people, customer, ["credit.statements"])
    client.force_login(people["rep2"])
    assert client.get(f"/workflow/cases/{req.case_id}/").status_code == 404
    client.force_login(people["rep1"])
    assert client.get(f"/workflow/cases/{req.case_id}/").status_code == 200


def test_request_page_queries_and_english(client, people, customer, credit, django_assert_max_num_queries):
    req = file_request(people, customer, ["credit.file"], form="original")
    client.force_login(people["cmgr"])
    with django_assert_max_num_queries(30):
        assert client.get(f"/confidential/requests/{req.pk}/").status_code == 200
    services.request_act(actor=people["cmgr"], request_id=req.pk, transition="forward_gm")
    services.request_act(actor=people["gm"], request_id=req.pk, transition="approve_gm")
    people["archivist"].language = "en"
    people["archivist"].save(update_fields=["language"])
    client.force_login(people["archivist"])
    html = client.get(f"/confidential/requests/{req.pk}/").content.decode()
    assert "Access request" in html and "Record lending" in html and "Original" in html
    assert "Credit file (documents, financial statements and ratings)" in html
    menu = client.get("/confidential/read-log/").content.decode()
    assert "Read log" in menu and "Lending of originals" in menu
    people["mgr"].language = "en"
    people["mgr"].save(update_fields=["language"])
    client.force_login(people["mgr"])  # the sales manager sees the customer, not its statements
    page = client.get(f"/credit/statements/{credit['statement'].pk}/").content.decode()
    assert 'id="request-access"' in page and "Request access" in page


def test_the_general_manager_step_follows_the_level_when_the_head_decides(people, customer):
    """R-ARC-01: whether the general manager must approve is decided by the items' level when the office head acts,
    under the policy in force then, not by the level when the request was filed."""
    from kehu.core.models.audit import AuditEntry

    set_policy(sections={"customers.attachments": "confidential"})
    raised = file_request(people, customer, ["section:customers.attachments"])
    assert raised.level == "confidential"
    set_policy(sections={"customers.attachments": "secret"})
    with pytest.raises(ValidationFailed) as exc:
        services.request_act(actor=people["archivist"], request_id=raised.pk, transition="approve")
    assert exc.value.rule == "guard"
    raised = services.request_act(actor=people["archivist"], request_id=raised.pk, transition="forward_gm")
    assert raised.status == RequestStatus.GM and raised.level == "secret"
    entry = AuditEntry.objects.filter(object_type="confidential.accessrequest", object_id=str(raised.pk))
    assert entry.latest("seq").changes["level"] == ["confidential", "secret"]
    # the other way round: filed at "secret", lowered before the decision: the head approves alone
    set_policy(sections={"customers.contracts": "secret"})
    lowered = file_request(people, customer, ["section:customers.contracts"])
    assert lowered.level == "secret"
    set_policy(sections={"customers.contracts": "confidential"})
    lowered = services.request_act(actor=people["archivist"], request_id=lowered.pk, transition="approve")
    assert lowered.status == RequestStatus.APPROVED and lowered.level == "confidential"
