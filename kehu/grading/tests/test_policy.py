"""The grading scheme as a stored policy (R-GRD-06, R-GRD-03): the default is version 1, a proposal with bad quotas
or weights is refused with the field and rule and stores nothing, the policy pages show the scheme, and a run names
the version it was graded under."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from kehu.core.errors import ValidationFailed
from kehu.core.policies.models import PolicyVersion
from kehu.core.tests.factories import user_with
from kehu.grading import policies

pytestmark = pytest.mark.django_db


def test_default_scheme_is_stored_as_version_1(db):
    scheme, version = policies.scheme()
    assert version is not None
    assert [g.name for g in scheme.grades] == ["A", "B", "C", "D"]
    assert [g.quota for g in scheme.grades] == [20, 30, 40, 10]
    assert sum(i.weight for i in scheme.items) == scheme.total_points == 100


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda v: v["grades"][0].update(quota=30), "100"),
        (lambda v: v["items"][0].update(weight=26), "总分"),
    ],
)
def test_proposal_with_bad_sums_is_refused(db, change, needle):
    from kehu.core.policies.services import policy_propose

    pmo = user_with("pmo", username="pmo1")
    values = policies.SchemePolicy().model_dump(mode="json")
    change(values)
    before = PolicyVersion.objects.count()
    with pytest.raises(ValidationFailed) as e:
        policy_propose(
            actor=pmo, key=policies.SCHEME, values=values, effective_from=dt.date(2030, 1, 1), reason="调整"
        )
    assert needle in str(e.value.message)
    assert PolicyVersion.objects.count() == before


def test_policy_page_shows_the_scheme(db):
    c = Client()
    c.force_login(user_with("general_manager", username="gmx"))
    resp = c.get(f"/policies/{policies.SCHEME}/")
    assert resp.status_code == 200
    assert "客户分级方案" in resp.content.decode()


def test_unknown_sales_model_share_is_refused(db):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="销售模式得分比例"):
        policies.SchemePolicy(rules={"sales_model_percent": {"pirate": 50}})
    with pytest.raises(ValidationError, match="销售模式得分比例"):
        policies.SchemePolicy(rules={"sales_model_percent": {"direct": 150}})


def test_propose_page_renders_the_scheme_form(db):
    c = Client()
    c.force_login(user_with("pmo", username="pmo2"))
    resp = c.get(f"/policies/{policies.SCHEME}/propose/")
    assert resp.status_code == 200
