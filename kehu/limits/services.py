"""Credit applications, limits, class policies, reviews and late-payment downgrades (R-CRD-02, 04, 08, 09).

Every write checks permission, locks what it changes, validates and writes one audit entry last. The workflow
definition (:mod:`kehu.limits.workflow`) calls the guards and effects below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit, numbering
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.customers.models import Customer, CustomerStatus
from kehu.limits import adapters, policies
from kehu.limits.models import (
    TERMS_LEVELS,
    AppSource,
    AppStatus,
    Channel,
    CreditApplication,
    CreditLimit,
    CreditReview,
    Finding,
    LimitStatus,
    LitigationFlag,
    ReviewDecision,
    ReviewTrigger,
    TermsDowngrade,
)
from kehu.limits.workflow import APPROVAL_STATES, KEY, REVIEW_APPROVER
from kehu.workflow import engine
from kehu.workflow.models import Case, CaseEvent, TaskState

APP_SERIES = "limits.application"
LETTER_SERIES = "limits.letter"
REVIEW_SERIES = "limits.review"
MAX_AMOUNT = Decimal("999999999999.99")
MAX_TERM_DAYS = 365
APPLICABLE_STATUSES = (CustomerStatus.ACTIVE, CustomerStatus.REVIEW)


def register_series() -> None:
    numbering.register_series(APP_SERIES, prefix="SXSQ", width=5, label=_("授信申请"))
    numbering.register_series(LETTER_SERIES, prefix="SXTZ", width=5, label=_("授信通知书"))


def _invalid(field_name: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field_name, rule=rule)


def _decimal(value: Any, field_name: str, label: str, *, required: bool) -> Decimal | None:
    if value in (None, ""):
        if required:
            raise _invalid(field_name, "required", _("请填写%(f)s。") % {"f": label})
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise _invalid(field_name, "number", _("%(f)s须为金额。") % {"f": label}) from None
    if number < 0 or number > MAX_AMOUNT:
        raise _invalid(field_name, "range", _("%(f)s须在 0 到 9999亿 之间。") % {"f": label})
    return number


def _days(value: Any, field_name: str, label: str, *, required: bool) -> int | None:
    if value in (None, ""):
        if required:
            raise _invalid(field_name, "required", _("请填写%(f)s。") % {"f": label})
        return None
    try:
        days = int(value)
    except (TypeError, ValueError):
        raise _invalid(field_name, "integer", _("%(f)s须为整数天数。") % {"f": label}) from None
    if days < 0 or days > MAX_TERM_DAYS:
        raise _invalid(field_name, "range", _("%(f)s须在 0 到 365 天之间。") % {"f": label})
    return days


# --- class policies (R-CRD-04) -------------------------------------------------------------------------------------


@dataclass
class Allowance:
    """What the customer's credit class allows now, shown on the proposal form."""

    credit_class: str
    rated: bool
    grade: str
    rating_id: int | None
    max_amount: Decimal | None  # None: bounded by expected sales (A)
    max_term_days: int
    current_amount: Decimal | None
    text: str
    policy_version_id: int | None
    rules: dict[str, Any] = field(default_factory=dict)


def allowance(customer: Customer) -> Allowance:
    policy, version = policies.credit()
    rules = policy.classes
    rating = adapters.rating_in_force(customer)
    cls = rating.credit_class if rating is not None else rules.unrated_class
    current = (
        CreditLimit.objects.filter(customer_id=customer.pk, status=LimitStatus.IN_FORCE)
        .values_list("amount", flat=True)
        .first()
    )
    if cls == "A":
        max_amount, max_term = None, rules.a_max_term_days
        text = _("A类：可给予额度和账期（最长 %(t)s 天），额度不得超过账期内预计销售额。") % {"t": max_term}
    elif cls == "B":
        if current is None:
            max_amount = rules.b_start_limit
            text = _("B类：起始额度最高 %(a)s 元，账期最长 %(t)s 天；表现良好后逐步提高。")
        else:
            max_amount = (current * (100 + rules.b_step_pct) / 100).quantize(Decimal("0.01"))
            text = _("B类：每次最多提高 %(p)s%%（至 %(a)s 元），账期最长 %(t)s 天。")
        max_term = rules.b_max_term_days
        text = text % {"a": f"{max_amount:,.2f}", "t": max_term, "p": rules.b_step_pct}
    elif cls == "C":
        max_amount, max_term = rules.c_small_limit, rules.c_max_term_days
        text = _("C类：原则上货到付款；符合政策时可给予不超过 %(a)s 元的小额额度，账期最长 %(t)s 天。") % {
            "a": f"{max_amount:,.2f}",
            "t": max_term,
        }
    else:
        max_amount, max_term = Decimal("0"), 0
        text = _("D类：不予授信，只能现款或预付款。")
    if rating is None:
        text = _("无评级，按 %(c)s 类处理。") % {"c": cls} + text
    return Allowance(
        credit_class=cls,
        rated=rating is not None,
        grade=getattr(rating, "grade", "") if rating is not None else "",
        rating_id=getattr(rating, "id", None) if rating is not None else None,
        max_amount=max_amount,
        max_term_days=max_term,
        current_amount=current,
        text=text,
        policy_version_id=version,
        rules=rules.model_dump(mode="json"),
    )


