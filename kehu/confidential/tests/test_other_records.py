"""Confidential files on a customer's other records (R-ARC-01, R-ARC-02): evidence of an onboarding review (on the
review and on its case), contact-log files. The customer is found through the record's ``customer`` (a case through
its subject); the file's category level and grants for that file apply there as on the dossier."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kehu.confidential import services
from kehu.core.attachments import attachment_add
from kehu.core.errors import ValidationFailed
from kehu.core.models.audit import AuditEntry

from .conftest import pdf

pytestmark = pytest.mark.django_db

APPLICATION = {
    "purpose": "建立长期供货关系",
    "expected_business": "数控机床配件年度采购",
    "products": "精密轴承、导轨",
    "expected_annual_volume": "3600000.00",
    "requested_terms": "月结60天",
}


@pytest.fixture
def review(people, customer):
    from kehu.onboarding import services as onboarding

    return onboarding.review_apply(actor=people["rep1"], customer_id=customer.pk, **APPLICATION)


def downloads(att) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action="download", object_id=str(att.pk)).order_by("seq"))


def test_a_statement_on_an_onboarding_review_is_gated(client, people, customer, review):
    stmt = attachment_add(
        actor=people["rep1"], target=review, upload=pdf("年报.pdf"), doc_type="statement", title="2024年报"
    )
    urls = [f"/attachments/{stmt.pk}/download/", f"/api/v1/attachments/{stmt.pk}/download"]
    client.force_login(people["rep1"])  # sees the review, not statements
    for url in urls:
        assert client.get(url).status_code == 403, url
    body = client.get(urls[1]).json()
    assert body["detail"]["request_access"].endswith(f"customer={customer.pk}&items=attachment%3A{stmt.pk}")
    assert downloads(stmt) == []
    # the request form, opened from the refusal, offers that file; the archive office approves it
    form = client.get(f"/confidential/requests/new/?customer={customer.pk}&items=attachment:{stmt.pk}")
    assert form.status_code == 200 and f'value="attachment:{stmt.pk}"' in form.content.decode()
    req = services.request_create(
        actor=people["rep1"], customer_id=customer.pk, items=[f"attachment:{stmt.pk}"], purpose="核对报表"
    )
    assert req.office == "archive" and req.level == "confidential"
    req = services.request_act(actor=people["archivist"], request_id=req.pk, transition="approve")
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200 and r["Cache-Control"] == "private, no-store", url
    logged = downloads(stmt)
    assert len(logged) == 2 and all(e.changes["grant"] == req.grant.pk for e in logged)
    # the read log finds them under the customer
    client.force_login(people["gm"])
    data = client.get("/api/v1/read-log", {"customer": customer.pk, "grant": req.grant.pk}).json()
    assert data["count"] == 2 and {i["customer_id"] for i in data["items"]} == {customer.pk}
    # a role of the level reads it, logged, without a grant
    client.force_login(people["officer"])
    assert client.get(urls[0]).status_code == 200
    assert "grant" not in downloads(stmt)[-1].changes


def test_evidence_on_the_review_case_is_gated(client, people, customer, review):
    from kehu.onboarding import services as onboarding

    att_id = onboarding.review_attach_evidence(
        actor=people["rep1"], review=review, upload=pdf("财务.pdf"), title="财务报表", doc_type="statement"
    )
    client.force_login(people["rep1"])
    r = client.get(f"/api/v1/attachments/{att_id}/download")
    assert r.status_code == 403 and r.json()["detail"]["request_access"].endswith(f"attachment%3A{att_id}")
    req = services.request_create(
        actor=people["rep1"], customer_id=customer.pk, items=[f"attachment:{att_id}"], purpose="核对"
    )
    services.request_act(actor=people["archivist"], request_id=req.pk, transition="approve")
    assert client.get(f"/api/v1/attachments/{att_id}/download").status_code == 200


def test_a_confidential_contact_log_file_is_gated(client, people, customer, other_customer):
    from kehu.customers.contactlog import contact_log_create

    log = contact_log_create(
        actor=people["rep1"],
        customer_id=customer.pk,
        channel="visit",
        contacted_at=timezone.now(),
        summary="拜访财务总监",
        contact_name="李总",
    )
    flagged = attachment_add(
        actor=people["rep1"], target=log, upload=pdf("纪要.pdf"), doc_type="other", confidential=True
    )
    plain = attachment_add(actor=people["rep1"], target=log, upload=pdf("照片.pdf"), doc_type="photo")
    client.force_login(people["rep1"])
    assert client.get(f"/attachments/{flagged.pk}/download/").status_code == 403
    r = client.get(f"/attachments/{plain.pk}/download/")
    assert r.status_code == 200 and r["Cache-Control"] == "private"  # internal: not logged, may be cached
    assert downloads(plain) == []
    # a grant for the file of one customer is not asked for under another
    with pytest.raises(ValidationFailed) as exc:
        services.request_create(
            actor=people["rep2"],
            customer_id=other_customer.pk,
            items=[f"attachment:{flagged.pk}"],
            purpose="x",
        )
    assert exc.value.rule == "not_requestable"
    req = services.request_create(
        actor=people["rep1"], customer_id=customer.pk, items=[f"attachment:{flagged.pk}"], purpose="核对"
    )
    services.request_act(actor=people["archivist"], request_id=req.pk, transition="approve")
    assert client.get(f"/attachments/{flagged.pk}/download/").status_code == 200
    assert downloads(flagged)[-1].changes["grant"] == req.grant.pk


def test_a_file_confidential_by_category_is_not_cached(client, people, customer):
    """The Cache-Control of a download follows the clearance: a file confidential only by its category is served
    ``no-store`` like a flagged one."""
    stmt = attachment_add(actor=people["rep1"], target=customer, upload=pdf("s.pdf"), doc_type="statement")
    assert not stmt.confidential
    client.force_login(people["finance"])
    for url in (f"/attachments/{stmt.pk}/download/", f"/api/v1/attachments/{stmt.pk}/download"):
        r = client.get(url)
        assert r.status_code == 200 and r["Cache-Control"] == "private, no-store", url
