"""Onboarding review services (every write) and the rules the workflow's guards and effects call.

R-ONB-01 application, R-ONB-02 stages and deadlines, R-ONB-03 decisions and segregation of duties, R-ONB-04
rectification rounds, R-ONB-05 checklists (mandatory items; documents computed from the dossier), R-ONB-06
confidentiality (reads logged), R-ONB-08 re-qualification schedule.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.models.attachments import Attachment
from kehu.customers.documents import customer_documents_valid
from kehu.customers.models import Customer, CustomerClass, CustomerStatus, EndedReason
from kehu.onboarding import hooks, policies
from kehu.onboarding.models import (
    Currency,
    Decision,
    Qualification,
    Rectification,
    Review,
    ReviewKind,
    ReviewTrigger,
)
from kehu.onboarding.workflow import REQUAL_KEY, REVIEW_KEY
from kehu.workflow import engine
from kehu.workflow.models import Case, CaseEvent, Task, TaskState

CLASS_RANK: dict[str, int] = {CustomerClass.CORE: 3, CustomerClass.IMPORTANT: 2, CustomerClass.GENERAL: 1}
DECISIONS = {
    "approve": Decision.APPROVE,
    "defer": Decision.DEFER,
    "reject": Decision.REJECT,
    "withdraw": Decision.WITHDRAW,
    "keep": Decision.KEEP,
    "downgrade": Decision.DOWNGRADE,
    "suspend": Decision.SUSPEND,
}


def _invalid(field: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field, rule=rule)


def add_months(day: dt.date, months: int) -> dt.date:
    y, m = divmod(day.month - 1 + months, 12)
    year, month = day.year + y, m + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


# --------------------------------------------------------------------------------------------------------------
# Helpers used by the workflow declaration (guards, assignees, effects)
# --------------------------------------------------------------------------------------------------------------


def review_of(case: Case, *, lock: bool = False) -> Review:
    qs = Review.objects.select_related("customer", "customer__owner")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.get(pk=int(case.subject_id))


def case_customer_owner(case: Case) -> User | None:
    owner = review_of(case).customer.owner
    return owner if owner.is_active else None


def approvers() -> Any:
    policy, _v = policies.review()
    return User.objects.filter(is_active=True, roles__code__in=policy.approver_roles).distinct()


def guard_approver(case: Case, user: Any) -> str | None:
    policy, _v = policies.review()
    if not user.has_role(*policy.approver_roles):
        return _("最终审批须由制度授权的审批角色办理。")
    return None


def guard_documents_valid(case: Case) -> str | None:
    """R-ONB-05: "all required documents present and valid", computed from the dossier."""
    check = customer_documents_valid(review_of(case).customer)
    if not check.ok:
        return _("必备证照不齐全或已失效：%(problems)s") % {"problems": check.message}
    return None


def stage_documents_missing(review: Review, stage: str, at: dt.date | None = None) -> list[str]:
    """The document types the policy requires for ``stage`` that neither the dossier nor the review holds valid."""
    from kehu.core.models.attachments import DocumentType

    policy, _v = policies.review()
    wanted = list(getattr(policy.stage_documents, stage, []) or [])
    if not wanted:
        return []
    day = at or timezone.localdate()
    held: set[str] = set()
    for model, pk in ((Customer, review.customer_id), (Review, review.pk)):
        ct = ContentType.objects.get_for_model(model)
        for att in Attachment.objects.filter(
            content_type=ct, object_id=str(pk), current=True, doc_type__in=wanted
        ).only("doc_type", "valid_from", "valid_to"):
            if att.is_valid_on(day):
                held.add(att.doc_type)
    return [str(DocumentType(t).label) for t in wanted if t not in held]


def guard_stage_documents(case: Case) -> str | None:
    missing = stage_documents_missing(review_of(case), case.state)
    if missing:
        return _("本环节所需资料缺少或已失效：%(docs)s") % {"docs": "、".join(missing)}
    return None


def open_round(review: Review) -> Rectification | None:
    return review.rounds.filter(responded_at__isnull=True).order_by("-round").first()


def guard_returns_to(case: Case, stage: str) -> str | None:
    current = open_round(review_of(case))
    if current is None or current.stage != stage:
        return _("整改须提交回退回的环节复核。")
    return None


def stage_days(state: str) -> int | None:
    policy, _v = policies.review()
    return getattr(policy.stage_days, state, None)


def apply_stage_deadline(case: Case) -> None:
    """The current state's deadline in working days from policy ``onboarding.review`` (R-ONB-02)."""
    if case.closed_at is not None:
        return
    days = stage_days(case.state)
    if not days:
        return
    due = engine.deadline_for(timezone.localdate(), days)
    Case.objects.filter(pk=case.pk).update(state_due=due)
    case.state_due = due
    case.tasks.filter(state=TaskState.OPEN, case_state=case.state).update(due=due)


