from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kehu.core.attachments import attachment_add
from kehu.core.tests.factories import user_with
from kehu.customers.tests.conftest import make, org  # noqa: F401  (fixture)
from kehu.onboarding import services

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

APPLICATION = {
    "purpose": "建立长期供货关系",
    "expected_business": "数控机床配件年度采购",
    "products": "精密轴承、导轨",
    "expected_annual_volume": "3600000.00",
    "requested_terms": "月结60天",
}

ANSWERS = {
    "screening": {"needs": "yes", "reputation": "yes", "industry_position": "yes"},
    "qualification": {
        "registration": "yes",
        "operating": "yes",
        "licence": "yes",
        "tax_registration": "na",
        "organisation_code": "na",
        "professional": "yes",
    },
    "business": {"compliance": "yes", "authenticity": "yes", "legality": "yes"},
    "risk": {"credit_record": "yes", "litigation": "yes", "industry": "yes", "site_visit": "no"},
    "interview": {"details": "yes", "review_team": "yes", "nda": "yes"},
    "check": {"registration": "yes", "operating": "yes", "professional": "yes"},
    "risk_check": {"credit_record": "yes", "litigation": "yes", "meeting": "yes"},
}


def licence(actor: Any, customer: Any, valid_to: dt.date | None = None) -> Any:
    return attachment_add(
        actor=actor,
        target=customer,
        upload=SimpleUploadedFile("营业执照.pdf", PDF, content_type="application/pdf"),
        doc_type="business_licence",
        valid_from=timezone.localdate() - dt.timedelta(days=400),
        valid_to=valid_to or timezone.localdate() + dt.timedelta(days=700),
    )


@pytest.fixture(autouse=True)
def _fresh_policies():
    from kehu.core.policies.services import clear_cache

    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def team(org):  # noqa: F811
    org = dict(org)
    org["reviewer"] = user_with("reviewer", username="reviewer1")
    org["reviewer2"] = user_with("reviewer", username="reviewer2")
    org["credit_officer"] = org["credit"]
    org["credit_mgr"] = user_with("credit_manager", username="creditmgr1")
    org["admin"] = user_with("sysadmin", username="admin1")
    return org


def prospect(
    team: dict[str, Any], name: str = "上海华信精密机械有限公司", owner: str = "rep1", docs: bool = True
) -> Any:
    c = make(team[owner], name=name, confirm_duplicates=True)
    if docs:
        licence(team[owner], c)
    return c


def step(actor: Any, review: Any, transition: str, **kw: Any) -> Any:
    state = review.case.state if review.case else ""
    kw.setdefault("checklist", ANSWERS.get(state, {}))
    return services.review_act(actor=actor, review_id=review.pk, transition=transition, **kw)


def to_stage(team: dict[str, Any], review: Any, stage: str) -> Any:
    """Walk a fresh review forward to ``stage``."""
    path = [
        ("screening", "submit", "rep1", {}),
        ("qualification", "qualify", "reviewer", {}),
        ("business", "pass_business", "reviewer", {}),
        ("risk", "pass_risk", "credit_officer", {"comment": "信用良好，风险低"}),
        ("interview", "pass_interview", "rep1", {}),
    ]
    for state, transition, who, kw in path:
        if state == stage:
            return review
        review = step(team[who], review, transition, **kw)
    return review
