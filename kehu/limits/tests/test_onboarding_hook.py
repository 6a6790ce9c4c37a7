"""The onboarding approval opens a draft credit application for the approved customer (R-ONB-03, R-CRD-02)."""

from __future__ import annotations

import pytest

from kehu.core.tests.factories import user_with
from kehu.limits import services
from kehu.limits.models import AppStatus, CreditApplication
from kehu.onboarding import hooks
from kehu.onboarding import services as onboarding
from kehu.onboarding.tests.conftest import APPLICATION, prospect, step, to_stage
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


@pytest.fixture
def onboarding_team(team):
    team = dict(team)
    team["reviewer"] = user_with("reviewer", username="reviewer1")
    team["credit_officer"] = team["credit"]
    return team


def test_limits_registers_its_callback_at_startup():
    """In a fresh process (other tests may empty the shared list), the app's startup registers the callback."""
    import subprocess
    import sys

    code = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kehu.settings'); django.setup(); "
        "from kehu.onboarding.hooks import on_customer_approved; "
        "from kehu.limits.services import on_customer_approved as fn; "
        "print(on_customer_approved.count(fn))"
    )
    out = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip().splitlines()[-1] == "1"


def test_approving_a_customer_opens_a_draft_application(onboarding_team, monkeypatch):
    # other modules' tests may have emptied the callback list; the wiring itself is checked above
    monkeypatch.setattr(hooks, "on_customer_approved", [services.on_customer_approved])
    team = onboarding_team
    customer = prospect(team)
    review = onboarding.review_apply(actor=team["rep1"], customer_id=customer.pk, **APPLICATION)
    review = to_stage(team, review, "approval")
    step(team["gm"], review, "approve", comment="同意合作")
    app = CreditApplication.objects.get(customer=customer)
    assert app.status == AppStatus.DRAFT and app.source == "onboarding" and app.created_by == team["gm"]
    task = Task.objects.get(case=app.case, state=TaskState.OPEN)
    assert task.assignee == team["rep1"]