def class_problems(
    allow: Allowance, *, amount: Decimal, term_days: int, expected_sales: Decimal | None
) -> list[ValidationFailed]:
    """The class-policy refusals of a proposal (empty when it is within the class)."""
    out: list[ValidationFailed] = []
    cls = allow.credit_class
    if cls == "D":
        out.append(
            _invalid("requested_amount", "class_d", _("D类客户不予授信：只能现款或预付款（信用类别政策）。"))
        )
        return out
    if term_days > allow.max_term_days:
        out.append(
            _invalid(
                "requested_term_days",
                f"class_{cls.lower()}_term",
                _("账期 %(d)s 天超过 %(c)s 类允许的 %(m)s 天（信用类别政策）。")
                % {"d": term_days, "c": cls, "m": allow.max_term_days},
            )
        )
    if cls == "A":
        if expected_sales is None:
            out.append(
                _invalid("expected_sales", "required", _("A类客户须填写账期内预计销售额（信用类别政策）。"))
            )
        elif amount > expected_sales:
            out.append(
                _invalid(
                    "requested_amount",
                    "class_a_sales",
                    _("A类客户的额度不得超过账期内预计销售额 %(s)s 元（信用类别政策）。")
                    % {"s": f"{expected_sales:,.2f}"},
                )
            )
    elif allow.max_amount is not None and amount > allow.max_amount:
        rule = (
            "class_b_step"
            if cls == "B" and allow.current_amount is not None
            else f"class_{cls.lower()}_amount"
        )
        out.append(
            _invalid(
                "requested_amount",
                rule,
                _("额度 %(a)s 元超过 %(c)s 类允许的 %(m)s 元（信用类别政策）。")
                % {"a": f"{amount:,.2f}", "c": cls, "m": f"{allow.max_amount:,.2f}"},
            )
        )
    return out


def _check_override(actor: User, override: bool, reason: str, problems: list[ValidationFailed]) -> bool:
    """Refuse the first problem unless an authorised override with reason; True when the override is used."""
    if not problems:
        return False
    if not override:
        raise problems[0]
    policy, _v = policies.credit()
    if not actor.has_role(*policy.classes.override_roles):
        raise PermissionDenied(_("只有制度授权的角色才能越级授信（信用类别政策）。"))
    if not (reason or "").strip():
        raise _invalid("override_reason", "required", _("越级授信须填写理由。"))
    return True


# --- applications (R-CRD-02) -----------------------------------------------------------------------------------------


def _scoped_customer(actor: User, action: str, customer_id: int) -> Customer:
    return access.get_scoped(actor, action, Customer.objects.select_related("owner"), pk=customer_id)


def _open_application(customer: Customer) -> CreditApplication | None:
    return (
        CreditApplication.objects.filter(
            customer=customer, status__in=[AppStatus.DRAFT, AppStatus.INVESTIGATION, AppStatus.APPROVAL]
        )
        .order_by("pk")
        .first()
    )


