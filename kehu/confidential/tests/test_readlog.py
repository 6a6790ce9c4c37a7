"""The read log (R-ARC-02): every read of confidential content, through each channel, leaves exactly one entry
naming the grant it used; the log page (filters, per customer, per user), its export (itself logged), the API and
the unusual-reading report for the credit office head."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.confidential import selectors
from kehu.core import audit
from kehu.core.models.audit import AuditEntry

from .conftest import grant_for, make_customer

pytestmark = pytest.mark.django_db


def reads():
    return AuditEntry.objects.filter(confidential=True, action__in=["read", "download", "export"])


def each_channel(customer, credit, secret_file) -> list[tuple[str, str, str]]:
    """(url, expected action, expected channel) for every confidential item and channel."""
    c, s, r, d, f = customer.pk, credit["statement"].pk, credit["rating"].pk, credit["doc"].pk, secret_file.pk
    return [
        (f"/credit/customers/{c}/", "read", "page"),
        (f"/api/v1/credit/files/{c}", "read", "api"),
        (f"/credit/customers/{c}/statements/", "read", "page"),
        (f"/credit/statements/{s}/", "read", "page"),
        (f"/credit/customers/{c}/statements/?export=xlsx", "export", "export"),
        (f"/api/v1/credit/customers/{c}/statements", "read", "api"),
        (f"/api/v1/credit/statements/{s}", "read", "api"),
        (f"/credit/ratings/{r}/", "read", "page"),
        (f"/api/v1/credit/ratings/{r}", "read", "api"),
        (f"/attachments/{d}/download/", "download", "download"),
        (f"/api/v1/attachments/{d}/download", "download", "download"),
        (f"/attachments/{f}/download/", "download", "download"),
        (f"/api/v1/attachments/{f}/download", "download", "download"),
    ]


def test_each_read_under_a_grant_logged_once_with_the_grant(client, people, customer, credit, secret_file):
    file_grant = grant_for(people, customer, ["credit.file"])
    att_grant = grant_for(people, customer, [f"attachment:{secret_file.pk}"], approver="archivist")
    client.force_login(people["rep1"])
    for url, action, channel in each_channel(customer, credit, secret_file):
        before = reads().count()
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        assert reads().count() == before + 1, url
        entry = reads().latest("seq")
        assert entry.actor_id == people["rep1"].pk and entry.action == action, url
        assert entry.changes["channel"] == channel, url
        expected = att_grant.pk if f"/{secret_file.pk}/" in url else file_grant.pk
        assert entry.changes["grant"] == expected, url
    assert audit.verify().ok


def test_reads_by_role_name_no_grant(client, people, customer, credit, secret_file):
    client.force_login(people["finance"])
    for url, action, _channel in each_channel(customer, credit, secret_file):
        before = reads().count()
        response = client.get(url)
        assert response.status_code == 200, url
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
        assert reads().count() == before + 1, url
        entry = reads().latest("seq")
        assert entry.action == action and "grant" not in entry.changes, url


def test_a_grant_used_in_one_request_is_not_named_by_the_next(client, people, customer, credit):
    """The grant noted by an access check belongs to its request only."""
    grant_for(people, customer, ["credit.statements"])
    client.force_login(people["rep1"])
    assert client.get(f"/credit/statements/{credit['statement'].pk}/").status_code == 200
    client.force_login(people["finance"])
    assert client.get(f"/credit/statements/{credit['statement'].pk}/").status_code == 200
    assert "grant" not in reads().latest("seq").changes


def _log_some(client, people, customer, credit, secret_file):
    grant = grant_for(people, customer, ["credit.statements"])
    client.force_login(people["rep1"])
    client.get(f"/credit/statements/{credit['statement'].pk}/")
    client.get(f"/api/v1/credit/statements/{credit['statement'].pk}")
    client.force_login(people["finance"])
    client.get(f"/credit/customers/{customer.pk}/")
    return grant


def test_read_log_page_filters_and_views(client, people, customer, other_customer, credit, secret_file):
    grant = _log_some(client, people, customer, credit, secret_file)
    client.force_login(people["cmgr"])
    page = client.get("/confidential/read-log/")
    body = page.content.decode()
    assert page.status_code == 200 and "张伟" in body and customer.name in body
    # per user
    body = client.get("/confidential/read-log/", {"user": "rep1"}).content.decode()
    assert body.count("<tr>") - 1 == 2 and "fin1" not in body.split('id="read-log"')[1]
    # per grant
    rows = client.get("/confidential/read-log/", {"grant": grant.pk}).content.decode()
    assert "共 2 条" in rows
    # per customer, by number or name; another customer has none
    for value in (customer.number, customer.name, str(customer.pk)):
        body = client.get("/confidential/read-log/", {"customer": value}).content.decode()
        assert 'id="log-customer"' in body and "共 3 条" in body, value
    assert (
        "共 0 条"
        in client.get("/confidential/read-log/", {"customer": other_customer.number}).content.decode()
    )
    assert "共 0 条" in client.get("/confidential/read-log/", {"customer": "没有这个客户"}).content.decode()
    # by dates
    today = timezone.localdate()
    body = client.get("/confidential/read-log/", {"date_from": today, "date_to": today}).content.decode()
    assert "共 0 条" not in body
    tomorrow = today + dt.timedelta(days=1)
    assert "共 0 条" in client.get("/confidential/read-log/", {"date_from": tomorrow}).content.decode()
    bad = client.get("/confidential/read-log/", {"date_from": tomorrow, "date_to": today}).content.decode()
    assert "结束日期不能早于开始日期" in bad
    # per user summary
    body = client.get("/confidential/read-log/users/").content.decode()
    assert 'data-user="rep1"' in body and 'data-user="fin1"' in body


def test_read_log_export_is_logged(client, people, customer, credit, secret_file):
    _log_some(client, people, customer, credit, secret_file)
    client.force_login(people["gm"])
    before = AuditEntry.objects.count()
    r = client.get("/confidential/read-log/", {"user": "rep1", "export": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    entry = AuditEntry.objects.latest("seq")
    assert AuditEntry.objects.count() == before + 1
    assert entry.action == "export" and entry.object_type == "confidential.readlog"
    assert entry.changes["rows"] == 2 and entry.changes["filters"] == {"user": "rep1"}


def test_read_log_refused_to_others(client, people):
    for who in ("rep1", "officer", "finance", "quality"):
        client.force_login(people[who])
        assert client.get("/confidential/read-log/").status_code == 403, who
        assert client.get("/api/v1/read-log").status_code == 403, who
        assert client.get("/confidential/unusual/").status_code == 403, who
    client.force_login(people["archivist"])
    assert client.get("/confidential/read-log/").status_code == 200
    assert client.get("/confidential/unusual/").status_code == 403  # for the credit office head


def test_read_log_api(client, people, customer, credit, secret_file):
    grant = _log_some(client, people, customer, credit, secret_file)
    client.force_login(people["auditor"])
    data = client.get("/api/v1/read-log", {"grant": grant.pk}).json()
    assert data["count"] == 2
    assert {i["channel"] for i in data["items"]} == {"page", "api"}
    assert all(i["customer_id"] == customer.pk and i["grant_id"] == grant.pk for i in data["items"])
    data = client.get("/api/v1/read-log", {"customer": customer.number, "user": "fin1"}).json()
    assert data["count"] == 1 and data["items"][0]["detail"] == "credit.file"
    bad = client.get("/api/v1/read-log", {"date_from": "yesterday"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_unusual_reading_lists_users_over_the_threshold(client, people, settings):
    from kehu.credit import services as credit_services

    from .conftest import LINES, set_policy

    set_policy(unusual_daily_customers=3)
    customers = [make_customer(people["rep1"], f"{n}号测试机械有限公司") for n in "甲乙丙丁戊"]
    for c in customers[:4]:
        credit_services.statement_save(
            actor=people["officer"], customer_id=c.pk, period_end=dt.date(2024, 12, 31), period_type="year",
            lines=LINES,
        )  # fmt: skip
    client.force_login(people["finance"])
    for c in customers[:2]:
        client.get(f"/credit/customers/{c.pk}/")
    for c in customers[2:4]:  # statements of two more customers: four in all
        stmt = c.statements.get()
        client.get(f"/credit/statements/{stmt.pk}/")
        client.get(f"/api/v1/credit/customers/{c.pk}/statements")
    client.force_login(people["officer"])
    for c in customers[:3]:  # three: not over the threshold
        client.get(f"/credit/customers/{c.pk}/")
    rows, threshold = selectors.unusual_reading(
        actor=people["cmgr"], date_from=timezone.localdate(), date_to=timezone.localdate()
    )
    assert threshold == 3
    assert [(r["actor__username"], r["customers"], r["reads"]) for r in rows] == [("fin1", 4, 6)]
    client.force_login(people["cmgr"])
    body = client.get("/confidential/unusual/").content.decode()
    assert 'data-user="fin1"' in body and 'data-user="officer1"' not in body


def test_log_pages_bounded_queries(
    client, people, customer, credit, secret_file, django_assert_max_num_queries
):
    grant = grant_for(people, customer, ["credit.file"])
    client.force_login(people["rep1"])
    for _ in range(15):
        client.get(f"/credit/statements/{credit['statement'].pk}/")
        client.get(f"/attachments/{credit['doc'].pk}/download/")
    client.force_login(people["gm"])
    with django_assert_max_num_queries(20):
        assert client.get("/confidential/read-log/?size=50").status_code == 200
    with django_assert_max_num_queries(20):
        assert (
            client.get(f"/confidential/read-log/?customer={customer.pk}&grant={grant.pk}").status_code == 200
        )
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/read-log?size=50").json()["count"] >= 30


def test_unusual_reading_counts_credit_documents_and_rating_lists(client, people):
    """Downloads of the credit file's documents count their customer; a rating list across customers counts each
    of its rows as one customer read (page, API and export alike)."""
    from kehu.credit import services as credit_services

    from .conftest import QUAL, pdf, set_policy

    set_policy(unusual_daily_customers=3)
    customers = [make_customer(people["rep1"], f"{n}号测试电子有限公司") for n in "甲乙丙"]
    docs = [
        credit_services.credit_document_add(
            actor=people["officer"], customer_id=c.pk, item="site_survey", upload=pdf(), title="现场"
        ).attachment
        for c in customers[:2]
    ]
    for c in customers[1:]:
        rating = credit_services.rating_prepare(actor=people["officer"], customer_id=c.pk, **QUAL)
        credit_services.rating_submit(actor=people["officer"], rating_id=rating.pk)
        credit_services.rating_decide(actor=people["cmgr"], rating_id=rating.pk, decision="approve")
    today = timezone.localdate()

    def flagged(who: str) -> list[tuple[str, int]]:
        rows, _t = selectors.unusual_reading(actor=people["cmgr"], date_from=today, date_to=today)
        return [(r["actor__username"], r["customers"]) for r in rows if r["actor__username"] == who]

    client.force_login(people["finance"])
    for d in docs:  # the documents of two customers' credit files
        r = client.get(f"/attachments/{d.pk}/download/")
        assert r.status_code == 200
        b"".join(r.streaming_content)
    assert flagged("fin1") == []  # two customers: not over three
    assert client.get("/credit/ratings/").status_code == 200  # the list of the two ratings in force
    assert flagged("fin1") == [("fin1", 4)]
    client.force_login(people["officer"])
    assert client.get("/api/v1/credit/ratings").status_code == 200
    assert flagged("officer1") == []  # two rows only


def test_read_log_export_over_the_limit_is_refused_with_a_message(
    client, people, customer, credit, secret_file, monkeypatch
):
    """The export never cuts the log silently: over the limit it is refused (nothing exported, nothing logged) and
    says how to narrow it; within the limit it exports every row."""
    from kehu.confidential import views

    _log_some(client, people, customer, credit, secret_file)
    monkeypatch.setattr(views, "EXPORT_MAX_ROWS", 2)
    client.force_login(people["gm"])
    before = AuditEntry.objects.count()
    r = client.get("/confidential/read-log/", {"export": "xlsx"}, follow=True)
    body = r.content.decode()
    assert r.redirect_chain and r.redirect_chain[-1][0].startswith("/confidential/read-log/")
    assert "未导出" in body and "缩小" in body
    assert AuditEntry.objects.count() == before
    r = client.get("/confidential/read-log/", {"user": "rep1", "export": "xlsx"})
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEntry.objects.latest("seq").changes["rows"] == 2
