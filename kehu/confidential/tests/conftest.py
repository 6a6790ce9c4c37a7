from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kehu.core import access
from kehu.core.tests.factories import DepartmentFactory, RegionFactory, user_with
from kehu.core.tests.test_browser import browser_page  # noqa: F401  (fixture for the browser tests)
from kehu.core.uscc import uscc_generate
from kehu.customers import services as customer_services

_rng = random.Random(4242)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

LINES: dict[str, Decimal] = {
    "cash": Decimal("2000000"),
    "receivables": Decimal("3000000"),
    "inventory": Decimal("2500000"),
    "current_assets": Decimal("8000000"),
    "fixed_assets": Decimal("9000000"),
    "total_assets": Decimal("20000000"),
    "current_liabilities": Decimal("5000000"),
    "total_liabilities": Decimal("9000000"),
    "equity": Decimal("11000000"),
    "revenue": Decimal("30000000"),
    "cost_of_sales": Decimal("24000000"),
    "operating_profit": Decimal("2400000"),
    "interest_expense": Decimal("300000"),
    "net_profit": Decimal("1800000"),
    "operating_cash_flow": Decimal("2700000"),
    "investing_cash_flow": Decimal("-1000000"),
    "financing_cash_flow": Decimal("-500000"),
}
QUAL = {
    "payment_history": 4,
    "years_of_trade": Decimal(3),
    "industry_outlook": 3,
    "management": 4,
    "litigation": 5,
}


@pytest.fixture(autouse=True)
def _no_grant_noted():
    """Each test starts and ends with no access grant noted on this thread and no policy cached."""
    from kehu.core.policies.services import clear_cache

    access.forget_grant()
    clear_cache()
    yield
    access.forget_grant()
    clear_cache()


def set_policy(**values: Any) -> None:
    """A new formal version of policy ``confidential.levels`` with ``values`` (the rest default)."""
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import clear_cache

    number = PolicyVersion.objects.filter(type_key="confidential.levels").count() + 2
    PolicyVersion.objects.create(
        type_key="confidential.levels",
        number=number,
        status="formal",
        effective_from=dt.date(2020, 1, 1) + dt.timedelta(days=number),
        values=values,
    )
    clear_cache()


def pdf(name: str = "文件.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def make_customer(owner: Any, name: str, **fields: Any):
    fields.setdefault("credit_code", uscc_generate(_rng))
    return customer_services.customer_create(actor=owner, name=name, confirm_duplicates=True, **fields)


@pytest.fixture
def people(db) -> dict[str, Any]:
    sales = DepartmentFactory(code="S", name="营销部", kind="sales")
    east = DepartmentFactory(code="SE", name="华东销售部", kind="sales", parent=sales)
    south = DepartmentFactory(code="SS", name="华南销售部", kind="sales", parent=sales)
    from kehu.core.org import department_path

    department_path(east)
    department_path(south)
    region = RegionFactory(code="EC", name="华东")
    south_region = RegionFactory(code="SC", name="华南")
    return {
        "rep1": user_with("sales_rep", username="rep1", display_name="张伟", department=east, region=region),
        "rep2": user_with("sales_rep", username="rep2", department=south, region=south_region),
        "mgr": user_with("sales_manager", username="mgr_east", department=east, region=region),
        "officer": user_with("credit_officer", username="officer1"),
        "cmgr": user_with("credit_manager", username="cmgr1", display_name="赵磊"),
        "cmgr2": user_with("credit_manager", username="cmgr2"),
        "finance": user_with("finance", username="fin1"),
        "archivist": user_with("archivist", username="arc1"),
        "gm": user_with("general_manager", username="gm1"),
        "auditor": user_with("auditor", username="aud1"),
        "quality": user_with("quality_engineer", username="qe1"),
    }


@pytest.fixture
def customer(people):
    return make_customer(people["rep1"], "上海华信精密机械有限公司", industry="machinery")


@pytest.fixture
def other_customer(people):
    return make_customer(people["rep2"], "广州南方贸易有限公司", industry="trade")


@pytest.fixture
def credit(people, customer) -> dict[str, Any]:
    """The customer's credit file with a document, one statement and an approved rating."""
    from kehu.credit import services

    services.credit_file_update(
        actor=people["officer"], customer_id=customer.pk, site_survey="厂区两万平方米，开工率约八成。"
    )
    doc = services.credit_document_add(
        actor=people["officer"],
        customer_id=customer.pk,
        item="site_survey",
        upload=pdf("现场.pdf"),
        title="实地照片",
    )
    stmt = services.statement_save(
        actor=people["officer"],
        customer_id=customer.pk,
        period_end=dt.date(2024, 12, 31),
        period_type="year",
        lines=LINES,
    )
    rating = services.rating_prepare(actor=people["officer"], customer_id=customer.pk, **QUAL)
    services.rating_submit(actor=people["officer"], rating_id=rating.pk)
    services.rating_decide(actor=people["cmgr"], rating_id=rating.pk, decision="approve")
    return {"doc": doc.attachment, "statement": stmt, "rating": rating}


@pytest.fixture
def secret_file(people, customer):
    """A dossier file flagged confidential (uploaded by the owner)."""
    from kehu.core.attachments import attachment_add

    return attachment_add(
        actor=people["rep1"],
        target=customer,
        upload=pdf("担保情况.pdf"),
        doc_type="report",
        title="担保情况报告",
        confidential=True,
    )


def grant_for(people, customer, items, *, days=3, who="rep1", approver="cmgr"):
    """A request by ``who`` approved by ``approver``: its grant."""
    from kehu.confidential import services

    req = services.request_create(
        actor=people[who], customer_id=customer.pk, items=items, purpose="核对客户付款能力", period_days=days
    )
    req = services.request_act(actor=people[approver], request_id=req.pk, transition="approve", days=days)
    return req.grant
