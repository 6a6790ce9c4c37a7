"""The access layer's grant sources (R-ARC-01, R-PLT-02): a grant stands in for the role only on the actions a
source declares, only for the granted object of a customer the user sees, and the grant used reaches the audit
entry of the read of that customer's record that follows (once, only for the same user, only from a read entry)."""

from __future__ import annotations

from typing import Any

import pytest

from kehu.core import access, audit
from kehu.core.errors import NotFound, PermissionDenied
from kehu.credit.models import FinancialStatement

from .conftest import grant_for

pytestmark = pytest.mark.django_db


def test_grantable_actions_are_the_credit_reads():
    assert access.grantable("credit.statement.view") and access.grantable("credit.file.view")
    assert not access.grantable("credit.statement.edit") and not access.grantable("customer.view")


def test_get_scoped_and_require_through_a_grant(people, customer, credit):
    rep, stmt = people["rep1"], credit["statement"]
    qs = FinancialStatement.objects.all()
    with pytest.raises(PermissionDenied) as exc:
        access.get_scoped(rep, "credit.statement.view", qs, pk=stmt.pk)
    assert exc.value.detail["request_access"].endswith("items=credit.statements")
    with pytest.raises(PermissionDenied):  # a missing row is still a refusal without the role: no id probing
        access.get_scoped(rep, "credit.statement.view", qs, pk=stmt.pk + 999)
    grant = grant_for(people, customer, ["credit.statements"])
    assert access.get_scoped(rep, "credit.statement.view", qs, pk=stmt.pk) == stmt
    assert access.take_grant(rep, stmt) == grant.pk and access.take_grant(rep, stmt) is None  # taken once
    assert access.require(rep, "credit.statement.view", customer.pk) == access.Scope.OWN
    with pytest.raises(PermissionDenied):
        access.require(rep, "credit.statement.view")  # no object: the role only
    with pytest.raises(PermissionDenied):
        access.require(rep, "credit.statement.edit", customer.pk)  # writes are never granted
    assert access.in_scope(rep, "credit.statement.view", stmt)
    assert list(access.restrict(rep, "credit.statement.view", qs)) == [stmt]
    assert not access.can(
        rep, "credit.statement.view"
    )  # menus and lists across customers stay with the roles
    # the role holder is unaffected and no grant is noted for them
    assert access.get_scoped(people["finance"], "credit.statement.view", qs, pk=stmt.pk) == stmt
    with pytest.raises(NotFound):
        access.get_scoped(people["finance"], "credit.statement.view", qs, pk=stmt.pk + 999)
    assert access.take_grant(people["finance"], stmt) is None


def test_the_grant_noted_goes_only_to_a_read_of_that_customer(people, customer, other_customer, credit):
    rep = people["rep1"]
    grant = grant_for(people, customer, ["credit.statements"])
    access.grant_for(rep, "credit.statement.view", credit["statement"])
    other = audit.record_read(people["finance"], customer, channel="page")  # another user: not theirs
    assert "grant" not in other.changes
    plain = audit.record(actor=rep, action="update", obj=customer, changes={"x": [1, 2]})  # not a read
    assert "grant" not in plain.changes
    secret_write = audit.record(  # a confidential entry that is not a read does not take it either
        actor=rep, action="update", obj=customer, changes={"x": [1, 2]}, confidential=True
    )
    assert "grant" not in secret_write.changes
    elsewhere = audit.record_read(rep, other_customer, channel="page")  # another customer's record
    assert "grant" not in elsewhere.changes
    entry = audit.record_read(rep, credit["statement"], channel="page")
    assert entry.changes == {"channel": "page", "grant": grant.pk}
    again = audit.record_read(rep, credit["statement"], channel="page")
    assert "grant" not in again.changes
    assert audit.verify().ok


def test_list_reads_take_the_grant_of_their_customer_only(people, customer, other_customer, credit):
    from kehu.core.models.audit import AuditEntry
    from kehu.credit.selectors import log_list

    rep = people["rep1"]
    grant = grant_for(people, customer, ["credit.statements"])
    access.require(rep, "credit.statement.view", customer.pk)
    log_list(rep, "credit.rating", "page", 3, {"status": "approved"})  # a list across customers
    assert "grant" not in AuditEntry.objects.latest("seq").changes
    log_list(rep, "credit.statement", "page", 1, {"customer": other_customer.pk})
    assert "grant" not in AuditEntry.objects.latest("seq").changes
    log_list(rep, "credit.statement", "page", 1, {"customer": customer.pk})
    assert AuditEntry.objects.latest("seq").changes["grant"] == grant.pk


def test_a_download_names_the_grant_of_the_files_customer(people, customer, secret_file):
    from kehu.core.attachments import attachment_open
    from kehu.core.models.audit import AuditEntry

    grant = grant_for(people, customer, [f"attachment:{secret_file.pk}"], approver="archivist")
    opened = attachment_open(actor=people["rep1"], attachment_id=secret_file.pk)
    assert opened.confidential
    entry = AuditEntry.objects.latest("seq")
    assert entry.action == "download" and entry.changes["grant"] == grant.pk
    assert access.take_grant(people["rep1"], customer) is None  # taken by the download


def test_hand_over_ends_what_a_grant_reaches(client, people, customer, credit):
    """R-ARC-01: once the customer is handed to another rep, the former owner's grant opens nothing, by record id
    either (page, API, selector), and lists under grants leave the customer out."""
    from kehu.customers.handover import customer_reassign

    grant_for(people, customer, ["credit.file"])
    rep, stmt, rating = people["rep1"], credit["statement"], credit["rating"]
    urls = [
        f"/credit/statements/{stmt.pk}/",
        f"/api/v1/credit/statements/{stmt.pk}",
        f"/credit/ratings/{rating.pk}/",
        f"/api/v1/credit/ratings/{rating.pk}",
        f"/credit/customers/{customer.pk}/",
        f"/attachments/{credit['doc'].pk}/download/",
    ]
    client.force_login(rep)
    assert all(client.get(u).status_code == 200 for u in urls)
    customer_reassign(
        actor=people["gm"], customer_id=customer.pk, to_user_id=people["rep2"].pk, reason="调岗"
    )
    assert not access.in_scope(rep, "customer.view", customer)
    for url in urls:
        assert client.get(url).status_code in (403, 404), url
    qs = FinancialStatement.objects.all()
    with pytest.raises((PermissionDenied, NotFound)):
        access.get_scoped(rep, "credit.statement.view", qs, pk=stmt.pk)
    assert not access.in_scope(rep, "credit.statement.view", stmt)
    assert list(access.restrict(rep, "credit.statement.view", qs)) == []
    assert access.take_grant(rep, stmt) is None


def noted_in_job(user_id: int, grant_id: int, customer_id: int) -> Any:
    """A job that reports the grant noted when it starts, then notes one of its own."""
    from kehu.core.models import User

    before = access._grant_used.get()
    access.note_grant(User.objects.get(pk=user_id), grant_id, customer_id)
    return before


def test_jobs_start_and_end_with_no_grant_noted(people, customer):
    from kehu.core.jobs.models import JobRun
    from kehu.core.jobs.runner import run_job

    rep = people["rep1"]
    access.note_grant(rep, 4242, customer.pk)  # left over by whatever ran before on this thread
    run = JobRun.objects.create(
        name=f"{__name__}.noted_in_job",
        kwargs={"user_id": rep.pk, "grant_id": 77, "customer_id": customer.pk},
    )
    assert run_job(run.pk) is None  # the job saw no grant noted
    assert access._grant_used.get() is None  # nor does what runs after it
