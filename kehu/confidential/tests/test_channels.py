"""Every confidential item is out of reach without the role or a grant, through every channel: page, API, export,
download, the dossier and the customer search (R-PLT-02, R-ARC-01); refusals point to the request form."""

from __future__ import annotations

import pytest

from kehu.core.models.audit import AuditEntry

from .conftest import grant_for

pytestmark = pytest.mark.django_db


def channels(customer, credit, secret_file) -> dict[str, list[str]]:
    c, s, r, d = customer.pk, credit["statement"].pk, credit["rating"].pk, credit["doc"].pk
    return {
        "credit.file": [f"/credit/customers/{c}/", f"/api/v1/credit/files/{c}"],
        "credit.statements": [
            f"/credit/customers/{c}/statements/",
            f"/credit/statements/{s}/",
            f"/credit/customers/{c}/statements/?export=xlsx",
            f"/api/v1/credit/customers/{c}/statements",
            f"/api/v1/credit/statements/{s}",
        ],
        "credit.ratings": [f"/credit/ratings/{r}/", f"/api/v1/credit/ratings/{r}"],
        "document": [f"/attachments/{d}/download/", f"/api/v1/attachments/{d}/download"],
        "file": [
            f"/attachments/{secret_file.pk}/download/",
            f"/api/v1/attachments/{secret_file.pk}/download",
        ],
    }


def reads():
    return AuditEntry.objects.filter(confidential=True, action__in=["read", "download", "export"])


@pytest.mark.parametrize("who", ["rep1", "mgr", "quality", "auditor"])
def test_unreachable_without_role_or_grant(client, people, customer, credit, secret_file, who):
    client.force_login(people[who])
    before = reads().count()
    for item, urls in channels(customer, credit, secret_file).items():
        for url in urls:
            status = client.get(url).status_code
            if item == "document":  # the credit file's documents: the file itself is out of reach
                assert status in (403, 404), (who, url)
            elif who == "quality" or (who == "auditor" and item == "file"):
                assert status in (403, 404), (who, url)  # not even the customer in sight
            else:
                assert status == 403, (who, url, status)
    assert reads().count() == before  # nothing was read, nothing logged


def test_refusals_point_to_the_request_form(client, people, customer, credit, secret_file):
    client.force_login(people["rep1"])
    page = client.get(f"/credit/customers/{customer.pk}/statements/")
    body = page.content.decode()
    assert page.status_code == 403 and 'id="request-access"' in body
    assert f"/confidential/requests/new/?customer={customer.pk}&amp;items=credit.statements" in body
    api = client.get(f"/api/v1/credit/statements/{credit['statement'].pk}").json()
    assert api["code"] == "forbidden"
    assert api["detail"]["request_access"].endswith(f"customer={customer.pk}&items=credit.statements")
    api = client.get(f"/api/v1/attachments/{secret_file.pk}/download").json()
    assert api["detail"]["request_access"].endswith(f"items=attachment%3A{secret_file.pk}")
    # a rep of another region, who does not see the customer, gets no hint (and no id leaks)
    client.force_login(people["rep2"])
    api = client.get(f"/api/v1/credit/statements/{credit['statement'].pk}").json()
    assert api["code"] == "forbidden" and api["detail"] == {}


def test_dossier_shows_request_links_not_content(client, people, customer, credit, secret_file):
    client.force_login(people["rep1"])
    tab3 = client.get(f"/customers/{customer.pk}/?tab=3").content.decode()
    assert 'id="confidential-credit"' in tab3
    for key in ("credit.file", "credit.statements", "credit.ratings"):
        assert f'data-request-item="{key}"' in tab3
    assert "开工率" not in tab3 and f"/credit/customers/{customer.pk}/" not in tab3
    tab1 = client.get(f"/customers/{customer.pk}/?tab=1").content.decode()
    row = tab1[tab1.index(f'data-attachment="{secret_file.pk}"') :]
    row = row[: row.index("</tr>")]
    assert f'data-request-access="{secret_file.pk}"' in row and "/download/" not in row
    # credit roles see the credit summary and not the request card
    client.force_login(people["finance"])
    tab3 = client.get(f"/customers/{customer.pk}/?tab=3").content.decode()
    assert 'id="confidential-credit"' not in tab3 and "打开信用档案" in tab3


def test_with_a_grant_every_channel_opens(client, people, customer, credit, secret_file):
    grant_for(people, customer, ["credit.file"])
    grant_for(people, customer, [f"attachment:{secret_file.pk}"], approver="archivist")
    client.force_login(people["rep1"])
    for urls in channels(customer, credit, secret_file).values():
        for url in urls:
            assert client.get(url).status_code == 200, url
    # the dossier offers the granted items
    tab3 = client.get(f"/customers/{customer.pk}/?tab=3").content.decode()
    assert 'data-open-item="credit.file"' in tab3
    # cross-customer lists stay with the roles
    assert client.get("/credit/ratings/").status_code == 403
    assert client.get("/api/v1/credit/ratings").status_code == 403
    assert client.get("/credit/ratings/?export=xlsx").status_code == 403


def test_customer_search_reveals_no_confidential_content(client, people, customer, credit, secret_file):
    """The customer list and its API search the master data only: words of the credit file, the statements or a
    confidential file's title find nothing, and the rows carry none of them."""
    client.force_login(people["rep1"])
    for q in ("开工率", "实地照片", "担保情况报告", "30000000", "30,000,000"):
        assert customer.name not in client.get("/customers/", {"q": q}).content.decode(), q
        assert client.get("/api/v1/customers", {"q": q}).json()["count"] == 0, q
    listing = client.get("/customers/").content.decode()
    assert customer.name in listing and "开工率" not in listing and "30,000,000" not in listing
    api = client.get("/api/v1/customers").content.decode()
    assert "开工率" not in api and "担保情况报告" not in api
