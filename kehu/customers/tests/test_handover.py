"""Hand-over and reassignment (R-CUS-10): everything a departing rep holds moves to the successor in one step
(customers, staff places, open tasks), the contact history is summarised and stays truthfully authored, one
inform task per customer, nothing left behind; permissions, eligibility, the no-op refusal, audit, pages, API and
two simultaneous hand-overs of the same rep."""

from __future__ import annotations

import json
import re
import threading
import uuid
from typing import Any

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import PASSWORD, DepartmentFactory, user_with
from kehu.core.tests.threads import in_thread as _in_thread
from kehu.customers import handover
from kehu.customers.models import (
    ChangeField,
    ChangeSource,
    ContactLog,
    Customer,
    CustomerChange,
    HandOver,
    HandOverItem,
)
from kehu.customers.tests.conftest import make
from kehu.workflow.engine import task_create
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


def login(client: Any, user: Any) -> Any:
    assert client.login(username=user.username, password=PASSWORD)
    return client


def log(c: Customer, staff: Any, summary: str = "拜访", next_step: str = "", due: Any = None) -> ContactLog:
    return ContactLog.objects.create(
        customer=c,
        channel="visit",
        contacted_at=timezone.now(),
        staff=staff,
        summary=summary,
        next_step=next_step,
        next_step_due=due,
        recorded_by=staff,
    )


@pytest.fixture
def world(org: dict[str, Any]) -> dict[str, Any]:
    """rep1 (leaving) owns c1 (general) and c2 (important, with rep3), is staff on rep3's important c3 (with
    rep3 and rep4); two open tasks and contact logs; rep4 is the successor in the same department."""
    rep1, rep3 = org["rep1"], org["rep3"]
    rep4 = user_with("sales_rep", username="rep4", department=org["east"], region=org["r_east"])
    c1 = make(rep1, name="上海甲乙机械有限公司")
    c2 = make(rep1, name="苏州丙丁电子有限公司", customer_class="important", staff=[rep3])
    c3 = make(rep3, name="杭州戊己化工有限公司", customer_class="important", staff=[rep1, rep4])
    t1 = task_create(target=c1, title="补全资料", assignee=rep1)
    t2 = task_create(target=c3, title="回访", assignee=rep1)
    other = task_create(target=c3, title="别人的待办", assignee=rep3)
    log(c1, rep1, next_step="寄送样品", due=timezone.localdate())
    log(c1, rep1)
    log(c3, rep1)
    log(c3, rep3)
    return {**org, "rep4": rep4, "c1": c1, "c2": c2, "c3": c3, "t1": t1, "t2": t2, "other": other}


