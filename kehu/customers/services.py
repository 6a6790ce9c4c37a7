"""Customer services (every write): master data with validation, duplicate check, lifecycle, contacts, staff.

R-CUS-01..03, R-CUS-07, R-CUS-09, R-CUS-11, R-CUS-14. Each service checks access, locks, validates, writes and
records the audit entry last.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from rapidfuzz import fuzz

from kehu.core import access, audit
from kehu.core.errors import Conflict, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.numbering import number_next
from kehu.core.uscc import normalise as uscc_normalise
from kehu.core.uscc import uscc_validate
from kehu.customers import groups, names, search
from kehu.customers.models import (
    ChangeField,
    ChangeSource,
    Contact,
    ContactRole,
    Currency,
    Customer,
    CustomerChange,
    CustomerClass,
    CustomerKind,
    CustomerStatus,
    EndedReason,
    Industry,
)
from kehu.customers.policies import duplicates, staffing

# Master-data fields a service accepts (besides name, credit code, class, kind, owner).
TEXT_FIELDS = (
    "enterprise_type",
    "legal_representative",
    "chairman",
    "general_manager",
    "issuing_authority",
    "business_scope",
    "province",
    "city",
    "registered_address",
    "office_address",
    "postcode",
    "phone",
    "fax",
    "website",
    "industry",
    "certifications",
    "bank_name",
    "bank_account",
    "invoice_title",
    "tax_number",
    "notes",
)
DATE_FIELDS = ("founded_on", "operating_from", "operating_to", "licence_valid_until")
EDITABLE = (
    "name",
    "credit_code",
    "is_person",
    "kind",
    "customer_class",
    "registered_capital",
    "capital_currency",
    *TEXT_FIELDS,
    *DATE_FIELDS,
)
AUDITED = (*EDITABLE, "owner_id", "department_id", "region_id", "status", "ended_reason")


@dataclass(frozen=True)
class Candidate:
    id: int
    number: str
    name: str
    credit_code: str
    status: str
    score: float
    reason: str  # "credit_code" | "name"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "number": self.number,
            "name": self.name,
            "credit_code": self.credit_code,
            "status": self.status,
            "score": round(self.score, 1),
            "reason": self.reason,
        }


class DuplicateCandidates(Conflict):
    """A new customer looks like existing ones: the user sees the candidates and confirms or stops (409)."""

    default_code = "duplicate_candidates"

    def __init__(self, candidates: list[Candidate], *, exact: bool = False) -> None:
        self.candidates = candidates
        self.exact = exact
        if exact:
            message = _("统一社会信用代码已被客户 %(name)s（%(number)s）使用，不能重复建档。") % {
                "name": candidates[0].name,
                "number": candidates[0].number,
            }
            rule = "credit_code_unique"
            field = "credit_code"
        else:
            message = _("发现 %(n)s 个名称相近的客户，请核对后确认仍要新建，或停止新建。") % {
                "n": len(candidates)
            }
            rule = "near_duplicate"
            field = "name"
        super().__init__(
            message,
            field=field,
            rule=rule,
            detail={"field": field, "rule": rule, "candidates": [c.as_dict() for c in candidates]},
        )


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def _invalid(field: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field, rule=rule)


def _clean(data: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate master data; raises ValidationFailed naming the field and rule."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in EDITABLE:
            raise _invalid(key, "unknown", _("未知字段：%(f)s。") % {"f": key})
        out[key] = value.strip() if isinstance(value, str) else value
    if "name" in out:
        if not out["name"]:
            raise _invalid("name", "required", _("请填写客户名称。"))
        if len(out["name"]) > 200:
            raise _invalid("name", "max_length", _("客户名称最多 200 个字符。"))
    if "credit_code" in out:
        out["credit_code"] = uscc_normalise(out["credit_code"] or "")
        if out["credit_code"]:
            uscc_validate(out["credit_code"])
    if "kind" in out and out["kind"] not in CustomerKind.values:
        raise _invalid("kind", "choices", _("客户类型无效。"))
    if "customer_class" in out and out["customer_class"] not in CustomerClass.values:
        raise _invalid("customer_class", "choices", _("客户类别无效。"))
    if "capital_currency" in out and out["capital_currency"] not in Currency.values:
        raise _invalid("capital_currency", "choices", _("币种无效。"))
    if out.get("industry") and out["industry"] not in Industry.values:
        raise _invalid("industry", "choices", _("行业无效。"))
    if "registered_capital" in out and out["registered_capital"] not in (None, ""):
        try:
            capital = Decimal(str(out["registered_capital"]))
        except (InvalidOperation, ValueError):
            raise _invalid("registered_capital", "decimal", _("注册资本应为金额。")) from None
        if not capital.is_finite() or capital < 0 or capital >= Decimal("1e16"):
            raise _invalid("registered_capital", "range", _("注册资本应为不小于 0 的金额。"))
        out["registered_capital"] = capital.quantize(Decimal("0.01"))
    elif "registered_capital" in out:
        out["registered_capital"] = None
    for f in ("phone", "fax"):
        if out.get(f):
            if not names.is_phone(out[f]):
                raise _invalid(
                    f,
                    "phone_format",
                    _("%(label)s格式不正确：应为手机号（11 位）或带区号的固话，如 021-58881234。")
                    % {"label": _("电话") if f == "phone" else _("传真")},
                )
            out[f] = names.clean_phone(out[f])
    if out.get("postcode") and not names.is_postcode(out["postcode"]):
        raise _invalid("postcode", "postcode_format", _("邮政编码应为 6 位数字。"))
    if out.get("website"):
        site = out["website"]
        if "://" not in site:
            site = "http://" + site
        try:
            URLValidator(schemes=["http", "https"])(site)
        except DjangoValidationError:
            raise _invalid("website", "url", _("网址格式不正确。")) from None
        out["website"] = site
    if out.get("tax_number"):
        tax = out["tax_number"].upper()
        if not (len(tax) in (15, 18, 20) and tax.isalnum()):
            raise _invalid("tax_number", "tax_number_format", _("纳税人识别号应为 15、18 或 20 位字母数字。"))
        out["tax_number"] = tax
    if out.get("bank_account") and not out["bank_account"].replace(" ", "").isdigit():
        raise _invalid("bank_account", "digits", _("银行账号只能包含数字。"))
    for f in DATE_FIELDS:
        if f in out and out[f] in ("",):
            out[f] = None
        if out.get(f) is not None and not isinstance(out[f], dt.date):
            try:
                out[f] = dt.date.fromisoformat(str(out[f]))
            except ValueError:
                raise _invalid(f, "date", _("日期格式应为 YYYY-MM-DD。")) from None
    return out


def _check_consistency(c: Customer) -> None:
    if not c.is_person and not c.credit_code:
        raise _invalid("credit_code", "required", _("企业客户必须填写统一社会信用代码。"))
    if c.founded_on and c.founded_on > timezone.localdate():
        raise _invalid("founded_on", "not_future", _("成立日期不能晚于今天。"))
    if c.operating_from and c.operating_to and c.operating_to < c.operating_from:
        raise _invalid("operating_to", "after_start", _("营业期限的结束日期不能早于开始日期。"))


def _check_staff(customer_class: str, staff: Iterable[User]) -> int | None:
    """Important and core customers need at least the policy's number of staff (R-CUS-03). Returns the policy
    version applied (None when the class does not need it)."""
    if customer_class not in (CustomerClass.CORE, CustomerClass.IMPORTANT):
        return None
    policy, version = staffing()
    count = len({u.pk for u in staff})
    if count < policy.min_staff_important:
        raise ValidationFailed(
            _("核心及重要客户至少需要分配 %(n)s 名跟进人员（含负责人），当前 %(c)s 名。")
            % {"n": policy.min_staff_important, "c": count},
            field="staff",
            rule="min_staff",
        )
    return version


# --------------------------------------------------------------------------------------------------------------
# Duplicates (R-CUS-11)
# --------------------------------------------------------------------------------------------------------------


def _same_code(code: str, qs: QuerySet[Customer] | None = None) -> list[Candidate]:
    if not code:
        return []
    rows = (Customer.objects.all() if qs is None else qs).filter(credit_code=code)
    return [Candidate(c.pk, c.number, c.name, c.credit_code, c.status, 100.0, "credit_code") for c in rows]


def duplicate_candidates(
    *, name: str, credit_code: str = "", exclude_id: int | None = None, limit: int = 10
) -> list[Candidate]:
    """Existing customers with the same credit code (always first) or a near-identical normalised name. Checks
    every customer, whatever the user may see: one record per legal entity."""
    out: list[Candidate] = []
    seen: set[int] = set()
    threshold = float(duplicates()[0].name_similarity)  # R-CUS-11 "near-identical", a policy value
    code = uscc_normalise(credit_code)
    qs = Customer.objects.all()
    if exclude_id:
        qs = qs.exclude(pk=exclude_id)
    for c in _same_code(code, qs):
        out.append(c)
        seen.add(c.id)
    key = names.name_key(name)
    if key:
        # Prefilter in the database: a near-identical key contains one of the key's pieces unchanged (see
        # names.key_windows); keys under 4 characters only match exactly.
        if len(key) < 4:
            qs = qs.filter(name_key=key)
        else:
            pieces = names.key_windows(key, threshold)
            if pieces:  # otherwise every customer is scored (a short key under a low threshold)
                near = Q()
                for piece in pieces:
                    near |= Q(name_key__contains=piece)
                qs = qs.filter(near)
        rows = list(
            qs.exclude(pk__in=seen).values_list("pk", "number", "name", "credit_code", "status", "name_key")
        )
        scored = []
        for pk, number, cname, ccode, status, ckey in rows:
            score = 100.0 if ckey == key else fuzz.ratio(key, ckey or "")
            if score >= threshold:
                scored.append(Candidate(pk, number, cname, ccode, status, float(score), "name"))
        scored.sort(key=lambda c: (-c.score, c.id))
        out.extend(scored)
    return out[:limit]


# --------------------------------------------------------------------------------------------------------------
# Create / update
# --------------------------------------------------------------------------------------------------------------


def _set_name(c: Customer, name: str) -> None:
    c.name = name
    c.name_key = names.name_key(name)[:200]
    c.name_initials = names.initials(name)


def _may_create_for(actor: User, owner: User) -> None:
    scope = access.require(actor, "customer.create")
    if owner.pk == actor.pk or scope == access.Scope.ALL:
        return
    if scope == access.Scope.DEPARTMENT and access.in_scope(actor, "org.user.view", owner):
        return
    raise PermissionDenied(_("只能为本人或本部门的销售人员新建客户。"), field="owner", rule="owner_scope")


@transaction.atomic
def customer_create(
    *,
    actor: User,
    name: str,
    credit_code: str = "",
    owner: User | None = None,
    staff: Iterable[User] = (),
    confirm_duplicates: bool = False,
    prechecked: Sequence[Candidate] | None = None,
    **fields: Any,
) -> Customer:
    """Create a customer (status prospect) with the next KH number. Duplicate check first: an existing credit
    code is always refused; near-identical names raise :class:`DuplicateCandidates` unless
    ``confirm_duplicates``. A caller that has searched the names in bulk (the import) passes what it found as
    ``prechecked``; then only the credit code is looked up again."""
    owner = owner or actor
    _may_create_for(actor, owner)
    if not owner.is_active:
        raise _invalid("owner", "active", _("负责人已停用。"))
    data = _clean({"name": name, "credit_code": credit_code, **fields})
    if prechecked is None:
        candidates = duplicate_candidates(name=data["name"], credit_code=data["credit_code"])
    else:
        candidates = [*_same_code(uscc_normalise(data["credit_code"])), *prechecked]
    exact = [c for c in candidates if c.reason == "credit_code"]
    if exact:
        raise DuplicateCandidates(exact, exact=True)
    if candidates and not confirm_duplicates:
        raise DuplicateCandidates(candidates)
    c = Customer(owner=owner, department=owner.department, region=owner.region, created_by=actor)
    for key, value in data.items():
        setattr(c, key, value)
    _set_name(c, data["name"])
    _check_consistency(c)
    team = {owner.pk: owner, **{u.pk: u for u in staff}}
    version = _check_staff(c.customer_class, team.values())
    c.number = number_next("KH")
    c.status_changed_at = timezone.now()
    try:
        with transaction.atomic():
            c.save()
    except IntegrityError:  # the same credit code committed by a concurrent request
        raise Conflict(
            _("统一社会信用代码已被其他客户使用，不能重复建档。"),
            field="credit_code",
            rule="credit_code_unique",
        ) from None
    c.staff.set(list(team.values()))
    changes = audit.diff(None, audit.snapshot(c, AUDITED))
    changes["staff"] = [None, sorted(u.username for u in team.values())]
    reason = ""
    if candidates:
        reason = _("已确认与相近客户不是同一主体：%(names)s") % {
            "names": "、".join(x.name for x in candidates)
        }
    audit.record(actor=actor, action="create", obj=c, changes=changes, reason=reason, policy_version=version)
    groups.customer_created(c, actor=actor)
    search.refresh_search(c, new=True)
    return c


def _editable(actor: User, customer_id: int, action: str = "customer.edit") -> Customer:
    """The customer locked for change. A sales rep (OWN scope) edits only as its owner; seeing it as assigned
    staff is not enough."""
    c = access.get_scoped(actor, action, Customer.objects.select_for_update(of=("self",)), pk=customer_id)
    if access.scope_for(actor, action) == access.Scope.OWN and c.owner_id != actor.pk:
        raise PermissionDenied(_("只有客户负责人或其主管可以修改该客户。"))
    return c


def _record_change(
    c: Customer, actor: User, field: str, old: Any, new: Any, *, on: dt.date, source: str, note: str
) -> None:
    CustomerChange.objects.create(
        customer=c,
        field=field,
        old=str(old if old is not None else "")[:300],
        new=str(new if new is not None else "")[:300],
        changed_on=on,
        source=source,
        source_note=note[:200],
        recorded_by=actor,
    )


@transaction.atomic
def customer_update(
    *,
    actor: User,
    customer_id: int,
    source: str = ChangeSource.MANUAL,
    source_note: str = "",
    changed_on: dt.date | None = None,
    owner: User | None = None,
    **fields: Any,
) -> Customer:
    """Change master data. Changes of name, legal representative, registered capital, address and owner are
    recorded in the change history with date and source (R-CUS-09)."""
    c = _editable(actor, customer_id)
    if source not in ChangeSource.values:
        raise _invalid("source", "choices", _("变更来源无效。"))
    on = changed_on or timezone.localdate()
    if on > timezone.localdate():
        raise _invalid("changed_on", "not_future", _("变更日期不能晚于今天。"))
    data = _clean(fields)
    if data.get("credit_code") and data["credit_code"] != c.credit_code:
        exact = list(duplicate_candidates(name="", credit_code=data["credit_code"], exclude_id=c.pk))
        if exact:
            raise DuplicateCandidates(exact, exact=True)
    before = audit.snapshot(c, AUDITED)
    old_address = c.registered_address
    old_capital = (c.registered_capital, c.capital_currency)
    for key, value in data.items():
        setattr(c, key, value)
    if "name" in data:
        _set_name(c, data["name"])
    if owner is not None and owner.pk != c.owner_id:
        if access.scope_for(actor, "customer.edit") == access.Scope.OWN:
            raise PermissionDenied(_("更换负责人需由销售经理办理。"))
        if not owner.is_active:
            raise _invalid("owner", "active", _("负责人已停用。"))
        old_owner = c.owner
        c.owner, c.department, c.region = owner, owner.department, owner.region
        _record_change(
            c, actor, ChangeField.OWNER, old_owner.label, owner.label, on=on, source=source, note=source_note
        )
        c.staff.add(owner)
    _check_consistency(c)
    version = _check_staff(c.customer_class, c.staff.all()) if "customer_class" in data else None
    if before["name"] != c.name:
        _record_change(
            c, actor, ChangeField.NAME, before["name"], c.name, on=on, source=source, note=source_note
        )
    if before["legal_representative"] != c.legal_representative:
        _record_change(
            c,
            actor,
            ChangeField.LEGAL_REPRESENTATIVE,
            before["legal_representative"],
            c.legal_representative,
            on=on,
            source=source,
            note=source_note,
        )
    if old_capital != (c.registered_capital, c.capital_currency):
        fmt = lambda v, cur: f"{v} {cur}" if v is not None else ""  # noqa: E731
        _record_change(
            c,
            actor,
            ChangeField.REGISTERED_CAPITAL,
            fmt(*old_capital),
            fmt(c.registered_capital, c.capital_currency),
            on=on,
            source=source,
            note=source_note,
        )
    if old_address != c.registered_address:
        _record_change(
            c,
            actor,
            ChangeField.ADDRESS,
            old_address,
            c.registered_address,
            on=on,
            source=source,
            note=source_note,
        )
    c.save()
    changes = audit.diff(before, audit.snapshot(c, AUDITED))
    if changes:
        audit.record(
            actor=actor, action="update", obj=c, changes=changes, reason=source_note, policy_version=version
        )
    groups.customer_changed(c, actor=actor)
    search.refresh_search(c)
    return c


# --------------------------------------------------------------------------------------------------------------
# Lifecycle (R-CUS-07)
# --------------------------------------------------------------------------------------------------------------

S = CustomerStatus

# action -> (allowed source states, target state, access action)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str, str]] = {
    "submit_review": ((S.PROSPECT,), S.REVIEW, "customer.edit"),
    "return": ((S.REVIEW,), S.PROSPECT, "customer.lifecycle"),
    "activate": ((S.REVIEW,), S.ACTIVE, "customer.lifecycle"),
    "suspend": ((S.ACTIVE,), S.SUSPENDED, "customer.lifecycle"),
    "reactivate": ((S.SUSPENDED,), S.ACTIVE, "customer.lifecycle"),
    "end": ((S.PROSPECT, S.REVIEW, S.ACTIVE, S.SUSPENDED), S.ENDED, "customer.lifecycle"),
}


def transition_labels() -> dict[str, str]:
    return {
        "submit_review": _("提交审核"),
        "return": _("退回"),
        "activate": _("启用"),
        "suspend": _("暂停交易"),
        "reactivate": _("恢复交易"),
        "end": _("终止交易"),
    }


def allowed_actions(actor: User, c: Customer) -> list[str]:
    """Lifecycle actions this user may take on ``c`` now (for buttons)."""
    out = []
    for name, (sources, _target, action) in TRANSITIONS.items():
        if c.status not in sources or not access.can(actor, action):
            continue
        if not access.in_scope(actor, action, c):
            continue
        if (
            action == "customer.edit"
            and access.scope_for(actor, action) == access.Scope.OWN
            and c.owner_id != actor.pk
        ):
            continue
        out.append(name)
    return out


@transaction.atomic
def customer_transition(
    *, actor: User, customer_id: int, action: str, reason: str, ended_reason: str = ""
) -> Customer:
    if action not in TRANSITIONS:
        raise _invalid("action", "choices", _("未知的操作。"))
    sources, target, access_action = TRANSITIONS[action]
    c = _editable(actor, customer_id, access_action)
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", "required", _("请填写原因。"))
    if c.status not in sources:
        raise Conflict(
            _("客户当前状态为“%(state)s”，不能执行“%(action)s”。")
            % {"state": c.get_status_display(), "action": transition_labels()[action]},
            field="status",
            rule="transition",
        )
    if target == S.ENDED:
        if ended_reason not in EndedReason.values:
            raise _invalid("ended_reason", "choices", _("请选择终止原因：交易中止或交易过去。"))
        c.ended_reason = ended_reason
    elif c.ended_reason:
        c.ended_reason = ""
    before = {"status": c.status}
    old_ended = c.ended_reason if target != S.ENDED else ""
    c.status = target
    c.status_changed_at = timezone.now()
    c.save(update_fields=["status", "ended_reason", "status_changed_at", "updated_at"])
    changes: dict[str, list[Any]] = {"status": [before["status"], target]}
    if target == S.ENDED:
        changes["ended_reason"] = [old_ended, ended_reason]
    audit.record(actor=actor, action="transition", obj=c, changes=changes, reason=reason)
    return c


@transaction.atomic
def customer_status_by_review(
    *,
    actor: User,
    customer_id: int,
    action: str,
    reason: str,
    ended_reason: str = "",
    customer_class: str = "",
) -> Customer:
    """A lifecycle move (and, for a re-qualification, a class downgrade) decided by an onboarding review case
    (R-ONB-03, R-ONB-08). Only kehu.onboarding calls it, after its own checks of the decider's authority on the
    case; ``reason`` names the case. The usual source-state rules apply; the change is audited. An empty
    ``action`` with ``customer_class`` changes the class only."""
    if action and action not in TRANSITIONS:
        raise _invalid("action", "choices", _("未知的操作。"))
    if not action and not customer_class:
        raise _invalid("customer_class", "required", _("请选择客户类别。"))
    c = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
    sources, target, _access_action = TRANSITIONS[action] if action else ((c.status,), c.status, "")
    if c.status not in sources:
        raise Conflict(
            _("客户当前状态为“%(state)s”，不能执行“%(action)s”。")
            % {"state": c.get_status_display(), "action": transition_labels()[action]},
            field="status",
            rule="transition",
        )
    if customer_class and customer_class not in CustomerClass.values:
        raise _invalid("customer_class", "choices", _("客户类别无效。"))
    before = audit.snapshot(c, ("status", "ended_reason", "customer_class"))
    if action:
        c.status = target
        c.status_changed_at = timezone.now()
        c.ended_reason = ended_reason if target == S.ENDED else ""
    if customer_class:
        c.customer_class = customer_class
    c.save(update_fields=["status", "ended_reason", "customer_class", "status_changed_at", "updated_at"])
    changes = audit.diff(before, audit.snapshot(c, ("status", "ended_reason", "customer_class")))
    audit.record(actor=actor, action="transition", obj=c, changes=changes, reason=reason)
    return c


def customer_submit_review(*, actor: User, customer_id: int, reason: str) -> Customer:
    return customer_transition(actor=actor, customer_id=customer_id, action="submit_review", reason=reason)


def customer_activate(*, actor: User, customer_id: int, reason: str) -> Customer:
    return customer_transition(actor=actor, customer_id=customer_id, action="activate", reason=reason)


def customer_suspend(*, actor: User, customer_id: int, reason: str) -> Customer:
    return customer_transition(actor=actor, customer_id=customer_id, action="suspend", reason=reason)


def customer_reactivate(*, actor: User, customer_id: int, reason: str) -> Customer:
    return customer_transition(actor=actor, customer_id=customer_id, action="reactivate", reason=reason)


def customer_end(*, actor: User, customer_id: int, reason: str, ended_reason: str) -> Customer:
    return customer_transition(
        actor=actor, customer_id=customer_id, action="end", reason=reason, ended_reason=ended_reason
    )


# --------------------------------------------------------------------------------------------------------------
# Staff and contacts (R-CUS-03)
# --------------------------------------------------------------------------------------------------------------


@transaction.atomic
def customer_set_staff(*, actor: User, customer_id: int, staff: Iterable[User], reason: str = "") -> Customer:
    """Replace the assigned staff; the owner always stays assigned. Important and core customers keep at least
    the policy's number of staff."""
    c = _editable(actor, customer_id)
    team = {c.owner_id: c.owner}
    for u in staff:
        if not u.is_active:
            raise _invalid("staff", "active", _("%(name)s 已停用，不能分配。") % {"name": u.label})
        team[u.pk] = u
    version = _check_staff(c.customer_class, team.values())
    before = sorted(c.staff.values_list("username", flat=True))
    c.staff.set(list(team.values()))
    after = sorted(u.username for u in team.values())
    if before != after:
        audit.record(
            actor=actor,
            action="update",
            obj=c,
            changes={"staff": [before, after]},
            reason=reason,
            policy_version=version,
        )
    return c


