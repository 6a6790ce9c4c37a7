"""Confidentiality levels of dossier sections and files (policy ``confidential.levels``), and R-ARC-03: the files
of an archived (ended) dossier are read-only; a correction is a new version with a reason."""

from __future__ import annotations

import pytest

from kehu.core.attachments import attachment_add, attachment_replace
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditEntry
from kehu.customers import services as customer_services

from .conftest import grant_for, pdf, set_policy

pytestmark = pytest.mark.django_db


def end(people, customer):
    customer_services.customer_end(
        actor=people["gm"], customer_id=customer.pk, reason="客户停产", ended_reason="trade_past"
    )


def test_archived_dossier_is_not_rewritten(people, customer, credit, secret_file):
    """R-ARC-03: once the dossier is archived (ended), the credit file and the statements on file are not changed
    in place; a correction is a new version of a file, with its reason, and the old version stays."""
    from kehu.credit import services as credit_services

    from .conftest import LINES

    end(people, customer)
    with pytest.raises(Conflict) as exc:
        credit_services.credit_file_update(
            actor=people["officer"], customer_id=customer.pk, site_survey="改写"
        )
    assert (exc.value.field, exc.value.rule) == ("customer", "archived")
    stmt = credit["statement"]
    for kwargs in ({"statement_id": stmt.pk}, {"replace": True}):
        with pytest.raises(Conflict):
            credit_services.statement_save(
                actor=people["officer"], customer_id=customer.pk, period_end=stmt.period_end, period_type="year",
                lines={**LINES, "cash": 1}, **kwargs,
            )  # fmt: skip
    stmt.refresh_from_db()
    assert stmt.cash == LINES["cash"]
    # a correction is a new version of the file, with its reason; the old version stays
    with pytest.raises(ValidationFailed) as exc:
        attachment_replace(
            actor=people["rep1"], attachment_id=secret_file.pk, upload=pdf("更正.pdf"), reason=""
        )
    assert exc.value.field == "reason"
    new = attachment_replace(
        actor=people["rep1"], attachment_id=secret_file.pk, upload=pdf("更正.pdf"), reason="更正担保金额"
    )
    assert new.version == 2 and new.supersedes_id == secret_file.pk
    secret_file.refresh_from_db()
    assert not secret_file.current and secret_file.filename == "担保情况.pdf"
    entry = AuditEntry.objects.filter(object_type="core.attachment", object_id=str(new.pk)).get()
    assert entry.reason == "更正担保金额"
    corrected = credit_services.credit_document_add(  # a corrected survey filed as a new document
        actor=people["officer"], customer_id=customer.pk, item="site_survey", upload=pdf("更正说明.pdf")
    )
    assert corrected.attachment.version == 1
    v2 = attachment_replace(
        actor=people["officer"], attachment_id=credit["doc"].pk, upload=pdf(), reason="照片模糊"
    )
    assert v2.version == 2
    # reads are unaffected
    from kehu.credit import selectors as credit_selectors

    assert (
        credit_selectors.credit_file_read(actor=people["finance"], customer_id=customer.pk).file is not None
    )


def test_archived_statuses_come_from_the_policy(people, customer, credit):
    from kehu.credit import services as credit_services

    customer_services.customer_submit_review(actor=people["rep1"], customer_id=customer.pk, reason="资料齐全")
    credit_services.credit_file_update(actor=people["officer"], customer_id=customer.pk, site_survey="一")
    set_policy(archived_statuses=["review", "ended"])
    with pytest.raises(Conflict):
        credit_services.credit_file_update(actor=people["officer"], customer_id=customer.pk, site_survey="二")


