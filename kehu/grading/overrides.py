"""Grade overrides (R-GRD-04): a sales manager (own department's customers) or the general manager moves one
customer's grade away from the run in force, with a reason; a general manager other than the requester approves or
rejects it; the requester may withdraw it while it is pending. An approved override holds from its approval day
until a later run takes effect (see :mod:`kehu.grading.interface`); that run reports it as superseded.

Writes (``override_request``, ``override_decide``, ``override_withdraw``) record an audit entry on the override and
one on the customer's trail. Reads (``override_list``, ``override_get``, ``run_overrides``, ``superseded_by``) go
through the access layer or are called for a run the user may already see.
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models.audit import AuditAction
from kehu.customers.models import Customer
from kehu.grading import policies
from kehu.grading.interface import OVERRIDE_ORDER, grade_terms, runs_in_force
from kehu.grading.models import GradeOverride, GradingResult, GradingRun, OverrideStatus, RunStatus
from kehu.grading.services import lock_run_in_force

REASON_MAX = 4000
COMMENT_MAX = 2000

# --------------------------------------------------------------------------------------------------------------
# Writes


def _customer_trail(actor: Any, ov: GradeOverride, action: str, changes: dict[str, Any], reason: str) -> None:
    audit.record(
        actor=actor,
        action=action,
        obj=ov.customer,
        changes={"grade_override": ov.pk, **changes},
        reason=reason,
        policy_version=policies.scheme()[1],
    )


@transaction.atomic
def override_request(*, actor: Any, customer_id: int, to_grade: str, reason: str) -> GradeOverride:
    """Ask to move a customer's grade in force to ``to_grade`` (R-GRD-04). The customer must have a grade from an
    approved run; ``to_grade`` must be a grade of the scheme in force other than the current one; the reason is
    required; a customer has at most one pending request."""
    customer = access.get_scoped(
        actor, "grading.override.request", Customer.objects.select_for_update(of=("self",)), pk=customer_id
    )
    terms = grade_terms(customer)
    if terms is None:
        raise ValidationFailed(
            _("客户：该客户尚无已生效的分级结果，不能调整等级。"), field="customer", rule="graded"
        )
    policy, version = policies.scheme()
    names = [g.name for g in policy.grades]
    target = str(to_grade or "").strip()
    if target not in names:
        raise ValidationFailed(
            _("调整后等级：须为现行分级方案中的等级（%(names)s）。") % {"names": "、".join(names)},
            field="to_grade",
            rule="choice",
        )
    if target == terms.grade:
        raise ValidationFailed(
            _("调整后等级：须不同于当前等级 %(grade)s。") % {"grade": terms.grade},
            field="to_grade",
            rule="differs",
        )
    text = str(reason or "").strip()
    if not text:
        raise ValidationFailed(_("调整理由：必须填写。"), field="reason", rule="required")
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            _("调整理由：不得超过 %(n)s 个字符。") % {"n": REASON_MAX}, field="reason", rule="max_length"
        )
    if GradeOverride.objects.filter(customer=customer, status=OverrideStatus.PENDING).exists():
        raise Conflict(_("该客户已有一项待批准的等级调整申请，请等其审批或撤回后再申请。"))
    try:
        with transaction.atomic():
            ov = GradeOverride.objects.create(
                customer=customer,
                run_id=terms.run_id,
                from_grade=terms.grade,
                to_grade=target,
                reason=text,
                requested_by=actor,
                policy_version_id=version,  # the scheme ``to_grade`` was chosen from
            )
    except IntegrityError:  # a request committed at the same moment (grd_override_one_pending)
        raise Conflict(_("该客户已有一项待批准的等级调整申请，请等其审批或撤回后再申请。")) from None
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=ov,
        changes={
            "run": terms.run_id,
            "from_grade": terms.grade,
            "to_grade": target,
            "policy_version": version,
        },
        reason=text,
        policy_version=version,
    )
    _customer_trail(
        actor,
        ov,
        AuditAction.CREATE,
        {"grade_override_requested": [terms.grade, target], "run": terms.run_id},
        text,
    )
    return ov


def _locked(actor: Any, override_id: int) -> GradeOverride:
    return access.get_scoped(
        actor,
        "grading.override.view",
        GradeOverride.objects.select_for_update(of=("self",)).select_related("customer"),
        pk=override_id,
    )


@transaction.atomic
def override_decide(*, actor: Any, override_id: int, approve: bool, comment: str = "") -> GradeOverride:
    """Approve or reject a pending override (a general manager other than the requester). A rejection needs a
    comment. An approval takes effect today, provided the run it adjusts is still the run in force: the run's row
    is locked first, as a run approval locks the run it replaces (:func:`kehu.grading.services.lock_run_in_force`),
    so an approval racing a run approval either comes first (and the new run then reports it as superseded) or
    finds the run replaced and is refused (Conflict); it is never announced effective and superseded at once."""
    access.require(actor, "grading.override.approve")
    ov = _locked(actor, override_id)
    if ov.status != OverrideStatus.PENDING:
        raise Conflict(_("只有待批准的等级调整可以审批（当前：%(s)s）。") % {"s": ov.get_status_display()})
    if ov.requested_by_id == actor.pk:
        raise PermissionDenied(_("申请人不得审批自己提出的等级调整，须由他人审批。"))
    text = str(comment or "").strip()
    if not approve and not text:
        raise ValidationFailed(_("审批意见：驳回时必须填写。"), field="comment", rule="required")
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(
            _("审批意见：不得超过 %(n)s 个字符。") % {"n": COMMENT_MAX}, field="comment", rule="max_length"
        )
    today = timezone.localdate()
    if approve:
        current = lock_run_in_force(today)
        if current is None or current.pk != ov.run_id:
            raise Conflict(
                _("申请所依据的分级运行已被新的分级结果取代，本申请不能再批准；请驳回，需要时重新申请。")
            )
    before = ov.status
    ov.status = OverrideStatus.APPROVED if approve else OverrideStatus.REJECTED
    ov.decided_by = actor
    ov.decided_at = timezone.now()
    ov.decision_comment = text
    ov.effective_on = today if approve else None
    ov.save(update_fields=["status", "decided_by", "decided_at", "decision_comment", "effective_on"])
    audit.record(
        actor=actor,
        action=AuditAction.DECISION,
        obj=ov,
        changes={"status": [before, ov.status], "effective_on": ov.effective_on},
        reason=text,
        policy_version=policies.scheme()[1],
    )
    changes: dict[str, Any] = {"grade_override_decision": ov.status}
    if approve:
        changes.update(grade=[ov.from_grade, ov.to_grade], effective_on=ov.effective_on)
    _customer_trail(actor, ov, AuditAction.DECISION, changes, text)
    return ov


@transaction.atomic
def override_withdraw(*, actor: Any, override_id: int, comment: str = "") -> GradeOverride:
    """The requester takes back a pending override; the comment is optional (at most :data:`COMMENT_MAX`
    characters)."""
    ov = _locked(actor, override_id)
    if ov.requested_by_id != actor.pk:
        raise PermissionDenied(_("只有申请人可以撤回等级调整申请。"))
    if ov.status != OverrideStatus.PENDING:
        raise Conflict(_("只有待批准的等级调整可以撤回（当前：%(s)s）。") % {"s": ov.get_status_display()})
    text = str(comment or "").strip()
    if len(text) > COMMENT_MAX:
        raise ValidationFailed(
            _("撤回说明：不得超过 %(n)s 个字符。") % {"n": COMMENT_MAX}, field="comment", rule="max_length"
        )
    ov.status = OverrideStatus.WITHDRAWN
    ov.decided_at = timezone.now()
    ov.decision_comment = text
    ov.save(update_fields=["status", "decided_at", "decision_comment"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=ov,
        changes={"status": [OverrideStatus.PENDING, OverrideStatus.WITHDRAWN]},
        reason=text,
        policy_version=policies.scheme()[1],
    )
    _customer_trail(actor, ov, AuditAction.UPDATE, {"grade_override_decision": ov.status}, text)
    return ov


# --------------------------------------------------------------------------------------------------------------
# Reads


def override_list(*, actor: Any) -> QuerySet[GradeOverride]:
    """The overrides of the customers within the user's scope."""
    access.require(actor, "grading.override.view")
    return access.restrict(
        actor,
        "grading.override.view",
        GradeOverride.objects.select_related("customer", "requested_by", "decided_by"),
    )