def test_handover_moves_everything_and_leaves_nothing(world):
    w = world
    rep1, rep4, mgr = w["rep1"], w["rep4"], w["mgr_east"]
    preview = handover.handover_preview(actor=mgr, from_user_id=rep1.pk, to_user_id=rep4.pk)
    assert not handover.handover_leftovers(rep1).empty
    ho = handover.handover_perform(actor=mgr, from_user_id=rep1.pk, to_user_id=rep4.pk, reason="离职")

    # customers owned
    for key in ("c1", "c2"):
        c = Customer.objects.get(pk=w[key].pk)
        assert c.owner_id == rep4.pk and c.department_id == rep4.department_id
        assert set(c.staff.values_list("username", flat=True)) >= {"rep4"}
        assert "rep1" not in set(c.staff.values_list("username", flat=True))
        change = CustomerChange.objects.get(customer=c, field=ChangeField.OWNER)
        assert change.source == ChangeSource.HANDOVER and ho.number in change.source_note
        assert rep1.username in change.old and rep4.username in change.new
    # staff place on another rep's important customer: the successor takes it, the owner stays
    c3 = Customer.objects.get(pk=w["c3"].pk)
    assert c3.owner_id == w["rep3"].pk
    assert set(c3.staff.values_list("username", flat=True)) == {"rep3", "rep4"}
    # open tasks
    assert Task.objects.get(pk=w["t1"].pk).assignee_id == rep4.pk
    assert Task.objects.get(pk=w["t2"].pk).assignee_id == rep4.pk
    assert Task.objects.get(pk=w["other"].pk).assignee_id == w["rep3"].pk
    # contact history stays authored by the leaver, counted in the summary
    assert ContactLog.objects.filter(staff=rep1).count() == 3
    assert ho.contact_logs_moved == 3
    assert ho.summary["next_steps"][0]["next_step"] == "寄送样品"
    # counts and the summary equal the preview
    assert (ho.customers_moved, ho.staff_replaced, ho.tasks_moved) == (2, 1, 2)
    assert ho.summary == preview.summary()
    assert ho.number.startswith("HO-")
    # one item and one inform task per customer, for the successor
    items = list(ho.items.order_by("customer_id"))
    assert [i.customer_id for i in items] == sorted([w["c1"].pk, w["c2"].pk])
    ct = ContentType.objects.get_for_model(HandOverItem)
    tasks = Task.objects.filter(target_type=ct, state=TaskState.OPEN)
    assert sorted(int(t.target_id) for t in tasks) == sorted(i.pk for i in items)
    assert {t.assignee_id for t in tasks} == {rep4.pk}
    assert all("告知客户联系人负责人变更" in t.title for t in tasks)
    # nothing stays with the leaver
    assert handover.handover_leftovers(rep1).empty
    # audit: the hand-over, each customer, each task
    assert AuditEntry.objects.filter(
        object_type="customers.handover", object_id=str(ho.pk), action="create"
    ).exists()
    for key in ("c1", "c2", "c3"):
        assert AuditEntry.objects.filter(
            object_type="customers.customer",
            object_id=str(w[key].pk),
            action="update",
            reason__contains=ho.number,
        ).exists()
    for key in ("t1", "t2"):
        e = AuditEntry.objects.get(object_type="workflow.task", object_id=str(w[key].pk), action="update")
        assert e.changes["assignee"] == ["rep1", "rep4"]


def test_inform_contacts_closes_the_task(world):
    w = world
    ho = handover.handover_perform(
        actor=w["mgr_east"], from_user_id=w["rep1"].pk, to_user_id=w["rep4"].pk, reason="离职"
    )
    item = ho.items.order_by("pk").first()
    with pytest.raises(NotFound):  # another rep does not see the hand-over
        handover.handover_item_inform(actor=w["rep2"], item_id=item.pk)
    done = handover.handover_item_inform(actor=w["rep4"], item_id=item.pk)
    assert done.contacts_informed_at is not None
    ct = ContentType.objects.get_for_model(HandOverItem)
    assert Task.objects.get(target_type=ct, target_id=str(item.pk)).state == TaskState.DONE
    with pytest.raises(Conflict):
        handover.handover_item_inform(actor=w["rep4"], item_id=item.pk)
    assert AuditEntry.objects.filter(object_type="customers.handoveritem", object_id=str(item.pk)).exists()


