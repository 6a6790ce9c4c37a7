"""Lists of requests and grants cost the same number of queries for a few rows or many (API, page exports): the
grant of each request comes with it and the item labels are read once per page or export (R-ARC-01)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kehu.core.attachments import attachment_add

from .conftest import grant_for, make_customer, pdf

pytestmark = pytest.mark.django_db


def add_rows(people: dict[str, Any], n: int, start: int) -> None:
    """Per row: a customer with an approved credit request and an approved request for a dossier file."""
    from kehu.confidential import services

    for i in range(start, start + n):
        c = make_customer(people["rep1"], f"测试{i}号机械有限公司")
        grant_for(people, c, ["credit.statements", "credit.ratings"])
        f = attachment_add(
            actor=people["rep1"],
            target=c,
            upload=pdf(),
            doc_type="report",
            title=f"说明{i}",
            confidential=True,
        )
        req = services.request_create(
            actor=people["rep1"], customer_id=c.pk, items=[f"attachment:{f.pk}"], purpose="核对"
        )
        services.request_act(actor=people["archivist"], request_id=req.pk, transition="approve")


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200, url
    return len(ctx.captured_queries)


URLS = [
    "/api/v1/access-requests?box=mine&size=200",
    "/api/v1/access-requests?box=all&size=200",
    "/api/v1/access-requests/grants?state=all&size=200",
    "/confidential/requests/?export=xlsx",
    "/confidential/requests/all/?export=xlsx",
    "/confidential/grants/?state=all&export=xlsx",
]


def test_request_and_grant_lists_do_not_grow_with_rows(client, people, customer):
    add_rows(people, 2, 0)
    counts = {}
    for who in ("rep1", "gm"):
        client.force_login(people[who])
        counts[who] = {u: queries(client, u) for u in URLS if who == "gm" or "box=all" not in u}
    add_rows(people, 6, 2)
    for who, small in counts.items():
        client.force_login(people[who])
        for url, n in small.items():
            assert queries(client, url) == n, (who, url)
            assert n <= 20, (who, url, n)


def test_api_list_items_carry_grants_and_labels(client, people, customer):
    add_rows(people, 2, 0)
    client.force_login(people["rep1"])
    data = client.get("/api/v1/access-requests?box=mine").json()
    assert data["count"] == 4
    for item in data["items"]:
        assert item["grant"]["request_id"] == item["id"] and item["grant"]["state"] == "active"
        assert set(item["item_labels"]) == set(item["items"])
        assert all(label != key for key, label in item["item_labels"].items())
