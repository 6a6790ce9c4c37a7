"""Customer pages and API: list (filters, export, scope, bounded queries), create with duplicate confirmation,
dossier, lifecycle buttons, contacts, staff; API create/read/update/lifecycle/contacts with scope (404)."""

from __future__ import annotations

import io
import json

import pytest
import python_calamine
from django.urls import reverse

from kehu.core.models import AuditEntry
from kehu.core.tests.factories import PASSWORD
from kehu.customers import services
from kehu.customers.models import Customer
from kehu.customers.tests.conftest import code, make

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def make_many(actor, n, start=0):
    out = []
    for i in range(start, start + n):
        c = make(actor, name=f"测试客户{i:03d}号机械有限公司", confirm_duplicates=True)
        services.contact_add(actor=actor, customer_id=c.pk, name=f"联系人{i}", mobile=f"139{i:08d}")
        out.append(c)
    return out


@pytest.mark.parametrize("n", [5, 50])
def test_list_queries_bounded(org, client, django_assert_max_num_queries, n):
    make_many(org["rep1"], n)
    login(client, org["rep1"])
    client.get(reverse("customer_list"))
    with django_assert_max_num_queries(10):
        r = client.get(reverse("customer_list") + "?size=50&sort=-name")
    assert r.status_code == 200
    assert r.content.decode().count('href="/customers/') >= min(n, 50)


