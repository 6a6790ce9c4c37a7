"""Onboarding review rules (R-ONB-01..06): application, stages with checklists and documents, send-back and
re-review, decisions, segregation of duties, confidentiality."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.customers.models import CustomerStatus
from kehu.onboarding import hooks, services
from kehu.onboarding.models import Decision, Qualification, Rectification, Review
from kehu.onboarding.tests.conftest import APPLICATION, licence, prospect, step, to_stage
from kehu.workflow.models import Task, TaskState

pytestmark = pytest.mark.django_db


def apply(team, customer=None, who="rep1", **kw):
    customer = customer or prospect(team)
    return services.review_apply(actor=team[who], customer_id=customer.pk, **{**APPLICATION, **kw})


def test_application_opens_case_and_moves_customer_under_review(team):
    review = apply(team)
    assert review.case.state == "screening"
    assert review.number == review.case.number
    assert review.customer.__class__.objects.get(pk=review.customer_id).status == CustomerStatus.REVIEW
    # the stage deadline comes from the policy (screening: 2 working days)
    assert review.case.state_due is not None and review.case.state_due > timezone.localdate()
    task = Task.objects.get(case=review.case, state=TaskState.OPEN)
    assert task.assignee == team["rep1"] and task.due == review.case.state_due
    assert AuditEntry.objects.filter(object_id=str(review.pk), action="create").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [("purpose", ""), ("products", ""), ("expected_annual_volume", "abc"), ("expected_annual_volume", "-1")],
)
def test_application_bad_values_change_nothing(team, field, value):
    c = prospect(team)
    with pytest.raises(ValidationFailed) as exc:
        apply(team, c, **{field: value})
    assert exc.value.field == field
    assert not Review.objects.filter(customer=c).exists()
    c.refresh_from_db()
    assert c.status == CustomerStatus.PROSPECT


def test_application_only_for_own_prospect(team):
    c = prospect(team)
    with pytest.raises(NotFound):  # another region's rep
        apply(team, c, who="rep2")
    with pytest.raises(PermissionDenied):  # reviewers do not apply
        apply(team, c, who="reviewer")
    apply(team, c)
    with pytest.raises(Conflict):  # one open review per customer; the customer is no longer a prospect
        apply(team, c)


def test_full_path_to_approval_activates_and_schedules(team):
    called = []

    def callback(customer, review, actor):
        called.append((customer.pk, actor.pk))

    hooks.register_on_approved(callback)
    try:
        review = to_stage(team, apply(team), "approval")
        assert review.case.state == "approval"
        review = step(team["gm"], review, "approve", comment="同意合作")
    finally:
        hooks.on_customer_approved.remove(callback)  # only this test's own: other modules' callbacks stay
    assert review.case.state == "approved" and review.decision == Decision.APPROVE
    review.customer.refresh_from_db()
    assert review.customer.status == CustomerStatus.ACTIVE
    assert called == [(review.customer_id, team["gm"].pk)]
    q = Qualification.objects.get(customer=review.customer)
    assert q.interval_months == 24 and q.next_review_on == services.add_months(timezone.localdate(), 24)


def test_mandatory_checklist_item_blocks_stage(team):
    review = apply(team)
    with pytest.raises(ValidationFailed) as exc:
        step(team["rep1"], review, "submit", checklist={"needs": "yes", "reputation": "yes"})
    assert exc.value.field == "checklist.industry_position"
    with pytest.raises(ValidationFailed):
        step(
            team["rep1"],
            review,
            "submit",
            checklist={"needs": "no", "reputation": "yes", "industry_position": "yes"},
        )
    review.case.refresh_from_db()
    assert review.case.state == "screening"


def test_stage_documents_required_for_screening(team):
    c = prospect(team, docs=False)
    review = apply(team, c)
    with pytest.raises(ValidationFailed) as exc:
        step(team["rep1"], review, "submit")
    assert "营业执照" in exc.value.message
    licence(team["rep1"], c)
    assert step(team["rep1"], review, "submit").case.state == "qualification"


def test_qualification_blocked_when_documents_expired(team):
    c = prospect(team, docs=False)
    att = licence(team["rep1"], c)
    review = step(team["rep1"], apply(team, c), "submit")
    from kehu.core.models.attachments import Attachment

    Attachment.objects.filter(pk=att.pk).update(valid_to=timezone.localdate() - dt.timedelta(days=1))
    with pytest.raises(ValidationFailed) as exc:
        step(team["reviewer"], review, "qualify")
    assert exc.value.rule == "guard" and "营业执照" in exc.value.message
    from kehu.workflow.engine import allowed_transitions, refusals

    review.case.refresh_from_db()
    assert "qualify" not in [t.key for t in allowed_transitions(review.case, team["reviewer"])]
    assert any("营业执照" in m for m in refusals(review.case, team["reviewer"]).values())


def test_wrong_role_cannot_take_stage(team):
    review = step(team["rep1"], apply(team), "submit")
    with pytest.raises(PermissionDenied):  # the rep may see the case but the review team holds the step
        step(team["rep1"], review, "qualify")
    with pytest.raises(NotFound):  # another region's rep does not even see it
        step(team["rep2"], review, "qualify")
    with pytest.raises(PermissionDenied):
        step(team["credit_officer"], review, "qualify")


def test_send_back_rectification_and_rereview_rounds(team):
    review = step(team["rep1"], apply(team), "submit")
    with pytest.raises(ValidationFailed):  # findings are required
        step(team["reviewer"], review, "send_back_qualification")
    review = step(team["reviewer"], review, "send_back_qualification", comment="税务登记证缺失")
    assert review.case.state == "rectification"
    r1 = Rectification.objects.get(review=review)
    assert (r1.round, r1.stage, r1.findings) == (1, "qualification", "税务登记证缺失")
    assert r1.due == review.case.state_due
    # the rectification returns to the stage that sent it back, nowhere else
    with pytest.raises(ValidationFailed):
        step(team["rep1"], review, "resubmit_screening", comment="x")
    review = step(team["rep1"], review, "resubmit_qualification", comment="已补交税务登记证")
    assert review.case.state == "qualification"
    r1.refresh_from_db()
    assert r1.response == "已补交税务登记证" and r1.responded_by == team["rep1"] and r1.rereviewed_at is None
    review = step(team["reviewer"], review, "send_back_qualification", comment="证件复印件不清晰")
    review = step(team["rep1"], review, "resubmit_qualification", comment="已重新提供")
    review = step(team["reviewer2"], review, "qualify")
    rounds = list(review.rounds.order_by("round"))
    assert [r.round for r in rounds] == [1, 2]
    assert rounds[1].rereviewed_by == team["reviewer2"]
    assert review.case.state == "business"


def test_preparer_cannot_approve(team):
    gm_rep = team["gm"]
    gm_rep.roles.add(*team["rep1"].roles.all())  # the general manager also sells and prepared this case
    c = prospect(team, owner="rep1")
    c.owner = gm_rep
    c.save(update_fields=["owner"])
    review = services.review_apply(actor=gm_rep, customer_id=c.pk, **APPLICATION)
    review = to_stage({**team, "rep1": gm_rep}, review, "approval")
    with pytest.raises(ValidationFailed) as exc:
        step(gm_rep, review, "approve")
    assert exc.value.rule == "guard" and "职责分离" in exc.value.message


def test_delegate_approver_by_policy(team, monkeypatch):
    from kehu.onboarding import policies

    review = to_stage(team, apply(team), "approval")
    with pytest.raises(PermissionDenied):  # only the general manager approves under the default policy
        step(team["credit_mgr"], review, "approve")
    pol = policies.ReviewPolicy(approver_roles=["general_manager", "credit_manager"])
    monkeypatch.setattr(policies, "review", lambda: (pol, None))
    other = to_stage(team, apply(team, prospect(team, name="杭州远景电子科技有限公司")), "approval")
    holders = set(other.case.tasks.filter(state=TaskState.OPEN).values_list("assignee__username", flat=True))
    assert holders == {team["gm"].username, team["credit_mgr"].username}
    other = step(team["credit_mgr"], other, "approve")
    assert other.decision == Decision.APPROVE and other.decided_by == team["credit_mgr"]


def test_defer_needs_future_date_and_creates_task(team):
    review = to_stage(team, apply(team), "approval")
    with pytest.raises(ValidationFailed) as exc:
        step(team["gm"], review, "defer", comment="产能待确认")
    assert exc.value.field == "rereview_on"
    with pytest.raises(ValidationFailed):
        step(team["gm"], review, "defer", comment="产能待确认", rereview_on=timezone.localdate())
    review.case.refresh_from_db()
    assert review.case.state == "approval"
    day = timezone.localdate() + dt.timedelta(days=90)
    review = step(team["gm"], review, "defer", comment="产能待确认", rereview_on=day)
    assert review.decision == Decision.DEFER and review.rereview_on == day
    review.customer.refresh_from_db()
    assert review.customer.status == CustomerStatus.PROSPECT
    task = Task.objects.get(target_id=str(review.pk), state=TaskState.OPEN)
    assert task.assignee == team["rep1"] and task.due == day
    # a new application closes the re-review task
    apply(team, review.customer)
    task.refresh_from_db()
    assert task.state == TaskState.DONE


def test_reject_ends_prospect_with_reason(team):
    review = to_stage(team, apply(team), "approval")
    with pytest.raises(ValidationFailed):
        step(team["gm"], review, "reject")
    review = step(team["gm"], review, "reject", comment="存在重大诉讼")
    review.customer.refresh_from_db()
    assert review.customer.status == CustomerStatus.ENDED
    assert review.decision_reason == "存在重大诉讼"
    from kehu.core import audit

    entry = audit.history(review.customer).filter(action="transition").first()
    assert review.number in entry.reason and "存在重大诉讼" in entry.reason


def test_stale_state_is_a_conflict(team):
    review = step(team["rep1"], apply(team), "submit")
    step(team["reviewer"], review, "qualify")
    with pytest.raises(Conflict):
        services.review_act(
            actor=team["reviewer2"],
            review_id=review.pk,
            transition="qualify",
            checklist={},
            expected_state="qualification",
        )


def test_confidentiality_and_logged_reads(team):
    review = apply(team)
    for who in ("rep1", "mgr_east", "gm", "reviewer", "credit_officer", "credit_mgr"):
        assert services.review_get(actor=team[who], pk=review.pk).pk == review.pk
    for who in ("rep2", "rep3"):  # another region's rep; a colleague who does not own the customer
        with pytest.raises(NotFound):
            services.review_get(actor=team[who], pk=review.pk)
    for who in ("auditor", "admin"):
        with pytest.raises(PermissionDenied):
            services.review_get(actor=team[who], pk=review.pk)
    reads = AuditEntry.objects.filter(object_id=str(review.pk), action="read", confidential=True)
    assert reads.count() == 6
