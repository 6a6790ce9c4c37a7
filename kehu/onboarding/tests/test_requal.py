"""Re-qualification (R-ONB-08): next review date per class from the policy, the policy's ranges, schedule moves
with policy and class changes, the daily job (due, expired documents, annual meeting task) and the outcomes
keep / downgrade / suspend with segregation of duties."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models.attachments import Attachment
from kehu.core.policies.models import PolicyVersion
from kehu.core.policies.services import clear_cache, policy_get, policy_propose
from kehu.core.tests.factories import user_with
from kehu.customers.models import ContactChannel, ContactLog, CustomerStatus
from kehu.onboarding import policies, services
from kehu.onboarding.jobs import requalification_run
from kehu.onboarding.models import Decision, Qualification, Review, ReviewKind, ReviewTrigger
from kehu.onboarding.tests.conftest import APPLICATION, prospect, step, to_stage
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


def active(team, name="上海华信精密机械有限公司", cls="general", **kw):
    c = prospect(team, name=name, **kw)
    if cls != "general":
        from kehu.customers.models import Customer

        Customer.objects.filter(pk=c.pk).update(customer_class=cls)
    review = services.review_apply(actor=team["rep1"], customer_id=c.pk, **APPLICATION)
    review = to_stage(team, review, "approval")
    step(team["gm"], review, "approve")
    c.refresh_from_db()
    assert c.status == CustomerStatus.ACTIVE
    return c


def set_policy(**values):
    policy_get(policies.REQUALIFICATION)
    last = PolicyVersion.objects.filter(type_key=policies.REQUALIFICATION).order_by("-number").first()
    v = PolicyVersion.objects.create(
        type_key=policies.REQUALIFICATION,
        number=last.number + 1,
        status="formal",
        effective_from=timezone.localdate(),
        values={**policies.RequalificationPolicy().model_dump(), **values},
    )
    clear_cache()
    return v


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"core_months": 5}, "core_months"),
        ({"core_months": 37}, "core_months"),
        ({"important_months": 11}, "important_months"),
        ({"important_months": 37}, "important_months"),
        ({"general_months": 11}, "general_months"),
        ({"general_months": 25}, "general_months"),
    ],
)
def test_policy_refuses_cycles_outside_the_ranges(values, field):
    pmo = user_with("pmo", username="pmo1")
    good = policies.RequalificationPolicy().model_dump()
    with pytest.raises(ValidationFailed) as exc:
        policy_propose(
            actor=pmo,
            key=policies.REQUALIFICATION,
            values={**good, **values},
            effective_from=timezone.localdate() + dt.timedelta(days=1),
            reason="调整复审周期",
        )
    assert field in (exc.value.field or "")


def test_review_policy_refuses_unknown_approver_role():
    with pytest.raises(ValueError):
        policies.ReviewPolicy(approver_roles=["sales_rep"])


@pytest.mark.parametrize(("cls", "months"), [("core", 12), ("important", 24), ("general", 24)])
def test_next_review_date_per_class(team, cls, months):
    c = active(team, cls=cls)
    q = Qualification.objects.get(customer=c)
    assert q.interval_months == months
    assert q.next_review_on == services.add_months(timezone.localdate(), months)


def test_policy_and_class_changes_move_the_schedule(team):
    c = active(team, cls="core")
    q = Qualification.objects.get(customer=c)
    v = set_policy(core_months=6, general_months=18)
    services.qualification_refresh()
    q.refresh_from_db()
    assert (q.interval_months, q.policy_version_id) == (6, v.pk)
    assert q.next_review_on == services.add_months(q.last_review_on, 6)
    from kehu.customers.models import Customer

    Customer.objects.filter(pk=c.pk).update(customer_class="general")
    services.qualification_refresh()
    q.refresh_from_db()
    assert q.interval_months == 18 and q.customer_class == "general"


def test_job_opens_requalification_when_due_once(team):
    c = active(team)
    q = Qualification.objects.get(customer=c)
    Qualification.objects.filter(pk=q.pk).update(last_review_on=timezone.localdate() - dt.timedelta(days=800))
    Qualification.objects.filter(pk=q.pk).update(policy_version_id=None)  # recomputed from the last review
    out = requalification_run()
    assert out["opened_due"] == 1
    review = Review.objects.get(customer=c, kind=ReviewKind.REQUALIFICATION)
    assert review.trigger == ReviewTrigger.DUE and review.case.state == "check"
    assert review.case.opened_by == c.owner
    assert requalification_run()["opened_due"] == 0  # one open review at a time


def test_job_not_due_yet_opens_nothing(team):
    active(team)
    out = requalification_run()
    assert out["opened_due"] == 0 and out["opened_documents"] == 0


def test_job_opens_requalification_for_expired_documents(team):
    c = active(team)
    Attachment.objects.filter(object_id=str(c.pk), doc_type="business_licence").update(
        valid_to=timezone.localdate() - dt.timedelta(days=1)
    )
    from kehu.customers.documents import refresh_documents_summary

    refresh_documents_summary(c)
    out = requalification_run()
    assert out["opened_documents"] == 1
    review = Review.objects.get(customer=c, kind=ReviewKind.REQUALIFICATION)
    assert review.trigger == ReviewTrigger.DOCUMENTS and "营业执照" in review.notes


def test_annual_meeting_task_opens_and_closes(team):
    c = active(team)
    out = requalification_run()
    assert out["meeting_tasks"] == 1
    task = Task.objects.get(target_id=str(c.qualification.pk), state=TaskState.OPEN)
    assert task.assignee == c.owner and "年度客户会面" in task.title
    assert requalification_run()["meeting_tasks"] == 0  # not twice
    ContactLog.objects.create(
        customer=c,
        channel=ContactChannel.VISIT,
        contacted_at=timezone.now(),
        staff=c.owner,
        summary="年度拜访",
        recorded_by=c.owner,
    )
    out = requalification_run()
    assert out["meeting_tasks_closed"] == 1
    task.refresh_from_db()
    assert task.state == TaskState.DONE
    c.qualification.refresh_from_db()
    assert c.qualification.last_meeting_on == timezone.localdate()


def _requal(team, cls="important"):
    c = active(team, cls=cls)
    review = services.requal_open(actor=team["reviewer"], customer_id=c.pk, reason="信用状况下滑")
    review = step(team["reviewer2"], review, "check_pass")
    review = step(team["credit_officer"], review, "risk_pass", comment="逾期增加")
    return c, review


def test_requal_open_rules(team):
    c = active(team)
    with pytest.raises(ValidationFailed):
        services.requal_open(actor=team["reviewer"], customer_id=c.pk, reason="")
    with pytest.raises(PermissionDenied):
        services.requal_open(actor=team["rep1"], customer_id=c.pk, reason="x")
    services.requal_open(actor=team["reviewer"], customer_id=c.pk, reason="x")
    with pytest.raises(Conflict):
        services.requal_open(actor=team["reviewer"], customer_id=c.pk, reason="x")
    with pytest.raises(NotFound):
        services.requal_open(actor=team["reviewer"], customer_id=999999, reason="x")


def test_requal_keep_sets_next_date(team):
    c, review = _requal(team)
    Qualification.objects.filter(customer=c).update(
        last_review_on=timezone.localdate() - dt.timedelta(days=300)
    )
    review = step(team["gm"], review, "keep")
    assert review.decision == Decision.KEEP
    q = Qualification.objects.get(customer=c)
    assert q.last_review_on == timezone.localdate() and q.interval_months == 24


def test_requal_downgrade_needs_lower_class(team):
    c, review = _requal(team, cls="important")
    with pytest.raises(ValidationFailed) as exc:
        step(team["gm"], review, "downgrade", comment="交易量下降")
    assert exc.value.field == "new_class"
    with pytest.raises(ValidationFailed):
        step(team["gm"], review, "downgrade", comment="交易量下降", new_class="core")
    review = step(team["gm"], review, "downgrade", comment="交易量下降", new_class="general")
    c.refresh_from_db()
    assert c.customer_class == "general" and c.status == CustomerStatus.ACTIVE
    assert Qualification.objects.get(customer=c).customer_class == "general"


def test_requal_suspend(team):
    c, review = _requal(team)
    review = step(team["gm"], review, "suspend", comment="严重逾期")
    c.refresh_from_db()
    assert c.status == CustomerStatus.SUSPENDED and review.decision == Decision.SUSPEND


def test_requal_checker_cannot_do_credit_step(team):
    gm_like = user_with(["reviewer", "credit_officer"], username="both1")
    c = active(team)
    review = services.requal_open(actor=team["reviewer"], customer_id=c.pk, reason="x")
    review = step(gm_like, review, "check_pass")
    with pytest.raises(ValidationFailed) as exc:
        step(gm_like, review, "risk_pass", comment="ok")
    assert "职责分离" in exc.value.message


def test_requal_send_back_round(team):
    c = active(team)
    review = services.requal_open(actor=team["reviewer"], customer_id=c.pk, reason="x")
    review = step(team["reviewer"], review, "send_back_check", comment="请提供新版营业执照")
    assert review.case.state == "rectification"
    review = step(team["rep1"], review, "resubmit_check", comment="已上传新版营业执照")
    assert review.case.state == "check" and review.rounds.get().responded_at is not None
