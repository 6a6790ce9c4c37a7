"""Reviewer management (R-ONB-07): qualifications and training records of the people who take the review stages,
the qualification guard on those stages, and the reviewer performance report (volume, efficiency, quality).

Who manages the records: the general manager and the system administrator for everyone, the credit manager for
the people of their own department (subtree). A reviewer or credit officer sees their own records.

Performance over a period (local dates, inclusive), per person who took a reviewed stage (qualification check,
business review, risk assessment; in re-qualification the qualification and credit re-checks):

- volume: stages passed and send-backs issued in the period;
- efficiency: working days from the creation of the stage's task to the step (median and average);
- quality, decisions later overturned, counted in the period in which the overturn happens:
  (a) the case came back to a stage the person had passed in the same review (the last pass of that stage before
  the return counts: a finding that was missed), and
  (b) a re-qualification decided in the period downgraded or suspended a customer whose initial review was
  approved within the policy's window before it: one count for each person who passed a reviewed stage of that
  approved review.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from pydantic import BaseModel, Field, field_validator

from kehu.core import access, audit
from kehu.core.errors import NotFound, ValidationFailed
from kehu.core.models import User
from kehu.onboarding.models import (
    Decision,
    Review,
    ReviewerQualification,
    ReviewerQualificationKind,
    ReviewerReport,
    ReviewKind,
    TrainingRecord,
    TrainingResult,
)

POLICY = "onboarding.reviewers"
REVIEWER_ROLES = ("reviewer", "credit_officer", "credit_manager")
# The stages whose reviewers are managed and reported (R-ONB-07); the others are sales or approval steps.
REVIEWED_STAGES = ("qualification", "business", "risk", "check", "risk_check")
INITIAL_STAGES = ("qualification", "business", "risk")

VIEW = "onboarding.reviewer.view"
MANAGE = "onboarding.reviewer.manage"
REPORT = "onboarding.reviewer.report"


# --------------------------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------------------------


def _kinds(title: str, default: list[str]) -> Any:
    return Field(default=default, max_length=4, title=title)


class StageQualifications(BaseModel):
    """Which qualifications allow a person to take each reviewed stage (any one of them)."""

    qualification: list[str] = _kinds(gettext_noop("资质核查"), ["internal_auditor", "iatf_auditor"])
    business: list[str] = _kinds(gettext_noop("业务审核"), ["internal_auditor", "iatf_auditor"])
    risk: list[str] = _kinds(gettext_noop("风险评估"), ["credit_analyst"])
    check: list[str] = _kinds(gettext_noop("资质复核"), ["internal_auditor", "iatf_auditor"])
    risk_check: list[str] = _kinds(gettext_noop("信用复核"), ["credit_analyst"])

    @field_validator("*")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if v not in ReviewerQualificationKind.values]
        if unknown:
            raise ValueError(gettext("未知的审核员资质：%(codes)s") % {"codes": "、".join(unknown)})
        return list(dict.fromkeys(value))


class ReviewerPolicy(BaseModel):
    require_qualification: bool = Field(
        default=False,
        title=gettext_noop("审核须持有效资质"),
        description=gettext_noop(
            "开启后，没有该环节有效资质（或资质已过期）的人员不能办理资质核查、业务审核、风险评估。"
        ),
    )
    stage_qualifications: StageQualifications = Field(
        default_factory=StageQualifications, title=gettext_noop("各环节所需资质")
    )
    overturn_window_months: int = Field(
        default=12,
        ge=1,
        le=36,
        title=gettext_noop("复审推翻追溯期"),
        description=gettext_noop("批准后在该期限内被复审降级或暂停合作的客户，计为审核员的结论被推翻。"),
        json_schema_extra={"unit": gettext_noop("月")},
    )
    expiry_warning_days: int = Field(
        default=60,
        ge=0,
        le=180,
        title=gettext_noop("资质到期提醒天数"),
        json_schema_extra={"unit": gettext_noop("天")},
    )
    report_read_days: int = Field(
        default=5,
        ge=1,
        le=30,
        title=gettext_noop("季度报告阅示期限"),
        json_schema_extra={"unit": gettext_noop("工作日")},
    )

    def kinds_for(self, stage: str) -> list[str]:
        return list(getattr(self.stage_qualifications, stage, []) or [])


def register_policy() -> None:
    from kehu.core.policies import register_policy_type

    register_policy_type(
        POLICY,
        label=_("审核员管理"),
        schema=ReviewerPolicy,
        default=ReviewerPolicy(),
        allows_trial=True,
        approver_roles=("general_manager",),
        description=_("审核员持证要求、各环节所需资质、结论被推翻的追溯期（R-ONB-07）。"),
    )


def policy() -> tuple[ReviewerPolicy, int | None]:
    from kehu.core.policies import policy_values

    return policy_values(POLICY, ReviewerPolicy)


# --------------------------------------------------------------------------------------------------------------
# Scope helpers
# --------------------------------------------------------------------------------------------------------------


def people_in_scope(actor: Any, action: str) -> QuerySet[User]:
    """The people holding a reviewer role whose records the actor may reach for ``action``."""
    qs = User.objects.filter(roles__code__in=REVIEWER_ROLES).distinct()
    scope = access.scope_for(actor, action)
    if scope is None:
        return qs.none()
    if scope == access.Scope.ALL:
        return qs
    if scope == access.Scope.DEPARTMENT:
        return qs.filter(access.department_q(actor, "department__") | Q(pk=actor.pk))
    return qs.filter(pk=actor.pk)


def _person(actor: Any, action: str, user_id: Any) -> User:
    access.require(actor, action)
    try:
        return people_in_scope(actor, action).get(pk=int(user_id))
    except (User.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def qualification_state(q: ReviewerQualification, today: dt.date, warning_days: int) -> str:
    if q.valid_from > today:
        return "future"
    if q.valid_to < today:
        return "expired"
    if (q.valid_to - today).days <= warning_days:
        return "expiring"
    return "valid"


STATE_LABELS = {
    "valid": _("有效"),
    "expiring": _("即将到期"),
    "expired": _("已过期"),
    "future": _("未生效"),
}


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def _invalid(field_name: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field_name, rule=rule)


def _text(data: dict[str, Any], key: str, label: str, max_length: int, required: bool = True) -> str:
    value = str(data.get(key) or "").strip()
    if required and not value:
        raise _invalid(key, "required", gettext("请填写%(field)s。") % {"field": label})
    if len(value) > max_length:
        raise _invalid(
            key, "max_length", gettext("%(field)s不能超过%(n)s个字。") % {"field": label, "n": max_length}
        )
    return value


def _date(data: dict[str, Any], key: str, label: str) -> dt.date:
    value = data.get(key)
    if value in (None, ""):
        raise _invalid(key, "required", gettext("请填写%(field)s。") % {"field": label})
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _invalid(
            key, "date", gettext("%(field)s格式无效，应为 YYYY-MM-DD。") % {"field": label}
        ) from None


def _choice(data: dict[str, Any], key: str, label: str, choices: list[str]) -> str:
    value = str(data.get(key) or "")
    if not value:
        raise _invalid(key, "required", gettext("请选择%(field)s。") % {"field": label})
    if value not in choices:
        raise _invalid(key, "choice", gettext("%(field)s无效：%(value)s") % {"field": label, "value": value})
    return value


def _clean_qualification(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": _choice(data, "kind", gettext("资质"), ReviewerQualificationKind.values),
        "certificate_no": _text(data, "certificate_no", gettext("证书编号"), 60),
        "issued_by": _text(data, "issued_by", gettext("发证机构"), 120),
        "valid_from": _date(data, "valid_from", gettext("有效期自")),
        "valid_to": _date(data, "valid_to", gettext("有效期至")),
        "notes": _text(data, "notes", gettext("备注"), 300, required=False),
    }
    if out["valid_to"] < out["valid_from"]:
        raise _invalid("valid_to", "order", gettext("有效期至不能早于有效期自。"))
    return out


def _clean_training(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "course": _text(data, "course", gettext("课程"), 200),
        "trained_on": _date(data, "trained_on", gettext("培训日期")),
        "result": _choice(data, "result", gettext("结果"), TrainingResult.values),
        "notes": _text(data, "notes", gettext("备注"), 300, required=False),
    }
    if out["trained_on"] > timezone.localdate():
        raise _invalid("trained_on", "future", gettext("培训日期不能晚于今天。"))
    raw = data.get("hours")
    if raw in (None, ""):
        raise _invalid("hours", "required", gettext("请填写%(field)s。") % {"field": gettext("学时")})
    try:
        hours = Decimal(str(raw)).quantize(Decimal("0.1"))
    except (InvalidOperation, ValueError):
        raise _invalid("hours", "number", gettext("学时须为数字。")) from None
    if not Decimal("0") < hours <= Decimal("200"):
        raise _invalid("hours", "range", gettext("学时须大于0且不超过200。"))
    out["hours"] = hours
    return out


QUAL_FIELDS = ("kind", "certificate_no", "issued_by", "valid_from", "valid_to", "notes")
TRAINING_FIELDS = ("course", "trained_on", "hours", "result", "notes")


def _cert_taken(kind: str, number: str, exclude: int | None = None) -> bool:
    qs = ReviewerQualification.objects.filter(kind=kind, certificate_no=number)
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.exists()


def _cert_duplicate() -> ValidationFailed:
    return _invalid("certificate_no", "unique", gettext("该资质的证书编号已登记。"))


# --------------------------------------------------------------------------------------------------------------
# Services: qualifications and training records
# --------------------------------------------------------------------------------------------------------------


@transaction.atomic
def qualification_create(*, actor: User, user_id: int, **data: Any) -> ReviewerQualification:
    person = _person(actor, MANAGE, user_id)
    clean = _clean_qualification(data)
    if _cert_taken(clean["kind"], clean["certificate_no"]):
        raise _cert_duplicate()
    try:
        with transaction.atomic():
            q = ReviewerQualification.objects.create(user=person, created_by=actor, **clean)
    except IntegrityError:
        raise _cert_duplicate() from None
    audit.record(actor=actor, action="create", obj=q, changes=audit.diff({}, audit.snapshot(q, QUAL_FIELDS)))
    return q


def _qualification_for(actor: User, action: str, pk: Any, lock: bool = False) -> ReviewerQualification:
    qs = ReviewerQualification.objects.select_related("user")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return access.get_scoped(actor, action, qs, pk=pk)


@transaction.atomic
def qualification_update(*, actor: User, pk: int, **data: Any) -> ReviewerQualification:
    q = _qualification_for(actor, MANAGE, pk, lock=True)
    before = audit.snapshot(q, QUAL_FIELDS)
    clean = _clean_qualification({**before, **{k: v for k, v in data.items() if k in QUAL_FIELDS}})
    if _cert_taken(clean["kind"], clean["certificate_no"], exclude=q.pk):
        raise _cert_duplicate()
    for key, value in clean.items():
        setattr(q, key, value)
    q.save()
    changes = audit.diff(before, audit.snapshot(q, QUAL_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=q, changes=changes)
    return q


@transaction.atomic
def qualification_delete(*, actor: User, pk: int, reason: str = "") -> None:
    q = _qualification_for(actor, MANAGE, pk, lock=True)
    before = audit.snapshot(q, QUAL_FIELDS)
    audit.record(
        actor=actor,
        action="other",
        obj=q,
        changes={"deleted": [False, True], **audit.diff(before, {})},
        reason=reason or gettext("删除审核员资质"),
    )
    q.delete()


@transaction.atomic
def training_create(*, actor: User, user_id: int, **data: Any) -> TrainingRecord:
    person = _person(actor, MANAGE, user_id)
    clean = _clean_training(data)
    t = TrainingRecord.objects.create(user=person, created_by=actor, **clean)
    audit.record(
        actor=actor, action="create", obj=t, changes=audit.diff({}, audit.snapshot(t, TRAINING_FIELDS))
    )
    return t


def _training_for(actor: User, action: str, pk: Any, lock: bool = False) -> TrainingRecord:
    qs = TrainingRecord.objects.select_related("user")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return access.get_scoped(actor, action, qs, pk=pk)


@transaction.atomic
def training_update(*, actor: User, pk: int, **data: Any) -> TrainingRecord:
    t = _training_for(actor, MANAGE, pk, lock=True)
    before = audit.snapshot(t, TRAINING_FIELDS)
    clean = _clean_training({**before, **{k: v for k, v in data.items() if k in TRAINING_FIELDS}})
    for key, value in clean.items():
        setattr(t, key, value)
    t.save()
    changes = audit.diff(before, audit.snapshot(t, TRAINING_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=t, changes=changes)
    return t


@transaction.atomic
def training_delete(*, actor: User, pk: int, reason: str = "") -> None:
    t = _training_for(actor, MANAGE, pk, lock=True)
    before = audit.snapshot(t, TRAINING_FIELDS)
    audit.record(
        actor=actor,
        action="other",
        obj=t,
        changes={"deleted": [False, True], **audit.diff(before, {})},
        reason=reason or gettext("删除培训记录"),
    )
    t.delete()


# --------------------------------------------------------------------------------------------------------------
# Selectors: people, qualifications, training
# --------------------------------------------------------------------------------------------------------------


def reviewer_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[User]:
    """The people holding a reviewer role the actor may see, with their qualifications and training records."""
    access.require(actor, VIEW)
    from django.db.models import Prefetch

    filters = filters or {}
    qs = people_in_scope(actor, VIEW).select_related("department")
    text = str(filters.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(username__icontains=text) | Q(display_name__icontains=text))
    if filters.get("expired"):
        qs = qs.filter(reviewer_qualifications__valid_to__lt=timezone.localdate())
    return qs.order_by("username").prefetch_related(
        "roles",
        Prefetch("reviewer_qualifications", queryset=ReviewerQualification.objects.order_by("-valid_to")),
        Prefetch("reviewer_trainings", queryset=TrainingRecord.objects.order_by("-trained_on")),
    )


def reviewer_get(*, actor: User, user_id: Any) -> User:
    return _person(actor, VIEW, user_id)


def qualification_list(*, actor: User, user_id: Any) -> list[ReviewerQualification]:
    person = _person(actor, VIEW, user_id)
    return list(person.reviewer_qualifications.order_by("-valid_to", "-pk"))


def training_list(*, actor: User, user_id: Any) -> list[TrainingRecord]:
    person = _person(actor, VIEW, user_id)
    return list(person.reviewer_trainings.order_by("-trained_on", "-pk"))


def qualification_get(*, actor: User, pk: Any) -> ReviewerQualification:
    return _qualification_for(actor, VIEW, pk)


def training_get(*, actor: User, pk: Any) -> TrainingRecord:
    return _training_for(actor, VIEW, pk)


# --------------------------------------------------------------------------------------------------------------
# The guard on the reviewed stages (R-ONB-07)
# --------------------------------------------------------------------------------------------------------------


def qualification_problem(user: Any, stage: str, day: dt.date | None = None) -> str | None:
    """Why ``user`` may not take ``stage`` under the policy (None when they may)."""
    values, _v = policy()
    if not values.require_qualification:
        return None
    kinds = values.kinds_for(stage)
    if not kinds:
        return None
    day = day or timezone.localdate()
    held = list(
        ReviewerQualification.objects.filter(user_id=user.pk, kind__in=kinds).values_list(
            "valid_from", "valid_to"
        )
    )
    if any(start <= day <= end for start, end in held):
        return None
    names = "、".join(str(ReviewerQualificationKind(k).label) for k in kinds)
    if held:
        return gettext(
            "审核员资质（R-ONB-07）：您的本环节资质（%(kinds)s）已过期或尚未生效，制度要求持有效资质方可办理。"
        ) % {"kinds": names}
    return gettext(
        "审核员资质（R-ONB-07）：制度要求持有本环节资质（%(kinds)s）方可办理，您尚未登记该资质。"
    ) % {"kinds": names}


def guard_qualified(case: Any, user: Any) -> str | None:
    return qualification_problem(user, case.state)


# --------------------------------------------------------------------------------------------------------------
# Performance report
# --------------------------------------------------------------------------------------------------------------


@dataclass
class Row:
    user_id: int
    username: str
    name: str
    passed: int = 0
    sent_back: int = 0
    cycle_days: list[int] = field(default_factory=list)
    overturned_rereview: int = 0
    overturned_requal: int = 0
    overturned_reviews: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        days = self.cycle_days
        return {
            "user_id": self.user_id,
            "username": self.username,
            "name": self.name,
            "passed": self.passed,
            "sent_back": self.sent_back,
            "steps": self.passed + self.sent_back,
            "median_days": float(statistics.median(days)) if days else None,
            "avg_days": round(sum(days) / len(days), 2) if days else None,
            "overturned_rereview": self.overturned_rereview,
            "overturned_requal": self.overturned_requal,
            "overturned": self.overturned_rereview + self.overturned_requal,
            "overturned_reviews": sorted(set(self.overturned_reviews)),
        }


def _bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=tz),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz),
    )


def check_period(start: Any, end: Any) -> tuple[dt.date, dt.date]:
    s = _date({"start": start}, "start", gettext("开始日期"))
    e = _date({"end": end}, "end", gettext("结束日期"))
    if e < s:
        raise _invalid("end", "order", gettext("结束日期不能早于开始日期。"))
    if (e - s).days > 3 * 366:
        raise _invalid("end", "range", gettext("统计期间不能超过三年。"))
    return s, e


def _rows(qs: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in qs]


def compute_performance(
    start: dt.date, end: dt.date, user_ids: set[int] | None = None, window_months: int | None = None
) -> list[dict[str, Any]]:
    """The figures of every person (or of ``user_ids``) over [start, end]; no access check (see
    :func:`reviewer_performance`). A bounded number of queries whatever the volume."""
    from kehu.core.workdays import Calendar, _as_date
    from kehu.onboarding.services import add_months
    from kehu.onboarding.workflow import REQUAL_KEY, REVIEW_KEY
    from kehu.workflow.models import CaseEvent, Task, TaskKind

    if window_months is None:
        window_months = policy()[0].overturn_window_months
    lo, hi = _bounds(start, end)
    keys = (REVIEW_KEY, REQUAL_KEY)
    rows: dict[int, Row] = {}
    cal = Calendar()

    # volume and efficiency: the steps taken out of a reviewed stage in the period
    steps = _rows(
        CaseEvent.objects.filter(
            case__definition__key__in=keys, from_state__in=REVIEWED_STAGES, at__gte=lo, at__lt=hi
        )
        .exclude(actor_id=None)
        .values("case_id", "seq", "from_state", "at", "actor_id", "send_back")
    )
    case_ids = {e["case_id"] for e in steps}
    task_times: dict[tuple[int, str], list[dt.datetime]] = defaultdict(list)
    for t in Task.objects.filter(
        case_id__in=case_ids, case_state__in=REVIEWED_STAGES, kind__in=[TaskKind.ACTION, TaskKind.COSIGN]
    ).values("case_id", "case_state", "created_at"):
        task_times[(t["case_id"], t["case_state"])].append(t["created_at"])
    per_user: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in steps:
        per_user[e["actor_id"]].append(e)

    # quality (a): the case came back to a stage passed earlier in the same review
    returns = _rows(
        CaseEvent.objects.filter(
            case__definition__key__in=keys, to_state__in=REVIEWED_STAGES, at__gte=lo, at__lt=hi
        ).values("case_id", "seq", "to_state")
    )
    passes: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    if returns:
        for p in (
            CaseEvent.objects.filter(
                case_id__in={r["case_id"] for r in returns}, from_state__in=REVIEWED_STAGES, send_back=False
            )
            .exclude(actor_id=None)
            .values("case_id", "seq", "from_state", "actor_id")
        ):
            passes[(p["case_id"], p["from_state"])].append((p["seq"], p["actor_id"]))
    overturn_a: list[tuple[int, int]] = []  # (actor, case)
    for r in returns:
        earlier = [p for p in passes.get((r["case_id"], r["to_state"]), []) if p[0] < r["seq"]]
        if earlier:
            overturn_a.append((max(earlier)[1], r["case_id"]))

    # quality (b): approvals later downgraded or suspended by a re-qualification within the window
    requals = _rows(
        Review.objects.filter(
            kind=ReviewKind.REQUALIFICATION,
            decision__in=[Decision.DOWNGRADE, Decision.SUSPEND],
            decided_at__gte=lo,
            decided_at__lt=hi,
        ).values("customer_id", "decided_at")
    )
    overturn_b: list[tuple[int, int]] = []
    if requals:
        approvals: dict[int, list[tuple[Any, int]]] = defaultdict(list)
        for a in Review.objects.filter(
            kind=ReviewKind.INITIAL,
            decision=Decision.APPROVE,
            customer_id__in={r["customer_id"] for r in requals},
            case__isnull=False,
        ).values("customer_id", "decided_at", "case_id"):
            approvals[a["customer_id"]].append((a["decided_at"], a["case_id"]))
        hit_cases: set[int] = set()
        for rq in requals:
            since_day = add_months(timezone.localtime(rq["decided_at"]).date(), -window_months)
            since = dt.datetime.combine(since_day, dt.time.min, tzinfo=timezone.get_current_timezone())
            found = [
                a
                for a in approvals.get(rq["customer_id"], [])
                if a[0] is not None and since <= a[0] < rq["decided_at"]
            ]
            if found:
                hit_cases.add(max(found)[1])
        if hit_cases:
            pairs = (
                CaseEvent.objects.filter(
                    case_id__in=hit_cases, from_state__in=INITIAL_STAGES, send_back=False
                )
                .exclude(actor_id=None)
                .values_list("actor_id", "case_id")
                .order_by()
                .distinct()
            )
            overturn_b = list(pairs)

    numbers = dict(
        Review.objects.filter(case_id__in={c for _a, c in overturn_a + overturn_b}).values_list(
            "case_id", "number"
        )
    )
    wanted = set(per_user) | {a for a, _c in overturn_a + overturn_b}
    people = User.objects.filter(Q(pk__in=wanted) | Q(is_active=True, roles__code="reviewer")).distinct()
    if user_ids is not None:
        people = people.filter(pk__in=user_ids)
    for u in people.only("pk", "username", "display_name"):
        rows[u.pk] = Row(user_id=u.pk, username=u.username, name=u.display_name or u.username)

    for uid, events in per_user.items():
        row = rows.get(uid)
        if row is None:
            continue
        for ev in events:
            if ev["send_back"]:
                row.sent_back += 1
            else:
                row.passed += 1
            created = [c for c in task_times.get((ev["case_id"], ev["from_state"]), []) if c <= ev["at"]]
            if created:
                row.cycle_days.append(cal.between(_as_date(max(created)), _as_date(ev["at"])))
    for uid, case_id in overturn_a:
        if uid in rows:
            rows[uid].overturned_rereview += 1
            rows[uid].overturned_reviews.append(numbers.get(case_id, ""))
    for uid, case_id in overturn_b:
        if uid in rows:
            rows[uid].overturned_requal += 1
            rows[uid].overturned_reviews.append(numbers.get(case_id, ""))
    return [r.as_dict() for r in sorted(rows.values(), key=lambda r: r.username)]


def _report_user_ids(actor: User) -> set[int] | None:
    scope = access.require(actor, REPORT)
    if scope == access.Scope.ALL:
        return None
    if scope == access.Scope.DEPARTMENT:
        ids = set(
            User.objects.filter(access.department_q(actor, "department__")).values_list("pk", flat=True)
        )
        return ids | {actor.pk}
    return {actor.pk}


def reviewer_performance(
    *, actor: User, start: Any, end: Any, reviewer_id: Any = None
) -> tuple[dt.date, dt.date, list[dict[str, Any]]]:
    """Per-person volume, efficiency and quality over [start, end] for the people within the actor's scope."""
    allowed = _report_user_ids(actor)
    s, e = check_period(start, end)
    if reviewer_id not in (None, ""):
        try:
            rid = int(reviewer_id)
        except (TypeError, ValueError):
            raise _invalid("reviewer", "number", gettext("审核人员无效。")) from None
        if allowed is not None and rid not in allowed:
            raise NotFound()
        allowed = {rid}
    return s, e, compute_performance(s, e, allowed)


