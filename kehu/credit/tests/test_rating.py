"""Ratings (R-CRD-03): the scorecard arithmetic against hand-computed cases (three customers in three industry
categories, indicator and grade band edges), the policy's refusals, the two-step approval, overrides, one rating
in force per customer."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from pydantic import ValidationError

from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditEntry
from kehu.credit import policies, selectors, services
from kehu.credit.interface import rating_in_force
from kehu.credit.models import Rating
from kehu.credit.policies import GRADES, RatingPolicy
from kehu.workflow.models import Task

from .conftest import GOOD_LINES, make_customer

pytestmark = pytest.mark.django_db

QUAL = {
    "payment_history": 4,
    "years_of_trade": Decimal(3),
    "industry_outlook": 3,
    "management": 4,
    "litigation": 5,
}


def stmt(actor, customer, **lines):
    return services.statement_save(
        actor=actor,
        customer_id=customer.pk,
        period_end=dt.date(2024, 12, 31),
        period_type="year",
        lines={**GOOD_LINES, **lines},
    )


def contributions(r: Rating) -> dict[str, tuple[int, str]]:
    return {d["key"]: (d["points"], d["contribution"]) for d in r.details}


def test_case_1_industrial(people, customer):
    """Industrial weights 12/12/12/10/8 | 16/8/8/8/6. Current 1.6 → 80; debt 45% → 100; net margin 6% (edge) → 80;
    OCF/debt 30% (edge) → 100; assets 2,000万 (edge) → 60; payment 4 → 80; years 3 (edge) → 60; industry 3 → 60;
    management 4 → 80; litigation 5 → 100. Score 9.6+12+9.6+10+4.8+12.8+4.8+4.8+6.4+6 = 80.80 → A (≥80), class A."""
    stmt(people["officer"], customer)
    r = services.rating_prepare(actor=people["officer"], customer_id=customer.pk, **QUAL)
    assert r.category == "industrial"
    assert contributions(r) == {
        "current_ratio": (80, "9.60"),
        "debt_to_asset": (100, "12.00"),
        "net_margin": (80, "9.60"),
        "ocf_to_debt": (100, "10.00"),
        "total_assets": (60, "4.80"),
        "payment_history": (80, "12.80"),
        "years_of_trade": (60, "4.80"),
        "industry_outlook": (60, "4.80"),
        "management": (80, "6.40"),
        "litigation": (100, "6.00"),
    }
    assert (r.score, r.grade, r.computed_grade, r.credit_class) == (Decimal("80.80"), "A", "A", "A")
    assert r.status == "draft" and r.policy_version_id is not None
    assert rating_in_force(customer) is None  # a draft is not in force


def test_case_2_trade_weak(people):
    """Trade weights 14/10/10/12/6 | 18/10/6/8/6. Current 1.0 (edge) → 40; debt exactly 70% → not < 70 → 40;
    net margin 1% (edge) → 40; OCF/debt 5% (edge) → 40; assets 1,000万 → 40; payment 3 → 60; years 0.5 → 20;
    industry 2 → 30; management 3 → 60; litigation 2 → 30.
    Score 5.6+4+4+4.8+2.4+10.8+2+1.8+4.8+1.8 = 42.00 → B- (40 ≤ s < 45), class C."""
    c = make_customer(people["rep1"], "苏州远航商贸有限公司", industry="trade")
    stmt(
        people["officer"],
        c,
        cash=Decimal(1_000_000),
        receivables=Decimal(2_000_000),
        inventory=Decimal(1_000_000),
        current_assets=Decimal(5_000_000),
        total_assets=Decimal(10_000_000),
        current_liabilities=Decimal(5_000_000),
        total_liabilities=Decimal(7_000_000),
        equity=Decimal(3_000_000),
        revenue=Decimal(20_000_000),
        cost_of_sales=Decimal(18_000_000),
        operating_profit=Decimal(300_000),
        interest_expense=Decimal(100_000),
        net_profit=Decimal(200_000),
        operating_cash_flow=Decimal(350_000),
    )
    r = services.rating_prepare(
        actor=people["officer"],
        customer_id=c.pk,
        payment_history=3,
        years_of_trade=Decimal("0.5"),
        industry_outlook=2,
        management=3,
        litigation=2,
    )
    assert r.category == "trade"
    assert [d["points"] for d in r.details] == [40, 40, 40, 40, 40, 60, 20, 30, 60, 30]
    assert next(d for d in r.details if d["key"] == "debt_to_asset")["band"] == "< 80"
    assert (r.score, r.grade, r.credit_class) == (Decimal("42.00"), "B-", "C")


def test_case_3_construction_heavy_leverage(people):
    """Construction weights 10/16/10/12/8 | 16/6/8/8/6, leverage bands 60/70/80/85/90. Current 2.0 (edge) → 100;
    debt 60% → not < 60 → 80; net margin 10% (edge) → 100; OCF/debt 20% (edge) → 80; assets 50,000万 (edge) → 100;
    payment 5 → 100; years 10 (edge) → 100; industry 4 → 80; management 4 → 80; litigation 5 → 100.
    Score 10+12.8+10+9.6+8+16+6+6.4+6.4+6 = 91.20 → AAA (≥90), class A."""
    c = make_customer(people["rep1"], "杭州恒基建设工程有限公司", industry="construction")
    stmt(
        people["officer"],
        c,
        cash=Decimal(50_000_000),
        receivables=Decimal(50_000_000),
        inventory=Decimal(50_000_000),
        current_assets=Decimal(200_000_000),
        total_assets=Decimal(500_000_000),
        current_liabilities=Decimal(100_000_000),
        total_liabilities=Decimal(300_000_000),
        equity=Decimal(200_000_000),
        revenue=Decimal(100_000_000),
        cost_of_sales=Decimal(80_000_000),
        operating_profit=Decimal(14_000_000),
        interest_expense=Decimal(2_000_000),
        net_profit=Decimal(10_000_000),
        operating_cash_flow=Decimal(60_000_000),
    )
    r = services.rating_prepare(
        actor=people["officer"],
        customer_id=c.pk,
        payment_history=5,
        years_of_trade=Decimal(10),
        industry_outlook=4,
        management=4,
        litigation=5,
    )
    assert r.category == "construction"
    assert [d["points"] for d in r.details] == [100, 80, 100, 80, 100, 100, 100, 80, 80, 100]
    assert (r.score, r.grade, r.credit_class) == (Decimal("91.20"), "AAA", "A")


def test_case_4_no_statements_general(people):
    """No statements: the five quantitative indicators score 0 ("—"). General weights: qualitative 16/8/8/8/6 all at
    100 → 46.00 → B+ (45 ≤ s < 50), class C."""
    c = make_customer(people["rep1"], "北京云启信息技术有限公司", industry="it")
    r = services.rating_prepare(
        actor=people["officer"],
        customer_id=c.pk,
        payment_history=5,
        years_of_trade=Decimal(12),
        industry_outlook=5,
        management=5,
        litigation=5,
    )
    assert r.category == "general" and r.statement is None
    assert [d["band"] for d in r.details[:5]] == ["—"] * 5
    assert (r.score, r.grade, r.credit_class) == (Decimal("46.00"), "B+", "C")


def test_grade_and_class_band_edges():
    p = RatingPolicy()
    cases = {
        "100": "AAA",
        "90": "AAA",
        "89.99": "AA",
        "80": "A",
        "79.99": "BBB+",
        "65": "BBB-",
        "64.99": "BB+",
        "45": "B+",
        "44.99": "B-",
        "40": "B-",
        "39.99": "CCC",
        "10": "C",
        "9.99": "D",
        "0": "D",
    }
    for score, grade in cases.items():
        assert p.grade_for(Decimal(score)) == grade, score
    assert [p.class_for(g) for g in ("A", "BBB+", "BBB-", "BB+", "B-", "CCC", "D")] == list("ABBCCDD")
    assert p.category_for("machinery") == "industrial" and p.category_for("") == "general"
    assert p.category_for("unknown") == "general"


def test_policy_refusals():
    data = RatingPolicy().model_dump(mode="json")
    bad = {**data, "scorecards": {**data["scorecards"]}}
    bad["scorecards"]["trade"] = {
        **data["scorecards"]["trade"],
        "litigation": {**data["scorecards"]["trade"]["litigation"], "weight": 7},
    }
    with pytest.raises(ValidationError) as exc:
        RatingPolicy.model_validate(bad)
    assert "101" in str(exc.value) and "trade" in str(exc.value)
    grades = [*data["grade_bands"]]
    grades[0], grades[1] = grades[1], grades[0]
    with pytest.raises(ValidationError):
        RatingPolicy.model_validate({**data, "grade_bands": grades})
    flat = [dict(b) for b in data["grade_bands"]]
    flat[3]["min_score"] = "85"  # not strictly decreasing
    with pytest.raises(ValidationError):
        RatingPolicy.model_validate({**data, "grade_bands": flat})
    with pytest.raises(ValidationError):
        RatingPolicy.model_validate({**data, "class_b": ["BBB+", "BBB"]})  # BBB- left out
    with pytest.raises(ValidationError):
        RatingPolicy.model_validate({**data, "industry_map": {"trade": "shipping"}})
    assert RatingPolicy.model_validate(data) == RatingPolicy()


def test_policy_propose_refuses_bad_weights(people):
    from kehu.core.policies.services import policy_propose
    from kehu.core.tests.factories import user_with

    proposer = user_with(["sysadmin", "general_manager"], username="pol1")
    data = RatingPolicy().model_dump(mode="json")
    data["scorecards"]["general"]["management"]["weight"] = 20
    with pytest.raises(ValidationFailed) as exc:
        policy_propose(
            actor=proposer, key=policies.RATING, values=data, effective_from=dt.date(2027, 1, 1), reason="x"
        )
    assert "100" in str(exc.value.message)


# --------------------------------------------------------------------------------------------------------------
# Approval, override, one in force


def prepared(people, customer, who="officer"):
    stmt(people["officer"], customer)
    return services.rating_prepare(actor=people[who], customer_id=customer.pk, **QUAL)


def test_two_step_approval_and_tasks(people, customer):
    r = prepared(people, customer)
    with pytest.raises(PermissionDenied):
        services.rating_submit(actor=people["officer2"], rating_id=r.pk)  # only the preparer submits
    services.rating_submit(actor=people["officer"], rating_id=r.pk)
    task = Task.objects.get(target_id=str(r.pk), state="open")
    assert task.assignee_role == "credit_manager"
    with pytest.raises(PermissionDenied):
        services.rating_decide(
            actor=people["officer"], rating_id=r.pk, decision="approve"
        )  # no decide action
    with pytest.raises(PermissionDenied):
        services.rating_decide(actor=people["gm"], rating_id=r.pk, decision="approve")
    with pytest.raises(ValidationFailed) as exc:
        services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="return")
    assert exc.value.field == "comment"
    services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="return", comment="补充诉讼核查")
    r.refresh_from_db()
    assert r.status == "draft" and not Task.objects.filter(target_id=str(r.pk), state="open").exists()
    services.rating_update(actor=people["officer"], rating_id=r.pk, **{**QUAL, "litigation": 4})
    r.refresh_from_db()
    assert r.score == Decimal("79.60") and r.grade == "BBB+"  # litigation 4 → 80 points: 6.00 → 4.80
    services.rating_submit(actor=people["officer"], rating_id=r.pk)
    services.rating_decide(actor=people["committee"], rating_id=r.pk, decision="approve", comment="同意")
    r.refresh_from_db()
    assert r.status == "approved" and r.rated_on is not None
    assert r.review_due == services.add_months(r.rated_on, 12)
    view = rating_in_force(customer)
    assert view is not None and view.id == r.pk and view.grade == "BBB+" and view.credit_class == "B"
    with pytest.raises(Conflict):
        services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="approve")


def test_preparer_cannot_approve(people, customer):
    r = prepared(people, customer, who="manager")  # a credit manager may prepare too
    services.rating_submit(actor=people["manager"], rating_id=r.pk)
    with pytest.raises(PermissionDenied):
        services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="approve")
    r.refresh_from_db()
    assert r.status == "pending"
    services.rating_decide(actor=people["manager2"], rating_id=r.pk, decision="approve")
    assert Rating.objects.get(pk=r.pk).status == "approved"


def test_override_rules(people, customer, monkeypatch):
    r = prepared(people, customer)
    with pytest.raises(Conflict):  # a draft cannot be overridden
        services.rating_override(actor=people["manager"], rating_id=r.pk, grade="BBB", reason="x")
    services.rating_submit(actor=people["officer"], rating_id=r.pk)
    with pytest.raises(PermissionDenied):  # the analyst may not override (no higher role)
        services.rating_override(actor=people["officer"], rating_id=r.pk, grade="BBB", reason="担保公司代偿")
    with pytest.raises(ValidationFailed) as exc:
        services.rating_override(actor=people["manager"], rating_id=r.pk, grade="BBB", reason="  ")
    assert exc.value.field == "reason"
    with pytest.raises(ValidationFailed) as exc:
        services.rating_override(actor=people["manager"], rating_id=r.pk, grade="AAAA", reason="x")
    assert exc.value.field == "grade"
    before = AuditEntry.objects.count()
    services.rating_override(actor=people["manager"], rating_id=r.pk, grade="BBB", reason="主要客户流失")
    r.refresh_from_db()
    assert (r.computed_grade, r.grade, r.credit_class, r.overridden) == ("A", "BBB", "B", True)
    entry = AuditEntry.objects.get(seq__gt=before if before else 0, object_id=str(r.pk), action="update")
    assert entry.changes["grade"] == ["A", "BBB"] and entry.reason == "主要客户流失" and entry.confidential
    # segregation of duties: who overrode the grade may not approve it; a second person confirms it
    with pytest.raises(PermissionDenied):
        services.rating_decide(actor=people["manager"], rating_id=r.pk, decision="approve")
    # the policy decides who counts as higher: with only the committee, a credit manager is refused
    policy = RatingPolicy(override_roles=["credit_committee"])
    monkeypatch.setattr(policies, "rating", lambda: (policy, None))
    with pytest.raises(PermissionDenied):
        services.rating_override(actor=people["manager"], rating_id=r.pk, grade="BBB-", reason="y")
    services.rating_override(actor=people["committee"], rating_id=r.pk, grade="BBB-", reason="y")
    assert Rating.objects.get(pk=r.pk).grade == "BBB-"
    services.rating_decide(actor=people["manager2"], rating_id=r.pk, decision="approve")
    view = rating_in_force(customer)
    assert view is not None and view.overridden and view.grade == "BBB-"
    # a rating in force is not changed in place: it is re-rated
    with pytest.raises(Conflict):
        services.rating_override(actor=people["committee"], rating_id=r.pk, grade="BB", reason="z")


def test_one_in_force(people, customer):
    first = prepared(people, customer)
    with pytest.raises(Conflict):  # one rating in preparation at a time
        services.rating_prepare(actor=people["officer2"], customer_id=customer.pk, **QUAL)
    services.rating_submit(actor=people["officer"], rating_id=first.pk)
    services.rating_decide(actor=people["manager"], rating_id=first.pk, decision="approve")
    second = services.rating_prepare(
        actor=people["officer2"], customer_id=customer.pk, **{**QUAL, "payment_history": 5}
    )
    assert rating_in_force(customer).id == first.pk  # still the first while the second is prepared
    services.rating_submit(actor=people["officer2"], rating_id=second.pk)
    services.rating_decide(actor=people["manager"], rating_id=second.pk, decision="approve")
    assert list(Rating.objects.filter(customer=customer).order_by("pk").values_list("status", flat=True)) == [
        "superseded",
        "approved",
    ]
    assert rating_in_force(customer).id == second.pk
    with pytest.raises(IntegrityError), transaction.atomic():
        Rating.objects.filter(pk=first.pk).update(status="approved")


def test_inputs_refused(people, customer):
    for field, bad in (("payment_history", 6), ("management", 0), ("years_of_trade", Decimal(-1))):
        with pytest.raises(ValidationFailed) as exc:
            services.rating_prepare(actor=people["officer"], customer_id=customer.pk, **{**QUAL, field: bad})
        assert exc.value.field == field
    other = make_customer(people["rep1"], "宁波东海机电有限公司", industry="machinery")
    s = stmt(people["officer"], other)
    with pytest.raises(ValidationFailed) as exc:
        services.rating_prepare(actor=people["officer"], customer_id=customer.pk, statement_id=s.pk, **QUAL)
    assert exc.value.field == "statement_id"
    for who in ("rep1", "finance", "gm"):
        with pytest.raises(PermissionDenied):
            services.rating_prepare(actor=people[who], customer_id=customer.pk, **QUAL)
    assert not Rating.objects.exists()


def test_default_years_of_trade(people):
    from kehu.customers import services as cs

    c = make_customer(
        people["rep1"], "天津北辰机械有限公司", industry="machinery", founded_on=dt.date(2015, 6, 1)
    )
    assert selectors.default_years_of_trade(c, at=dt.date(2025, 6, 1)) == Decimal("10.0")
    cs.customer_submit_review(actor=people["rep1"], customer_id=c.pk, reason="提交")
    cs.customer_activate(actor=people["gm"], customer_id=c.pk, reason="通过")
    # activated today: the trade relationship starts now
    assert selectors.default_years_of_trade(c) == Decimal("0.0")
    bare = make_customer(people["rep1"], "重庆两江新材料有限公司")
    assert selectors.default_years_of_trade(bare) == Decimal(0)


def test_grades_constant_matches_policy():
    assert [b.grade for b in RatingPolicy().grade_bands] == list(GRADES) and len(GRADES) == 15
