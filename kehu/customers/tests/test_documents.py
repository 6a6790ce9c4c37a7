"""Documents with expiry (R-CUS-05) and the contracts of archive category 2 (R-CUS-06): the check other modules
call, the list summary and its filter (page, export, API), the "证照" section and title flag, the warnings at the
policy's lead times (once each, nearest only when late, resolved by a replacement), scope (404), query counts."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import python_calamine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from kehu.core.attachments import attachment_add, attachment_replace
from kehu.core.errors import PermissionDenied
from kehu.core.policies.models import PolicyVersion
from kehu.core.policies.services import clear_cache
from kehu.core.tests.factories import PASSWORD
from kehu.customers import documents, reminders, selectors
from kehu.customers.documents import customer_documents_valid
from kehu.customers.models import Customer, DocumentWarning
from kehu.customers.tests.conftest import make
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db

D = dt.date
PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_policies():
    clear_cache()
    yield
    clear_cache()


def today() -> dt.date:
    return timezone.localdate()


def days(n: int) -> dt.date:
    return today() + dt.timedelta(days=n)


def pdf(name: str = "执照.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def doc(actor, c, doc_type="business_licence", **kw):
    return attachment_add(actor=actor, target=c, upload=pdf(f"{doc_type}.pdf"), doc_type=doc_type, **kw)


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def fresh(c) -> Customer:
    return Customer.objects.get(pk=c.pk)


def summary(c) -> tuple[dt.date | None, bool]:
    c = fresh(c)
    return c.documents_expiry, c.documents_missing


# -- the check -------------------------------------------------------------------------------------------------


def test_check_missing_expired_not_yet_valid_and_stand_in(org):
    rep = org["rep1"]
    c = make(rep)
    check = customer_documents_valid(c, today())
    assert not check.ok and [(p.doc_type, p.state) for p in check.problems] == [
        ("business_licence", "missing")
    ]
    assert "缺少营业执照" in check.message and check.policy_version_id is not None

    old = doc(rep, c, valid_from=D(2015, 1, 1), valid_to=days(-1))
    check = customer_documents_valid(c)
    assert [(p.state, p.valid_to) for p in check.problems] == [("expired", days(-1))]
    assert customer_documents_valid(c, days(-1)).ok  # on its last day it is still valid

    attachment_replace(
        actor=rep, attachment_id=old.pk, upload=pdf(), reason="换发", valid_from=days(10), valid_to=days(3000)
    )
    check = customer_documents_valid(c)
    assert [p.state for p in check.problems] == ["not_yet_valid"] and "尚未生效" in check.message
    assert customer_documents_valid(c, days(10)).ok

    # a second, valid document of the same type stands in
    doc(rep, c, valid_from=D(2020, 1, 1), valid_to=days(400))
    assert customer_documents_valid(c).ok


def test_check_other_types_and_natural_person(org):
    rep = org["rep1"]
    c = make(rep)
    doc(rep, c, valid_to=days(400))
    q = doc(rep, c, "qualification", valid_to=days(-5))
    doc(rep, c, "contract", valid_to=days(-5))  # a contract that ended is no document problem
    check = customer_documents_valid(c)
    assert [(p.doc_type, p.state) for p in check.problems] == [("qualification", "expired")]
    attachment_replace(actor=rep, attachment_id=q.pk, upload=pdf(), reason="复审", valid_to=days(700))
    assert customer_documents_valid(c).ok

    person = make(rep, name="王小明", credit_code="", is_person=True)
    assert customer_documents_valid(person).ok
    assert summary(person) == (None, False)


# -- the summary -------------------------------------------------------------------------------------------------


def recomputed(c) -> tuple[dt.date | None, bool]:
    """The summary as the bulk recomputation finds it (and leaves it)."""
    documents.refresh_all_summaries()
    return summary(c)


def test_summary_equals_recomputation_after_add_replace_and_policy_change(org):
    rep = org["rep1"]
    c = make(rep)
    assert summary(c) == (None, True) == recomputed(c)
    lic = doc(rep, c, valid_to=days(100))
    assert summary(c) == (days(100), False)
    assert documents.refresh_all_summaries() == 0
    q = doc(rep, c, "qualification", valid_to=days(50))
    assert summary(c) == (days(50), False) == recomputed(c)
    attachment_replace(actor=rep, attachment_id=q.pk, upload=pdf(), reason="换证", valid_to=days(500))
    assert summary(c) == (days(100), False) == recomputed(c)
    attachment_replace(actor=rep, attachment_id=lic.pk, upload=pdf(), reason="换证", clear=("valid_to",))
    assert summary(c) == (days(500), False) == recomputed(c)
    # expiry: the fields stay, the state read from them moves with the date
    assert documents.summary_state(fresh(c), days(501)) == documents.EXPIRED
    assert documents.summary_state(fresh(c), days(480)) == documents.EXPIRING
    # the policy now also requires a tax registration: the job recomputes everyone
    PolicyVersion.objects.create(
        type_key="customers.documents",
        number=2,
        status="formal",
        effective_from=D(2020, 1, 1),
        values={"required_types": ["business_licence", "tax_registration"]},
    )
    assert summary(c) == (days(500), False)
    assert reminders.documents_summaries_refresh() == {"changed": 1}
    assert summary(c) == (days(500), True)
    assert not customer_documents_valid(c).ok


# -- list filter -------------------------------------------------------------------------------------------------


@pytest.fixture
def four(org):
    """One customer of rep1 in each document state."""
    rep = org["rep1"]
    out = {
        "valid": make(rep, name="甲有效机械有限公司"),
        "expiring": make(rep, name="乙将到期贸易有限公司"),
        "expired": make(rep, name="丙已过期电子有限公司"),
        "missing": make(rep, name="丁缺失化工有限公司"),
    }
    doc(rep, out["valid"], valid_to=days(400))
    doc(rep, out["expiring"], valid_to=days(10))
    doc(rep, out["expired"], valid_to=days(-3))
    doc(rep, out["missing"], "qualification", valid_to=days(400))
    return out


def test_filter_values_selector_page_export_api(org, four, client):
    rep = org["rep1"]
    for state, c in four.items():
        found = list(selectors.customer_list(actor=rep, filters={"documents": state}))
        assert found == [fresh(c)], state
        assert documents.summary_state(fresh(c)) == state
    assert selectors.customer_list(actor=rep, filters={"documents": "bogus"}).count() == 4
    login(client, rep)
    for state, c in four.items():
        body = client.get(reverse("customer_list") + f"?documents={state}").content.decode()
        others = [o for o in four.values() if o.pk != c.pk]
        assert c.name in body and not any(o.name in body for o in others), state
    body = client.get(reverse("customer_list")).content.decode()
    assert 'data-documents="expired"' in body and "证照状态" in body
    r = client.get(reverse("customer_list") + "?documents=expired&export=xlsx")
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content)).get_sheet_by_index(0)
    values = [v for row in sheet.to_python() for v in row]
    assert four["expired"].name in values and "已过期" in values and four["valid"].name not in values
    for state, c in four.items():
        r = client.get(f"/api/v1/customers?documents={state}")
        assert r.status_code == 200 and [x["id"] for x in r.json()["items"]] == [c.pk], state


def test_filter_uses_summary_fields_only(org, four):
    qs = selectors.customer_list(actor=org["gm"], filters={"documents": "expiring"})
    sql = str(qs.query).lower()
    assert "documents_expiry" in sql and "attachment" not in sql


def test_list_query_count_unchanged_by_the_column(org, four, client, django_assert_max_num_queries):
    login(client, org["rep1"])
    client.get(reverse("customer_list"))
    with django_assert_max_num_queries(10):
        assert client.get(reverse("customer_list") + "?documents=expired").status_code == 200


# -- dossier -----------------------------------------------------------------------------------------------------


def test_dossier_section_flags_and_missing_rows(org, client):
    rep = org["rep1"]
    c = make(rep)
    login(client, rep)
    body = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert 'data-documents-flag="1"' in body and "缺少必备证照" in body
    body = client.get(reverse("customer_detail", args=[c.pk]) + "?tab=1").content.decode()
    assert 'data-section="customers.documents"' in body and 'data-missing="1"' in body
    assert "上传证照" in body and 'id="documents-modal-' in body
    q = doc(rep, c, "qualification", number="Q-001", issuing_authority="住建部", valid_to=days(-2))
    doc(rep, c, valid_to=days(20), number="L-9")
    doc(rep, c, "other", title="厂区平面图")
    body = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert "证照已过期" in body
    body = client.get(reverse("customer_detail", args=[c.pk]) + "?tab=1").content.decode()
    assert 'data-missing="1"' not in body
    assert 'data-state="expired"' in body and 'data-state="expiring"' in body
    assert "Q-001" in body and "住建部" in body and "L-9" in body
    assert reverse("attachment_replace", args=[q.pk]) in body
    # the generic panel keeps the other files, not the licences
    generic = body.split('data-section="customers.attachments"')[1]
    assert "厂区平面图" in generic and "Q-001" not in generic
    # the documents page shows the check
    body = client.get(reverse("customer_documents", args=[c.pk])).content.decode()
    assert "资质证书已于" in body
    # upload through the section's form (the attachment store's upload page)
    r = client.post(
        reverse("attachment_upload", args=["customers", "customer", c.pk]),
        {"file": pdf(), "doc_type": "qualification", "valid_to": days(900).isoformat(), "next": "/x/"},
    )
    assert r.status_code == 302
    assert customer_documents_valid(c).ok  # the new qualification stands in for the expired one
    body = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert 'data-documents-flag="1"' not in body


def test_dossier_tab1_queries_bounded(org, client, django_assert_max_num_queries):
    rep = org["rep1"]
    small, big = make(rep), make(rep, name="苏州远景电子科技有限公司")
    doc(rep, small, valid_to=days(30))
    for i in range(12):
        doc(rep, big, ["qualification", "permit", "honour", "other"][i % 4], valid_to=days(30 + i))
    login(client, rep)
    url = reverse("customer_detail", args=[small.pk]) + "?tab=1"
    client.get(url)
    with django_assert_max_num_queries(25) as small_ctx:
        client.get(url)
    with django_assert_max_num_queries(len(small_ctx.captured_queries)) as _big:
        assert client.get(reverse("customer_detail", args=[big.pk]) + "?tab=1").status_code == 200


def test_contracts_in_date_order(org, client):
    rep = org["rep1"]
    c = make(rep)
    doc(rep, c, "contract", title="2024 年度框架协议", valid_from=D(2024, 1, 1), valid_to=D(2024, 12, 31))
    doc(rep, c, "contract", title="补充协议（无日期）")
    doc(rep, c, "contract", title="2022 年购销合同", valid_from=D(2022, 3, 1))
    rows = documents.contract_rows(actor=rep, customer=c)
    assert [r.title for r in rows] == ["2022 年购销合同", "2024 年度框架协议", "补充协议（无日期）"]
    login(client, rep)
    body = client.get(reverse("customer_detail", args=[c.pk]) + "?tab=2").content.decode()
    assert body.index("2022 年购销合同") < body.index("2024 年度框架协议") < body.index("补充协议")
    assert "已到期" in body
    tab1 = client.get(reverse("customer_detail", args=[c.pk]) + "?tab=1").content.decode()
    assert "2022 年购销合同" not in tab1


# -- warnings ----------------------------------------------------------------------------------------------------


def tasks_of(warnings):
    return Task.objects.filter(target_id__in=[str(w.pk) for w in warnings])


def test_warnings_at_60_30_7_once_each(org):
    rep = org["rep1"]
    c = make(rep)
    end = D(2031, 6, 30)
    lic = doc(rep, c, valid_to=end)
    day = lambda n: end - dt.timedelta(days=n)  # noqa: E731
    assert reminders.documents_warn(at=day(61)) == {"raised": 0}
    assert reminders.documents_warn(at=day(60)) == {"raised": 1}
    assert reminders.documents_warn(at=day(60)) == {"raised": 0}
    assert reminders.documents_warn(at=day(45)) == {"raised": 0}
    assert reminders.documents_warn(at=day(30)) == {"raised": 1}
    assert reminders.documents_warn(at=day(29)) == {"raised": 0}
    assert reminders.documents_warn(at=day(7)) == {"raised": 1}
    assert reminders.documents_warn(at=day(1)) == {"raised": 0}
    assert reminders.documents_warn(at=day(0)) == {"raised": 0}
    warnings = list(DocumentWarning.objects.filter(attachment=lic).order_by("-lead_days"))
    assert [w.lead_days for w in warnings] == [60, 30, 7]
    assert {w.valid_to for w in warnings} == {end} and all(w.resolved_at is None for w in warnings)
    tasks = tasks_of(warnings)
    assert tasks.count() == 3 and {t.assignee_id for t in tasks} == {rep.pk}
    # the nearest warning's task stays open; the farther ones were superseded
    assert list(tasks.filter(state=TaskState.OPEN).values_list("target_id", flat=True)) == [
        str(warnings[2].pk)
    ]
    assert "营业执照将于 2031-06-30 到期" in tasks.get(target_id=str(warnings[2].pk)).title


def test_late_discovery_raises_nearest_only_and_replacement_resolves(org):
    rep = org["rep1"]
    c = make(rep)
    end = D(2031, 6, 30)
    lic = doc(rep, c, valid_to=end)
    assert reminders.documents_warn(at=end - dt.timedelta(days=5)) == {"raised": 1}
    w = DocumentWarning.objects.get(attachment=lic)
    assert w.lead_days == 7
    task = Task.objects.get(target_id=str(w.pk), state=TaskState.OPEN)
    # a replacement that does not run longer resolves nothing
    same = attachment_replace(actor=rep, attachment_id=lic.pk, upload=pdf(), reason="重新扫描")
    assert DocumentWarning.objects.get(pk=w.pk).resolved_at is None
    attachment_replace(actor=rep, attachment_id=same.pk, upload=pdf(), reason="换发", valid_to=D(2036, 6, 30))
    assert DocumentWarning.objects.get(pk=w.pk).resolved_at is not None
    assert Task.objects.get(pk=task.pk).state == TaskState.DONE
    # the new version is far from its end: nothing to raise
    assert reminders.documents_warn(at=end - dt.timedelta(days=4)) == {"raised": 0}


def test_warnings_skip_other_types_and_ended_customers(org):
    rep = org["rep1"]
    c = make(rep)
    doc(rep, c, "contract", valid_to=D(2031, 6, 30))
    gone = make(rep, name="杭州终止客户贸易有限公司")
    doc(rep, gone, valid_to=D(2031, 6, 30))
    from kehu.customers import services

    services.customer_end(
        actor=org["mgr_east"], customer_id=gone.pk, reason="停业", ended_reason="trade_past"
    )
    assert reminders.documents_warn(at=D(2031, 6, 1)) == {"raised": 0}


def test_warn_days_from_policy(org):
    rep = org["rep1"]
    c = make(rep)
    end = D(2031, 6, 30)
    doc(rep, c, valid_to=end)
    PolicyVersion.objects.create(
        type_key="customers.documents",
        number=2,
        status="formal",
        effective_from=D(2020, 1, 1),
        values={"warn_days": [90, 15]},
    )
    assert reminders.documents_warn(at=end - dt.timedelta(days=60)) == {"raised": 1}
    assert DocumentWarning.objects.get().lead_days == 90


# -- API and scope -----------------------------------------------------------------------------------------------


def test_api_documents_list_add_and_scope(org, client):
    rep = org["rep1"]
    c = make(rep)
    doc(rep, c, "qualification", number="Q-1", valid_to=days(-1))
    login(client, rep)
    r = client.get(f"/api/v1/customers/{c.pk}/documents")
    assert r.status_code == 200
    data = r.json()
    assert data["state"] == "missing" and data["check"]["ok"] is False
    states = {(d["doc_type"], d["state"]) for d in data["documents"]}
    assert states == {("qualification", "expired"), ("business_licence", "missing")}
    r = client.post(
        f"/api/v1/customers/{c.pk}/documents",
        {
            "file": pdf(),
            "doc_type": "business_licence",
            "number": "91310000",
            "valid_to": days(365).isoformat(),
        },
    )
    assert r.status_code == 201, r.content
    assert r.json()["state"] == "valid" and r.json()["number"] == "91310000"
    assert summary(c) == (days(-1), False)
    r = client.post(f"/api/v1/customers/{c.pk}/documents", {"file": pdf(), "doc_type": "contract"})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "doc_type"
    r = client.post(
        f"/api/v1/customers/{c.pk}/documents",
        {"file": pdf(), "doc_type": "permit", "valid_from": "2026-05-01", "valid_to": "2026-01-01"},
    )
    assert r.status_code == 400 and r.json()["detail"]["rule"] == "date_order"
    assert Customer.objects.get(pk=c.pk).documents_expiry == days(-1)
    client.logout()
    # another rep: 404 on page and API
    login(client, org["rep2"])
    assert client.get(f"/api/v1/customers/{c.pk}/documents").status_code == 404
    r = client.post(f"/api/v1/customers/{c.pk}/documents", {"file": pdf(), "doc_type": "permit"})
    assert r.status_code == 404
    assert client.get(reverse("customer_documents", args=[c.pk])).status_code == 404
    assert client.get(reverse("customer_detail", args=[c.pk]) + "?tab=1").status_code == 404
    client.logout()
    # the auditor sees, but may not add
    login(client, org["auditor"])
    assert client.get(f"/api/v1/customers/{c.pk}/documents").status_code == 200
    r = client.post(f"/api/v1/customers/{c.pk}/documents", {"file": pdf(), "doc_type": "permit"})
    assert r.status_code == 403


def test_upload_refused_to_wrong_role(org):
    c = make(org["rep1"])
    with pytest.raises(PermissionDenied):
        doc(org["auditor"], c)
    assert summary(c) == (None, True)
