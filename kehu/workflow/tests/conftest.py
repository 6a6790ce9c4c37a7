"""A test-only process definition, registered for the test and removed afterwards."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.core.models import Absence
from kehu.core.tests.factories import DepartmentFactory, user_with
from kehu.workflow import engine
from kehu.workflow.engine import Check, Definition, State, Transition, not_preparer

EFFECTS: list[tuple[int, str]] = []


def _approver(case):
    from kehu.core.models import User

    pk = (case.data or {}).get("approver_id")
    return User.objects.filter(pk=pk).first() if pk else None


def _not_frozen(case, user):
    return "该事项已冻结。" if (case.data or {}).get("frozen") else None


def _effect(case, user, data):
    EFFECTS.append((case.pk, data["transition"]))


def make_definition(key: str = "wf_test", review_label: str = "审核") -> Definition:
    return Definition(
        key=key,
        name="测试流程",
        level="L2",
        owner_role="pmo",
        departments=["sales"],
        key_control_points=["复核"],
        kpis=["周期"],
        initial="draft",
        states=[
            State("draft", "草稿"),
            State("review", review_label, deadline_days=3, assignee_role="reviewer"),
            State("approval", "批准", deadline_days=2, assignee=_approver, assignee_role="sales_manager"),
            State("done", "完成", final=True),
            State("rejected", "驳回", final=True),
        ],
        transitions=[
            Transition("submit", "提交", source="draft", target="review", roles=["sales_rep"]),
            Transition(
                "review_pass",
                "审核通过",
                source="review",
                target="approval",
                roles=["reviewer"],
                attachments_required=True,
                checklist=[Check("docs", "资料齐全", mandatory=True), Check("visit", "已走访")],
            ),
            Transition(
                "send_back",
                "退回",
                source="review",
                target="draft",
                roles=["reviewer"],
                send_back=True,
                comment_required=True,
            ),
            Transition(
                "approve",
                "批准",
                source="approval",
                target="done",
                roles=["sales_manager"],
                guards=[not_preparer(of_state="review"), _not_frozen],
                effects=[_effect],
            ),
            Transition(
                "reject",
                "驳回",
                source="approval",
                target="rejected",
                roles=["sales_manager"],
                comment_required=True,
            ),
        ],
    )


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def wf_def(db):
    definition = engine.register_definition(make_definition())
    EFFECTS.clear()
    yield definition
    engine.unregister_definition("wf_test")


@pytest.fixture
def people(db):
    dept = DepartmentFactory(kind="sales")
    rep = user_with("sales_rep", department=dept)
    reviewer = user_with("reviewer", department=dept)
    manager = user_with("sales_manager", department=dept)
    backup = user_with("sales_rep", department=dept)
    manager.backup = backup
    manager.save(update_fields=["backup"])
    outsider = user_with("quality_engineer")
    return {
        "dept": dept,
        "rep": rep,
        "reviewer": reviewer,
        "manager": manager,
        "backup": backup,
        "outsider": outsider,
    }


def make_absent(user, days: int = 3) -> Absence:
    now = timezone.now()
    return Absence.objects.create(
        user=user, start=now - dt.timedelta(hours=1), end=now + dt.timedelta(days=days)
    )
