"""Information groups and deadlines (R-CUS-04): completion per group, deadlines in working days from the policy
version in force, the daily overdue job (one task per group, idempotent), completion closing the task, customers
without deadlines, page and API (scoped)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from freezegun import freeze_time

from kehu.core.attachments import attachment_add
from kehu.core.policies.models import PolicyVersion
from kehu.core.policies.services import clear_cache
from kehu.core.tests.factories import PASSWORD
from kehu.core.workdays import workdays_add
from kehu.customers import groups, reminders, services
from kehu.customers.models import GroupDeadline, InfoGroup
from kehu.customers.tests.conftest import make
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_policies():
    """Policy values are cached per thread; a version written in a rolled-back test must not leak."""
    clear_cache()
    yield
    clear_cache()


D = dt.date
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# master data that completes each group (documents and contacts added separately)
FIELDS = {
    InfoGroup.IDENTIFICATION: {
        "enterprise_type": "有限责任公司",
        "legal_representative": "王五",
        "province": "上海",
        "city": "上海",
        "registered_address": "上海市浦东新区张江路 1 号",
    },
    InfoGroup.BASIC: {
        "founded_on": D(2010, 5, 1),
        "registered_capital": "5000000",
        "operating_from": D(2010, 5, 1),
        "issuing_authority": "上海市市场监督管理局",
        "office_address": "上海市浦东新区张江路 1 号",
        "postcode": "201203",
        "phone": "021-58881234",
    },
    InfoGroup.BUSINESS: {
        "invoice_title": "上海华信精密机械有限公司",
        "tax_number": "91310000MA1FL4TQ2X",
        "bank_name": "工商银行张江支行",
        "bank_account": "1001234567890",
    },
    InfoGroup.OPERATING: {
        "industry": "machinery",
        "business_scope": "精密机械制造",
        "chairman": "张三",
        "general_manager": "李四",
    },
    InfoGroup.COMPLIANCE: {"licence_valid_until": D(2040, 1, 1)},
    InfoGroup.IMAGE: {"website": "https://www.example.cn", "certifications": "ISO 9001"},
}


def status(c) -> dict[str, groups.GroupStatus]:
    return {g.group: g for g in groups.group_status(c)}


def doc(actor, c, doc_type, **kw):
    return attachment_add(
        actor=actor,
        target=c,
        upload=SimpleUploadedFile(f"{doc_type}.pdf", PDF, content_type="application/pdf"),
        doc_type=doc_type,
        **kw,
    )


def test_each_group_completes_with_its_own_data(org):
    rep = org["rep1"]
    c = make(rep)
    s = status(c)
    assert [g.group for g in groups.group_status(c)] == list(InfoGroup.values)
    ident = s[InfoGroup.IDENTIFICATION]
    assert (ident.done, ident.total) == (3, 8) and not ident.complete  # name, credit code, kind
    assert "法定代表人" in ident.missing and "客户名称" not in ident.missing
    assert all(not g.complete for g in s.values())

    for fields in FIELDS.values():
        services.customer_update(actor=rep, customer_id=c.pk, **fields)
    c.refresh_from_db()
    s = status(c)
    assert s[InfoGroup.IDENTIFICATION].complete and s[InfoGroup.BASIC].complete
    # contacts, documents still missing
    assert s[InfoGroup.BUSINESS].missing == ["有效联系人", "有效签单人员"]
    assert s[InfoGroup.OPERATING].missing == ["决策人联系人", "财务报表"]
    assert set(s[InfoGroup.COMPLIANCE].missing) == {"税务登记证", "必备证照齐全且在有效期内"}
    assert s[InfoGroup.IMAGE].missing == ["照片"]

    services.contact_add(
        actor=rep, customer_id=c.pk, name="赵六", role="decision_maker", mobile="13912345678", is_signer=True
    )
    s = status(c)
    assert s[InfoGroup.BUSINESS].complete and s[InfoGroup.OPERATING].missing == ["财务报表"]
    doc(rep, c, "statement")
    doc(rep, c, "tax_registration")
    doc(rep, c, "business_licence", valid_to=D(2040, 1, 1))
    doc(rep, c, "photo")
    s = status(c)
    assert all(g.complete and g.percent == 100 for g in s.values()), {k: g.missing for k, g in s.items()}
    # every group was marked complete as its data arrived
    assert GroupDeadline.objects.filter(customer=c, completed_at__isnull=False).count() == 6


def test_expired_licence_makes_compliance_incomplete(org):
    rep = org["rep1"]
    c = make(rep, licence_valid_until=D(2040, 1, 1))
    doc(rep, c, "tax_registration")
    doc(rep, c, "business_licence", valid_to=D(2020, 1, 1))
    assert status(c)[InfoGroup.COMPLIANCE].missing == ["必备证照齐全且在有效期内"]


def test_natural_person_counts_only_items_that_apply(org):
    c = make(org["rep1"], name="王小明", credit_code="", is_person=True)
    s = status(c)
    assert s[InfoGroup.IDENTIFICATION].total == 5  # no credit code, enterprise type, legal representative
    assert s[InfoGroup.COMPLIANCE].total == 1 and s[InfoGroup.COMPLIANCE].complete  # no licence needed
    assert GroupDeadline.objects.get(customer=c, group="compliance").completed_at is not None


def test_group_complete_at_creation_is_marked_at_once(org):
    c = make(org["rep1"], **FIELDS[InfoGroup.IDENTIFICATION])
    rows = {d.group: d for d in GroupDeadline.objects.filter(customer=c)}
    assert rows["identification"].completed_at is not None
    assert rows["basic"].completed_at is None


def test_deadlines_in_working_days_across_spring_festival(org):
    with freeze_time("2026-02-13 10:00:00+08:00"):  # Friday before the 2026 Spring Festival holiday
        c = make(org["rep1"])
    rows = {d.group: d for d in GroupDeadline.objects.filter(customer=c)}
    assert len(rows) == 6
    # 14 Feb is a make-up working day (Saturday), 15-23 Feb holiday
    assert rows["identification"].due_on == D(2026, 2, 24)
    assert rows["business"].due_on == D(2026, 2, 25)
    assert rows["basic"].due_on == workdays_add(D(2026, 2, 13), 15) == D(2026, 3, 12)
    assert rows["image"].due_on == rows["basic"].due_on
    version = PolicyVersion.objects.get(type_key="customers.groups", number=1)
    assert {d.policy_version_id for d in rows.values()} == {version.pk}


def test_policy_change_affects_only_customers_created_afterwards(org):
    with freeze_time("2026-03-02 09:00:00+08:00"):  # Monday
        before = make(org["rep1"])
        v2 = PolicyVersion.objects.create(
            type_key="customers.groups",
            number=2,
            status="formal",
            effective_from=D(2026, 3, 1),
            values={"deadlines": {"identification": 5, "business": 1}},
        )
        after = make(org["rep1"], name="苏州远景电子科技有限公司")
    old = {d.group: d for d in GroupDeadline.objects.filter(customer=before)}
    new = {d.group: d for d in GroupDeadline.objects.filter(customer=after)}
    assert old["identification"].due_on == D(2026, 3, 4) and old["business"].due_on == D(2026, 3, 5)
    assert new["identification"].due_on == D(2026, 3, 9) and new["business"].due_on == D(2026, 3, 3)
    assert new["basic"].due_on == old["basic"].due_on  # unchanged value, default 15
    assert {d.policy_version_id for d in new.values()} == {v2.pk}
    assert {d.policy_version_id for d in old.values()} != {v2.pk}


def open_tasks(target_ids):
    return Task.objects.filter(target_id__in=[str(i) for i in target_ids], state=TaskState.OPEN)


def test_overdue_job_one_task_per_group_idempotent_closed_on_completion(org):
    rep = org["rep1"]
    with freeze_time("2026-03-02 09:00:00+08:00"):
        c = make(rep)
        ended = make(rep, name="杭州终止客户贸易有限公司")
        services.customer_end(
            actor=org["mgr_east"], customer_id=ended.pk, reason="停业", ended_reason="trade_past"
        )
    rows = {d.group: d for d in GroupDeadline.objects.filter(customer=c)}
    # on the due day itself nothing is overdue yet
    assert reminders.group_deadlines_overdue(at=D(2026, 3, 4)) == {"raised": 0, "completed": 0}
    result = reminders.group_deadlines_overdue(at=D(2026, 3, 6))
    assert result == {
        "raised": 2,
        "completed": 0,
    }  # identification (4 Mar) and business (5 Mar); ended skipped
    tasks = open_tasks([rows["identification"].pk, rows["business"].pk])
    assert tasks.count() == 2 and {t.assignee_id for t in tasks} == {rep.pk}
    assert "识别信息逾期未填写完整" in " ".join(t.title for t in tasks)
    # twice: nothing new
    assert reminders.group_deadlines_overdue(at=D(2026, 3, 6))["raised"] == 0
    assert reminders.group_deadlines_overdue(at=D(2026, 3, 9))["raised"] == 0
    assert Task.objects.filter(title__contains="逾期未填写完整").count() == 2
    raised = GroupDeadline.objects.get(pk=rows["identification"].pk)
    assert raised.task_raised_at is not None and raised.completed_at is None
    # the page shows the group overdue
    assert status(c)[InfoGroup.IDENTIFICATION].overdue  # today is after 2026-03-04
    # completing the group closes its task, and only its task
    services.customer_update(actor=rep, customer_id=c.pk, **FIELDS[InfoGroup.IDENTIFICATION])
    ident = GroupDeadline.objects.get(pk=rows["identification"].pk)
    assert ident.completed_at is not None
    assert not open_tasks([ident.pk]).exists()
    assert Task.objects.get(target_id=str(ident.pk), title__contains="逾期").state == TaskState.DONE
    assert open_tasks([rows["business"].pk]).count() == 1


def test_overdue_job_marks_groups_completed_outside_the_services(org):
    with freeze_time("2026-03-02 09:00:00+08:00"):
        c = make(org["rep1"])
    from kehu.customers.models import Customer

    Customer.objects.filter(pk=c.pk).update(**FIELDS[InfoGroup.IDENTIFICATION])  # e.g. a bulk correction
    assert reminders.group_deadlines_overdue(at=D(2026, 3, 6)) == {"raised": 1, "completed": 1}
    assert GroupDeadline.objects.get(customer=c, group="identification").task_raised_at is None


def test_customer_without_deadlines_shows_completion_only(org, client):
    c = make(org["rep1"])
    GroupDeadline.objects.filter(customer=c).delete()  # created before deadlines existed
    s = groups.group_status(c)
    assert all(g.due_on is None and not g.overdue for g in s)
    assert reminders.group_deadlines_overdue(at=D(2099, 1, 1))["raised"] == 0
    services.customer_update(actor=org["rep1"], customer_id=c.pk, **FIELDS[InfoGroup.IDENTIFICATION])
    assert not GroupDeadline.objects.filter(customer=c).exists()
    assert client.login(username="rep1", password=PASSWORD)
    body = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert 'data-group="identification"' in body and "8/8" in body and "完成期限" not in body


def test_overview_card_and_api_scoped(org, client):
    with freeze_time("2026-03-02 09:00:00+08:00"):
        c = make(org["rep1"])
    assert client.login(username="rep1", password=PASSWORD)
    body = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "信息组完成情况" in body and "3/8" in body and "2026-03-04" in body
    assert 'data-state="overdue"' in body  # today is long after March 2026
    assert "待补充：" in body and "法定代表人" in body
    r = client.get(f"/api/v1/customers/{c.pk}/groups")
    assert r.status_code == 200
    data = {g["group"]: g for g in r.json()}
    assert data["identification"]["done"] == 3 and data["identification"]["total"] == 8
    assert data["identification"]["due_on"] == "2026-03-04" and data["identification"]["overdue"] is True
    client.logout()
    assert client.login(username="rep2", password=PASSWORD)
    assert client.get(f"/api/v1/customers/{c.pk}/groups").status_code == 404
    assert client.get(reverse("customer_detail", args=[c.pk])).status_code == 404