def _clean_request(data: dict[str, Any], *, required: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "requested_amount" in data or required:
        amount = _decimal(data.get("requested_amount"), "requested_amount", _("申请额度"), required=required)
        if amount is not None and amount <= 0:
            raise _invalid("requested_amount", "positive", _("申请额度须大于 0。"))
        out["requested_amount"] = amount
    if "requested_term_days" in data or required:
        out["requested_term_days"] = _days(
            data.get("requested_term_days"), "requested_term_days", _("申请账期"), required=required
        )
    if "expected_sales" in data:
        out["expected_sales"] = _decimal(
            data.get("expected_sales"), "expected_sales", _("账期内预计销售额"), required=False
        )
    if "reason" in data or required:
        reason = str(data.get("reason") or "").strip()
        if required and not reason:
            raise _invalid("reason", "required", _("请填写申请理由。"))
        if len(reason) > 4000:
            raise _invalid("reason", "max_length", _("申请理由不能超过4000字。"))
        out["reason"] = reason
    return out


@transaction.atomic
def application_create(
    *,
    actor: User,
    customer_id: int,
    requested_amount: Any = None,
    requested_term_days: Any = None,
    expected_sales: Any = None,
    reason: str = "",
    override: bool = False,
    override_reason: str = "",
    source: str = AppSource.SALES,
    review: CreditReview | None = None,
    draft: bool = False,
) -> CreditApplication:
    """Open a credit application with its case (state draft). ``draft=True`` (opened from the onboarding approval)
    lets the request be filled in later; otherwise the request must be complete and within the class policy, or
    carry an authorised override with reason."""
    if source == AppSource.SALES:
        customer = _scoped_customer(actor, "limits.application.apply", customer_id)
    else:
        customer = Customer.objects.select_related("owner").get(pk=customer_id)
    status = (
        Customer.objects.select_for_update().filter(pk=customer.pk).values_list("status", flat=True).get()
    )
    if status not in APPLICABLE_STATUSES:
        raise _invalid("customer", "status", _("只有交易中或审核中的客户才能申请授信。"))
    if _open_application(customer) is not None:
        raise Conflict(_("该客户已有一份未办结的授信申请。"))
    values = _clean_request(
        {
            "requested_amount": requested_amount,
            "requested_term_days": requested_term_days,
            "expected_sales": expected_sales,
            "reason": reason,
        },
        required=not draft,
    )
    allow = allowance(customer)
    used_override = False
    if not draft:
        problems = class_problems(
            allow,
            amount=values["requested_amount"],
            term_days=values["requested_term_days"],
            expected_sales=values.get("expected_sales"),
        )
        used_override = _check_override(actor, override, override_reason, problems)
    app = CreditApplication.objects.create(
        number=numbering.number_next(APP_SERIES, date=timezone.localdate()),
        customer=customer,
        source=source,
        credit_class=allow.credit_class,
        rating_id=allow.rating_id,
        override=used_override,
        override_reason=override_reason.strip() if used_override else "",
        override_by=actor if used_override else None,
        policy_version_id=allow.policy_version_id,
        review=review,
        created_by=actor,
        **values,
    )
    case = engine.case_open(
        actor=actor,
        definition_key=KEY,
        subject=app,
        title=_("授信申请 %(n)s：%(c)s") % {"n": app.number, "c": customer.name},
        department=customer.department,
    )
    app.case = case
    app.save(update_fields=["case"])
    audit.record(
        actor=actor,
        action="create",
        obj=app,
        changes={k: [None, v] for k, v in values.items() if v not in (None, "")}
        | {"credit_class": [None, allow.credit_class], "source": [None, source]}
        | ({"override": [None, True]} if used_override else {}),
        reason=app.override_reason,
        policy_version=allow.policy_version_id,
    )
    return app


def application_get(*, actor: User, application_id: int) -> CreditApplication:
    qs = CreditApplication.objects.select_related(
        "customer", "customer__owner", "case", "created_by", "decided_by", "override_by"
    )
    return access.get_scoped(actor, "limits.application.view", qs, pk=application_id)


def _locked(application_id: int) -> CreditApplication:
    return (
        CreditApplication.objects.select_for_update(of=("self",))
        .select_related("customer", "case")
        .get(pk=application_id)
    )


@transaction.atomic
def application_update(*, actor: User, application_id: int, **data: Any) -> CreditApplication:
    """Change the request while the application is a draft and the actor holds its draft task."""
    app = application_get(actor=actor, application_id=application_id)
    app = _locked(app.pk)
    if app.status != AppStatus.DRAFT or app.case is None:
        raise Conflict(_("只有草稿状态的申请可以修改。"))
    task, _acting = engine.acting_task(app.case, actor)
    if task is None:
        raise PermissionDenied(_("该申请当前不由您填写。"))
    override = bool(data.pop("override", False))
    override_reason = str(data.pop("override_reason", "") or "")
    values = _clean_request(
        {
            k: v
            for k, v in data.items()
            if k in ("requested_amount", "requested_term_days", "expected_sales", "reason")
        },
        required=True,
    )
    allow = allowance(app.customer)
    problems = class_problems(
        allow,
        amount=values["requested_amount"],
        term_days=values["requested_term_days"],
        expected_sales=values.get("expected_sales"),
    )
    used = _check_override(actor, override, override_reason, problems)
    before = audit.snapshot(app, [*values, "override", "credit_class"])
    for k, v in values.items():
        setattr(app, k, v)
    app.credit_class, app.rating_id, app.policy_version_id = (
        allow.credit_class,
        allow.rating_id,
        allow.policy_version_id,
    )
    app.override = used
    app.override_reason = override_reason.strip() if used else ""
    app.override_by = actor if used else None
    app.save()
    audit.record(
        actor=actor,
        action="update",
        obj=app,
        changes=audit.diff(before, audit.snapshot(app, [*values, "override", "credit_class"])),
        reason=app.override_reason,
        policy_version=allow.policy_version_id,
    )
    return app


@transaction.atomic
def finding_save(*, actor: User, application_id: int, channel: str, findings: str) -> Finding:
    """Record (or correct) one investigation channel's findings while the application is under investigation."""
    app = access.get_scoped(
        actor, "limits.investigation.edit", CreditApplication.objects.all(), pk=application_id
    )
    app = _locked(app.pk)
    if app.status != AppStatus.INVESTIGATION:
        raise Conflict(_("只有信用调查阶段可以记录调查结果。"))
    if channel not in Channel.values:
        raise _invalid("channel", "choices", _("调查渠道无效：只能是银行、公开信息、实地考察、同业调查。"))
    text = (findings or "").strip()
    if not text:
        raise _invalid("findings", "required", _("请填写调查结果。"))
    if len(text) > 8000:
        raise _invalid("findings", "max_length", _("调查结果不能超过8000字。"))
    row = Finding.objects.filter(application=app, channel=channel).first()
    old = row.findings if row else None
    if row is None:
        row = Finding.objects.create(application=app, channel=channel, findings=text, recorded_by=actor)
    else:
        row.findings, row.recorded_by = text, actor
        row.save(update_fields=["findings", "recorded_by"])
    audit.record(
        actor=actor, action="update", obj=app, changes={f"finding.{channel}": [old, text]}, confidential=True
    )
    return row


@transaction.atomic
def conclusion_save(*, actor: User, application_id: int, conclusion: str) -> CreditApplication:
    app = access.get_scoped(
        actor, "limits.investigation.edit", CreditApplication.objects.all(), pk=application_id
    )
    app = _locked(app.pk)
    if app.status != AppStatus.INVESTIGATION:
        raise Conflict(_("只有信用调查阶段可以填写分析结论。"))
    text = (conclusion or "").strip()
    if not text:
        raise _invalid("conclusion", "required", _("请填写分析结论。"))
    if len(text) > 8000:
        raise _invalid("conclusion", "max_length", _("分析结论不能超过8000字。"))
    old = app.conclusion
    app.conclusion = text
    app.save(update_fields=["conclusion"])
    audit.record(
        actor=actor, action="update", obj=app, changes={"conclusion": [old, text]}, confidential=True
    )
    return app


def application_act(
    *,
    actor: User,
    application_id: int,
    transition: str,
    comment: str = "",
    approved_amount: Any = None,
    approved_term_days: Any = None,
    override: bool = False,
    override_reason: str = "",
    expected_state: str | None = None,
) -> CreditApplication:
    """Take an action of the application's case (submit, route, approve, reject, send back...) on the engine."""
    app = application_get(actor=actor, application_id=application_id)
    if app.case_id is None:
        raise Conflict(_("该申请没有流程。"))
    data: dict[str, Any] = {}
    if approved_amount not in (None, ""):
        data["approved_amount"] = str(approved_amount)
    if approved_term_days not in (None, ""):
        data["approved_term_days"] = str(approved_term_days)
    if override:
        data["override"] = True
        data["override_reason"] = override_reason
    engine.case_transition(
        actor=actor,
        case_id=app.case_id,
        transition=transition,
        comment=comment,
        data=data or None,
        expected_state=expected_state,
    )
    return application_get(actor=actor, application_id=app.pk)


def comment_is_confidential(event: CaseEvent) -> bool:
    """The comments of investigation-stage events (the investigator's routing or send-back) and of every return
    to the investigation discuss the findings: only those who may see the investigation read them."""
    return event.from_state == "investigation" or event.send_back


def case_history(case: Case, *, see_investigation: bool) -> list[CaseEvent]:
    """The case's events in order, each with ``shown_comment``: its comment, or "" where the comment is
    confidential and the reader may not see the investigation (the submission, withdrawal and final decision
    stay readable to the owner)."""
    events = list(case.events.select_related("actor").order_by("seq"))
    for event in events:
        hidden = not see_investigation and comment_is_confidential(event)
        event.shown_comment = "" if hidden else event.comment  # type: ignore[attr-defined]
    return events


# --- guards and effects of the workflow -------------------------------------------------------------------------


def application_of(case: Case) -> CreditApplication:
    return CreditApplication.objects.select_related("customer", "customer__owner").get(case_id=case.pk)


def case_drafter(case: Case) -> User | None:
    """Who fills in the draft: the customer's owner, or the opener of a review's change proposal."""
    app = CreditApplication.objects.filter(case_id=case.pk).select_related("customer__owner").first()
    if app is None:  # the case is being opened: the application row links it right after
        app = (
            CreditApplication.objects.filter(pk=int(case.subject_id or 0))
            .select_related("customer__owner")
            .first()
        )
    if app is None:
        return None
    if app.source == AppSource.REVIEW:
        return app.created_by
    owner = app.customer.owner
    return owner if owner.is_active else None


def case_investigators(case: Case) -> list[User]:
    """The credit team takes the investigation: every active credit officer and credit manager gets the task (the
    first to act closes the others')."""
    from kehu.limits.workflow import INVESTIGATORS

    return list(User.objects.filter(is_active=True, roles__code__in=INVESTIGATORS).distinct().order_by("pk"))


def guard_submittable(case: Case) -> str | None:
    app = application_of(case)
    if app.requested_amount is None or app.requested_term_days is None or not app.reason:
        return _("请先填写申请额度、账期和申请理由。")
    problems = class_problems(
        allowance(app.customer),
        amount=app.requested_amount,
        term_days=app.requested_term_days,
        expected_sales=app.expected_sales,
    )
    if problems and not app.override:
        return str(problems[0].message)
    return None


def guard_investigated(case: Case) -> str | None:
    app = application_of(case)
    if not app.findings.exists():
        return _("请至少记录一个调查渠道的调查结果。")
    if not app.conclusion:
        return _("请填写分析结论。")
    return None


def guard_band(case: Case, role: str) -> str | None:
    """The authority matrix (R-CRD-02): only the band the requested amount falls in. A limit change proposed by a
    credit review goes to the credit committee whatever the amount (R-CRD-08)."""
    app = application_of(case)
    if app.source == AppSource.REVIEW:
        if role != REVIEW_APPROVER:
            return _("信用复查提出的额度调整须报“%(r)s”审批，不按金额档位（R-CRD-08）。") % {
                "r": role_label(REVIEW_APPROVER)
            }
        return None
    policy, _v = policies.credit()
    wanted = policies.approver_role(policy, app.requested_amount or Decimal("0"))
    if wanted != role:
        return _("按审批权限矩阵，该金额应由“%(r)s”审批。") % {"r": role_label(wanted)}
    return None


def role_label(code: str) -> str:
    from kehu.core.models.org import RoleCode

    try:
        return str(RoleCode(code).label)
    except ValueError:
        return code


_STATUS_OF_STATE = {
    "draft": AppStatus.DRAFT,
    "investigation": AppStatus.INVESTIGATION,
    "approved": AppStatus.APPROVED,
    "rejected": AppStatus.REJECTED,
    "withdrawn": AppStatus.WITHDRAWN,
    **dict.fromkeys(APPROVAL_STATES, AppStatus.APPROVAL),
}


def on_case_moved(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """Keep the application's status (and, entering an approval state, the routed role) in step with its case;
    the state's deadline in working days from the policy."""
    app = CreditApplication.objects.select_for_update().get(case_id=case.pk)
    old_status = app.status
    app.status = _STATUS_OF_STATE[case.state]
    fields = ["status"]
    if case.state in APPROVAL_STATES:
        app.approver_role = APPROVAL_STATES[case.state]
        fields.append("approver_role")
    if case.state in ("rejected",):
        app.decided_by, app.decided_at, app.decision_comment = actor, timezone.now(), data.get("comment", "")
        fields += ["decided_by", "decided_at", "decision_comment"]
    app.save(update_fields=fields)
    policy, _v = policies.credit()
    days = (
        policy.investigation_days
        if case.state == "investigation"
        else policy.approval_days
        if case.state in APPROVAL_STATES
        else None
    )
    if days and case.closed_at is None:
        due = engine.deadline_for(timezone.localdate(), days)
        Case.objects.filter(pk=case.pk).update(state_due=due)
        case.state_due = due
        case.tasks.filter(state=TaskState.OPEN, case_state=case.state).update(due=due)
    if app.review_id and case.state in ("approved", "rejected", "withdrawn"):
        engine.task_close(target=app.review, actor=actor)  # type: ignore[arg-type]
    audit.record(
        actor=actor,
        action="update",
        obj=app,
        changes={"status": [old_status, app.status], "stage": case.state},
        reason=str(data.get("comment") or ""),
    )


def _quarter_start(day: dt.date) -> dt.date:
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _quarter_end(day: dt.date) -> dt.date:
    return _quarter_start(day) + relativedelta(months=3) - dt.timedelta(days=1)


def on_approved(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """The approval writes the limit table (one row in force, history kept) and numbers the letter."""
    app = (
        CreditApplication.objects.select_for_update(of=("self",))
        .select_related("customer")
        .get(case_id=case.pk)
    )
    requested = app.requested_amount or Decimal("0")
    amount = (
        _decimal(data.get("approved_amount"), "approved_amount", _("批准额度"), required=False) or requested
    )
    term = _days(data.get("approved_term_days"), "approved_term_days", _("批准账期"), required=False)
    term = app.requested_term_days if term is None else term
    if amount <= 0:
        raise _invalid("approved_amount", "positive", _("批准额度须大于 0。"))
    if amount > requested:
        raise _invalid("approved_amount", "not_above_requested", _("批准额度不得高于申请额度。"))
    if term is None or term > (app.requested_term_days or 0):
        raise _invalid("approved_term_days", "not_above_requested", _("批准账期不得长于申请账期。"))
    allow = allowance(app.customer)
    problems = class_problems(allow, amount=amount, term_days=term, expected_sales=app.expected_sales)
    if problems and not app.override:
        app.override = _check_override(
            actor, bool(data.get("override")), str(data.get("override_reason") or ""), problems
        )
        app.override_reason = str(data.get("override_reason") or "").strip()
        app.override_by = actor
    today = timezone.localdate()
    policy, version = policies.credit()
    current = (
        CreditLimit.objects.select_for_update()
        .filter(customer=app.customer, status=LimitStatus.IN_FORCE)
        .first()
    )
    level = allow.credit_class
    if current is not None:
        downgraded = TermsDowngrade.objects.filter(
            customer=app.customer, quarter_start=_quarter_start(today)
        ).exists()
        if downgraded and TERMS_LEVELS.index(current.terms_level) > TERMS_LEVELS.index(level):
            level = current.terms_level  # a downgrade of this quarter stays in force
        current.status = LimitStatus.SUPERSEDED
        current.valid_to = max(current.valid_from, today - dt.timedelta(days=1))
        current.save(update_fields=["status", "valid_to"])
    limit = CreditLimit.objects.create(
        customer=app.customer,
        amount=amount,
        term_days=term,
        credit_class=allow.credit_class,
        terms_level=level,
        valid_from=today,
        application=app,
        approved_by=actor,
        letter_number=numbering.number_next(LETTER_SERIES, date=today),
        policy_version_id=version,
        next_review_on=today + relativedelta(months=policy.review_months),
    )
    app.approved_amount, app.approved_term_days = amount, term
    app.decided_by, app.decided_at, app.decision_comment = actor, timezone.now(), data.get("comment", "")
    app.save()
    if app.review_id:
        CreditReview.objects.filter(pk=app.review_id, decision="").update(
            decision=ReviewDecision.CHANGE, decided_by=actor, decided_at=timezone.now()
        )
    audit.record(
        actor=actor,
        action="create",
        obj=limit,
        changes={
            "amount": [str(current.amount) if current else None, str(amount)],
            "term_days": [current.term_days if current else None, term],
            "letter_number": [None, limit.letter_number],
            "application": [None, app.number],
        }
        | ({"override": [None, True]} if app.override else {}),
        reason=app.override_reason,
        policy_version=version,
    )


# --- the onboarding hook -----------------------------------------------------------------------------------------


def on_customer_approved(customer: Customer, review: Any, actor: User) -> None:
    """R-ONB-03: an approved customer gets a draft credit application for the owner to fill in."""
    if _open_application(customer) is not None:
        return
    application_create(actor=actor, customer_id=customer.pk, source=AppSource.ONBOARDING, draft=True)


# --- reviews (R-CRD-08) --------------------------------------------------------------------------------------------


def _statements_context(customer: Customer) -> dict[str, Any] | None:
    view = adapters.latest_statements(customer)
    if view is None:
        return None
    return audit.jsonable(
        {k: getattr(view, k) for k in ("id", "period_end", "ratios") if hasattr(view, k)}
        or getattr(view, "__dict__", {})
    )


def _overdue_context(customer: Customer) -> dict[str, Any] | None:
    view = adapters.overdue_summary(customer)
    if view is None:
        return None
    return {"amount": str(view.amount), "oldest_days": view.oldest_days, "items": view.items}


@transaction.atomic
def review_open(
    *, customer: Customer, reason: str, trigger: str, key: str = "", actor: User | None = None
) -> tuple[CreditReview, bool]:
    """Open a review case (R-CRD-08) with the latest statements and the current limit and exposure as context.
    Idempotent per (customer, trigger, key): the same trigger opens one review. Returns (review, created)."""
    if trigger not in ReviewTrigger.values:
        raise _invalid("trigger", "choices", _("复查触发原因无效。"))
    if actor is not None:
        access.get_scoped(actor, "limits.review.open", Customer.objects.all(), pk=customer.pk)
    key = key or timezone.localdate().isoformat()
    existing = CreditReview.objects.filter(customer=customer, trigger=trigger, trigger_key=key).first()
    if existing is not None:
        return existing, False
    policy, version = policies.credit()
    limit = CreditLimit.objects.filter(customer=customer, status=LimitStatus.IN_FORCE).first()
    context = {
        "statements": _statements_context(customer),
        "overdue": _overdue_context(customer),
        "limit": {"amount": str(limit.amount), "term_days": limit.term_days, "terms_level": limit.terms_level}
        if limit
        else None,
        "exposure": str(adapters.credit_exposure(customer)),
    }
    try:
        with transaction.atomic():
            review = CreditReview.objects.create(
                customer=customer,
                trigger=trigger,
                trigger_key=key[:60],
                reason=(reason or "")[:4000],
                context=audit.jsonable(context),
                limit=limit,
                due=engine.deadline_for(timezone.localdate(), policy.review_days),
                policy_version_id=version,
            )
    except IntegrityError:  # a concurrent run opened it first
        return CreditReview.objects.get(customer=customer, trigger=trigger, trigger_key=key[:60]), False
    engine.task_create(
        target=review,
        title=_("信用复查：%(c)s（%(t)s）") % {"c": customer.name, "t": review.get_trigger_display()},
        assignee_role="credit_officer",
        due=review.due,
        actor=actor,
    )
    audit.record(
        actor=actor,
        action="create",
        obj=review,
        changes={"trigger": [None, trigger], "key": [None, key]},
        reason=reason,
        policy_version=version,
    )
    return review, True


def review_get(*, actor: User, review_id: int) -> CreditReview:
    qs = CreditReview.objects.select_related("customer", "customer__owner", "limit", "decided_by")
    return access.get_scoped(actor, "limits.review.view", qs, pk=review_id)


@transaction.atomic
def review_decide(
    *,
    actor: User,
    review_id: int,
    decision: str,
    reason: str,
    requested_amount: Any = None,
    requested_term_days: Any = None,
    expected_sales: Any = None,
) -> CreditReview:
    """Keep the limit (next review moves on), suspend credit, or change the limit: a change opens a credit
    application (source review) that is investigated like any other and then goes to the credit committee whatever
    the amount (R-CRD-08, :func:`guard_band`)."""
    access.get_scoped(actor, "limits.review.decide", CreditReview.objects.all(), pk=review_id)
    review = CreditReview.objects.select_for_update(of=("self",)).select_related("customer").get(pk=review_id)
    if review.decision:
        raise Conflict(_("该复查已有结论。"))
    if decision not in ReviewDecision.values:
        raise _invalid("decision", "choices", _("复查结论只能是维持、调整或暂停。"))
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", "required", _("请填写复查结论说明。"))
    policy, version = policies.credit()
    limit = (
        CreditLimit.objects.select_for_update()
        .filter(customer=review.customer, status=LimitStatus.IN_FORCE)
        .first()
    )
    changes: dict[str, Any] = {"decision": [None, decision]}
    if decision == ReviewDecision.CHANGE:
        app = application_create(
            actor=actor,
            customer_id=review.customer_id,
            requested_amount=requested_amount,
            requested_term_days=requested_term_days,
            expected_sales=expected_sales,
            reason=reason,
            source=AppSource.REVIEW,
            review=review,
            draft=False,
        )
        engine.case_transition(
            actor=actor, case_id=int(app.case_id or 0), transition="submit", comment=reason
        )
        changes["application"] = [None, app.number]
    elif limit is None:
        raise _invalid("decision", "no_limit", _("该客户没有生效的额度，只能调整（新申请）额度。"))
    elif decision == ReviewDecision.KEEP:
        old = limit.next_review_on
        limit.next_review_on = timezone.localdate() + relativedelta(months=policy.review_months)
        limit.save(update_fields=["next_review_on"])
        changes["next_review_on"] = [old, limit.next_review_on]
    else:
        limit.status = LimitStatus.SUSPENDED
        limit.valid_to = max(limit.valid_from, timezone.localdate())
        limit.save(update_fields=["status", "valid_to"])
        changes["limit_status"] = [LimitStatus.IN_FORCE, LimitStatus.SUSPENDED]
    review.decision, review.decision_reason = decision, reason
    review.decided_by, review.decided_at = actor, timezone.now()
    review.save(update_fields=["decision", "decision_reason", "decided_by", "decided_at"])
    if decision != ReviewDecision.CHANGE:
        engine.task_close(target=review, actor=actor)
    audit.record(
        actor=actor, action="update", obj=review, changes=changes, reason=reason, policy_version=version
    )
    return review


@transaction.atomic
def litigation_record(
    *, actor: User, customer_id: int, description: str, occurred_on: dt.date | None = None
) -> tuple[LitigationFlag, CreditReview | None]:
    """Record a litigation flag; a customer with a limit in force gets an event review at once (R-CRD-08)."""
    customer = _scoped_customer(actor, "limits.litigation.record", customer_id)
    text = (description or "").strip()
    if not text:
        raise _invalid("description", "required", _("请填写诉讼情况。"))
    occurred_on = occurred_on or timezone.localdate()
    if occurred_on > timezone.localdate():
        raise _invalid("occurred_on", "not_future", _("发生日期不能晚于今天。"))
    flag = LitigationFlag.objects.create(
        customer=customer, description=text[:4000], occurred_on=occurred_on, recorded_by=actor
    )
    audit.record(actor=actor, action="create", obj=flag, changes={"description": [None, flag.description]})
    review = None
    if CreditLimit.objects.filter(customer=customer, status=LimitStatus.IN_FORCE).exists():
        review, _created = review_open(
            customer=customer, reason=text, trigger=ReviewTrigger.LITIGATION, key=f"flag-{flag.pk}"
        )
    return flag, review


# --- late payments (R-CRD-09) --------------------------------------------------------------------------------------


@transaction.atomic
def terms_check(*, customer: Customer, at: dt.date | None = None) -> TermsDowngrade | None:
    """Two (policy) or more late payments within the calendar quarter of ``at`` drop the payment terms one level
    at once, recorded with the invoices and the policy version; once per customer and quarter."""
    at = at or timezone.localdate()
    start, end = _quarter_start(at), _quarter_end(at)
    if TermsDowngrade.objects.filter(customer=customer, quarter_start=start).exists():
        return None
    policy, version = policies.credit()
    late = [
        lp
        for lp in adapters.late_payments(customer, start, min(end, at))
        if start <= lp.paid_on <= end and lp.days_late > 0
    ]
    if len(late) < policy.late_count:
        return None
    limit = (
        CreditLimit.objects.select_for_update().filter(customer=customer, status=LimitStatus.IN_FORCE).first()
    )
    if limit is None or limit.terms_level == "D":
        return None
    new = TERMS_LEVELS[TERMS_LEVELS.index(limit.terms_level) + 1]
    evidence = [
        {"invoice_id": lp.invoice_id, "due_on": lp.due_on, "paid_on": lp.paid_on, "days_late": lp.days_late}
        for lp in late
    ]
    try:
        with transaction.atomic():
            row = TermsDowngrade.objects.create(
                customer=customer,
                quarter_start=start,
                from_level=limit.terms_level,
                to_level=new,
                evidence=audit.jsonable(evidence),
                policy_version_id=version,
            )
    except IntegrityError:
        return None
    old = limit.terms_level
    limit.terms_level = new
    limit.save(update_fields=["terms_level"])
    audit.record(
        actor=None,
        action="update",
        obj=limit,
        changes={"terms_level": [old, new], "late_payments": audit.jsonable(evidence)},
        reason=_("本季度逾期付款 %(n)s 次，付款条件降一级（R-CRD-09）。") % {"n": len(late)},
        policy_version=version,
    )
    return row


# --- jobs ----------------------------------------------------------------------------------------------------------


def _limits_in_force() -> Any:
    return CreditLimit.objects.filter(status=LimitStatus.IN_FORCE).select_related("customer")


def reviews_due_run(progress: Any = None, at: str | None = None) -> dict[str, int]:
    """Open a periodic review for every limit whose review date has come (idempotent: keyed by that date)."""
    day = dt.date.fromisoformat(at) if at else timezone.localdate()
    rows = list(_limits_in_force().filter(next_review_on__lte=day))
    opened = 0
    for i, limit in enumerate(rows, 1):
        _r, created = review_open(
            customer=limit.customer,
            reason=_("额度定期复查（下次复查日期 %(d)s）") % {"d": limit.next_review_on},
            trigger=ReviewTrigger.PERIODIC,
            key=f"due-{limit.pk}-{limit.next_review_on}",
        )
        opened += int(created)
        if progress is not None:
            progress(i, len(rows), "")
    return {"checked": len(rows), "opened": opened}


def review_events_run(progress: Any = None, at: str | None = None) -> dict[str, int]:
    """Event reviews: an overdue spike (policy amount or days, once per customer and month) and ownership
    changes (a change of owner or legal representative after the limit took effect, once per change)."""
    from kehu.customers.models import ChangeField, CustomerChange

    day = dt.date.fromisoformat(at) if at else timezone.localdate()
    policy, _v = policies.credit()
    rows = list(_limits_in_force())
    opened = 0
    if adapters.receivables_installed():
        for limit in rows:
            view = adapters.overdue_summary(limit.customer, at=day)
            if view is None:
                continue
            if view.amount >= policy.overdue_spike_amount or view.oldest_days >= policy.overdue_spike_days:
                _r, created = review_open(
                    customer=limit.customer,
                    reason=_("逾期 %(a)s 元，最长逾期 %(d)s 天。")
                    % {"a": view.amount, "d": view.oldest_days},
                    trigger=ReviewTrigger.OVERDUE,
                    key=f"overdue-{day:%Y-%m}",
                )
                opened += int(created)
    since = {limit.customer_id: limit.valid_from for limit in rows}
    changes = CustomerChange.objects.filter(
        customer_id__in=list(since),
        field__in=[ChangeField.OWNER, ChangeField.LEGAL_REPRESENTATIVE],
    ).select_related("customer")
    for change in changes:
        if change.changed_on < since[change.customer_id]:
            continue
        _r, created = review_open(
            customer=change.customer,
            reason=_("%(f)s变更：%(o)s → %(n)s")
            % {"f": change.get_field_display(), "o": change.old, "n": change.new},
            trigger=ReviewTrigger.OWNERSHIP,
            key=f"change-{change.pk}",
        )
        opened += int(created)
    if progress is not None:
        progress(len(rows), len(rows), "")
    return {"checked": len(rows), "opened": opened}


def terms_check_run(progress: Any = None, at: str | None = None) -> dict[str, int]:
    """Daily: the late-payment rule for every customer with a limit in force, for the current quarter and the
    previous one (receipts posted late for the last days of a quarter still count there). The receivables side may
    also call :func:`terms_check` for one customer right after a receipt."""
    day = dt.date.fromisoformat(at) if at else timezone.localdate()
    previous_end = _quarter_start(day) - dt.timedelta(days=1)
    rows = list(_limits_in_force().exclude(terms_level="D"))
    done = 0
    for i, limit in enumerate(rows, 1):
        dropped = terms_check(customer=limit.customer, at=previous_end)
        if dropped is None:
            dropped = terms_check(customer=limit.customer, at=day)
        done += int(dropped is not None)
        if progress is not None:
            progress(i, len(rows), "")
    return {"checked": len(rows), "downgraded": done}
