"""Contact log (R-CUS-12) and its dossier sections (R-CUS-06 categories 1 and 5): logging with validation, scope,
next-step tasks, last contact, corrections, the gap job, pages, export and API."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import python_calamine
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.tests.factories import PASSWORD
from kehu.customers import contactlog, services
from kehu.customers.models import ContactGap, ContactLog, Customer
from kehu.customers.tests.conftest import make
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_policies():
    from kehu.core.policies.services import clear_cache

    clear_cache()
    yield
    clear_cache()


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def api(client, method, url, body=None):
    fn = getattr(client, method)
    if body is None:
        return fn(url)
    return fn(url, data=json.dumps(body), content_type="application/json")


def now():
    return timezone.now().replace(microsecond=0)


def log(actor, customer, **kw):
    kw.setdefault("channel", "call")
    kw.setdefault("contacted_at", now() - dt.timedelta(hours=1))
    kw.setdefault("summary", "沟通下季度订货计划")
    if "contact" not in kw:
        kw.setdefault("contact_name", "张经理")
    return contactlog.contact_log_create(actor=actor, customer_id=customer.pk, **kw)


def tasks_of(target):
    ct = ContentType.objects.get_for_model(type(target))
    return Task.objects.filter(target_type=ct, target_id=str(target.pk))


def activate(c, *, days_ago=0, **fields):
    """Make ``c`` an active customer activated ``days_ago`` days ago (test set-up, bypassing the review)."""
    at = timezone.now() - dt.timedelta(days=days_ago)
    Customer.objects.filter(pk=c.pk).update(status="active", status_changed_at=at, **fields)
    c.refresh_from_db()
    return c


def set_contact_policy(**values):
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import clear_cache, policy_get

    current = policy_get("customers.contact")
    PolicyVersion.objects.create(
        type_key="customers.contact",
        number=current.number + 1,
        status="formal",
        effective_from=dt.date(2020, 1, 1),
        values={"core_days": 30, "important_days": 30, "general_days": 90, **values},
    )
    clear_cache()


# ---------------------------------------------------------------------------------------------------------------
# Logging
# ---------------------------------------------------------------------------------------------------------------


def test_log_a_contact_updates_last_contact_and_audits(org):
    c = make(org["rep1"])
    p = services.contact_add(actor=org["rep1"], customer_id=c.pk, name="李四", mobile="13912345678")
    at = now() - dt.timedelta(days=2)
    entry = log(org["rep1"], c, contact=p.pk, contacted_at=at, channel="visit")
    assert entry.staff == org["rep1"] and entry.recorded_by == org["rep1"]
    assert entry.contact == p and entry.contact_name == "李四"
    c.refresh_from_db()
    assert c.last_contact_at == at
    audit_row = AuditEntry.objects.get(object_type="customers.contactlog", object_id=str(entry.pk))
    assert audit_row.action == "create" and audit_row.changes["channel"] == [None, "visit"]
    # an older contact logged later does not move the last contact back; a newer one moves it forward
    log(org["rep1"], c, contacted_at=at - dt.timedelta(days=10))
    c.refresh_from_db()
    assert c.last_contact_at == at
    later = now() - dt.timedelta(minutes=5)
    log(org["rep1"], c, contacted_at=later)
    c.refresh_from_db()
    assert c.last_contact_at == later


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"channel": ""}, "channel", "required"),
        ({"channel": "pigeon"}, "channel", "choices"),
        ({"contacted_at": None}, "contacted_at", "required"),
        ({"contacted_at": "yesterday"}, "contacted_at", "datetime"),
        ({"contacted_at": "FUTURE"}, "contacted_at", "not_future"),
        ({"contacted_at": "BEFORE_FOUNDED"}, "contacted_at", "after_founded"),
        ({"summary": "   "}, "summary", "required"),
        ({"summary": "长" * 4001}, "summary", "max_length"),
        ({"contact_name": ""}, "contact_name", "required"),
        ({"contact_name": "名" * 101}, "contact_name", "max_length"),
        ({"next_step": "", "next_step_due": "TOMORROW"}, "next_step", "required"),
        ({"next_step": "寄样品", "next_step_due": "YESTERDAY"}, "next_step_due", "not_past"),
        ({"next_step": "寄样品", "next_step_due": "31/12/2030"}, "next_step_due", "date"),
        ({"next_step": "步" * 301}, "next_step", "max_length"),
        ({"staff": "REP2"}, "staff", "customer_staff"),
        ({"staff": 999999}, "staff", "exists"),
    ],
)
def test_log_validation_names_field_and_rule_and_changes_nothing(org, changes, field, rule):
    c = make(org["rep1"], founded_on=dt.date(2010, 5, 1))
    today = timezone.localdate()
    subst = {
        "FUTURE": now() + dt.timedelta(hours=1),
        "BEFORE_FOUNDED": timezone.make_aware(dt.datetime(2009, 1, 1, 10, 0)),
        "TOMORROW": today + dt.timedelta(days=1),
        "YESTERDAY": today - dt.timedelta(days=1),
        "REP2": org["rep2"],
    }
    changes = {k: subst.get(v, v) if isinstance(v, str) else v for k, v in changes.items()}
    audit_before = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        log(org["rep1"], c, **changes)
    assert (exc.value.field, exc.value.rule) == (field, rule)
    c.refresh_from_db()
    assert ContactLog.objects.count() == 0 and c.last_contact_at is None
    assert AuditEntry.objects.count() == audit_before and Task.objects.count() == 0


def test_contact_must_belong_to_the_customer_and_be_active(org):
    c = make(org["rep1"])
    other = make(org["rep1"], name="苏州恒通电子科技有限公司")
    foreign = services.contact_add(actor=org["rep1"], customer_id=other.pk, name="外人", mobile="13912345670")
    with pytest.raises(ValidationFailed) as exc:
        log(org["rep1"], c, contact=foreign.pk)
    assert (exc.value.field, exc.value.rule) == ("contact", "customer_contact")
    gone = services.contact_add(actor=org["rep1"], customer_id=c.pk, name="离职者", mobile="13912345671")
    services.contact_update(actor=org["rep1"], customer_id=c.pk, contact_id=gone.pk, active=False)
    with pytest.raises(ValidationFailed) as exc:
        log(org["rep1"], c, contact=gone.pk)
    assert (exc.value.field, exc.value.rule) == ("contact", "active")
    assert ContactLog.objects.count() == 0


def test_our_person_is_owner_staff_or_actor(org):
    c = make(org["rep1"])
    services.customer_set_staff(actor=org["rep1"], customer_id=c.pk, staff=[org["rep3"]], reason="协同跟进")
    # the owner logs a visit made by the assigned colleague; a manager logs one made by the owner
    assert log(org["rep1"], c, staff=org["rep3"]).staff == org["rep3"]
    assert log(org["mgr_east"], c, staff=org["rep1"]).staff == org["rep1"]
    assert log(org["mgr_east"], c).staff == org["mgr_east"]
    # the assigned colleague logs contacts too (own scope: owner or assigned staff)
    assert log(org["rep3"], c).recorded_by == org["rep3"]
    with pytest.raises(ValidationFailed) as exc:
        log(org["rep3"], c, staff=org["mgr_east"])
    assert exc.value.field == "staff"


def test_scope_other_rep_cannot_log_or_read(org, client):
    c = make(org["rep1"])
    entry = log(org["rep1"], c)
    with pytest.raises(NotFound):
        log(org["rep2"], c)
    with pytest.raises(NotFound):
        contactlog.contact_log_get(actor=org["rep2"], pk=entry.pk)
    with pytest.raises(NotFound):
        contactlog.contact_log_update(actor=org["rep2"], log_id=entry.pk, reason="x", summary="改")
    with pytest.raises(PermissionDenied):  # may read customers, may not log contacts
        log(org["credit"], c)
    assert list(contactlog.contact_log_list(actor=org["rep2"])) == []
    assert list(contactlog.contact_log_list(actor=org["credit"])) == [entry]
    assert list(contactlog.contact_log_list(actor=org["mgr_east"])) == [entry]
    login(client, org["rep2"])
    assert client.get(reverse("customer_contact_log_add", args=[c.pk])).status_code == 404
    r = client.post(
        reverse("customer_contact_log_add", args=[c.pk]),
        {"channel": "call", "contacted_at": "2026-01-05T10:00", "summary": "x", "contact_name": "y"},
    )
    assert r.status_code == 404
    assert client.get(reverse("customer_contact_log_detail", args=[c.pk, entry.pk])).status_code == 404
    assert client.post(reverse("customer_contact_log_done", args=[c.pk, entry.pk])).status_code == 404
    r = client.get(reverse("contact_log_list"))
    assert r.status_code == 200 and c.name not in r.content.decode()
    r = client.get(reverse("contact_log_list") + "?export=xlsx")
    rows = list(
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert len(rows) == 1  # the header only
    assert api(client, "get", f"/api/v1/customers/{c.pk}/contact-logs").status_code == 404
    r = api(
        client,
        "post",
        f"/api/v1/customers/{c.pk}/contact-logs",
        {"channel": "call", "summary": "x", "contact_name": "y"},
    )
    assert r.status_code == 404
    assert api(client, "get", "/api/v1/customers/contact-logs").json()["count"] == 0
    assert ContactLog.objects.count() == 1


# ---------------------------------------------------------------------------------------------------------------
# Next step, corrections
# ---------------------------------------------------------------------------------------------------------------


def test_next_step_creates_task_for_our_person_and_done_closes_it(org):
    c = make(org["rep1"])
    services.customer_set_staff(actor=org["rep1"], customer_id=c.pk, staff=[org["rep3"]], reason="协同")
    due = timezone.localdate() + dt.timedelta(days=7)
    entry = log(org["rep1"], c, staff=org["rep3"], next_step="寄送样品", next_step_due=due)
    task = tasks_of(entry).get()
    assert task.assignee == org["rep3"] and task.due == due and task.state == TaskState.OPEN
    assert "寄送样品" in task.title and c.name in task.title
    assert contactlog.next_step_open_ids([entry]) == {entry.pk}
    # a next step without a due date is a note, not a task
    assert not tasks_of(log(org["rep1"], c, next_step="有空再约")).exists()
    with pytest.raises(NotFound):
        contactlog.contact_log_next_step_done(actor=org["rep2"], log_id=entry.pk)
    contactlog.contact_log_next_step_done(actor=org["rep3"], log_id=entry.pk, note="样品已寄出")
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.closed_by == org["rep3"]
    assert contactlog.next_step_open_ids([entry]) == set()
    assert AuditEntry.objects.filter(
        object_type="customers.contactlog", object_id=str(entry.pk), reason="样品已寄出"
    ).exists()
    with pytest.raises(Conflict):
        contactlog.contact_log_next_step_done(actor=org["rep3"], log_id=entry.pk)


def test_correction_by_recorder_or_manager_with_reason_and_diff(org):
    c = make(org["rep1"])
    services.customer_set_staff(actor=org["rep1"], customer_id=c.pk, staff=[org["rep3"]], reason="协同")
    first = now() - dt.timedelta(days=3)
    entry = log(org["rep1"], c, contacted_at=first, next_step="报价", next_step_due=timezone.localdate())
    old_task = tasks_of(entry).get()
    # another assigned rep sees it but may not correct it; the reason is required
    with pytest.raises(PermissionDenied):
        contactlog.contact_log_update(actor=org["rep3"], log_id=entry.pk, reason="x", summary="改")
    with pytest.raises(ValidationFailed) as exc:
        contactlog.contact_log_update(actor=org["rep1"], log_id=entry.pk, reason=" ", summary="改")
    assert exc.value.field == "reason"
    with pytest.raises(ValidationFailed) as exc:
        contactlog.contact_log_update(actor=org["rep1"], log_id=entry.pk, reason="x", summary="")
    assert exc.value.field == "summary"
    # the recorder moves the time back a day and the due date on: the last contact and the task follow
    moved = first - dt.timedelta(days=1)
    new_due = timezone.localdate() + dt.timedelta(days=3)
    contactlog.contact_log_update(
        actor=org["rep1"], log_id=entry.pk, reason="时间记错", contacted_at=moved, next_step_due=new_due
    )
    c.refresh_from_db()
    assert c.last_contact_at == moved
    old_task.refresh_from_db()
    assert old_task.state == TaskState.DONE
    assert tasks_of(entry).filter(state=TaskState.OPEN).get().due == new_due
    row = AuditEntry.objects.filter(
        object_type="customers.contactlog", object_id=str(entry.pk), action="update"
    )
    row = row.exclude(reason="待办已办结").get()
    assert row.reason == "时间记错" and set(row.changes) == {"contacted_at", "next_step_due"}
    # the department's sales manager corrects it as well; a past due date that is unchanged is accepted
    contactlog.contact_log_update(actor=org["mgr_east"], log_id=entry.pk, reason="补充", summary="补充说明")
    entry.refresh_from_db()
    assert entry.summary == "补充说明"


# ---------------------------------------------------------------------------------------------------------------
# Frequency and gaps
# ---------------------------------------------------------------------------------------------------------------


def test_interval_comes_from_the_policy_per_class(org):
    c = make(org["rep1"])
    assert contactlog.contact_interval_days(c) == 90
    c.customer_class = "core"
    assert contactlog.contact_interval_days(c) == 30
    set_contact_policy(general_days=45, core_days=0)
    assert contactlog.contact_interval_days(Customer(customer_class="general")) == 45
    assert contactlog.contact_interval_days(c) == 0
    assert [d for _q, d in contactlog.interval_groups(contactlog.contact()[0])] == [30, 45]


def test_gap_job_per_class_idempotent_and_closed_by_next_contact(org):
    rep1, rep3 = org["rep1"], org["rep3"]
    general_old = activate(
        make(rep1, name="甲一般老客户有限公司"),
        days_ago=200,
        last_contact_at=timezone.now() - dt.timedelta(days=91),
    )
    activate(  # general, contacted 60 days ago: within 90 days
        make(rep1, name="乙一般近期客户有限公司"),
        days_ago=200,
        last_contact_at=timezone.now() - dt.timedelta(days=60),
    )
    important = activate(
        make(rep1, name="丙重要客户有限公司", customer_class="important", staff=[rep3]),
        days_ago=200,
        last_contact_at=timezone.now() - dt.timedelta(days=40),
    )
    never_old = activate(make(rep1, name="丁从未联系有限公司"), days_ago=100)
    activate(make(rep1, name="戊新启用客户有限公司"), days_ago=10)  # never contacted, activated recently
    prospect = make(rep1, name="己潜在客户有限公司")
    Customer.objects.filter(pk=prospect.pk).update(created_at=timezone.now() - dt.timedelta(days=400))
    ended = activate(make(rep1, name="庚终止客户有限公司"), days_ago=300)
    Customer.objects.filter(pk=ended.pk).update(status="ended")

    result = contactlog.contact_gaps_raise()
    gaps = {g.customer_id: g for g in ContactGap.objects.filter(closed_at__isnull=True)}
    assert set(gaps) == {general_old.pk, important.pk, never_old.pk}
    assert result == {"opened": 3, "closed": 0}
    assert gaps[important.pk].interval_days == 30 and gaps[general_old.pk].interval_days == 90
    assert gaps[never_old.pk].last_contact_on is None
    task = tasks_of(gaps[important.pk]).get()
    assert task.assignee == rep1 and task.state == TaskState.OPEN and "30" in task.title
    assert "未联系" in task.title
    # a summary audit entry per batch, with the policy version
    entries = AuditEntry.objects.filter(object_type="customers.contactgap", action="create")
    assert sorted(e.changes["count"] for e in entries) == [1, 2]  # important: 1; general: 2
    assert {e.policy_version for e in entries} == {str(contactlog.contact()[1])}

    # running again raises nothing new
    assert contactlog.contact_gaps_raise() == {"opened": 0, "closed": 0}
    assert (
        ContactGap.objects.count() == 3 and Task.objects.filter(target_type__model="contactgap").count() == 3
    )

    # the next contact closes the gap and its task; the customer is current again
    log(rep3, important)
    gap = ContactGap.objects.get(pk=gaps[important.pk].pk)
    assert gap.closed_at is not None
    assert tasks_of(gap).get().state == TaskState.DONE
    assert contactlog.contact_gaps_raise()["opened"] == 0

    # an older contact logged late does not close a gap measured from a newer one
    log(rep1, general_old, contacted_at=timezone.now() - dt.timedelta(days=120))
    assert ContactGap.objects.get(pk=gaps[general_old.pk].pk).closed_at is None

    # a customer that ends leaves the gaps: its open gap closes with the task
    Customer.objects.filter(pk=never_old.pk).update(status="suspended")
    assert contactlog.contact_gaps_raise() == {"opened": 0, "closed": 1}
    assert tasks_of(gaps[never_old.pk]).get().state == TaskState.DONE


def test_gap_job_follows_a_policy_change(org):
    c = activate(make(org["rep1"]), days_ago=200, last_contact_at=timezone.now() - dt.timedelta(days=50))
    assert contactlog.contact_gaps_raise()["opened"] == 0  # general: 90 days
    set_contact_policy(general_days=45)
    assert contactlog.contact_gaps_raise()["opened"] == 1
    gap = ContactGap.objects.get(customer=c)
    assert gap.interval_days == 45
    assert gap.due_on == timezone.localtime(c.last_contact_at).date() + dt.timedelta(days=45)
    entry = AuditEntry.objects.filter(object_type="customers.contactgap").latest("seq")
    assert entry.policy_version == str(contactlog.contact()[1])
    # 0 days: no minimum for the class
    set_contact_policy(general_days=0)
    other = activate(make(org["rep1"], name="苏州恒通电子科技有限公司"), days_ago=400)
    contactlog.contact_gaps_raise()
    assert not ContactGap.objects.filter(customer=other).exists()


def test_gap_job_is_registered_as_a_daily_periodic_job():
    from kehu.core.jobs.scheduler import discover

    jobs = {j.name: j for j in discover()}
    job = jobs["customers.contact_gaps_raise"]
    assert job.func == "kehu.customers.contactlog.contact_gaps_raise" and job.every.startswith("daily")


def test_gap_page_lists_open_gaps_in_scope(org, client):
    c = activate(make(org["rep1"]), days_ago=200)
    contactlog.contact_gaps_raise()
    login(client, org["rep1"])
    r = client.get(reverse("contact_gap_list"))
    assert r.status_code == 200 and c.name in r.content.decode()
    assert reverse("customer_contact_log_add", args=[c.pk]) in r.content.decode()
    client.logout()
    login(client, org["rep2"])
    assert c.name not in client.get(reverse("contact_gap_list")).content.decode()
    assert api(client, "get", "/api/v1/customers/contact-gaps").json()["count"] == 0


# ---------------------------------------------------------------------------------------------------------------
# Pages, sections, export, API
# ---------------------------------------------------------------------------------------------------------------


def test_page_form_logs_a_visit_and_sections_show_it(org, client, django_assert_max_num_queries):
    c = make(org["rep1"])
    p = services.contact_add(actor=org["rep1"], customer_id=c.pk, name="李四", mobile="13912345678")
    login(client, org["rep1"])
    url = reverse("customer_contact_log_add", args=[c.pk])
    r = client.get(url + "?channel=visit")
    assert r.status_code == 200 and 'value="visit" selected' in r.content.decode()
    # an error keeps the typed values and names the field
    bad = {"channel": "visit", "contacted_at": "2026-01-05T10:00", "staff": org["rep1"].pk, "summary": ""}
    r = client.post(url, {**bad, "contact": p.pk})
    assert r.status_code == 200 and "is-invalid" in r.content.decode()
    good = {
        **bad,
        "contact": p.pk,
        "summary": "到厂参观生产线",
        "next_step": "发送报价",
        "next_step_due": (timezone.localdate() + dt.timedelta(days=5)).isoformat(),
    }
    good["contacted_at"] = timezone.localtime(now() - dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    r = client.post(url, good)
    entry = ContactLog.objects.get()
    assert r.status_code == 302 and r["Location"] == reverse(
        "customer_contact_log_detail", args=[c.pk, entry.pk]
    )
    # a visit report carries its files
    from kehu.core.attachments import attachment_add

    att = attachment_add(
        actor=org["rep1"],
        target=entry,
        upload=SimpleUploadedFile("拜访报告.pdf", PDF, content_type="application/pdf"),
        doc_type="other",
        title="拜访报告",
    )
    r = client.get(reverse("customer_contact_log_detail", args=[c.pk, entry.pk]))
    body = r.content.decode()
    assert r.status_code == 200 and "到厂参观生产线" in body and "拜访报告" in body
    assert reverse("customer_contact_log_done", args=[c.pk, entry.pk]) in body
    detail = reverse("customer_detail", args=[c.pk])
    client.get(detail + "?tab=1")
    with django_assert_max_num_queries(25):
        r = client.get(detail + "?tab=1")
    body = r.content.decode()
    assert 'data-section="customers.visit_reports"' in body and "到厂参观生产线" in body
    assert reverse("attachment_download", args=[att.pk]) in body
    with django_assert_max_num_queries(25):
        r = client.get(detail + "?tab=5")
    body = r.content.decode()
    assert 'data-section="customers.contact_log"' in body and "发送报价" in body and "李四" in body
    assert reverse("contact_log_list") + f"?customer={c.pk}" in body
    # done from the page
    r = client.post(reverse("customer_contact_log_done", args=[c.pk, entry.pk]), {"note": "已报价"})
    assert r.status_code == 302 and not tasks_of(entry).filter(state=TaskState.OPEN).exists()
    # a reader (credit officer) sees the sections but no logging button
    client.logout()
    login(client, org["credit"])
    body = client.get(detail + "?tab=5").content.decode()
    assert "到厂参观生产线"[:4] in body and reverse("customer_contact_log_add", args=[c.pk]) not in body
    assert client.get(url).status_code == 403


def test_edit_page_requires_reason(org, client):
    c = make(org["rep1"])
    entry = log(org["rep1"], c)
    login(client, org["rep1"])
    url = reverse("customer_contact_log_edit", args=[c.pk, entry.pk])
    assert client.get(url).status_code == 200
    data = {
        "channel": "email",
        "contacted_at": timezone.localtime(entry.contacted_at).strftime("%Y-%m-%dT%H:%M"),
        "staff": org["rep1"].pk,
        "contact_name": "张经理",
        "summary": "邮件确认订货计划",
    }
    r = client.post(url, data)
    assert r.status_code == 200 and "is-invalid" in r.content.decode()
    r = client.post(url, {**data, "reason": "方式记错"})
    assert r.status_code == 302
    entry.refresh_from_db()
    assert entry.channel == "email" and entry.summary == "邮件确认订货计划"
    client.logout()
    login(client, org["rep2"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("n", [3, 30])
def test_cross_customer_list_filters_export_and_bounded_queries(
    org, client, django_assert_max_num_queries, n
):
    customers = [
        make(org["rep1"], name=f"测试客户{i:03d}号机械有限公司", confirm_duplicates=True) for i in range(3)
    ]
    due = timezone.localdate() + dt.timedelta(days=3)
    for i in range(n):
        log(
            org["rep1"],
            customers[i % 3],
            channel="visit" if i % 2 else "call",
            contacted_at=now() - dt.timedelta(days=i),
            next_step="回访" if i % 3 == 0 else "",
            next_step_due=due if i % 3 == 0 else None,
        )
    other = make(org["rep2"], name="深圳南方贸易有限公司")
    log(org["rep2"], other, summary="南方客户的联系")
    login(client, org["rep1"])
    url = reverse("contact_log_list")
    client.get(url)
    with django_assert_max_num_queries(14):
        r = client.get(url + "?size=50")
    body = r.content.decode()
    assert r.status_code == 200 and "南方客户的联系" not in body
    assert body.count("bi-geo-alt") >= 1 and "待办" in body
    r = client.get(url, {"customer": customers[0].pk, "channel": "call"})
    expected = ContactLog.objects.filter(customer=customers[0], channel="call").count()
    assert r.status_code == 200 and f"共 {expected} 条" in r.content.decode()
    day = timezone.localdate() - dt.timedelta(days=1)
    r = client.get(url, {"date_from": day.isoformat(), "date_to": day.isoformat()})
    assert "共 1 条" in r.content.decode()
    r = client.get(url, {"staff": org["rep2"].pk})
    assert "共 0 条" in r.content.decode()
    r = client.get(url, {"open_next_step": "on"})
    assert f"共 {len(range(0, n, 3))} 条" in r.content.decode()
    with django_assert_max_num_queries(14):
        r = client.get(url + "?export=xlsx")
    assert r.status_code == 200
    rows = list(
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert len(rows) == n + 1 and "联系时间" in rows[0]
    assert all("南方" not in str(cell) for row in rows for cell in row)
    # the API list, same scope and filters
    data = api(client, "get", "/api/v1/customers/contact-logs?channel=visit&page_size=100").json()
    assert data["count"] == n // 2 and all(i["channel"] == "visit" for i in data["items"])
    with django_assert_max_num_queries(12):
        data = api(client, "get", "/api/v1/customers/contact-logs?page_size=100").json()
    assert data["count"] == n and sum(1 for i in data["items"] if i["next_step_open"]) == len(range(0, n, 3))


def test_api_log_read_correct_done(org, client):
    c = make(org["rep1"])
    p = services.contact_add(actor=org["rep1"], customer_id=c.pk, name="李四", mobile="13912345678")
    login(client, org["rep1"])
    base = f"/api/v1/customers/{c.pk}/contact-logs"
    r = api(client, "post", base, {"channel": "call", "summary": "", "contact_id": p.pk})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "summary"
    r = api(client, "post", base, {"channel": "call", "summary": "x", "staff": "rep2", "contact_id": p.pk})
    assert r.status_code == 400 and r.json()["detail"] == {"field": "staff", "rule": "customer_staff"}
    due = (timezone.localdate() + dt.timedelta(days=2)).isoformat()
    r = api(
        client,
        "post",
        base,
        {
            "channel": "visit",
            "summary": "拜访",
            "contact_id": p.pk,
            "next_step": "寄合同",
            "next_step_due": due,
        },
    )
    assert r.status_code == 201, r.content
    item = r.json()
    assert item["contact_name"] == "李四" and item["staff"] == "rep1" and item["next_step_open"] is True
    assert api(client, "get", base).json()["count"] == 1
    r = api(client, "patch", f"{base}/{item['id']}", {"summary": "拜访并参观"})
    assert r.status_code == 400  # the reason is required
    r = api(client, "patch", f"{base}/{item['id']}", {"summary": "拜访并参观", "reason": "补充"})
    assert r.status_code == 200 and r.json()["summary"] == "拜访并参观"
    r = api(client, "post", f"{base}/{item['id']}/done", {"note": "合同已寄"})
    assert r.status_code == 200 and r.json()["next_step_open"] is False
    assert api(client, "post", f"{base}/{item['id']}/done", {}).status_code == 409
    c.refresh_from_db()
    assert c.last_contact_at is not None


@pytest.mark.postgres
@pytest.mark.django_db
def test_concurrent_contacts_keep_the_latest_last_contact():
    """Two contacts logged at the same moment: ``last_contact_at`` ends at the later one, whichever commits
    first (the conditional UPDATE re-checks the row after waiting for the other writer)."""
    import random
    import threading
    import uuid

    from django.db import connection

    from kehu.core.tests.factories import DepartmentFactory, user_with
    from kehu.core.tests.threads import in_thread as _in_thread
    from kehu.core.uscc import uscc_generate

    tag = uuid.uuid4().hex[:6]

    def setup():
        dept = DepartmentFactory(kind="sales", code=f"L{tag}")
        rep = user_with("sales_rep", department=dept, username=f"l1{tag}")
        c = services.customer_create(
            actor=rep, name=f"并发联系{tag}有限公司", credit_code=uscc_generate(random.Random(tag))
        )
        return rep, c

    rep, c = _in_thread(setup)
    base = now() - dt.timedelta(days=1)
    times = [base + dt.timedelta(minutes=m) for m in (10, 40, 20, 30)]
    barrier = threading.Barrier(len(times))
    errors: list[str] = []

    def write(at):
        try:
            barrier.wait(timeout=10)
            log(rep, c, contacted_at=at)
        except Exception as exc:  # pragma: no cover - shows in the assertion
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(at,)) for at in times]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        assert _in_thread(lambda: Customer.objects.get(pk=c.pk).last_contact_at) == max(times)
    finally:
        _in_thread(lambda: Customer.objects.filter(pk=c.pk).delete())


# ---------------------------------------------------------------------------------------------------------------
# Extension points: interval sources and contact listeners (used by grading, R-GRD-03)
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def kind_source():
    """A source that gives distributors a 20-day interval (registered for one test only)."""
    from django.db.models import F

    def days_for(customer, day):
        return (20, "经销商") if customer.kind == "distributor" else None

    contactlog.register_interval_source(
        "test.kind", days_for_customer=days_for, groups=lambda day: (F("kind"), [("distributor", 20)])
    )
    yield
    contactlog._INTERVAL_SOURCES.pop("test.kind", None)


def test_interval_source_shortens_the_class_interval_and_splits_the_gap_job(org, kind_source, client):
    rep1 = org["rep1"]
    dist = activate(
        make(rep1, kind="distributor"), days_ago=200, last_contact_at=now() - dt.timedelta(days=25)
    )
    plain = activate(
        make(rep1, name="苏州恒通电子科技有限公司"),
        days_ago=200,
        last_contact_at=now() - dt.timedelta(days=25),
    )
    assert contactlog.contact_interval(dist) == contactlog.ContactInterval(20, "test.kind", "经销商")
    assert contactlog.contact_interval(plain).source == "class"
    assert contactlog.contact_interval_days(plain) == 90
    # per class: distributors 20 days (the shorter), the rest the class's interval
    assert [d for _q, d in contactlog.interval_groups(contactlog.contact()[0])] == [20, 30, 20, 30, 20, 90]
    assert contactlog.contact_gaps_raise()["opened"] == 1
    gap = ContactGap.objects.get()
    assert gap.customer_id == dist.pk and gap.interval_days == 20
    assert contactlog.contact_gaps_raise()["opened"] == 0
    # the dossier's contact-log section names what sets the interval
    page = login(client, rep1).get(f"/customers/{dist.pk}/?tab=5").content.decode()
    assert 'data-contact-interval="test.kind"' in page and "至少每 20 天联系一次（经销商）" in page
    page = client.get(f"/customers/{plain.pk}/?tab=5").content.decode()
    assert "至少每 90 天联系一次（客户类别：一般）" in page


def test_contact_listener_is_called_on_create_and_on_a_channel_or_time_correction(org):
    seen: list[tuple[int, str, str | None]] = []
    contactlog.register_contact_listener(
        "test.seen",
        lambda log_, actor, before: seen.append((log_.pk, log_.channel, before and before.channel)),
    )
    try:
        rep1 = org["rep1"]
        c = make(rep1)
        entry = log(rep1, c)
        assert seen == [(entry.pk, "call", None)]
        contactlog.contact_log_update(actor=rep1, log_id=entry.pk, reason="补充", summary="补充内容")
        assert len(seen) == 1  # the summary is not what listeners act on
        contactlog.contact_log_update(actor=rep1, log_id=entry.pk, reason="实为拜访", channel="visit")
        assert seen[-1] == (entry.pk, "visit", "call")  # with the channel it had
    finally:
        contactlog._CONTACT_LISTENERS.pop("test.seen", None)
