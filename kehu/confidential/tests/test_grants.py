"""Grants (R-ARC-01): an approved request opens exactly the items asked for, of that customer, for that user, until
the end of the period (checked at read time) or until revoked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.confidential import services
from kehu.confidential.models import Grant
from kehu.core import access
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.credit import selectors as credit_selectors

from .conftest import grant_for

pytestmark = pytest.mark.django_db


def can_read(client, customer, credit) -> dict[str, int]:
    s, r = credit["statement"].pk, credit["rating"].pk
    return {
        "file": client.get(f"/credit/customers/{customer.pk}/").status_code,
        "statements": client.get(f"/credit/customers/{customer.pk}/statements/").status_code,
        "statement": client.get(f"/credit/statements/{s}/").status_code,
        "rating": client.get(f"/credit/ratings/{r}/").status_code,
        "document": client.get(f"/attachments/{credit['doc'].pk}/download/").status_code,
    }


def test_statements_grant_opens_exactly_the_statements(client, people, customer, credit):
    """R-ARC-01: a grant for the statements opens the statements, not the credit file or the ratings."""
    client.force_login(people["rep1"])
    before = can_read(client, customer, credit)
    assert before == {"file": 403, "statements": 403, "statement": 403, "rating": 403, "document": 404}
    grant_for(people, customer, ["credit.statements"])
    after = can_read(client, customer, credit)
    assert after == {"file": 403, "statements": 200, "statement": 200, "rating": 403, "document": 404}


def test_credit_file_grant_covers_the_whole_file(client, people, customer, credit):
    """The credit file item covers the file with its documents, statements and ratings."""
    grant_for(people, customer, ["credit.file"])
    client.force_login(people["rep1"])
    assert set(can_read(client, customer, credit).values()) == {200}


def test_ratings_grant_opens_only_ratings(client, people, customer, credit):
    grant_for(people, customer, ["credit.ratings"])
    client.force_login(people["rep1"])
    got = can_read(client, customer, credit)
    assert got["rating"] == 200 and got["statements"] == got["file"] == got["statement"] == 403


def test_grant_is_for_that_customer_and_that_user(client, people, customer, other_customer, credit):
    from kehu.credit import services as credit_services

    from .conftest import LINES

    other_stmt = credit_services.statement_save(
        actor=people["officer"],
        customer_id=other_customer.pk,
        period_end=dt.date(2024, 12, 31),
        period_type="year",
        lines=LINES,
    )
    grant_for(people, customer, ["credit.statements"])
    client.force_login(people["rep1"])
    assert client.get(f"/credit/statements/{other_stmt.pk}/").status_code == 403
    assert client.get(f"/credit/customers/{other_customer.pk}/statements/").status_code == 403
    # another rep of the same department who can see the customer has no grant
    from kehu.core.tests.factories import user_with

    colleague = user_with("sales_rep", username="rep3", department=people["rep1"].department)
    client.force_login(colleague)
    assert client.get(f"/credit/statements/{credit['statement'].pk}/").status_code == 403


def test_expiry_is_checked_at_read_time(client, people, customer, credit):
    """No job is needed: a grant whose period has ended opens nothing, at the next read."""
    grant = grant_for(people, customer, ["credit.statements"], days=3)
    client.force_login(people["rep1"])
    url = f"/credit/statements/{credit['statement'].pk}/"
    assert client.get(url).status_code == 200
    # the last moment of the period still reads; its end does not
    Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.now() + dt.timedelta(seconds=30))
    assert client.get(url).status_code == 200
    Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.now())
    assert client.get(url).status_code == 403
    assert access.grant_for(people["rep1"], "credit.statement.view", credit["statement"]) is None


def test_period_is_whole_days_after_the_approval_day(people, customer, credit):
    """Approved on day D for 3 days, a grant runs until the end of D+3: the rest of the approval day comes on top."""
    grant = grant_for(people, customer, ["credit.statements"], days=3)
    start = timezone.localtime(grant.valid_from).date()
    end = timezone.localtime(grant.valid_until)
    assert end.date() == start + dt.timedelta(days=4) and end.time() == dt.time.min
    assert grant.request.approved_days == 3


def test_a_grant_approved_late_in_the_evening_still_lasts_the_days_approved():
    """A 1-day grant approved at 23:50 does not end ten minutes later but at the end of the next day."""
    from kehu.confidential.services import period_end

    late = timezone.make_aware(dt.datetime(2025, 3, 5, 23, 50))
    end = period_end(late, 1)
    assert timezone.localtime(end) == timezone.make_aware(dt.datetime(2025, 3, 7, 0, 0))
    assert end - late > dt.timedelta(days=1)


def test_revocation_ends_the_grant_at_once(client, people, customer, credit):
    grant = grant_for(people, customer, ["credit.statements"])
    client.force_login(people["rep1"])
    url = f"/credit/statements/{credit['statement'].pk}/"
    assert client.get(url).status_code == 200
    with pytest.raises(ValidationFailed) as exc:
        services.grant_revoke(actor=people["cmgr"], grant_id=grant.pk, reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(PermissionDenied):  # the archive office does not revoke the credit office's grants
        services.grant_revoke(actor=people["archivist"], grant_id=grant.pk, reason="x")
    with pytest.raises(PermissionDenied):
        services.grant_revoke(actor=people["rep1"], grant_id=grant.pk, reason="x")
    services.grant_revoke(actor=people["cmgr2"], grant_id=grant.pk, reason="查阅目的已完成")
    assert client.get(url).status_code == 403
    with pytest.raises(Conflict):
        services.grant_revoke(actor=people["gm"], grant_id=grant.pk, reason="again")
    with pytest.raises(NotFound):
        services.grant_revoke(actor=people["gm"], grant_id=grant.pk + 99, reason="x")


def test_revoking_an_expired_grant_is_a_conflict(people, customer, credit):
    grant = grant_for(people, customer, ["credit.statements"])
    Grant.objects.filter(pk=grant.pk).update(valid_until=timezone.now() - dt.timedelta(minutes=1))
    with pytest.raises(Conflict) as exc:
        services.grant_revoke(actor=people["cmgr"], grant_id=grant.pk, reason="x")
    assert exc.value.rule == "expired"


def test_grant_for_one_dossier_file(client, people, customer, secret_file):
    """A file flagged confidential on the dossier: the owner sees the row, not the file; a grant for that file
    opens that file only."""
    from kehu.core.attachments import attachment_add

    from .conftest import pdf

    other = attachment_add(
        actor=people["rep1"], target=customer, upload=pdf("另一份.pdf"), doc_type="statement", title="年报"
    )
    client.force_login(people["rep1"])
    r = client.get(f"/attachments/{secret_file.pk}/download/")
    assert r.status_code == 403 and "申请查阅" in r.content.decode()
    assert client.get(f"/attachments/{other.pk}/download/").status_code == 403  # statements: confidential
    grant_for(people, customer, [f"attachment:{secret_file.pk}"], approver="archivist")
    assert client.get(f"/attachments/{secret_file.pk}/download/").status_code == 200
    assert client.get(f"/attachments/{other.pk}/download/").status_code == 403


def test_selector_reads_under_a_grant(people, customer, credit):
    grant_for(people, customer, ["credit.file"])
    view = credit_selectors.credit_file_read(actor=people["rep1"], customer_id=customer.pk)
    assert view.file is not None and view.statements and view.rating is not None
    # writes are never granted
    from kehu.credit import services as credit_services

    with pytest.raises(PermissionDenied):
        credit_services.credit_file_update(actor=people["rep1"], customer_id=customer.pk, site_survey="改")


def test_in_force_query_and_is_active_agree(people, customer, credit):
    from kehu.confidential.models import in_force_q

    grant = grant_for(people, customer, ["credit.statements"])
    start, end = grant.valid_from, grant.valid_until
    second = dt.timedelta(seconds=1)
    for at, expected in ((start - second, False), (start, True), (end - second, True), (end, False)):
        assert grant.is_active(at) is expected, at
        assert Grant.objects.filter(in_force_q(at), pk=grant.pk).exists() is expected, at
    Grant.objects.filter(pk=grant.pk).update(revoked_at=start)
    grant.refresh_from_db()
    assert grant.is_active(start) is False
    assert not Grant.objects.filter(in_force_q(start), pk=grant.pk).exists()