def test_list_filters_and_export_respect_scope(org, client):
    mine = make(org["rep1"], name="杭州甲乙机械有限公司", industry="machinery")
    theirs = make(org["rep2"], name="广州丙丁贸易有限公司", industry="trade")
    login(client, org["rep1"])
    body = client.get(reverse("customer_list")).content.decode()
    assert mine.name in body and theirs.name not in body
    r = client.get(reverse("customer_list") + "?export=xlsx")
    assert r.status_code == 200
    sheet = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content)).get_sheet_by_index(0)
    values = [v for row in sheet.to_python() for v in row]
    assert mine.name in values and theirs.name not in values
    # the rep cannot open the other rep's dossier: 404
    assert client.get(reverse("customer_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("customer_edit", args=[theirs.pk])).status_code == 404
    client.logout()
    login(client, org["gm"])
    body = client.get(reverse("customer_list") + "?industry=trade").content.decode()
    assert theirs.name in body and mine.name not in body
    body = client.get(reverse("customer_list") + "?q=jyjx").content.decode()  # pinyin initials
    assert mine.name in body and theirs.name not in body
    body = client.get(reverse("customer_list") + f"?region={org['r_east'].pk}").content.decode()
    assert mine.name in body and theirs.name not in body


def test_create_page_with_duplicate_confirmation(org, client):
    first = make(org["rep1"], name="上海华信精密机械有限公司")
    login(client, org["rep1"])
    data = {
        "name": "华信精密机械（上海）有限公司",
        "credit_code": code(),
        "customer_class": "general",
        "kind": "end_customer",
        "capital_currency": "CNY",
        "owner": org["rep1"].pk,
        "phone": "021-58881234",
    }
    r = client.post(reverse("customer_create"), data)
    body = r.content.decode()
    assert r.status_code == 200 and 'id="duplicate-candidates"' in body and first.number in body
    assert 'name="confirm_duplicates"' in body and Customer.objects.count() == 1
    r = client.post(reverse("customer_create"), {**data, "confirm_duplicates": "1"})
    assert r.status_code == 302 and Customer.objects.count() == 2
    # wrong check character: shown on the field with the expected character
    good = code()
    wrong = good[:17] + ("0" if good[17] != "0" else "1")
    r = client.post(reverse("customer_create"), {**data, "name": "别的公司有限公司", "credit_code": wrong})
    body = r.content.decode()
    assert r.status_code == 200 and f"“{good[17]}”" in body and "is-invalid" in body
    r = client.post(reverse("customer_create"), {**data, "name": "别的公司有限公司", "postcode": "1234"})
    assert "邮政编码应为 6 位数字" in r.content.decode()


def test_dossier_page_lifecycle_contacts_staff(org, client, django_assert_max_num_queries):
    c = make(org["rep1"], registered_capital="3000000")
    make_many(org["rep1"], 0)
    services.contact_add(
        actor=org["rep1"], customer_id=c.pk, name="李四", mobile="13912345678", is_signer=True
    )
    services.customer_update(
        actor=org["rep1"], customer_id=c.pk, name="上海华信新名称有限公司", source="licence"
    )
    login(client, org["rep1"])
    url = reverse("customer_detail", args=[c.pk])
    client.get(url)
    with django_assert_max_num_queries(20):
        r = client.get(url)
    body = r.content.decode()
    assert (
        r.status_code == 200
        and "李四" in body
        and "有效签单人" in body
        and "上海华信精密机械有限公司" in body
    )
    assert reverse("customer_transition", args=[c.pk, "submit_review"]) in body
    assert reverse("customer_transition", args=[c.pk, "activate"]) not in body
    r = client.post(reverse("customer_transition", args=[c.pk, "submit_review"]), {"reason": "资料齐全"})
    assert r.status_code == 302
    c.refresh_from_db()
    assert c.status == "review"
    # the rep may not activate: 403
    r = client.post(reverse("customer_transition", args=[c.pk, "activate"]), {"reason": "x"})
    assert r.status_code == 403
    client.logout()
    login(client, org["mgr_east"])
    body = client.get(url).content.decode()
    assert reverse("customer_transition", args=[c.pk, "activate"]) in body
    client.post(reverse("customer_transition", args=[c.pk, "activate"]), {"reason": "通过"})
    r = client.post(
        reverse("customer_transition", args=[c.pk, "end"]),
        {"reason": "不再合作", "ended_reason": "trade_past"},
    )
    c.refresh_from_db()
    assert c.status == "ended" and c.ended_reason == "trade_past"
    # ended: not in the list, dossier still opens
    assert c.name not in client.get(reverse("customer_list")).content.decode()
    assert client.get(url).status_code == 200
    # contacts and staff forms
    client.logout()
    login(client, org["rep1"])
    r = client.post(
        reverse("customer_contact_add", args=[c.pk]),
        {"name": "王五", "role": "finance", "mobile": "123", "active": "on"},
    )
    assert r.status_code == 200 and "手机号应为 11 位" in r.content.decode()
    r = client.post(
        reverse("customer_contact_add", args=[c.pk]),
        {"name": "王五", "role": "finance", "mobile": "13812345678", "active": "on"},
    )
    assert r.status_code == 302 and c.contacts.count() == 2
    r = client.post(reverse("customer_staff", args=[c.pk]), {"staff": [org["rep3"].pk]})
    assert r.status_code == 302 and set(c.staff.values_list("username", flat=True)) == {"rep1", "rep3"}


def test_edit_page_records_change(org, client):
    c = make(org["rep1"], legal_representative="张三")
    login(client, org["rep1"])
    r = client.get(reverse("customer_edit", args=[c.pk]))
    assert r.status_code == 200
    data = {
        "name": c.name,
        "credit_code": c.credit_code,
        "customer_class": "general",
        "kind": "end_customer",
        "capital_currency": "CNY",
        "legal_representative": "李四",
        "source": "registry",
        "source_note": "国家企业信用信息公示系统",
    }
    r = client.post(reverse("customer_edit", args=[c.pk]), data)
    assert r.status_code == 302
    ch = c.changes.get()
    assert (ch.field, ch.old, ch.new, ch.source) == ("legal_representative", "张三", "李四", "registry")


# -- API ---------------------------------------------------------------------------------------------------------


def api(client, method, url, body=None):
    fn = getattr(client, method)
    if body is None:
        return fn(url)
    return fn(url, data=json.dumps(body), content_type="application/json")


def test_api_create_read_update_lifecycle_contacts(org, client):
    from kehu.core.tokens import token_create

    raw = token_create(actor=org["rep1"], name="t")[1]
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    base = "/api/v1/customers"
    r = api(
        client,
        "post",
        base,
        {"name": "上海华信精密机械有限公司", "credit_code": code(), "phone": "021-58881234"},
    )
    assert r.status_code == 201, r.content
    cid = r.json()["id"]
    assert r.json()["number"].startswith("KH-") and r.json()["staff"] == ["rep1"]
    r = api(client, "post", base, {"name": "华信精密机械（上海）有限公司", "credit_code": code()})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_candidates"
    assert r.json()["detail"]["candidates"][0]["id"] == cid
    good = code()
    r = api(
        client,
        "post",
        base,
        {"name": "别家有限公司", "credit_code": good[:17] + ("0" if good[17] != "0" else "1")},
    )
    assert (
        r.status_code == 400
        and r.json()["detail"]["rule"] == "check_char"
        and good[17] in r.json()["message"]
    )
    r = api(
        client,
        "post",
        base,
        {"name": "华信精密机械（上海）有限公司", "credit_code": code(), "confirm_duplicates": True},
    )
    assert r.status_code == 201
    r = api(client, "get", f"{base}?q=华信")
    assert r.status_code == 200 and r.json()["count"] == 2
    r = api(client, "patch", f"{base}/{cid}", {"legal_representative": "赵六", "source": "customer"})
    assert r.status_code == 200 and r.json()["changes"][0]["field"] == "legal_representative"
    r = api(client, "post", f"{base}/{cid}/lifecycle/submit_review", {"reason": "提交"})
    assert r.status_code == 200 and r.json()["status"] == "review"
    r = api(client, "post", f"{base}/{cid}/lifecycle/activate", {"reason": "批准"})
    assert r.status_code == 403
    r = api(client, "post", f"{base}/{cid}/lifecycle/submit_review", {"reason": "再提交"})
    assert r.status_code == 409
    r = api(
        client, "post", f"{base}/{cid}/contacts", {"name": "钱七", "role": "quality", "mobile": "13612345678"}
    )
    assert r.status_code == 201
    pid = r.json()["id"]
    r = api(client, "patch", f"{base}/{cid}/contacts/{pid}", {"mobile": "12"})
    assert r.status_code == 400 and r.json()["detail"]["field"] == "mobile"
    assert api(client, "get", f"{base}/{cid}/contacts").json()[0]["name"] == "钱七"
    r = api(client, "put", f"{base}/{cid}/staff", {"staff": ["rep3"]})
    assert r.status_code == 200 and r.json()["staff"] == ["rep1", "rep3"]
    # another rep's customer: 404 on read, update, lifecycle, contacts
    other = make(org["rep2"], name="广州别人的客户有限公司")
    for method, url, body in [
        ("get", f"{base}/{other.pk}", None),
        ("patch", f"{base}/{other.pk}", {"notes": "x"}),
        ("post", f"{base}/{other.pk}/lifecycle/submit_review", {"reason": "x"}),
        ("get", f"{base}/{other.pk}/contacts", None),
    ]:
        assert api(client, method, url, body).status_code == 404, url
    assert other.pk not in [row["id"] for row in api(client, "get", base).json()["items"]]
    assert AuditEntry.objects.filter(object_type="customers.customer", object_id=str(cid)).count() >= 4


def test_api_list_filters_and_session_auth(org, client):
    a = make(org["rep1"], name="杭州甲乙机械有限公司", customer_class="general", industry="machinery")
    b = make(org["rep2"], name="广州丙丁贸易有限公司", customer_class="core", staff=[org["rep3"]])
    services.customer_end(actor=org["gm"], customer_id=a.pk, reason="停止", ended_reason="trade_suspended")
    login(client, org["gm"])
    ids = [r["id"] for r in client.get("/api/v1/customers").json()["items"]]
    assert ids == [b.pk]  # ended customers only by status
    ids = [r["id"] for r in client.get("/api/v1/customers?status=ended").json()["items"]]
    assert ids == [a.pk]
    assert client.get("/api/v1/customers?customer_class=general").json()["count"] == 0
    assert client.get(f"/api/v1/customers?owner={org['rep2'].pk}").json()["count"] == 1
    body = client.get(f"/api/v1/customers/{a.pk}").json()
    assert body["status"] == "ended" and body["ended_reason"] == "trade_suspended"
    # the general manager reads; an auditor reads but cannot change (403)
    client.logout()
    login(client, org["auditor"])
    assert client.get(f"/api/v1/customers/{b.pk}").status_code == 200
    r = client.patch(
        f"/api/v1/customers/{b.pk}", data=json.dumps({"notes": "x"}), content_type="application/json"
    )
    assert r.status_code in (403,)


def test_attachments_panel_on_dossier(org, client):
    c = make(org["rep1"])
    login(client, org["rep1"])
    body = client.get(reverse("customer_detail", args=[c.pk]) + "?tab=1").content.decode()
    assert reverse("attachment_upload", args=["customers", "customer", c.pk]) in body
    client.logout()
    login(client, org["auditor"])
    body = client.get(reverse("customer_detail", args=[c.pk])).content.decode()
    assert reverse("attachment_upload", args=["customers", "customer", c.pk]) not in body


def test_create_page_for_another_owner_shows_the_refusal(org, client):
    login(client, org["rep1"])
    data = {
        "name": "代建客户有限公司",
        "credit_code": code(),
        "customer_class": "general",
        "kind": "end_customer",
        "capital_currency": "CNY",
        "owner": org["rep2"].pk,
    }
    r = client.post(reverse("customer_create"), data)
    assert r.status_code == 200 and "只能为本人或本部门的销售人员新建客户" in r.content.decode()
    assert not Customer.objects.exists()
    # a read-only role cannot open the form at all
    client.logout()
    login(client, org["credit"])
    assert client.get(reverse("customer_create")).status_code == 403
