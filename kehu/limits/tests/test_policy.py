"""The policy ``limits.credit``: the authority matrix and the other numbers are policy values (R-CRD-02, 04, 08,
09), validated when a change is proposed, and routing follows the version in force."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from kehu.core.errors import ValidationFailed
from kehu.core.tests.factories import user_with
from kehu.limits import policies, services
from kehu.limits.policies import Band, CreditPolicy

from .conftest import active_customer

pytestmark = pytest.mark.django_db


def test_default_is_stored_and_read():
    policy, version = policies.credit()
    assert version is not None
    assert [(b.up_to, b.role) for b in policy.bands] == [
        (Decimal("100000"), "credit_officer"),
        (Decimal("1000000"), "credit_manager"),
        (None, "credit_committee"),
    ]
    assert policy.review_months == 12 and policy.late_count == 2


@pytest.mark.parametrize(
    "bands",
    [
        [{"up_to": "100", "role": "credit_officer"}],  # the last band must be open
        [{"up_to": None, "role": "credit_officer"}, {"up_to": None, "role": "credit_manager"}],
        [
            {"up_to": "500", "role": "credit_officer"},
            {"up_to": "100", "role": "credit_manager"},
            {"up_to": None, "role": "credit_committee"},
        ],
        [{"up_to": None, "role": "sales_rep"}],
    ],
)
def test_bad_matrices_are_refused(bands):
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        CreditPolicy.model_validate({"bands": bands})


def test_proposing_a_bad_value_names_the_field(org):
    from kehu.core.policies.services import policy_propose

    gm = user_with(["general_manager", "pmo"], username="gm-policy")
    import datetime as dt

    with pytest.raises(ValidationFailed) as exc:
        policy_propose(
            actor=gm,
            key=policies.KEY,
            values={**CreditPolicy().model_dump(mode="json"), "late_count": 0},
            effective_from=dt.date(2027, 1, 1),
            reason="试行",
        )
    assert "late_count" in str(exc.value.field)


def test_routing_follows_the_policy_in_force(team, monkeypatch):
    custom = CreditPolicy(
        bands=[Band(up_to=Decimal("20000"), role="credit_officer"), Band(up_to=None, role="credit_committee")]
    )
    monkeypatch.setattr(policies, "credit", lambda: (custom, 99))
    c = active_customer(team["rep1"])
    app = services.application_create(
        actor=team["rep1"], customer_id=c.pk, requested_amount="20000.01", requested_term_days=0, reason="x"
    )
    services.application_act(actor=team["rep1"], application_id=app.pk, transition="submit")
    services.finding_save(actor=team["credit"], application_id=app.pk, channel="bank", findings="正常")
    services.conclusion_save(actor=team["credit"], application_id=app.pk, conclusion="可")
    with pytest.raises(ValidationFailed):
        services.application_act(
            actor=team["credit"], application_id=app.pk, transition="route_credit_manager"
        )
    app = services.application_act(
        actor=team["credit"], application_id=app.pk, transition="route_credit_committee"
    )
    assert app.approver_role == "credit_committee" and app.policy_version_id == 99


def test_policy_page_opens(team, client):
    client.force_login(team["gm"])
    assert client.get(reverse("policy_detail", args=[policies.KEY])).status_code == 200
