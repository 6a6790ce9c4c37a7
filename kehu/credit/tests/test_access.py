"""Confidentiality of the credit file (R-CRD-01, CREDIT.md): the owning sales rep cannot open the credit file,
statements or ratings through page, API or export; every read by a credit user is logged exactly once; the
dossier's category 3 tab; list pages with bounded query counts; credit-file documents are confidential."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kehu.core.models.audit import AuditEntry
from kehu.credit import services
from kehu.credit.models import CreditDocument, FileItem

from .conftest import GOOD_LINES, make_customer

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
QUAL = {
    "payment_history": 4,
    "years_of_trade": Decimal(3),
    "industry_outlook": 3,
    "management": 4,
    "litigation": 5,
}


@pytest.fixture
def rated(people, customer):
    s = services.statement_save(
        actor=people["officer"],
        customer_id=customer.pk,
        period_end=dt.date(2024, 12, 31),
        period_type="year",
        lines=GOOD_LINES,
    )
    r = services.rating_prepare(actor=people["officer"], customer_id=customer.pk, **QUAL)
    services.rating_submit(actor=people["officer"], rating_id=r.pk)
    services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="approve")
    return {"s": s, "r": r}


def reads(**filters):
    return AuditEntry.objects.filter(action__in=["read", "export", "download"], **filters)


def urls(customer, rated):
    s, r = rated["s"].pk, rated["r"].pk
    c = customer.pk
    return {
        "pages": [
            f"/credit/customers/{c}/",
            f"/credit/customers/{c}/statements/",
            f"/credit/statements/{s}/",
            f"/credit/statements/{s}/edit/",
            "/credit/ratings/",
            f"/credit/ratings/{r}/",
            f"/credit/customers/{c}/ratings/new/",
            f"/credit/customers/{c}/statements/new/",
        ],
        "api": [
            f"/api/v1/credit/files/{c}",
            f"/api/v1/credit/customers/{c}/statements",
            f"/api/v1/credit/statements/{s}",
            "/api/v1/credit/ratings",
            f"/api/v1/credit/ratings/{r}",
        ],
        "exports": [f"/credit/customers/{c}/statements/?export=xlsx", "/credit/ratings/?export=xlsx"],
    }


def test_owning_rep_and_sales_manager_cannot_open(client, people, customer, rated):
    before = reads().count()
    for who in ("rep1", "mgr"):
        client.force_login(people[who])
        u = urls(customer, rated)
        for url in u["pages"] + u["exports"]:
            assert client.get(url).status_code == 403, (who, url)
        for url in u["api"]:
            r = client.get(url)
            assert r.status_code == 403 and r.json()["code"] == "forbidden", (who, url)
        # writes through the API are refused too
        body = {"grade": "D", "reason": "x"}
        r = client.post(
            f"/api/v1/credit/ratings/{rated['r'].pk}/override",
            json.dumps(body),
            content_type="application/json",
        )
        assert r.status_code == 403
    assert reads().count() == before  # nothing was read
    # the dossier's category 3 tab shows the rep nothing of the credit file; a credit user sees the grade
    client.force_login(people["rep1"])
    html = client.get(f"/customers/{customer.pk}/?tab=3").content.decode()
    assert "打开信用档案" not in html and f"/credit/customers/{customer.pk}/" not in html
    client.force_login(people["finance"])
    html = client.get(f"/customers/{customer.pk}/?tab=3").content.decode()
    assert "打开信用档案" in html and "得分" in html
    assert reads(object_id=str(customer.pk), changes__channel="dossier").count() == 1


def test_credit_file_attachment_is_confidential_and_rep_cannot_download(client, people, customer):
    doc = services.credit_document_add(
        actor=people["officer"],
        customer_id=customer.pk,
        item=FileItem.SITE_SURVEY,
        upload=SimpleUploadedFile("现场.pdf", PDF, content_type="application/pdf"),
        title="实地调查照片",
    )
    assert doc.attachment.confidential
    client.force_login(people["rep1"])
    assert client.get(f"/attachments/{doc.attachment_id}/download/").status_code == 404
    client.force_login(people["finance"])
    before = reads().count()
    assert client.get(f"/attachments/{doc.attachment_id}/download/").status_code == 200
    assert reads().count() == before + 1
    assert reads().latest("seq").action == "download"
    with pytest.raises(Exception):  # noqa: B017  (the rep may not add files either)
        services.credit_document_add(
            actor=people["rep1"],
            customer_id=customer.pk,
            item=FileItem.PUBLIC,
            upload=SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf"),
        )
    assert CreditDocument.objects.count() == 1


@pytest.mark.parametrize("who", ["officer", "manager", "finance", "gm"])
def test_each_read_logged_exactly_once(client, people, customer, rated, who):
    client.force_login(people[who])
    u = urls(customer, rated)
    read_only = [x for x in u["pages"] if not x.endswith(("/new/", "/edit/"))]
    for url in read_only + u["api"] + u["exports"]:
        before = reads().count()
        r = client.get(url)
        assert r.status_code == 200, (who, url)
        assert reads().count() == before + 1, (who, url)
        entry = reads().latest("seq")
        assert entry.actor_id == people[who].pk and entry.confidential
        expected = "export" if "export=xlsx" in url else ("api" if url.startswith("/api/") else "page")
        assert entry.changes["channel"] == expected, url
        if "export=xlsx" in url:
            assert entry.action == "export"


def test_credit_file_holds_every_item(client, people, customer, rated):
    services.credit_file_update(
        actor=people["officer"],
        customer_id=customer.pk,
        site_survey="厂区 2 万平方米，设备开工率约 80%。",
        related_party_survey="控股股东另有一家贸易公司。",
        analysis_conclusion="偿债能力较强。",
        public_materials="无行政处罚。",
    )
    for item in (FileItem.BASIC, FileItem.INVESTIGATION, FileItem.PUBLIC):
        services.credit_document_add(
            actor=people["finance"],
            customer_id=customer.pk,
            item=item,
            title=f"文件-{item}",
            upload=SimpleUploadedFile(f"{item}.pdf", PDF, content_type="application/pdf"),
        )
    client.force_login(people["officer"])
    html = client.get(f"/credit/customers/{customer.pk}/").content.decode()
    for label in FileItem.labels:
        assert str(label) in html
    for text in (
        "设备开工率",
        "控股股东",
        "偿债能力较强",
        "无行政处罚",
        "文件-basic",
        "文件-investigation",
        "文件-public",
        "2024-12-31",
        rated["r"].grade,
    ):
        assert text in html, text
    data = client.get(f"/api/v1/credit/files/{customer.pk}").json()
    assert data["site_survey"].startswith("厂区") and len(data["documents"]) == 3
    assert (
        data["rating_in_force"]["grade"] == "A"
        and data["statements"][0]["ratios"]["current_ratio"] == "1.6000"
    )
    # bad item refused
    r = client.put(
        f"/api/v1/credit/files/{customer.pk}",
        json.dumps({"site_survey": "x" * 20001}),
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["detail"]["field"] == "site_survey"


def test_external_items_registry(client, people, customer):
    from kehu.credit.file_items import FileEntry, register_file_item, unregister_file_item

    register_file_item(
        FileItem.POST_CREDIT,
        "test.promises",
        lambda c: [FileEntry("付款承诺：2025-01-31 前付 50 万", status="有效")],
    )
    try:
        client.force_login(people["officer"])
        assert (
            "付款承诺：2025-01-31 前付 50 万"
            in client.get(f"/credit/customers/{customer.pk}/").content.decode()
        )
        items = client.get(f"/api/v1/credit/files/{customer.pk}").json()["entries"]
        assert {"item": "post_credit", "status": "有效"}.items() <= next(
            e for e in items if e["item"] == "post_credit"
        ).items()
    finally:
        unregister_file_item("test.promises")
    with pytest.raises(ValueError):
        register_file_item("nonsense", "x", lambda c: [])


def test_rating_pages_and_api_flow(client, people, customer):
    services.statement_save(
        actor=people["officer"],
        customer_id=customer.pk,
        period_end=dt.date(2024, 12, 31),
        period_type="year",
        lines=GOOD_LINES,
    )
    client.force_login(people["officer"])
    new = f"/credit/customers/{customer.pk}/ratings/new/"
    assert client.get(new).status_code == 200
    bad = client.post(new, {**QUAL, "payment_history": 9})
    assert bad.status_code == 200
    r = client.post(new, {k: str(v) for k, v in QUAL.items()})
    assert r.status_code == 302
    rid = int(r["Location"].rstrip("/").split("/")[-1])
    html = client.get(f"/credit/ratings/{rid}/").content.decode()
    assert 'id="rating-score">80.80' in html and 'data-indicator="net_margin"' in html and "9.60" in html
    assert client.post(f"/credit/ratings/{rid}/submit/").status_code == 302
    client.force_login(people["manager"])
    html = client.get(f"/credit/ratings/{rid}/").content.decode()
    assert "提交审批结论" in html and "调整等级" in html
    r = client.post(
        f"/api/v1/credit/ratings/{rid}/override",
        json.dumps({"grade": "BBB", "reason": ""}),
        content_type="application/json",
    )
    assert r.status_code == 400 and r.json()["detail"]["field"] == "reason"
    r = client.post(
        f"/api/v1/credit/ratings/{rid}/override",
        json.dumps({"grade": "BBB", "reason": "集团担保撤销"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["grade"] == "BBB" and r.json()["computed_grade"] == "A"
    r = client.post(  # who overrode the grade may not approve it
        f"/api/v1/credit/ratings/{rid}/decide",
        json.dumps({"decision": "approve"}),
        content_type="application/json",
    )
    assert r.status_code == 403
    client.force_login(people["manager2"])
    r = client.post(
        f"/api/v1/credit/ratings/{rid}/decide",
        json.dumps({"decision": "approve"}),
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["status"] == "approved"
    r = client.post(
        f"/api/v1/credit/ratings/{rid}/decide",
        json.dumps({"decision": "approve"}),
        content_type="application/json",
    )
    assert r.status_code == 409
    # the API prepares with the default years of trade when none is given
    client.force_login(people["officer"])
    body = {k: v for k, v in QUAL.items() if k != "years_of_trade"}
    r = client.post(
        f"/api/v1/credit/customers/{customer.pk}/ratings", json.dumps(body), content_type="application/json"
    )
    assert r.status_code == 201 and r.json()["years_of_trade"] == "0.0" and r.json()["status"] == "draft"
    lst = client.get("/api/v1/credit/ratings?credit_class=B").json()
    assert lst["count"] == 1 and lst["items"][0]["grade"] == "BBB"
    assert client.get("/api/v1/credit/ratings?credit_class=A").json()["count"] == 0
    assert client.get("/api/v1/credit/ratings?status=draft").json()["count"] == 1


def test_lists_filters_and_query_counts(client, people, django_assert_max_num_queries):
    officer = people["officer"]
    industries = ["machinery", "trade", "construction", "it"]
    for i in range(12):
        c = make_customer(people["rep1"], f"测试{i:02d}号实业有限公司", industry=industries[i % 4])
        services.statement_save(
            actor=officer,
            customer_id=c.pk,
            period_end=dt.date(2024, 12, 31),
            period_type="year",
            lines=GOOD_LINES,
        )
        services.statement_save(
            actor=officer,
            customer_id=c.pk,
            period_end=dt.date(2023, 12, 31),
            period_type="year",
            lines=GOOD_LINES,
        )
        r = services.rating_prepare(actor=officer, customer_id=c.pk, **{**QUAL, "payment_history": 1 + i % 5})
        services.rating_submit(actor=officer, rating_id=r.pk)
        services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="approve")
    from kehu.credit.models import Rating

    Rating.objects.filter(customer__name__startswith="测试0").update(review_due=dt.date(2020, 1, 1))
    client.force_login(people["finance"])
    with django_assert_max_num_queries(16):
        page = client.get("/credit/ratings/?size=50")
    assert page.status_code == 200 and page.content.decode().count("/credit/ratings/") >= 12
    overdue = client.get("/credit/ratings/?overdue=on").content.decode()
    assert overdue.count("测试0") == 10 and "测试10" not in overdue
    trade = client.get("/credit/ratings/?category=trade").content.decode()
    assert trade.count("实业有限公司") == 3
    assert client.get("/credit/ratings/?grade=A&credit_class=A").status_code == 200
    with django_assert_max_num_queries(14):
        ex = client.get("/credit/ratings/?export=xlsx")
    assert ex.status_code == 200
    c = Rating.objects.first().customer
    with django_assert_max_num_queries(14):
        assert client.get(f"/credit/customers/{c.pk}/statements/").status_code == 200
    with django_assert_max_num_queries(24):
        assert client.get(f"/credit/customers/{c.pk}/").status_code == 200
    with django_assert_max_num_queries(12):
        assert client.get("/api/v1/credit/ratings?size=50").json()["count"] == 12


def test_documents_through_the_api_are_always_confidential(client, people, customer):
    client.force_login(people["officer"])
    up = SimpleUploadedFile("关联方.pdf", PDF, content_type="application/pdf")
    r = client.post(
        f"/api/v1/credit/files/{customer.pk}/documents",
        {"item": "related_party", "title": "股权结构图", "file": up},
    )
    assert r.status_code == 201 and r.json()["item"] == "related_party"
    bad = client.post(
        f"/api/v1/credit/files/{customer.pk}/documents",
        {"item": "gossip", "file": SimpleUploadedFile("x.pdf", PDF, content_type="application/pdf")},
    )
    assert bad.status_code == 400 and bad.json()["detail"]["field"] == "item"
    # the generic attachment API cannot put an open file on a credit file
    cf = CreditDocument.objects.get().credit_file
    r = client.post(
        "/api/v1/attachments",
        {
            "target": f"credit.creditfile:{cf.pk}",
            "confidential": "false",
            "file": SimpleUploadedFile("公开.pdf", PDF, content_type="application/pdf"),
        },
    )
    assert r.status_code == 201
    from kehu.core.models.attachments import Attachment

    assert Attachment.objects.get(pk=r.json()["id"]).confidential is True
    # the rep cannot even list the credit file's attachments
    client.force_login(people["rep1"])
    assert client.get(f"/api/v1/attachments?target=credit.creditfile:{cf.pk}").status_code in (403, 404)
    r = client.post(
        f"/api/v1/credit/files/{customer.pk}/documents",
        {"item": "public", "file": SimpleUploadedFile("y.pdf", PDF, content_type="application/pdf")},
    )
    assert r.status_code == 403


def test_auditor_and_english_pages(client, people, customer, rated):
    from kehu.core.tests.factories import user_with

    auditor = user_with("auditor", username="aud9")
    client.force_login(auditor)
    assert client.get(f"/credit/ratings/{rated['r'].pk}/").status_code == 403
    manager = people["manager"]
    manager.language = "en"
    manager.save(update_fields=["language"])
    client.force_login(manager)
    html = client.get(f"/credit/ratings/{rated['r'].pk}/").content.decode()
    assert (
        "Weighted contribution" in html
        and "Current ratio (liquidity)" in html
        and "Override the grade" not in html  # a rating in force is re-rated, not overridden
    )
    html = client.get(f"/credit/customers/{customer.pk}/").content.decode()
    assert "Site survey" in html and "Return on equity" in html


def test_statement_import_through_the_api(client, people, customer):
    from .test_statements import book, row

    client.force_login(people["finance"])
    url = f"/api/v1/credit/customers/{customer.pk}/statements/import"
    bad = client.post(url, {"file": book([row("2024-12-31"), row("2023-12-31", revenue="-1")])})
    body = bad.json()
    assert bad.status_code == 200 and body["ok"] is False
    assert body["errors"] == [{"row": 3, "errors": [["营业收入", "营业收入：不得为负数。"]]}]
    assert not customer.statements.exists()
    good = client.post(url, {"file": book([row("2024-12-31"), row("2023-12-31")])})
    assert good.json()["ok"] is True and good.json()["created"] == 2
    client.force_login(people["rep1"])
    assert client.post(url, {"file": book([row("2022-12-31")])}).status_code == 403


def test_records_of_limits_and_receivables_in_the_file(client, people, customer):
    from django.apps import apps

    if not (apps.is_installed("kehu.limits") and apps.is_installed("kehu.receivables")):
        pytest.skip("the limits and receivables apps are not installed")
    from kehu.limits.models import CreditApplication, CreditLimit
    from kehu.receivables.models import CollectionRecord

    app = CreditApplication.objects.create(
        customer=customer,
        created_by=people["rep1"],
        requested_amount=Decimal("500000"),
        number="SX-2026-0001",
    )
    CreditLimit.objects.create(
        customer=customer, amount=Decimal("400000"), term_days=60, credit_class="B", terms_level="B",
        valid_from=dt.date(2026, 1, 1), application=app, letter_number="TZ-2026-0001",
    )  # fmt: skip
    CollectionRecord.objects.create(
        customer=customer, kind="promise", happened_on=dt.date(2026, 2, 1), note="财务承诺月底付款",
        promise_date=dt.date(2026, 2, 28), promise_amount=Decimal("120000"),
    )  # fmt: skip
    client.force_login(people["officer"])
    html = client.get(f"/credit/customers/{customer.pk}/").content.decode()
    for text in (
        "SX-2026-0001",
        "400,000.00",
        "TZ-2026-0001",
        "财务承诺月底付款",
        "2026-02-28",
        "120,000.00",
    ):
        assert text in html, text
    items = {e["item"] for e in client.get(f"/api/v1/credit/files/{customer.pk}").json()["entries"]}
    assert items == {"application", "approval", "post_credit"}