def test_permissions_and_eligibility(world):
    w = world
    rep1, rep4 = w["rep1"], w["rep4"]
    before = HandOver.objects.count()
    with pytest.raises(PermissionDenied):  # a rep cannot hand over
        handover.handover_perform(actor=w["rep3"], from_user_id=rep1.pk, to_user_id=rep4.pk, reason="x")
    with pytest.raises(NotFound):  # the east manager does not reach the south rep
        handover.handover_perform(
            actor=w["mgr_east"], from_user_id=w["rep2"].pk, to_user_id=rep4.pk, reason="x"
        )
    with pytest.raises(NotFound):  # nor hands over to them
        handover.handover_perform(
            actor=w["mgr_east"], from_user_id=rep1.pk, to_user_id=w["rep2"].pk, reason="x"
        )
    credit = w["credit"]
    with pytest.raises(ValidationFailed) as exc:  # the successor must be able to own customers
        handover.handover_perform(actor=w["gm"], from_user_id=rep1.pk, to_user_id=credit.pk, reason="x")
    assert exc.value.rule == "eligible" and exc.value.field == "to_user"
    rep4.is_active = False
    rep4.save()
    with pytest.raises(ValidationFailed) as exc:
        handover.handover_perform(actor=w["gm"], from_user_id=rep1.pk, to_user_id=rep4.pk, reason="x")
    assert exc.value.rule == "active"
    with pytest.raises(ValidationFailed) as exc:
        handover.handover_perform(actor=w["gm"], from_user_id=rep1.pk, to_user_id=rep1.pk, reason="x")
    assert exc.value.rule == "distinct"
    with pytest.raises(ValidationFailed) as exc:
        handover.handover_perform(actor=w["gm"], from_user_id=rep1.pk, to_user_id=w["rep3"].pk, reason=" ")
    assert exc.value.rule == "required"
    assert HandOver.objects.count() == before
    # the general manager reaches every department; a departed (inactive) rep can still be handed over
    rep2 = w["rep2"]
    c_south = make(rep2, name="广州庚辛贸易有限公司")
    rep2.is_active = False
    rep2.save()
    ho = handover.handover_perform(
        actor=w["gm"], from_user_id=rep2.pk, to_user_id=w["rep3"].pk, reason="离职"
    )
    assert ho.customers_moved == 1
    assert Customer.objects.get(pk=c_south.pk).owner_id == w["rep3"].pk


def test_staffing_rule_refuses_and_changes_nothing(world):
    """rep3 as successor would leave c3 (important, staff rep3 + rep1 + rep4) fine, but c2 (important, staff rep1 +
    rep3) with rep3 alone: refused, naming the customer."""
    w = world
    before_audit = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        handover.handover_perform(
            actor=w["mgr_east"], from_user_id=w["rep1"].pk, to_user_id=w["rep3"].pk, reason="x"
        )
    assert exc.value.rule == "min_staff" and w["c2"].name in str(exc.value.message)
    assert Customer.objects.get(pk=w["c2"].pk).owner_id == w["rep1"].pk
    assert AuditEntry.objects.count() == before_audit
    plan = handover.handover_preview(actor=w["mgr_east"], from_user_id=w["rep1"].pk, to_user_id=w["rep3"].pk)
    assert [c.pk for c in plan.staff_problems] == [w["c2"].pk]


def test_extra_staff_keeps_the_teams_and_the_hand_over_goes_through(world):
    """The manager names an extra staff member: he joins exactly the customers whose team would fall short."""
    w = world
    extra = w["rep4"]
    plan = handover.handover_preview(
        actor=w["mgr_east"], from_user_id=w["rep1"].pk, to_user_id=w["rep3"].pk, extra_staff_id=extra.pk
    )
    assert plan.staff_problems == [] and [c.pk for c in plan.staff_added] == [w["c2"].pk]
    ho = handover.handover_perform(
        actor=w["mgr_east"],
        from_user_id=w["rep1"].pk,
        to_user_id=w["rep3"].pk,
        reason="调岗",
        extra_staff_id=extra.pk,
    )
    c2 = Customer.objects.get(pk=w["c2"].pk)
    assert c2.owner_id == w["rep3"].pk
    assert set(c2.staff.values_list("username", flat=True)) == {w["rep3"].username, extra.username}
    assert ho.summary["staff_added"]["customers"][0]["id"] == c2.pk
    # the extra person must be eligible and neither the leaver nor the successor
    for bad in (w["rep3"].pk, w["mgr_east"].pk):
        with pytest.raises(ValidationFailed) as exc:
            handover.handover_preview(
                actor=w["mgr_east"],
                from_user_id=w["rep3"].pk,
                to_user_id=w["mgr_east"].pk,
                extra_staff_id=bad,
            )
        assert exc.value.field == "extra_staff"


