"""Merging two dossiers (R-CUS-11): an audited request approved on the workflow engine by the general manager,
never by the requester; on approval contacts, contact logs, staff, documents and open tasks move to the survivor,
the merged dossier ends (reason "merged") and keeps its own history; rejection changes nothing; refusals; pages
and API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from kehu.core.attachments import attachment_add
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.models.attachments import Attachment
from kehu.core.tests.factories import PASSWORD, user_with
from kehu.customers import merge, services
from kehu.customers.models import (
    ChangeSource,
    Contact,
    ContactLog,
    Customer,
    CustomerChange,
    CustomerMerge,
    CustomerStatus,
    EndedReason,
    MergeState,
)
from kehu.customers.tests.conftest import make
from kehu.workflow import engine
from kehu.workflow.engine import task_create
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


def login(client: Any, user: Any) -> Any:
    assert client.login(username=user.username, password=PASSWORD)
    return client


PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def attach(c: Customer, user: Any, doc_type: str) -> Attachment:
    return attachment_add(
        actor=user,
        target=c,
        upload=SimpleUploadedFile(f"{doc_type}.pdf", PDF + doc_type.encode(), content_type="application/pdf"),
        doc_type=doc_type,
        valid_to=timezone.localdate() + dt.timedelta(days=400),
    )


@pytest.fixture
def pair(org: dict[str, Any]) -> dict[str, Any]:
    """rep1 owns A (survivor) and B (the duplicate); B has a contact, a contact log, a further staff member,
    two documents (one of a type A already holds), an open task."""
    rep1 = org["rep1"]
    a = make(rep1, name="上海华信精密机械有限公司")
    b = make(rep1, name="上海华信精密机械股份公司", staff=[org["rep3"]], confirm_duplicates=True)
    contact = services.contact_add(actor=rep1, customer_id=b.pk, name="王经理", mobile="13912345678")
    entry = ContactLog.objects.create(
        customer=b,
        channel="call",
        contacted_at=timezone.now(),
        staff=rep1,
        contact=contact,
        summary="询价",
        recorded_by=rep1,
    )
    lic_a = attach(a, rep1, "business_licence")
    lic_b = attach(b, rep1, "business_licence")
    other_b = attach(b, rep1, "certification")
    task = task_create(target=b, title="补全资料", assignee=rep1)
    return {
        **org,
        "a": a,
        "b": b,
        "contact": contact,
        "log": entry,
        "lic_a": lic_a,
        "lic_b": lic_b,
        "other_b": other_b,
        "task": task,
    }


def test_happy_path_moves_everything_and_keeps_both_histories(pair):
    p = pair
    a, b, rep1, gm = p["a"], p["b"], p["rep1"], p["gm"]
    m = merge.merge_request(actor=rep1, merged_id=b.pk, survivor_id=a.pk, reason="重复建档")
    assert m.state == MergeState.PENDING and m.case is not None
    assert m.case.definition.key == "customers_merge" and m.case.state == "submitted"
    # the general manager has the approval task
    assert Task.objects.filter(case=m.case, assignee=gm, state=TaskState.OPEN).exists()
    b_history_before = AuditEntry.objects.filter(
        object_type="customers.customer", object_id=str(b.pk)
    ).count()

    m = merge.merge_decide(actor=gm, merge_id=m.pk, decision="approve", comment="同一主体")
    assert m.state == MergeState.DONE and m.decided_at is not None
    a.refresh_from_db()
    b.refresh_from_db()
    assert (
        b.status == CustomerStatus.ENDED and b.ended_reason == EndedReason.MERGED and b.merged_into_id == a.pk
    )
    assert a.status != CustomerStatus.ENDED
    assert Contact.objects.get(pk=p["contact"].pk).customer_id == a.pk
    assert ContactLog.objects.get(pk=p["log"].pk).customer_id == a.pk
    assert ContactLog.objects.get(pk=p["log"].pk).staff_id == rep1.pk  # who made the contact is unchanged
    assert "rep3" in set(a.staff.values_list("username", flat=True))
    assert set(b.staff.values_list("username", flat=True)) == {"rep1"}
    # documents: the type A already holds stays on B; the other moves
    assert Attachment.objects.get(pk=p["lic_b"].pk).object_id == str(b.pk)
    assert Attachment.objects.get(pk=p["other_b"].pk).object_id == str(a.pk)
    assert m.moved["attachments"] == [p["other_b"].pk] and m.moved["attachments_kept"] == [p["lic_b"].pk]
    assert AuditEntry.objects.filter(object_type="core.attachment", object_id=str(p["other_b"].pk)).exists()
    # the open task now targets A
    assert Task.objects.get(pk=p["task"].pk).target_id == str(a.pk)
    # timelines: one row on each, source merge; B's name is a former name of A
    assert CustomerChange.objects.filter(customer=a, source=ChangeSource.MERGE).count() == 1
    assert CustomerChange.objects.filter(customer=b, source=ChangeSource.MERGE).count() == 1
    from kehu.customers.selectors import customer_list

    found = customer_list(actor=gm, filters={"q": "华信精密机械股份"})
    assert a in list(found)
    # B's own history stays and grows (the ending); A records what came in; the merge records the decision
    assert (
        AuditEntry.objects.filter(object_type="customers.customer", object_id=str(b.pk)).count()
        > b_history_before
    )
    assert AuditEntry.objects.filter(
        object_type="customers.customer", object_id=str(a.pk), changes__merged_in__1=b.number
    ).exists()
    assert AuditEntry.objects.filter(
        object_type="customers.customermerge", object_id=str(m.pk), action="decision"
    ).exists()
    assert merge.merged_into_list(a)[0].merged_id == b.pk
    m.case.refresh_from_db()
    assert m.case.state == "approved" and m.case.closed_at is not None


def test_requester_cannot_approve(pair):
    p = pair
    admin = user_with("sysadmin", username="admin1")
    # the general manager asks: they hold no approval task of their own request, and the guard refuses it
    m = merge.merge_request(actor=p["gm"], merged_id=p["b"].pk, survivor_id=p["a"].pk, reason="重复建档")
    with pytest.raises((PermissionDenied, ValidationFailed)):
        merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="approve")
    assert engine.allowed_transitions(m.case, p["gm"]) == []
    # a second approver (the system administrator) may
    m = merge.merge_decide(actor=admin, merge_id=m.pk, decision="approve")
    assert m.state == MergeState.DONE


def test_requester_holding_the_task_is_stopped_by_the_guard(pair):
    """With no other approver the task goes to the role; the requesting general manager holds it but the
    segregation-of-duties guard refuses."""
    p = pair
    m = merge.merge_request(actor=p["gm"], merged_id=p["b"].pk, survivor_id=p["a"].pk, reason="重复建档")
    assert Task.objects.filter(case=m.case, state=TaskState.OPEN).exists()
    if not Task.objects.filter(case=m.case, state=TaskState.OPEN, assignee__isnull=True).exists():
        pytest.skip("another approver exists")
    with pytest.raises(ValidationFailed) as exc:
        merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="approve")
    assert exc.value.rule == "guard"
    assert CustomerMerge.objects.get(pk=m.pk).state == MergeState.PENDING


def test_rejection_leaves_both_unchanged(pair):
    p = pair
    a, b = p["a"], p["b"]
    m = merge.merge_request(actor=p["rep1"], merged_id=b.pk, survivor_id=a.pk, reason="重复建档")
    with pytest.raises(ValidationFailed):  # a rejection needs a comment
        merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="reject")
    m = merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="reject", comment="不是同一主体")
    assert m.state == MergeState.REJECTED
    b.refresh_from_db()
    assert b.status != CustomerStatus.ENDED and b.merged_into_id is None
    assert Contact.objects.get(pk=p["contact"].pk).customer_id == b.pk
    assert Attachment.objects.get(pk=p["other_b"].pk).object_id == str(b.pk)
    assert not CustomerChange.objects.filter(source=ChangeSource.MERGE).exists()
    with pytest.raises(Conflict):
        merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="approve")
    # after a rejection a new request is possible
    assert merge.merge_request(actor=p["rep1"], merged_id=b.pk, survivor_id=a.pk, reason="再次核对").pk


def test_refusals(pair):
    p = pair
    a, b, rep1 = p["a"], p["b"], p["rep1"]
    with pytest.raises(ValidationFailed) as exc:
        merge.merge_request(actor=rep1, merged_id=b.pk, survivor_id=b.pk, reason="x")
    assert exc.value.rule == "distinct"
    with pytest.raises(ValidationFailed) as exc:
        merge.merge_request(actor=rep1, merged_id=b.pk, survivor_id=a.pk, reason="")
    assert exc.value.rule == "required"
    # out of scope: another rep's customer looks missing
    other = make(p["rep2"], name="广州丙丁贸易有限公司")
    with pytest.raises(NotFound):
        merge.merge_request(actor=rep1, merged_id=b.pk, survivor_id=other.pk, reason="x")
    with pytest.raises(NotFound):
        merge.merge_request(actor=rep1, merged_id=other.pk, survivor_id=a.pk, reason="x")
    # rep3 assists on B (sees it) but does not see A
    with pytest.raises(NotFound):
        merge.merge_request(actor=p["rep3"], merged_id=b.pk, survivor_id=a.pk, reason="x")
    # a rep who only assists (staff) on both dossiers may not ask: editing needs the owner or a manager
    services.customer_set_staff(actor=rep1, customer_id=a.pk, staff=[p["rep3"]])
    with pytest.raises(PermissionDenied):
        merge.merge_request(actor=p["rep3"], merged_id=b.pk, survivor_id=a.pk, reason="x")
    with pytest.raises(PermissionDenied):  # the credit officer sees both but may not ask
        merge.merge_request(actor=p["credit"], merged_id=b.pk, survivor_id=a.pk, reason="x")
    m = merge.merge_request(actor=rep1, merged_id=b.pk, survivor_id=a.pk, reason="重复建档")
    with pytest.raises(Conflict) as exc:  # a second pending request of the same B
        merge.merge_request(actor=p["mgr_east"], merged_id=b.pk, survivor_id=a.pk, reason="x")
    assert exc.value.rule == "pending"
    c = make(rep1, name="南京壬癸机械有限公司")
    with pytest.raises(Conflict):  # A itself is waiting to be merged elsewhere
        merge.merge_request(actor=rep1, merged_id=c.pk, survivor_id=b.pk, reason="x")
    merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="approve")
    with pytest.raises(ValidationFailed) as exc:  # into an ended (merged) dossier
        merge.merge_request(actor=rep1, merged_id=c.pk, survivor_id=b.pk, reason="x")
    assert exc.value.rule == "ended"
    with pytest.raises(ValidationFailed):  # the merged dossier cannot be merged again
        merge.merge_request(actor=rep1, merged_id=b.pk, survivor_id=c.pk, reason="x")
    assert CustomerMerge.objects.count() == 1


def test_approval_refused_when_survivor_ended_meanwhile(pair):
    p = pair
    m = merge.merge_request(actor=p["rep1"], merged_id=p["b"].pk, survivor_id=p["a"].pk, reason="重复建档")
    services.customer_end(actor=p["gm"], customer_id=p["a"].pk, reason="停止", ended_reason="trade_past")
    with pytest.raises(Conflict):
        merge.merge_decide(actor=p["gm"], merge_id=m.pk, decision="approve")
    assert CustomerMerge.objects.get(pk=m.pk).state == MergeState.PENDING
    assert Customer.objects.get(pk=p["b"].pk).status != CustomerStatus.ENDED


# --------------------------------------------------------------------------------------------------------------
# Pages and API
# --------------------------------------------------------------------------------------------------------------


def test_pages_request_detail_decide_banner(pair, client):
    p = pair
    a, b = p["a"], p["b"]
    login(client, p["rep1"])
    body = client.get(reverse("customer_detail", args=[b.pk])).content.decode()
    assert reverse("customer_merge_request", args=[b.pk]) in body
    url = reverse("customer_merge_request", args=[b.pk])
    assert client.get(url).status_code == 200
    r = client.post(url, {"survivor": a.pk, "reason": ""})
    assert r.status_code == 200 and not CustomerMerge.objects.exists()
    r = client.post(url, {"survivor": a.pk, "reason": "重复建档"})
    m = CustomerMerge.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("customer_merge_detail", args=[m.pk])
    body = client.get(r["Location"]).content.decode()
    assert a.name in body and "customer_merge_decide" not in body and "/decide/" not in body
    client.logout()
    login(client, p["gm"])
    body = client.get(reverse("customer_merge_detail", args=[m.pk])).content.decode()
    assert reverse("customer_merge_decide", args=[m.pk, "approve"]) in body
    r = client.post(reverse("customer_merge_decide", args=[m.pk, "approve"]), {"comment": "同一主体"})
    assert r.status_code == 302 and CustomerMerge.objects.get().state == MergeState.DONE
    # B shows where it went; A lists what came in; B's history is still on its page
    body = client.get(reverse("customer_detail", args=[b.pk])).content.decode()
    assert f'data-merged-into="{a.pk}"' in body and "已并入" in body
    assert reverse("customer_merge_request", args=[b.pk]) not in body
    body = client.get(reverse("customer_detail", args=[a.pk])).content.decode()
    assert "并入的档案" in body and b.number in body
    # the engine's case page shows the case too
    assert client.get(reverse("workflow_case_detail", args=[m.case_id])).status_code == 200


def test_pages_out_of_scope(pair, client):
    p = pair
    m = merge.merge_request(actor=p["rep1"], merged_id=p["b"].pk, survivor_id=p["a"].pk, reason="重复建档")
    login(client, p["rep2"])
    assert client.get(reverse("customer_merge_detail", args=[m.pk])).status_code == 404
    assert client.get(reverse("customer_merge_request", args=[p["b"].pk])).status_code == 404
    assert client.post(reverse("customer_merge_decide", args=[m.pk, "approve"])).status_code == 404


def post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api_request_and_decide(pair, client):
    p = pair
    a, b = p["a"], p["b"]
    base = "/api/v1/customers"
    login(client, p["rep1"])
    r = post(client, f"{base}/{b.pk}/merge", {"survivor": b.pk, "reason": "x"})
    assert r.status_code == 400 and r.json()["detail"]["rule"] == "distinct"
    r = post(client, f"{base}/{b.pk}/merge", {"survivor": a.pk, "reason": "重复建档"})
    assert r.status_code == 201, r.content
    mid = r.json()["id"]
    assert r.json()["state"] == "pending" and r.json()["case_id"]
    r = post(client, f"{base}/{b.pk}/merge", {"survivor": a.pk, "reason": "重复建档"})
    assert r.status_code == 409
    r = post(client, f"{base}/merges/{mid}/approve", {})
    assert r.status_code == 403  # the requester holds no approval task
    client.logout()
    login(client, p["gm"])
    assert client.get(f"{base}/merges/{mid}").json()["state"] == "pending"
    r = post(client, f"{base}/merges/{mid}/approve", {"comment": "同一主体"})
    assert r.status_code == 200 and r.json()["state"] == "done"
    assert r.json()["moved"]["contacts"] == [p["contact"].pk]
    assert client.get(f"{base}/{b.pk}").json()["ended_reason"] == "merged"
    client.logout()
    login(client, p["rep2"])
    assert client.get(f"{base}/merges/{mid}").status_code == 404