def apply_override_filters(qs: QuerySet[GradeOverride], f: dict[str, Any]) -> QuerySet[GradeOverride]:
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("grade"):
        qs = qs.filter(to_grade=f["grade"])
    if f.get("run"):
        qs = qs.filter(run_id=f["run"])
    if f.get("q"):
        qs = qs.filter(Q(customer__name__icontains=f["q"]) | Q(customer__number__icontains=f["q"]))
    return qs


def override_get(*, actor: Any, override_id: int) -> GradeOverride:
    return access.get_scoped(
        actor,
        "grading.override.view",
        GradeOverride.objects.select_related("customer", "run", "requested_by", "decided_by"),
        pk=override_id,
    )


def override_history(ov: GradeOverride) -> QuerySet[Any]:
    """The override's own audit entries, oldest first."""
    from kehu.core.models import AuditEntry

    return AuditEntry.objects.filter(
        object_type=audit.object_type_of(GradeOverride), object_id=str(ov.pk)
    ).order_by("seq")


_UNKNOWN: Any = object()


def customer_overrides(
    *, actor: Any, customer_id: int, terms: Any = _UNKNOWN
) -> dict[str, GradeOverride | None]:
    """For the dossier: the customer's pending override and the one in force today, within the user's scope (one
    query; ``terms``: the customer's grade terms today when the caller has them already)."""
    rows = list(
        access.restrict(
            actor,
            "grading.override.view",
            GradeOverride.objects.filter(
                customer_id=customer_id, status__in=[OverrideStatus.PENDING, OverrideStatus.APPROVED]
            ),
        ).order_by("status", *OVERRIDE_ORDER)[:20]
    )
    pending = next((o for o in rows if o.status == OverrideStatus.PENDING), None)
    if terms is _UNKNOWN:
        terms = grade_terms(customer_id) if any(o.status == OverrideStatus.APPROVED for o in rows) else None
    in_force = next((o for o in rows if terms is not None and o.pk == terms.override_id), None)
    return {"pending": pending, "in_force": in_force}