def test_nothing_to_hand_over_writes_nothing(org):
    idle = user_with("sales_rep", username="idle", department=org["east"], region=org["r_east"])
    before = (HandOver.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        handover.handover_perform(
            actor=org["mgr_east"], from_user_id=idle.pk, to_user_id=org["rep3"].pk, reason="离职"
        )
    assert exc.value.rule == "nothing_to_hand_over" and "idle" in str(exc.value.message)
    assert (HandOver.objects.count(), AuditEntry.objects.count()) == before
    assert handover.handover_preview(
        actor=org["mgr_east"], from_user_id=idle.pk, to_user_id=org["rep3"].pk
    ).empty


def test_reassign_one_customer(world):
    w = world
    with pytest.raises(ValidationFailed):
        handover.customer_reassign(
            actor=w["mgr_east"], customer_id=w["c1"].pk, to_user_id=w["rep3"].pk, reason=""
        )
    with pytest.raises(PermissionDenied):
        handover.customer_reassign(
            actor=w["rep1"], customer_id=w["c1"].pk, to_user_id=w["rep3"].pk, reason="x"
        )
    c_south = make(w["rep2"], name="广州庚辛贸易有限公司")
    with pytest.raises(NotFound):
        handover.customer_reassign(
            actor=w["mgr_east"], customer_id=c_south.pk, to_user_id=w["rep3"].pk, reason="x"
        )
    ho = handover.customer_reassign(
        actor=w["mgr_east"], customer_id=w["c1"].pk, to_user_id=w["rep3"].pk, reason="区域调整"
    )
    c1 = Customer.objects.get(pk=w["c1"].pk)
    assert c1.owner_id == w["rep3"].pk
    assert "rep1" not in set(c1.staff.values_list("username", flat=True))
    assert ho.summary["kind"] == "reassign" and ho.customers_moved == 1 and ho.staff_replaced == 0
    assert Task.objects.get(pk=w["t1"].pk).assignee_id == w["rep3"].pk  # the task on this customer
    assert Task.objects.get(pk=w["t2"].pk).assignee_id == w["rep1"].pk  # not the one on another customer
    assert Customer.objects.get(pk=w["c2"].pk).owner_id == w["rep1"].pk
    item = ho.items.get()
    ct = ContentType.objects.get_for_model(HandOverItem)
    assert Task.objects.get(target_type=ct, target_id=str(item.pk)).assignee_id == w["rep3"].pk
    assert CustomerChange.objects.filter(customer=c1, source=ChangeSource.HANDOVER).count() == 1


def test_handover_list_scope(world):
    w = world
    ho = handover.handover_perform(
        actor=w["mgr_east"], from_user_id=w["rep1"].pk, to_user_id=w["rep4"].pk, reason="离职"
    )
    south_mgr = user_with(
        "sales_manager", username="mgr_s", department=DepartmentFactory(code="X", kind="sales")
    )
    assert list(handover.handover_list(actor=w["mgr_east"])) == [ho]
    assert list(handover.handover_list(actor=south_mgr)) == []
    with pytest.raises(NotFound):
        handover.handover_get(actor=south_mgr, pk=ho.pk)
    assert handover.handover_get(actor=w["rep4"], pk=ho.pk) == ho  # the successor sees it
    with pytest.raises(PermissionDenied):
        handover.handover_list(actor=w["rep4"])


# --------------------------------------------------------------------------------------------------------------
# Pages
# --------------------------------------------------------------------------------------------------------------


def test_pages_preview_confirm_detail(world, client):
    w = world
    login(client, w["mgr_east"])
    url = reverse("customer_handover_new")
    assert client.get(url).status_code == 200
    data = {"from_user": w["rep1"].pk, "to_user": w["rep4"].pk, "reason": "离职"}
    r = client.post(url, {**data, "preview": "1"})
    body = r.content.decode()
    assert r.status_code == 200 and 'id="handover-preview"' in body, re.findall(
        r"invalid-feedback[^<]*<?[^<]*", body
    )
    assert w["c1"].name in body and w["c2"].name in body and "confirm-handover" in body
    assert HandOver.objects.count() == 0  # the preview writes nothing
    r = client.post(url, {**data, "confirm": "1"})
    ho = HandOver.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse("customer_handover_detail", args=[ho.pk])
    body = client.get(r["Location"]).content.decode()
    assert ho.number in body and 'id="leftovers"' in body and "无剩余" in body
    assert "确认已告知联系人" in body
    # the successor confirms from the page
    client.logout()
    login(client, w["rep4"])
    item = ho.items.order_by("pk").first()
    r = client.post(reverse("customer_handover_inform", args=[item.pk]))
    assert r.status_code == 302
    assert HandOverItem.objects.get(pk=item.pk).contacts_informed_at is not None
    # and sees the open one on the dossier
    other = ho.items.exclude(pk=item.pk).get()
    body = client.get(reverse("customer_detail", args=[other.customer_id])).content.decode()
    assert reverse("customer_handover_inform", args=[other.pk]) in body


def test_pages_nothing_and_refusals(world, client):
    w = world
    idle = user_with("sales_rep", username="idle2", department=w["east"], region=w["r_east"])
    login(client, w["mgr_east"])
    r = client.post(
        reverse("customer_handover_new"),
        {"from_user": idle.pk, "to_user": w["rep4"].pk, "reason": "离职", "confirm": "1"},
    )
    assert r.status_code == 200 and "没有需要交接" in r.content.decode()
    assert HandOver.objects.count() == 0
    client.logout()
    login(client, w["rep1"])
    assert client.get(reverse("customer_handover_list")).status_code == 403
    assert client.get(reverse("customer_handover_new")).status_code == 403
    assert client.get(reverse("customer_reassign", args=[w["c1"].pk])).status_code == 403


def test_reassign_page(world, client):
    w = world
    login(client, w["mgr_east"])
    url = reverse("customer_reassign", args=[w["c1"].pk])
    assert client.get(url).status_code == 200
    r = client.post(url, {"to_user": w["rep3"].pk, "reason": ""})
    assert r.status_code == 200 and Customer.objects.get(pk=w["c1"].pk).owner_id == w["rep1"].pk
    r = client.post(url, {"to_user": w["rep3"].pk, "reason": "区域调整"})
    assert r.status_code == 302 and Customer.objects.get(pk=w["c1"].pk).owner_id == w["rep3"].pk
    body = client.get(reverse("customer_detail", args=[w["c1"].pk])).content.decode()
    assert reverse("customer_reassign", args=[w["c1"].pk]) in body


def test_list_page_queries_bounded(world, client, django_assert_max_num_queries):
    w = world
    for i in range(4):
        u = user_with("sales_rep", username=f"lv{i}", department=w["east"], region=w["r_east"])
        make(u, name=f"测试交接客户{i}号机械有限公司", confirm_duplicates=True)
        handover.handover_perform(
            actor=w["mgr_east"], from_user_id=u.pk, to_user_id=w["rep4"].pk, reason="离职"
        )
    login(client, w["mgr_east"])
    client.get(reverse("customer_handover_list"))  # warm the session and caches
    with django_assert_max_num_queries(12):
        r = client.get(reverse("customer_handover_list"))
    assert r.status_code == 200 and r.content.decode().count("HO-") >= 4


# --------------------------------------------------------------------------------------------------------------
# API
# --------------------------------------------------------------------------------------------------------------


def post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api_handover_and_reassign(world, client):
    w = world
    base = "/api/v1/customers"
    login(client, w["rep1"])
    r = post(client, f"{base}/handovers", {"from_user": w["rep1"].pk, "to_user": w["rep4"].pk, "reason": "x"})
    assert r.status_code == 403
    client.logout()
    login(client, w["mgr_east"])
    body = {"from_user": w["rep1"].pk, "to_user": w["rep4"].pk, "reason": "离职"}
    r = post(client, f"{base}/handovers", {**body, "dry_run": True})
    assert r.status_code == 200, r.content
    preview = r.json()
    assert preview["dry_run"] is True and preview["summary"]["counts"] == {
        "customers": 2,
        "staff": 1,
        "tasks": 2,
        "contact_logs": 3,
    }
    assert HandOver.objects.count() == 0
    r = post(client, f"{base}/handovers", body)
    assert r.status_code == 201, r.content
    out = r.json()
    assert out["summary"] == preview["summary"] and len(out["items"]) == 2 and out["to_user"] == "rep4"
    r = post(client, f"{base}/handovers", body)
    assert r.status_code == 400 and r.json()["detail"]["rule"] == "nothing_to_hand_over"
    assert client.get(f"{base}/handovers").json()["count"] == 1
    assert client.get(f"{base}/handovers/{out['id']}").json()["number"] == out["number"]
    r = post(client, f"{base}/{w['c1'].pk}/reassign", {"to_user": w["rep3"].pk, "reason": "区域调整"})
    assert r.status_code == 201 and r.json()["customers_moved"] == 1
    assert Customer.objects.get(pk=w["c1"].pk).owner_id == w["rep3"].pk
    c_south = make(w["rep2"], name="广州壬癸贸易有限公司")
    r = post(client, f"{base}/{c_south.pk}/reassign", {"to_user": w["rep3"].pk, "reason": "x"})
    assert r.status_code == 404
    client.logout()
    login(client, w["rep4"])
    item = HandOverItem.objects.filter(handover_id=out["id"]).order_by("pk").first()
    r = client.post(f"{base}/handovers/items/{item.pk}/inform")
    assert r.status_code == 200 and r.json()["contacts_informed_at"]


# --------------------------------------------------------------------------------------------------------------
# Two hand-overs of the same rep at the same moment
# --------------------------------------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=False)
def test_concurrent_handovers_of_the_same_rep_move_each_customer_once():
    tag = uuid.uuid4().hex[:6]

    def setup() -> Any:
        dept = DepartmentFactory(kind="sales", code=f"H{tag}")
        from kehu.core.org import department_path

        department_path(dept)
        leaver = user_with("sales_rep", department=dept, username=f"hl{tag}")
        a = user_with("sales_rep", department=dept, username=f"ha{tag}")
        b = user_with("sales_rep", department=dept, username=f"hb{tag}")
        mgr = user_with("sales_manager", department=dept, username=f"hm{tag}")
        ids = [make(leaver, name=f"并发交接{tag}{i}号有限公司", confirm_duplicates=True).pk for i in range(3)]
        return leaver, a, b, mgr, ids

    leaver, a, b, mgr, ids = _in_thread(setup)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def run(to: Any) -> None:
        try:
            barrier.wait(timeout=10)
            ho = handover.handover_perform(actor=mgr, from_user_id=leaver.pk, to_user_id=to.pk, reason="离职")
            results.append(f"ok:{ho.customers_moved}")
        except ValidationFailed as exc:
            results.append(exc.rule or "")
        except Exception as exc:  # pragma: no cover - shows in the assertion
            results.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(u,)) for u in (a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert sorted(results) == ["nothing_to_hand_over", "ok:3"]
        owners = _in_thread(
            lambda: set(Customer.objects.filter(pk__in=ids).values_list("owner_id", flat=True))
        )
        assert len(owners) == 1 and owners < {a.pk, b.pk}
        assert _in_thread(lambda: HandOver.objects.filter(from_user=leaver).count()) == 1
    finally:  # committed rows would show in later tests (the audit entries stay, append-only)

        def cleanup() -> None:
            from kehu.workflow.models import Task as T

            items = HandOverItem.objects.filter(handover__from_user=leaver)
            ct = ContentType.objects.get_for_model(HandOverItem)
            T.objects.filter(
                target_type=ct, target_id__in=[str(i) for i in items.values_list("pk", flat=True)]
            ).delete()
            items.delete()
            HandOver.objects.filter(from_user=leaver).delete()
            CustomerChange.objects.filter(customer_id__in=ids).delete()
            Customer.objects.filter(pk__in=ids).delete()

        _in_thread(cleanup)