def filter_rows(actor: User, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    allowed = _report_user_ids(actor)
    return rows if allowed is None else [r for r in rows if r["user_id"] in allowed]


def previous_quarter(day: dt.date) -> tuple[dt.date, dt.date, str]:
    first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    end = first - dt.timedelta(days=1)
    start = dt.date(end.year, end.month - 2, 1)
    return start, end, f"{start.year}Q{(start.month - 1) // 3 + 1}"


@transaction.atomic
def quarterly_report_store(*, day: dt.date) -> ReviewerReport | None:
    """The report of the quarter before ``day`` as a stored record, with a task for the general manager to read it
    (None when it exists already)."""
    from kehu.core.workdays import workdays_add
    from kehu.workflow import engine

    start, end, label = previous_quarter(day)
    if ReviewerReport.objects.filter(start=start, end=end).exists():
        return None
    values, version = policy()
    rows = compute_performance(start, end, None, values.overturn_window_months)
    try:
        with transaction.atomic():
            report = ReviewerReport.objects.create(
                label=label, start=start, end=end, rows=rows, policy_version_id=version
            )
    except IntegrityError:
        return None
    engine.task_create(
        target=report,
        title=gettext("审核员绩效季报 %(label)s 已生成，请阅示") % {"label": label},
        assignee_role="general_manager",
        due=workdays_add(day, values.report_read_days),
    )
    audit.record(
        actor=None,
        action="create",
        obj=report,
        changes={"period": [None, f"{start.isoformat()}..{end.isoformat()}"], "rows": [None, len(rows)]},
        policy_version=version,
    )
    return report


def report_list(*, actor: User) -> QuerySet[ReviewerReport]:
    access.require(actor, REPORT)
    return ReviewerReport.objects.defer("rows").order_by("-start")


@transaction.atomic
def report_read(*, actor: User, pk: Any) -> tuple[ReviewerReport, list[dict[str, Any]]]:
    """A stored report, the rows within the actor's scope; the general manager's reading closes the task."""
    access.require(actor, REPORT)
    try:
        report = ReviewerReport.objects.get(pk=int(pk))
    except (ReviewerReport.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    if actor.has_role("general_manager"):
        from kehu.workflow import engine

        engine.task_close(target=report, actor=actor)
    return report, filter_rows(actor, list(report.rows or []))


def quarterly_report_run(progress: Any = None, today: str | None = None) -> dict[str, Any]:
    """Periodic job: once the quarter has ended, store its reviewer performance report and raise the general
    manager's task to read it. Runs daily; a quarter already stored is left alone."""
    day = dt.date.fromisoformat(today) if today else timezone.localdate()
    report = quarterly_report_store(day=day)
    if progress is not None:
        progress(1, 1, gettext("审核员绩效季报"))
    if report is None:
        return {"created": 0}
    return {"created": 1, "report": report.pk, "label": report.label, "rows": len(report.rows)}