CONTACT_FIELDS = (
    "name",
    "role",
    "title",
    "mobile",
    "phone",
    "email",
    "is_signer",
    "signer_valid_until",
    "notes",
    "active",
)


def _clean_contact(data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in CONTACT_FIELDS:
            raise _invalid(key, "unknown", _("未知字段：%(f)s。") % {"f": key})
        out[key] = value.strip() if isinstance(value, str) else value
    if "name" in out and not out["name"]:
        raise _invalid("name", "required", _("请填写联系人姓名。"))
    if "role" in out and out["role"] not in ContactRole.values:
        raise _invalid("role", "choices", _("联系人角色无效。"))
    if out.get("mobile"):
        if not names.is_mobile(out["mobile"]):
            raise _invalid("mobile", "mobile_format", _("手机号应为 11 位，以 13-19 开头。"))
        out["mobile"] = names.clean_phone(out["mobile"])
    if out.get("phone"):
        if not names.is_phone(out["phone"]):
            raise _invalid(
                "phone", "phone_format", _("电话格式不正确：应为手机号或带区号的固话，如 021-58881234。")
            )
        out["phone"] = names.clean_phone(out["phone"])
    if out.get("email"):
        try:
            EmailValidator()(out["email"])
        except DjangoValidationError:
            raise _invalid("email", "email", _("邮箱格式不正确。")) from None
    if out.get("signer_valid_until") in ("",):
        out["signer_valid_until"] = None
    if isinstance(out.get("signer_valid_until"), str):
        try:
            out["signer_valid_until"] = dt.date.fromisoformat(out["signer_valid_until"])
        except ValueError:
            raise _invalid("signer_valid_until", "date", _("日期格式应为 YYYY-MM-DD。")) from None
    return out


@transaction.atomic
def contact_add(*, actor: User, customer_id: int, name: str, **fields: Any) -> Contact:
    c = _editable(actor, customer_id)
    data = _clean_contact({"name": name, **fields})
    if not (data.get("mobile") or data.get("phone") or data.get("email")):
        raise _invalid("mobile", "required", _("请至少填写手机、电话或邮箱中的一项。"))
    contact = Contact.objects.create(customer=c, **data)
    audit.record(
        actor=actor,
        action="create",
        obj=contact,
        changes=audit.diff(None, audit.snapshot(contact, ["customer_id", *CONTACT_FIELDS])),
    )
    groups.customer_changed(c, actor=actor)
    search.refresh_search(c)
    return contact


@transaction.atomic
def contact_update(*, actor: User, customer_id: int, contact_id: int, **fields: Any) -> Contact:
    c = _editable(actor, customer_id)
    try:
        contact = Contact.objects.select_for_update().get(pk=contact_id, customer=c)
    except Contact.DoesNotExist:
        from kehu.core.errors import NotFound

        raise NotFound() from None
    data = _clean_contact(fields)
    before = audit.snapshot(contact, CONTACT_FIELDS)
    for key, value in data.items():
        setattr(contact, key, value)
    if not (contact.mobile or contact.phone or contact.email):
        raise _invalid("mobile", "required", _("请至少填写手机、电话或邮箱中的一项。"))
    contact.save()
    changes = audit.diff(before, audit.snapshot(contact, CONTACT_FIELDS))
    if changes:
        audit.record(actor=actor, action="update", obj=contact, changes=changes)
    groups.customer_changed(c, actor=actor)
    search.refresh_search(c)
    return contact