def _last_event(case: Case) -> CaseEvent:
    return case.events.order_by("-seq").first()  # type: ignore[return-value]


def on_stage_passed(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """A stage passed: a rectification round of that stage, answered by the customer, is now re-reviewed."""
    event = _last_event(case)
    review = review_of(case)
    Rectification.objects.filter(
        review=review, stage=event.from_state, responded_at__isnull=False, rereviewed_at__isnull=True
    ).update(rereviewed_by=actor, rereviewed_at=event.at)


def on_sent_back(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """R-ONB-04: a new round with the findings (审核意见); the owner records the customer's rectification."""
    event = _last_event(case)
    review = review_of(case, lock=True)
    number = review.rounds.count() + 1
    Rectification.objects.create(
        review=review,
        round=number,
        stage=event.from_state,
        findings=str(data.get("comment") or ""),
        requested_by=actor,
        requested_at=event.at,
        due=case.state_due,
    )


def on_rectified(case: Case, actor: Any, data: dict[str, Any]) -> None:
    review = review_of(case)
    current = open_round(review)
    if current is None:
        raise Conflict(_("没有待整改的轮次。"))
    current.response = str(data.get("comment") or "")
    current.responded_by = actor
    current.responded_at = timezone.now()
    current.save(update_fields=["response", "responded_by", "responded_at"])


def _parse_date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _invalid(field, "date", _("日期格式无效，应为 YYYY-MM-DD。")) from None


def on_decided(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """R-ONB-03 and R-ONB-08: the decision moves the customer; approval runs the ``on_customer_approved`` hooks."""
    from kehu.customers import services as customers

    key = str(data.get("transition"))
    decision = DECISIONS[key]
    review = review_of(case, lock=True)
    customer = review.customer
    comment = str(data.get("comment") or "")
    reason = f"{review.number} {Decision(decision).label}" + (f"：{comment}" if comment else "")
    today = timezone.localdate()
    before = audit.snapshot(review, ("decision", "decision_reason", "rereview_on", "new_class"))
    _policy, version = policies.review()
    if decision == Decision.APPROVE:
        customers.customer_status_by_review(
            actor=actor, customer_id=customer.pk, action="activate", reason=reason
        )
        customer.refresh_from_db()
        qualification_set(customer=customer, reviewed_on=today)
    elif decision == Decision.DEFER:
        rereview_on = _parse_date(data.get("rereview_on"), "rereview_on")
        if rereview_on is None:
            raise _invalid("rereview_on", "required", _("暂缓合作须填写再审日期。"))
        if rereview_on <= today:
            raise _invalid("rereview_on", "future", _("再审日期须晚于今天。"))
        review.rereview_on = rereview_on
        customers.customer_status_by_review(
            actor=actor, customer_id=customer.pk, action="return", reason=reason
        )
    elif decision == Decision.REJECT:
        customers.customer_status_by_review(
            actor=actor,
            customer_id=customer.pk,
            action="end",
            reason=reason,
            ended_reason=EndedReason.TRADE_SUSPENDED,
        )
    elif decision == Decision.WITHDRAW:
        customers.customer_status_by_review(
            actor=actor, customer_id=customer.pk, action="return", reason=reason
        )
    elif decision == Decision.KEEP:
        qualification_set(customer=customer, reviewed_on=today)
    elif decision == Decision.DOWNGRADE:
        new_class = str(data.get("new_class") or "")
        if new_class not in CLASS_RANK:
            raise _invalid("new_class", "required", _("降低类别须选择新的客户类别。"))
        if CLASS_RANK[new_class] >= CLASS_RANK.get(customer.customer_class, 1):
            raise _invalid("new_class", "lower", _("新的客户类别须低于当前类别。"))
        review.new_class = new_class
        customers.customer_status_by_review(
            actor=actor, customer_id=customer.pk, action="", reason=reason, customer_class=new_class
        )
        customer.refresh_from_db()
        qualification_set(customer=customer, reviewed_on=today)
    elif decision == Decision.SUSPEND:
        customers.customer_status_by_review(
            actor=actor, customer_id=customer.pk, action="suspend", reason=reason
        )
    review.decision = decision
    review.decision_reason = comment
    review.decided_by = actor
    review.decided_at = timezone.now()
    review.policy_version_id = version
    review.save()
    if decision == Decision.DEFER and review.rereview_on:
        engine.task_create(
            target=review,
            title=_("暂缓合作到期再审：%(name)s") % {"name": customer.name},
            assignee=customer.owner,
            due=review.rereview_on,
            actor=actor,
        )
    if decision == Decision.APPROVE:
        hooks.run_on_approved(customer, review, actor)
    audit.record(
        actor=actor,
        action="update",
        obj=review,
        changes=audit.diff(
            before, audit.snapshot(review, ("decision", "decision_reason", "rereview_on", "new_class"))
        ),
        reason=comment,
        policy_version=version,
    )


# --------------------------------------------------------------------------------------------------------------
# Application (R-ONB-01)
# --------------------------------------------------------------------------------------------------------------

APPLICATION_FIELDS = (
    "purpose",
    "expected_business",
    "products",
    "expected_annual_volume",
    "currency",
    "requested_terms",
    "notes",
)


def _clean_application(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in ("purpose", "expected_business", "products", "requested_terms", "notes"):
        out[key] = str(data.get(key) or "").strip()
    for key, label in (
        ("purpose", _("合作目的")),
        ("expected_business", _("预期业务")),
        ("products", _("产品/服务")),
    ):
        if not out[key]:
            raise _invalid(key, "required", _("请填写%(field)s。") % {"field": label})
    if len(out["products"]) > 300 or len(out["requested_terms"]) > 300:
        field = "products" if len(out["products"]) > 300 else "requested_terms"
        raise _invalid(field, "max_length", _("不能超过300字。"))
    volume = data.get("expected_annual_volume")
    if volume in (None, ""):
        out["expected_annual_volume"] = None
    else:
        try:
            amount = Decimal(str(volume)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise _invalid("expected_annual_volume", "decimal", _("预计年交易额须为数字。")) from None
        if amount < 0 or amount >= Decimal("1e16"):
            raise _invalid("expected_annual_volume", "range", _("预计年交易额须为非负数且不超过16位。"))
        out["expected_annual_volume"] = amount
    currency = str(data.get("currency") or Currency.CNY)
    if currency not in Currency.values:
        raise _invalid("currency", "choices", _("币种无效。"))
    out["currency"] = currency
    return out


def _has_open_review(customer_id: int) -> bool:
    return Review.objects.filter(customer_id=customer_id, case__closed_at__isnull=True).exists()


@transaction.atomic
def review_apply(*, actor: User, customer_id: int, **fields: Any) -> Review:
    """Sales opens a review for a prospect with the 客户审核申请表; the customer moves to "under review"."""
    from kehu.customers import services as customers

    customer = access.get_scoped(
        actor, "onboarding.review.apply", Customer.objects.select_for_update(of=("self",)), pk=customer_id
    )
    if (
        access.scope_for(actor, "onboarding.review.apply") == access.Scope.OWN
        and customer.owner_id != actor.pk
    ):
        raise PermissionDenied(_("只有客户负责人可以提交审核申请。"))
    if customer.status != CustomerStatus.PROSPECT:
        raise Conflict(
            _("只有潜在客户可以申请审核，该客户当前状态为“%(s)s”。") % {"s": customer.get_status_display()},
            field="customer",
            rule="status",
        )
    if _has_open_review(customer.pk):
        raise Conflict(_("该客户已有进行中的审核。"), field="customer", rule="open_review")
    data = _clean_application(fields)
    _policy, version = policies.review()
    review = Review.objects.create(
        customer=customer,
        kind=ReviewKind.INITIAL,
        trigger=ReviewTrigger.APPLICATION,
        created_by=actor,
        policy_version_id=version,
        **data,
    )
    for earlier in Review.objects.filter(customer=customer, decision=Decision.DEFER).exclude(pk=review.pk):
        engine.task_close(target=earlier, actor=actor)
    case = engine.case_open(
        actor=actor,
        definition_key=REVIEW_KEY,
        subject=review,
        title=_("客户审核：%(name)s") % {"name": customer.name},
        department=customer.department,
    )
    apply_stage_deadline(case)
    review.case, review.number = case, case.number
    review.save(update_fields=["case", "number"])
    customers.customer_submit_review(
        actor=actor, customer_id=customer.pk, reason=_("提交客户审核 %(n)s") % {"n": review.number}
    )
    audit.record(
        actor=actor,
        action="create",
        obj=review,
        changes={k: [None, v] for k, v in data.items() if v not in (None, "")},
        policy_version=version,
    )
    return review


@transaction.atomic
def review_update_application(*, actor: User, review_id: int, **fields: Any) -> Review:
    """The owner corrects the application while the case is in screening or rectification."""
    review = access.get_scoped(
        actor, "onboarding.review.view", Review.objects.select_for_update(of=("self",)), pk=review_id
    )
    case = review.case
    if review.kind != ReviewKind.INITIAL or case is None or case.state not in ("screening", "rectification"):
        raise Conflict(_("申请表只能在初步筛选或整改阶段修改。"), field="state", rule="editable")
    if not access.can(actor, "onboarding.review.apply") or not access.in_scope(
        actor, "onboarding.review.apply", review.customer
    ):
        raise PermissionDenied(_("只有销售人员可以修改申请表。"))
    data = _clean_application(fields)
    before = audit.snapshot(review, APPLICATION_FIELDS)
    for k, v in data.items():
        setattr(review, k, v)
    review.save(update_fields=list(data))
    changes = audit.diff(before, audit.snapshot(review, APPLICATION_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=review, changes=changes)
    return review


# --------------------------------------------------------------------------------------------------------------
# Case actions
# --------------------------------------------------------------------------------------------------------------


def review_get(*, actor: User, pk: int | str, channel: str = "page") -> Review:
    """One review the actor may see (404 otherwise); the read is logged (R-ONB-06)."""
    review = access.get_scoped(
        actor,
        "onboarding.review.view",
        Review.objects.select_related(
            "customer",
            "customer__owner",
            "customer__department",
            "case",
            "case__definition_version",
            "created_by",
            "decided_by",
        ),
        pk=pk,
    )
    audit.record_read(actor, review, channel=channel)
    return review


@transaction.atomic
def review_act(
    *,
    actor: User,
    review_id: int,
    transition: str,
    comment: str = "",
    checklist: dict[str, Any] | None = None,
    evidence: dict[str, str] | None = None,
    attachments: Sequence[Any] = (),
    rereview_on: dt.date | str | None = None,
    new_class: str = "",
    expected_state: str | None = None,
) -> Review:
    """Take a step of the review's case: pass a stage (checklist with evidence), send back for rectification,
    submit the rectification for re-review, or decide. The engine checks state, task, role, checklist and guards;
    the effects apply the rules of this module."""
    review = access.get_scoped(
        actor, "onboarding.review.view", Review.objects.select_related("case"), pk=review_id
    )
    if review.case_id is None:
        raise Conflict(_("该审核没有流程。"))
    state = review.case.state  # type: ignore[union-attr]
    notes = {str(k): str(v).strip()[:500] for k, v in (evidence or {}).items() if str(v or "").strip()}
    data: dict[str, Any] = {}
    if notes:
        data[f"evidence_{state}"] = notes
    if rereview_on not in (None, ""):
        data["rereview_on"] = _parse_date(rereview_on, "rereview_on")
    if new_class:
        data["new_class"] = new_class
    try:
        engine.case_transition(
            actor=actor,
            case_id=review.case_id,
            transition=transition,
            comment=comment,
            checklist=checklist or {},
            attachments=attachments,
            data=data or None,
            expected_state=expected_state,
        )
    except NotFound:
        # the review is within the user's scope (checked above): the step is simply not theirs
        raise PermissionDenied(_("该事项当前不由您办理。")) from None
    review.refresh_from_db()
    return review


def review_attach_evidence(
    *, actor: User, review: Review, upload: Any, title: str, doc_type: str = "other"
) -> int:
    """A file for the step being taken, stored on the review's case (evidence of a checklist answer)."""
    from kehu.core.attachments import attachment_add

    if review.case is None:
        raise Conflict(_("该审核没有流程。"))
    return attachment_add(actor=actor, target=review.case, upload=upload, doc_type=doc_type, title=title).pk


# --------------------------------------------------------------------------------------------------------------
# Re-qualification (R-ONB-08)
# --------------------------------------------------------------------------------------------------------------


def next_review_for(customer_class: str, last: dt.date) -> tuple[dt.date, int, int | None]:
    policy, version = policies.requalification()
    months = policy.months_for(customer_class)
    return add_months(last, months), months, version


def qualification_set(*, customer: Customer, reviewed_on: dt.date) -> Qualification:
    """The customer passed a review on ``reviewed_on``: its next review date from its class and the policy."""
    nxt, months, version = next_review_for(customer.customer_class, reviewed_on)
    q, _created = Qualification.objects.update_or_create(
        customer=customer,
        defaults={
            "customer_class": customer.customer_class,
            "last_review_on": reviewed_on,
            "interval_months": months,
            "next_review_on": nxt,
            "policy_version_id": version,
        },
    )
    return q


def qualification_refresh() -> dict[str, int]:
    """Every active customer has a schedule; dates follow the policy in force and the customer's current class
    (a changed policy or class moves the next review date)."""
    created = updated = 0
    missing = Customer.objects.filter(status=CustomerStatus.ACTIVE, qualification__isnull=True).only(
        "pk", "customer_class", "status_changed_at", "created_at"
    )
    for c in missing.iterator(chunk_size=500):
        started = timezone.localtime(c.status_changed_at or c.created_at).date()
        qualification_set(customer=c, reviewed_on=started)
        created += 1
    policy, version = policies.requalification()
    stale = (
        Qualification.objects.filter(customer__status=CustomerStatus.ACTIVE)
        .filter(
            ~Q(policy_version_id=version)
            | Q(policy_version_id__isnull=True)
            | ~Q(customer_class=F("customer__customer_class"))
        )
        .select_related("customer")
    )
    batch = []
    for q in stale.iterator(chunk_size=500):
        cls = q.customer.customer_class
        months = policy.months_for(cls)
        q.customer_class, q.interval_months = cls, months
        q.next_review_on = add_months(q.last_review_on, months)
        q.policy_version_id = version
        batch.append(q)
        if len(batch) >= 500:
            Qualification.objects.bulk_update(
                batch, ["customer_class", "interval_months", "next_review_on", "policy_version_id"]
            )
            updated += len(batch)
            batch = []
    if batch:
        Qualification.objects.bulk_update(
            batch, ["customer_class", "interval_months", "next_review_on", "policy_version_id"]
        )
        updated += len(batch)
    return {"created": created, "updated": updated}


def _open_requal(*, opener: User, customer: Customer, trigger: str, reason: str) -> Review:
    review = Review.objects.create(
        customer=customer,
        kind=ReviewKind.REQUALIFICATION,
        trigger=trigger,
        created_by=opener,
        notes=reason,
        policy_version_id=policies.requalification()[1],
    )
    case = engine.case_open(
        actor=opener,
        definition_key=REQUAL_KEY,
        subject=review,
        title=_("客户复审：%(name)s") % {"name": customer.name},
        department=customer.department,
        data={"trigger": trigger},
    )
    apply_stage_deadline(case)
    review.case, review.number = case, case.number
    review.save(update_fields=["case", "number"])
    audit.record(
        actor=opener,
        action="create",
        obj=review,
        changes={"kind": [None, review.kind], "trigger": [None, trigger]},
        reason=reason,
    )
    return review


@transaction.atomic
def requal_open(*, actor: User, customer_id: int, reason: str) -> Review:
    """An early re-qualification (e.g. the customer's credit deteriorated; R-ONB-08)."""
    customer = access.get_scoped(
        actor, "onboarding.requal.open", Customer.objects.select_for_update(of=("self",)), pk=customer_id
    )
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", "required", _("请填写提前复审的原因。"))
    if customer.status != CustomerStatus.ACTIVE:
        raise Conflict(_("只有交易中的客户可以复审。"), field="customer", rule="status")
    if _has_open_review(customer.pk):
        raise Conflict(_("该客户已有进行中的审核。"), field="customer", rule="open_review")
    return _open_requal(opener=actor, customer=customer, trigger=ReviewTrigger.MANUAL, reason=reason)


@transaction.atomic
def requal_open_system(*, customer_id: int, trigger: str) -> Review | None:
    """Opened by the periodic job (due date reached, or documents expired), on behalf of the customer's owner."""
    customer = Customer.objects.select_for_update(of=("self",)).select_related("owner").get(pk=customer_id)
    if (
        customer.status != CustomerStatus.ACTIVE
        or _has_open_review(customer.pk)
        or not customer.owner.is_active
    ):
        return None
    reason = (
        _("复审到期")
        if trigger == ReviewTrigger.DUE
        else _("证照不齐全或已失效：%(p)s") % {"p": customer_documents_valid(customer).message}
    )
    return _open_requal(opener=customer.owner, customer=customer, trigger=trigger, reason=reason)


def open_meeting_task(q: Qualification) -> bool:
    ct = ContentType.objects.get_for_model(Qualification)
    return Task.objects.filter(target_type=ct, target_id=str(q.pk), state=TaskState.OPEN).exists()