def run_overrides(run: GradingRun, actor: Any = None) -> QuerySet[GradeOverride]:
    """Approved overrides against ``run``, latest first: with ``actor``, only those of customers within the
    actor's scope for ``grading.override.view`` (they carry the reason and the comments); without, all of them
    (for the company-wide count)."""
    qs = GradeOverride.objects.filter(run=run, status=OverrideStatus.APPROVED)
    if actor is not None:
        qs = access.restrict(actor, "grading.override.view", qs)
    return qs.select_related("customer", "requested_by", "decided_by").order_by(*OVERRIDE_ORDER)


def superseded_by(run: GradingRun, previous: GradingRun | None, actor: Any) -> list[dict[str, Any]]:
    """The overrides a computed or approved ``run`` ends: per customer, the last approved override of ``previous``
    (:func:`kehu.grading.selectors.previous_run`: the run in force before it, by approval order), with the
    override's grade and the grade this run computed (None when this run leaves the customer out: ungraded once it
    takes effect). Only the customers within the actor's scope for ``grading.override.view``. Two queries."""
    if previous is None or run.status not in (RunStatus.COMPUTED, RunStatus.APPROVED):
        return []
    latest: dict[int, GradeOverride] = {}
    for ov in (
        access.restrict(
            actor,
            "grading.override.view",
            GradeOverride.objects.filter(run=previous, status=OverrideStatus.APPROVED),
        )
        .select_related("customer")
        .order_by("customer_id", *OVERRIDE_ORDER)
    ):
        latest.setdefault(ov.customer_id, ov)
    if not latest:
        return []
    new = dict(
        GradingResult.objects.filter(run=run, customer_id__in=list(latest)).values_list(
            "customer_id", "grade"
        )
    )
    return [
        {"override": ov, "override_grade": ov.to_grade, "new_grade": new.get(cid)}
        for cid, ov in sorted(latest.items(), key=lambda kv: kv[1].customer.name)
    ]


def run_in_force() -> GradingRun | None:
    """The run in force today (the one new overrides adjust)."""
    return runs_in_force(timezone.localdate()).first()