def test_file_levels_by_category_from_the_policy(client, people, customer):
    report = attachment_add(actor=people["rep1"], target=customer, upload=pdf("r.pdf"), doc_type="report")
    client.force_login(people["rep1"])
    assert client.get(f"/attachments/{report.pk}/download/").status_code == 200
    assert not AuditEntry.objects.filter(action="download").exists()  # internal: not logged
    set_policy(attachment_categories={"report": "confidential"})
    r = client.get(f"/attachments/{report.pk}/download/")
    assert r.status_code == 403 and "申请查阅" in r.content.decode()
    client.force_login(people["finance"])
    assert client.get(f"/attachments/{report.pk}/download/").status_code == 200
    assert AuditEntry.objects.filter(action="download", object_id=str(report.pk)).count() == 1
    # the roles of a level come from the policy too
    set_policy(attachment_categories={"report": "confidential"}, level_roles={"confidential": ["sales_rep"]})
    assert client.get(f"/attachments/{report.pk}/download/").status_code == 403
    client.force_login(people["rep1"])
    assert client.get(f"/attachments/{report.pk}/download/").status_code == 200


def test_section_levels_hide_and_log(client, people, customer):
    set_policy(sections={"customers.attachments": "confidential"})
    client.force_login(people["rep1"])
    tab1 = client.get(f"/customers/{customer.pk}/?tab=1").content.decode()
    assert "data-hidden-section" in tab1 and "items=section%3Acustomers.attachments" in tab1
    assert not AuditEntry.objects.filter(action="read").exists()
    grant = grant_for(people, customer, ["section:customers.attachments"], approver="archivist")
    tab1 = client.get(f"/customers/{customer.pk}/?tab=1").content.decode()
    assert "data-hidden-section" not in tab1
    entry = AuditEntry.objects.filter(action="read", confidential=True).get()
    assert entry.changes == {
        "channel": "dossier",
        "detail": "section:customers.attachments",
        "grant": grant.pk,
    }
    client.force_login(people["gm"])  # by role: shown and logged, no grant
    client.get(f"/customers/{customer.pk}/?tab=1")
    assert AuditEntry.objects.filter(action="read", confidential=True, actor=people["gm"]).count() == 1


def downloads(att) -> int:
    return AuditEntry.objects.filter(action="download", object_id=str(att.pk), confidential=True).count()


@pytest.mark.parametrize(
    ("section", "doc_type"), [("customers.attachments", "report"), ("customers.contracts", "contract")]
)
def test_files_of_a_raised_section_are_held_to_its_level(client, people, customer, section, doc_type):
    """R-ARC-01: a section raised by the policy hides more than its tab: every download of the files it lists (page
    and API) needs the section's level, a grant for the section or for the file, and is logged."""
    att = attachment_add(actor=people["rep1"], target=customer, upload=pdf("f.pdf"), doc_type=doc_type)
    urls = [f"/attachments/{att.pk}/download/", f"/api/v1/attachments/{att.pk}/download"]
    set_policy(sections={section: "confidential"})
    client.force_login(people["rep1"])
    for url in urls:
        assert client.get(url).status_code == 403, url
    body = client.get(urls[1]).json()
    assert body["detail"]["request_access"].endswith(f"items=attachment%3A{att.pk}")
    assert downloads(att) == 0
    grant = grant_for(people, customer, [f"section:{section}"], approver="archivist")
    for url in urls:
        r = client.get(url)
        assert r.status_code == 200 and r["Cache-Control"] == "private, no-store", url
        b"".join(r.streaming_content)
    assert downloads(att) == 2
    last = AuditEntry.objects.filter(action="download").latest("seq")
    assert last.changes["grant"] == grant.pk
    client.force_login(people["finance"])  # the level's role: opens, logged, no grant
    r = client.get(urls[0])
    assert r.status_code == 200 and downloads(att) == 3
    assert "grant" not in AuditEntry.objects.filter(action="download").latest("seq").changes


def test_a_section_grant_does_not_open_a_file_confidential_by_itself(client, people, customer):
    """The file's own level still counts: a statement in a raised section needs a grant for that file."""
    stmt = attachment_add(actor=people["rep1"], target=customer, upload=pdf("s.pdf"), doc_type="statement")
    set_policy(sections={"customers.attachments": "confidential"})
    grant_for(people, customer, ["section:customers.attachments"], approver="archivist")
    client.force_login(people["rep1"])
    assert client.get(f"/attachments/{stmt.pk}/download/").status_code == 403
    grant_for(people, customer, [f"attachment:{stmt.pk}"], approver="archivist")
    assert client.get(f"/attachments/{stmt.pk}/download/").status_code == 200


@pytest.mark.parametrize(
    "section",
    ["receivables.account", "customers.lifecycle", "customers.documents", "limits", "grading.history"],
)
def test_sections_shown_elsewhere_may_not_be_raised(people, section):
    """Sections whose records their own module's pages and API also show cannot be raised (raising would hide
    nothing): the policy names the field and the rule."""
    import datetime as dt

    from kehu.core.policies.services import policy_propose

    for level in ("confidential", "secret"):
        with pytest.raises(ValidationFailed) as exc:
            policy_propose(
                actor=people["gm"],
                key="confidential.levels",
                values={"sections": {section: level}},
                effective_from=dt.date(2030, 1, 1),
                reason="试",
            )
        assert (exc.value.field, exc.value.rule) == ("sections", "section_not_gated"), section
        assert section in str(exc.value.message)
    # lowering or keeping them internal is fine, and the gated sections may be raised
    version = policy_propose(
        actor=people["gm"],
        key="confidential.levels",
        values={"sections": {section: "open", "customers.attachments": "secret"}},
        effective_from=dt.date(2030, 1, 1),
        reason="试",
    )
    assert version.pk


def test_a_stored_raise_of_an_ungated_section_counts_as_internal():
    from kehu.confidential import items as it
    from kehu.confidential.policies import LevelsPolicy

    policy = LevelsPolicy.model_construct(sections={"receivables.account": "secret"})
    assert it.section_level("receivables.account", policy) == "internal"


def test_no_request_link_for_a_section_the_role_could_not_see(rf, people, customer):
    """The placeholder offers "申请查阅" only to a user whose role could see the section under a grant (here: who
    sees the customer); the request form offers the section to them only."""
    from kehu.confidential import gates, services
    from kehu.customers.archive import ArchiveCategory, sections

    set_policy(sections={"customers.attachments": "confidential"})
    section = next(s for s in sections(ArchiveCategory.BASIC) if s.key == "customers.attachments")

    def placeholder(user) -> str:
        request = rf.get("/")
        request.user = user
        return gates.section_gate(request, customer, section) or ""

    assert "items=section%3Acustomers.attachments" in placeholder(people["rep1"])
    shown = placeholder(people["quality"])  # no customer.view: a grant would show them nothing
    assert "data-hidden-section" in shown and "/confidential/requests/new/" not in shown
    assert "section:customers.attachments" in {
        c.key for c in services.requestable_items(people["rep1"], customer)
    }
    assert not any(
        c.key.startswith("section:") for c in services.requestable_items(people["quality"], customer)
    )


def test_no_request_link_for_a_section_a_grant_would_not_show(rf, people, customer, monkeypatch):
    """A policy version stored before the rule that raises the limits section: the archivist, whose role does not
    see credit limits, is not offered "申请查阅" for it (a grant would show nothing): the section counts as
    internal and renders as it always does for them (not at all)."""
    from kehu.confidential import gates
    from kehu.confidential.policies import LevelsPolicy
    from kehu.customers.archive import ArchiveCategory, sections

    stored = LevelsPolicy.model_construct(sections={"limits": "secret"})
    monkeypatch.setattr(gates, "levels", lambda: (stored, None))
    section = next(s for s in sections(ArchiveCategory.CREDIT) if s.key == "limits")
    request = rf.get("/")
    request.user = people["archivist"]
    assert gates.section_gate(request, customer, section) is None


def test_policy_page_and_validation(client, people):
    from kehu.core.policies.services import policy_propose

    client.force_login(people["gm"])
    page = client.get("/policies/confidential.levels/")
    assert page.status_code == 200 and "异常查阅阈值" in page.content.decode()
    import datetime as dt

    with pytest.raises(ValidationFailed):
        policy_propose(
            actor=people["gm"],
            key="confidential.levels",
            values={"default_period_days": 40, "max_period_days": 30},
            effective_from=dt.date(2030, 1, 1),
            reason="试",
        )
    with pytest.raises((ValidationFailed, PermissionDenied)):
        policy_propose(
            actor=people["gm"],
            key="confidential.levels",
            values={"level_roles": {"secret": ["nobody"]}},
            effective_from=dt.date(2030, 1, 1),
            reason="试",
        )
