"""The contact log (联系记录, R-CUS-12): services, selectors, the contact-gap job and the dossier sections.

* A contact (visit, call, letter, fax, email, meeting) is logged against a customer: our person, the customer's
  contact (or a free-text name), when, how, a summary and an optional next step with a due date. A next step with
  a due date becomes an inbox task for our person; the "done" action closes it.
* Contact logs are records: the recorder, or a sales manager for the customer's department, may correct one; every
  correction needs a reason and is kept in the audit trail as a before/after diff.
* ``Customer.last_contact_at`` always holds the latest ``contacted_at`` of the customer (a conditional UPDATE on
  create, a recomputation on correction), so the list and the gap job filter on one indexed column.
* The minimum contact frequency comes from policy ``customers.contact`` per customer class, shortened by the
  sources other modules register (:func:`register_interval_source`; the grading module: the visit frequency of
  the grade in force, R-GRD-03): :func:`contact_interval`. The daily job :func:`contact_gaps_raise` opens one
  :class:`ContactGap` with an inbox task for the owner per active customer not contacted within its interval;
  the next contact closes both.
* Other modules act on logged contacts through :func:`register_contact_listener` (the grading module closes the
  quarter's visit task on a visit or call, and reopens it when a correction takes that contact away).
* Category 5 of the dossier (service and relationship records) lists the contact log; category 1 (basic materials
  and visit reports) lists the visits with their attachments (R-CUS-06).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.customers.archive import ArchiveCategory, register_section
from kehu.customers.models import (
    Contact,
    ContactChannel,
    ContactGap,
    ContactLog,
    Customer,
    CustomerClass,
    CustomerStatus,
)
from kehu.customers.policies import ContactPolicy, contact

LOG_ACTION = "customer.contact_log"
VIEW_ACTION = "customer.view"
EXPORT_ACTION = "customer.export"

# A contact cannot lie in the future; this tolerance absorbs clocks of phones and laptops that run slightly ahead.
FUTURE_TOLERANCE = dt.timedelta(minutes=5)
SUMMARY_MAX = 4000
SECTION_LIMIT = 20
GAP_BATCH = 2000

CHANNEL_ICONS = {
    ContactChannel.VISIT: "bi-geo-alt",
    ContactChannel.CALL: "bi-telephone",
    ContactChannel.LETTER: "bi-envelope-paper",
    ContactChannel.FAX: "bi-printer",
    ContactChannel.EMAIL: "bi-envelope-at",
    ContactChannel.MEETING: "bi-people",
    ContactChannel.OTHER: "bi-chat-dots",
}

# the fields a correction may change, and what the audit trail compares
EDITABLE = (
    "channel",
    "contacted_at",
    "staff",
    "contact",
    "contact_name",
    "summary",
    "next_step",
    "next_step_due",
)
AUDITED = (
    "channel",
    "contacted_at",
    "staff_id",
    "contact_id",
    "contact_name",
    "summary",
    "next_step",
    "next_step_due",
)


# --------------------------------------------------------------------------------------------------------------
# Contact frequency (R-CUS-12, R-GRD-03)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactInterval:
    """The longest allowed gap between two contacts with one customer (days; 0: no minimum) and what sets it:
    ``source`` is ``"class"`` or the name of a registered source, ``basis`` the text shown on the dossier."""

    days: int
    source: str
    basis: str


# days_for_customer(customer, day) -> (days, basis) or None; groups(day) -> (expression, [(value, days)]) or None
IntervalForCustomer = Callable[[Customer, dt.date], tuple[int, str] | None]
IntervalGroups = Callable[[dt.date], tuple[Any, list[tuple[Any, int]]] | None]


@dataclass(frozen=True)
class IntervalSource:
    name: str
    days_for_customer: IntervalForCustomer
    groups: IntervalGroups


_INTERVAL_SOURCES: dict[str, IntervalSource] = {}


def register_interval_source(
    name: str, *, days_for_customer: IntervalForCustomer, groups: IntervalGroups
) -> None:
    """Let another module shorten the contact interval (the customers module imports none of them).

    ``days_for_customer(customer, day)`` gives the source's interval for one customer on ``day`` and the text that
    names it on the dossier (e.g. "客户等级：A"), or None (or 0 days) when the source sets none. ``groups(day)``
    gives the same for the gap job in bulk: an expression evaluated per customer row (e.g. a subquery on
    ``OuterRef("pk")``) and the (value, days) pairs whose customers have an interval, or None when no customer has
    one. Registering the same name again replaces the source."""
    _INTERVAL_SOURCES[name] = IntervalSource(name, days_for_customer, groups)


def _shorter(a: int, b: int) -> int:
    """The shorter non-zero interval (0: no minimum)."""
    if a <= 0:
        return max(b, 0)
    if b <= 0:
        return a
    return min(a, b)


def class_interval_days(customer_class: str, policy: ContactPolicy) -> int:
    """The longest allowed gap between two contacts for a customer class, in days; 0: no minimum frequency."""
    days: dict[str, int] = {
        CustomerClass.CORE.value: policy.core_days,
        CustomerClass.IMPORTANT.value: policy.important_days,
        CustomerClass.GENERAL.value: policy.general_days,
    }
    return days.get(str(customer_class), policy.general_days)


def contact_interval(customer: Customer, at: dt.date | None = None) -> ContactInterval:
    """The interval that applies to ``customer`` on ``at`` (today) and what sets it: the customer class (policy
    ``customers.contact`` in force) combined with every registered source, e.g. the visit frequency of the grade in
    force (R-GRD-03). The shorter non-zero interval wins; on equal intervals the class is named."""
    policy, _version = _policy(at)
    value = str(customer.customer_class)
    label = dict(CustomerClass.choices).get(value, value)
    best = ContactInterval(class_interval_days(value, policy), "class", _("客户类别：%(c)s") % {"c": label})
    day = at or timezone.localdate()
    for source in _INTERVAL_SOURCES.values():
        found = source.days_for_customer(customer, day)
        if found is None:
            continue
        days, basis = found
        if days > 0 and (best.days == 0 or days < best.days):
            best = ContactInterval(days, source.name, basis)
    return best


def contact_interval_days(customer: Customer, at: dt.date | None = None) -> int:
    """The longest allowed gap between two contacts with ``customer`` on ``at`` (days; 0: no minimum): see
    :func:`contact_interval`. :func:`interval_groups` is the bulk form of the same rule for the gap job."""
    return contact_interval(customer, at).days


def interval_groups(policy: ContactPolicy, at: dt.date | None = None) -> list[tuple[Q, int]]:
    """The customers that share an interval on ``at`` (today), as (filter, days) pairs for the gap job.

    Per class, every registered source splits the class by the source's values (e.g. the grade in force: one pair
    per (class, grade)), each part with the shorter non-zero interval of class and value; parts with equal days are
    merged, and a class whose parts all have the class's days stays one plain class filter. Parts with 0 days have
    no minimum and are left out. The filters are self-contained expressions, usable on any Customer query."""
    from django.db.models.lookups import Exact, In, IsNull

    day = at or timezone.localdate()
    splits = []
    for source in _INTERVAL_SOURCES.values():
        found = source.groups(day)
        if found is not None and found[1]:
            splits.append(found)
    out: list[tuple[Q, int]] = []
    for value in CustomerClass.values:
        combos: list[tuple[Q, int]] = [(Q(), class_interval_days(value, policy))]
        for expr, pairs in splits:
            rest = Q(IsNull(expr, True)) | ~Q(In(expr, [v for v, _d in pairs]))
            combos = [
                part
                for q, days in combos
                for part in [
                    *((q & Q(Exact(expr, v)), _shorter(days, d)) for v, d in pairs),
                    (q & rest, days),
                ]
            ]
        by_days: dict[int, Q] = {}
        for q, days in combos:
            by_days[days] = (by_days[days] | q) if days in by_days else q
        if len(by_days) == 1:
            days = next(iter(by_days))
            if days > 0:
                out.append((Q(customer_class=value), days))
            continue
        for days in sorted(d for d in by_days if d > 0):
            out.append((Q(customer_class=value) & by_days[days], days))
    return out


# --------------------------------------------------------------------------------------------------------------
# Listeners: other modules act on a logged contact (e.g. a visit that a grade calls for, R-GRD-03)
# --------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactBefore:
    """A contact's channel and time as they were before a correction (None for a new contact)."""

    channel: str
    contacted_at: dt.datetime


ContactListener = Callable[[ContactLog, User, ContactBefore | None], None]
_CONTACT_LISTENERS: dict[str, ContactListener] = {}
VISIT_CHANNELS: tuple[str, ...] = (ContactChannel.VISIT,)


def register_contact_listener(name: str, listener: ContactListener) -> None:
    """Call ``listener(log, actor, before)`` inside the writing transaction whenever a contact is logged
    (``before`` is None), or corrected in its channel or time (``before``: the channel and time it had, so that a
    listener can undo what the contact counted for). Registering the same name again replaces the listener."""
    _CONTACT_LISTENERS[name] = listener


def _notify(log: ContactLog, actor: User, before: ContactBefore | None = None) -> None:
    for listener in _CONTACT_LISTENERS.values():
        listener(log, actor, before)


def _contacts_within(start: dt.date, end: dt.date, channels: Iterable[str]) -> QuerySet[ContactLog]:
    return ContactLog.objects.filter(
        channel__in=list(channels),
        contacted_at__gte=_day_start(start),
        contacted_at__lt=_day_start(end + dt.timedelta(days=1)),
    )


def visit_exists(
    start: dt.date, end: dt.date, customer_ref: str = "pk", channels: Iterable[str] = VISIT_CHANNELS
) -> Exists:
    """Whether the customer ``OuterRef(customer_ref)`` has a contact of one of ``channels`` (by default a visit,
    拜访) logged on a local day within [start, end]: one EXISTS expression for other modules' bulk queries."""
    return Exists(_contacts_within(start, end, channels).filter(customer_id=OuterRef(customer_ref)))


def first_visit_at(
    customer_id: int, start: dt.date, end: dt.date, channels: Iterable[str] = VISIT_CHANNELS
) -> dt.datetime | None:
    """The first contact of one of ``channels`` (a visit by default) logged with the customer on a local day within
    [start, end] (one query)."""
    return (
        _contacts_within(start, end, channels)
        .filter(customer_id=customer_id)
        .order_by("contacted_at")
        .values_list("contacted_at", flat=True)
        .first()
    )


def last_visit_at(
    customer_id: int, start: dt.date, end: dt.date, channels: Iterable[str] = VISIT_CHANNELS
) -> dt.datetime | None:
    """The latest contact of one of ``channels`` (a visit by default) logged with the customer on a local day
    within [start, end] (one query)."""
    return (
        _contacts_within(start, end, channels)
        .filter(customer_id=customer_id)
        .order_by("-contacted_at")
        .values_list("contacted_at", flat=True)
        .first()
    )


def _policy(at: dt.date | None = None) -> tuple[ContactPolicy, int | None]:
    if at is None:
        return contact()
    try:
        from kehu.core.policies import policy_get
    except ImportError:  # pragma: no cover
        return contact()
    try:
        value = policy_get("customers.contact", at=at)
    except LookupError:
        return ContactPolicy(), None
    values = value.values
    if not isinstance(values, ContactPolicy):
        values = ContactPolicy.model_validate(values if isinstance(values, dict) else values.model_dump())
    return values, value.version_id


# --------------------------------------------------------------------------------------------------------------
# Access
# --------------------------------------------------------------------------------------------------------------


def _customer_for_logging(actor: User, customer_id: int | str) -> Customer:
    """The customer, when the actor may log contacts with it: the owner and assigned staff (own scope), a sales
    manager for the department. 403 without the action, 404 when out of scope."""
    return access.get_scoped(actor, LOG_ACTION, Customer.objects.all(), pk=customer_id)


def can_log(actor: Any, customer: Customer) -> bool:
    return access.can(actor, LOG_ACTION) and access.in_scope(actor, LOG_ACTION, customer)


def can_correct(actor: Any, log: ContactLog) -> bool:
    """The recorder, or a user who logs contacts beyond their own customers (a sales manager), within scope."""
    scope = access.scope_for(actor, LOG_ACTION)
    if scope is None:
        return False
    if log.recorded_by_id != actor.pk and scope == access.Scope.OWN:
        return False
    return access.in_scope(actor, LOG_ACTION, log.customer)


# --------------------------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------------------------


def _invalid(field: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field, rule=rule)


def _aware(value: Any) -> dt.datetime:
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise _invalid("contacted_at", "datetime", _("联系时间格式应为 YYYY-MM-DD HH:MM。")) from None
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(9, 0))
    if not isinstance(value, dt.datetime):
        raise _invalid("contacted_at", "required", _("请填写联系时间。"))
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _date(field: str, value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise _invalid(field, "date", _("日期格式应为 YYYY-MM-DD。")) from None


def _allowed_staff_ids(customer: Customer, actor: User) -> set[int]:
    ids = set(
        Customer.staff.through.objects.filter(customer_id=customer.pk).values_list("user_id", flat=True)
    )
    return ids | {customer.owner_id, actor.pk}


def _clean(
    *, actor: User, customer: Customer, data: dict[str, Any], check_due: bool = True
) -> dict[str, Any]:
    """Validate a contact log's fields (all of them: a create, or a correction merged onto the stored record).
    Raises ValidationFailed naming the field and the rule."""
    out: dict[str, Any] = {}
    channel = (data.get("channel") or "").strip()
    if not channel:
        raise _invalid("channel", "required", _("请选择联系方式。"))
    if channel not in ContactChannel.values:
        raise _invalid("channel", "choices", _("联系方式无效：%(v)s。") % {"v": channel})
    out["channel"] = channel

    if data.get("contacted_at") in (None, ""):
        raise _invalid("contacted_at", "required", _("请填写联系时间。"))
    at = _aware(data["contacted_at"])
    if at > timezone.now() + FUTURE_TOLERANCE:
        raise _invalid("contacted_at", "not_future", _("联系时间不能晚于当前时间。"))
    if customer.founded_on and timezone.localtime(at).date() < customer.founded_on:
        raise _invalid(
            "contacted_at",
            "after_founded",
            _("联系时间不能早于客户的成立日期（%(d)s）。") % {"d": customer.founded_on.isoformat()},
        )
    out["contacted_at"] = at

    staff = data.get("staff") or actor
    if not isinstance(staff, User):
        staff = User.objects.filter(pk=staff).first() if str(staff).isdigit() else None
        if staff is None:
            raise _invalid("staff", "exists", _("我方人员不存在。"))
    if not staff.is_active:
        raise _invalid("staff", "active", _("我方人员 %(u)s 已停用。") % {"u": staff.label})
    if staff.pk not in _allowed_staff_ids(customer, actor):
        raise _invalid(
            "staff",
            "customer_staff",
            _("我方人员须为该客户的负责人、跟进人员或您本人；%(u)s 不是。") % {"u": staff.label},
        )
    out["staff"] = staff

    person = data.get("contact")
    contact_name = (data.get("contact_name") or "").strip()
    if person not in (None, ""):
        if not isinstance(person, Contact):
            person = Contact.objects.filter(pk=person).first() if str(person).isdigit() else None
        if person is None or person.customer_id != customer.pk:
            raise _invalid("contact", "customer_contact", _("所选联系人不属于该客户。"))
        if not person.active:
            raise _invalid("contact", "active", _("联系人 %(n)s 已失效，不能选择。") % {"n": person.name})
        out["contact"] = person
        out["contact_name"] = person.name
    else:
        if not contact_name:
            raise _invalid("contact_name", "required", _("请选择客户联系人或填写对方人员姓名。"))
        if len(contact_name) > 100:
            raise _invalid("contact_name", "max_length", _("对方人员最多 100 个字符。"))
        out["contact"] = None
        out["contact_name"] = contact_name

    summary = (data.get("summary") or "").strip()
    if not summary:
        raise _invalid("summary", "required", _("请填写内容摘要。"))
    if len(summary) > SUMMARY_MAX:
        raise _invalid("summary", "max_length", _("内容摘要最多 %(n)s 个字符。") % {"n": SUMMARY_MAX})
    out["summary"] = summary

    next_step = (data.get("next_step") or "").strip()
    if len(next_step) > 300:
        raise _invalid("next_step", "max_length", _("下一步最多 300 个字符。"))
    due = _date("next_step_due", data.get("next_step_due"))
    if due is not None and not next_step:
        raise _invalid("next_step", "required", _("填写了下一步期限，请同时填写下一步。"))
    if due is not None and check_due and due < timezone.localdate():
        raise _invalid("next_step_due", "not_past", _("下一步期限不能早于今天。"))
    out["next_step"] = next_step
    out["next_step_due"] = due
    return out


# --------------------------------------------------------------------------------------------------------------
# Services (every write)
# --------------------------------------------------------------------------------------------------------------


def _touch_last_contact(customer_id: int, at: dt.datetime) -> None:
    """Move ``last_contact_at`` forward to ``at`` unless a later contact is stored: one conditional UPDATE, so
    concurrent writers can only ever raise it."""
    Customer.objects.filter(pk=customer_id).filter(
        Q(last_contact_at__isnull=True) | Q(last_contact_at__lt=at)
    ).update(last_contact_at=at)


def _recompute_last_contact(customer_id: int) -> None:
    latest = (
        ContactLog.objects.filter(customer_id=OuterRef("pk"))
        .values("customer_id")
        .annotate(m=Max("contacted_at"))
        .values("m")
    )
    Customer.objects.filter(pk=customer_id).update(last_contact_at=Subquery(latest))


def _task_title(log: ContactLog, customer: Customer) -> str:
    return _("联系跟进：%(step)s（%(customer)s）") % {"step": log.next_step, "customer": customer.name}


def _open_next_step_task(log: ContactLog, customer: Customer, actor: User) -> None:
    if not (log.next_step and log.next_step_due):
        return
    from kehu.workflow.engine import task_create

    task_create(
        target=log,
        title=_task_title(log, customer),
        assignee=log.staff,
        due=log.next_step_due,
        actor=actor,
    )


def _close_gap(customer: Customer, at: dt.datetime, actor: User) -> ContactGap | None:
    """The next contact closes the customer's open gap and its task (a contact newer than the one the gap was
    measured from)."""
    gap = (
        ContactGap.objects.select_for_update().filter(customer_id=customer.pk, closed_at__isnull=True).first()
    )
    if gap is None:
        return None
    if gap.last_contact_on is not None and timezone.localtime(at).date() <= gap.last_contact_on:
        return None
    from kehu.workflow.engine import task_close

    gap.closed_at = timezone.now()
    gap.save(update_fields=["closed_at"])
    task_close(target=gap, actor=actor)
    audit.record(
        actor=actor,
        action="update",
        obj=gap,
        changes={"closed_at": [None, gap.closed_at]},
        reason=_("已联系客户"),
    )
    return gap


@transaction.atomic
def contact_log_create(
    *,
    actor: User,
    customer_id: int | str,
    channel: str,
    contacted_at: dt.datetime | str | None,
    summary: str,
    staff: User | int | None = None,
    contact: Contact | int | None = None,
    contact_name: str = "",
    next_step: str = "",
    next_step_due: dt.date | str | None = None,
) -> ContactLog:
    """Log one contact with a customer (R-CUS-12). ``staff`` (our person) defaults to the actor."""
    customer = _customer_for_logging(actor, customer_id)
    data = _clean(
        actor=actor,
        customer=customer,
        data={
            "channel": channel,
            "contacted_at": contacted_at,
            "summary": summary,
            "staff": staff,
            "contact": contact,
            "contact_name": contact_name,
            "next_step": next_step,
            "next_step_due": next_step_due,
        },
    )
    log = ContactLog.objects.create(customer=customer, recorded_by=actor, **data)
    _touch_last_contact(customer.pk, log.contacted_at)
    _close_gap(customer, log.contacted_at, actor)
    _open_next_step_task(log, customer, actor)
    _notify(log, actor)
    audit.record(
        actor=actor,
        action="create",
        obj=log,
        changes=audit.diff(None, audit.snapshot(log, (*AUDITED, "customer_id"))),
    )
    return log


def _locked_log(actor: User, log_id: int | str, customer_id: int | str | None) -> ContactLog:
    qs = access.restrict(actor, VIEW_ACTION, ContactLog.objects.all())
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    access.require(actor, VIEW_ACTION)
    try:
        log = qs.select_for_update(of=("self",)).select_related("customer", "staff").get(pk=log_id)
    except (ContactLog.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None
    return log


@transaction.atomic
def contact_log_update(
    *, actor: User, log_id: int | str, reason: str, customer_id: int | str | None = None, **changes: Any
) -> ContactLog:
    """Correct a contact log: by its recorder, or a sales manager for the customer's department. The reason and
    the before/after values are kept in the audit trail. Changing the next step, its due date or our person
    replaces the open next-step task."""
    log = _locked_log(actor, log_id, customer_id)
    access.require(actor, LOG_ACTION)
    if not can_correct(actor, log):
        raise PermissionDenied(_("只有记录人或其主管可以修改联系记录。"))
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        field = sorted(unknown)[0]
        raise _invalid(field, "unknown", _("未知字段：%(f)s。") % {"f": field})
    reason = (reason or "").strip()
    if not reason:
        raise _invalid("reason", "required", _("请填写修改原因。"))
    customer = log.customer
    merged: dict[str, Any] = {f: getattr(log, f) for f in EDITABLE}
    merged.update(changes)
    if "contact" in changes and changes["contact"] in (None, "") and "contact_name" not in changes:
        merged["contact_name"] = ""
    if "contact_name" in changes and "contact" not in changes:
        merged["contact"] = None
    due_changed = "next_step_due" in changes and _date("next_step_due", changes["next_step_due"]) != (
        log.next_step_due
    )
    data = _clean(actor=actor, customer=customer, data=merged, check_due=due_changed)
    before = audit.snapshot(log, AUDITED)
    old_at = log.contacted_at
    was = ContactBefore(channel=log.channel, contacted_at=log.contacted_at)
    for key, value in data.items():
        setattr(log, key, value)
    after = audit.snapshot(log, AUDITED)
    changed = audit.diff(before, after)
    if not changed:
        return log
    log.save(update_fields=list(data))
    if log.contacted_at != old_at:
        _recompute_last_contact(customer.pk)
    if {"next_step", "next_step_due", "staff_id"} & set(changed):
        from kehu.workflow.engine import task_close

        task_close(target=log, actor=actor)
        _open_next_step_task(log, customer, actor)
    if {"channel", "contacted_at"} & set(changed):
        _notify(log, actor, was)
    audit.record(actor=actor, action="update", obj=log, changes=changed, reason=reason)
    return log


@transaction.atomic
def contact_log_next_step_done(
    *, actor: User, log_id: int | str, customer_id: int | str | None = None, note: str = ""
) -> ContactLog:
    """Mark a log's next step done: its inbox task closes. Our person, the recorder, or anyone who may log
    contacts with the customer."""
    log = _locked_log(actor, log_id, customer_id)
    if actor.pk not in (log.staff_id, log.recorded_by_id) and not can_log(actor, log.customer):
        raise PermissionDenied(_("您不能办结该客户的联系跟进事项。"))
    if not next_step_open_ids([log]):
        raise Conflict(_("该联系记录没有待办结的下一步。"), field="next_step", rule="open")
    from kehu.workflow.engine import task_close

    task_close(target=log, actor=actor)
    audit.record(
        actor=actor,
        action="update",
        obj=log,
        changes={"next_step_done": [None, timezone.now()]},
        reason=(note or "").strip() or _("下一步已完成"),
    )
    return log


# --------------------------------------------------------------------------------------------------------------
# Selectors (every read)
# --------------------------------------------------------------------------------------------------------------


def _logs_base(actor: User) -> QuerySet[ContactLog]:
    return access.restrict(actor, VIEW_ACTION, ContactLog.objects.all()).select_related(
        "customer", "staff", "contact", "recorded_by"
    )


def apply_filters(qs: QuerySet[ContactLog], filters: dict[str, Any]) -> QuerySet[ContactLog]:
    """customer (id), q (customer name or number), staff (user or id), channel, date_from, date_to (local dates,
    inclusive), open_next_step (only logs with a next step still open)."""
    if filters.get("customer") not in (None, ""):
        qs = qs.filter(customer_id=filters["customer"])
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(customer__name__icontains=text) | Q(customer__number__icontains=text))
    if filters.get("staff") not in (None, ""):
        staff = filters["staff"]
        qs = qs.filter(staff_id=getattr(staff, "pk", staff))
    if filters.get("channel"):
        qs = qs.filter(channel=filters["channel"])
    start_day = _date("date_from", filters.get("date_from"))
    if start_day is not None:
        qs = qs.filter(contacted_at__gte=_day_start(start_day))
    end_day = _date("date_to", filters.get("date_to"))
    if end_day is not None:
        qs = qs.filter(contacted_at__lt=_day_start(end_day + dt.timedelta(days=1)))
    if filters.get("open_next_step"):
        from kehu.workflow.models import Task, TaskState

        ct = ContentType.objects.get_for_model(ContactLog)
        open_ids = Task.objects.filter(target_type=ct, state=TaskState.OPEN).values("target_id")
        qs = qs.filter(next_step_due__isnull=False, pk__in=_int_ids(open_ids))
    return qs


def _int_ids(qs: QuerySet[Any]) -> QuerySet[Any]:
    from django.db.models import IntegerField
    from django.db.models.functions import Cast

    return qs.annotate(as_int=Cast("target_id", IntegerField())).values("as_int")


def contact_log_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[ContactLog]:
    """Contact logs of the customers the actor may see (a rep: own customers), newest first, filtered."""
    return apply_filters(_logs_base(actor), filters or {}).order_by("-contacted_at", "-pk")


def contact_log_get(*, actor: User, pk: int | str, customer_id: int | str | None = None) -> ContactLog:
    """One contact log; 404 when missing or its customer is outside the actor's scope."""
    qs = _logs_base(actor)
    if customer_id is not None:
        qs = qs.filter(customer_id=customer_id)
    access.require(actor, VIEW_ACTION)
    try:
        return qs.get(pk=pk)
    except (ContactLog.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


def customer_contact_logs(*, actor: User, customer_id: int | str) -> QuerySet[ContactLog]:
    """The contact log of one customer the actor may see (404 otherwise), newest first."""
    from kehu.customers.selectors import customer_get

    customer = customer_get(actor=actor, pk=customer_id)
    return (
        ContactLog.objects.filter(customer=customer)
        .select_related("customer", "staff", "contact", "recorded_by")
        .order_by("-contacted_at", "-pk")
    )


def next_step_open_ids(logs: Iterable[ContactLog]) -> set[int]:
    """Which of ``logs`` have a next step whose inbox task is still open (one query)."""
    ids = [str(log.pk) for log in logs if log.next_step_due]
    if not ids:
        return set()
    from kehu.workflow.models import Task, TaskState

    ct = ContentType.objects.get_for_model(ContactLog)
    rows = Task.objects.filter(target_type=ct, target_id__in=ids, state=TaskState.OPEN).values_list(
        "target_id", flat=True
    )
    return {int(x) for x in rows}


def mark_next_step_state(logs: list[ContactLog]) -> list[ContactLog]:
    """Set ``next_step_open`` on each log (one query for all)."""
    open_ids = next_step_open_ids(logs)
    for log in logs:
        log.next_step_open = log.pk in open_ids  # type: ignore[attr-defined]
    return logs


def contact_gap_list(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[ContactGap]:
    """Open contact gaps (待联系客户) of the customers the actor may see, oldest due first."""
    customers = access.restrict(actor, VIEW_ACTION, Customer.objects.all())
    qs = ContactGap.objects.filter(closed_at__isnull=True, customer__in=customers).select_related(
        "customer", "customer__owner"
    )
    return gap_filters(qs, filters or {}).order_by("due_on", "pk")


def gap_filters(qs: QuerySet[ContactGap], filters: dict[str, Any]) -> QuerySet[ContactGap]:
    """q (customer name or number), customer_class, owner (user or id)."""
    text = (filters.get("q") or "").strip()
    if text:
        qs = qs.filter(Q(customer__name__icontains=text) | Q(customer__number__icontains=text))
    if filters.get("customer_class"):
        qs = qs.filter(customer__customer_class=filters["customer_class"])
    if filters.get("owner") not in (None, ""):
        owner = filters["owner"]
        qs = qs.filter(customer__owner_id=getattr(owner, "pk", owner))
    return qs


# --------------------------------------------------------------------------------------------------------------
# The gap job (daily)
# --------------------------------------------------------------------------------------------------------------


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _gap_title(days: int, name: str) -> str:
    return _("客户已超过%(n)s天未联系：%(name)s") % {"n": days, "name": name}


def _open_gaps(
    rows: list[tuple[Any, ...]], days: int, now: dt.datetime, today: dt.date, version: int | None
) -> int:
    """Open one gap and one owner task per row (pk, name, owner id, last contact, status changed, created)."""
    from kehu.workflow.models import Task, TaskKind

    ct = ContentType.objects.get_for_model(ContactGap)
    with transaction.atomic():
        gaps = []
        for pk, _name, _owner, last, changed, created in rows:
            since = timezone.localtime(last or changed or created).date()
            gaps.append(
                ContactGap(
                    customer_id=pk,
                    last_contact_on=timezone.localtime(last).date() if last else None,
                    due_on=since + dt.timedelta(days=days),
                    interval_days=days,
                    raised_at=now,
                )
            )
        ContactGap.objects.bulk_create(gaps, batch_size=500)
        Task.objects.bulk_create(
            [
                Task(
                    target_type=ct,
                    target_id=str(gap.pk),
                    kind=TaskKind.ACTION,
                    title=_gap_title(days, row[1])[:300],
                    assignee_id=row[2],
                    due=today,
                    created_at=now,
                )
                for gap, row in zip(gaps, rows, strict=True)
            ],
            batch_size=500,
        )
        audit.record(
            actor=None,
            action="create",
            object_type="customers.contactgap",
            object_repr=f"contact gaps: {len(gaps)}",
            changes={
                "customers": [r[0] for r in rows][:500],
                "count": len(gaps),
                "interval_days": days,
            },
            reason="customers.contact_gaps_raise",
            policy_version=version,
        )
    return len(gaps)


def _close_stale_gaps(now: dt.datetime) -> int:
    """Gaps of customers that are no longer active (suspended, ended, merged) close with their tasks."""
    total = 0
    while True:
        n = _close_stale_batch(now)
        total += n
        if n < GAP_BATCH:
            return total


def _close_stale_batch(now: dt.datetime) -> int:
    from kehu.workflow.models import Task, TaskState

    with transaction.atomic():
        ids = list(
            ContactGap.objects.filter(closed_at__isnull=True)
            .exclude(customer__status=CustomerStatus.ACTIVE)
            .values_list("pk", flat=True)[:GAP_BATCH]
        )
        if not ids:
            return 0
        ContactGap.objects.filter(pk__in=ids).update(closed_at=now)
        ct = ContentType.objects.get_for_model(ContactGap)
        Task.objects.filter(target_type=ct, target_id__in=[str(i) for i in ids], state=TaskState.OPEN).update(
            state=TaskState.DONE, closed_at=now
        )
        audit.record(
            actor=None,
            action="update",
            object_type="customers.contactgap",
            object_repr=f"contact gaps closed: {len(ids)}",
            changes={"closed": ids[:500], "count": len(ids)},
            reason=_("客户已不在交易中"),
        )
    return len(ids)


def overdue_customers(q: Q, days: int, today: dt.date) -> QuerySet[Customer]:
    """Active customers matching ``q`` whose last contact (or, never contacted, activation or creation) lies
    more than ``days`` days before ``today``, and that have no open gap. Filters on the indexed
    ``last_contact_at``."""
    cutoff = _day_start(today - dt.timedelta(days=days))
    never = Q(last_contact_at__isnull=True) & (
        Q(status_changed_at__lt=cutoff) | Q(status_changed_at__isnull=True, created_at__lt=cutoff)
    )
    open_gap = ContactGap.objects.filter(customer_id=OuterRef("pk"), closed_at__isnull=True)
    return (
        Customer.objects.filter(q, status=CustomerStatus.ACTIVE)
        .filter(Q(last_contact_at__lt=cutoff) | never)
        .filter(~Exists(open_gap))
    )


def contact_gaps_raise(progress: Callable[[int, int, str], None] | None = None) -> dict[str, int]:
    """The daily job (R-CUS-12): for each group of customers sharing a contact interval, open one gap with an
    inbox task for the owner per active customer not contacted within it. Customers with an open gap are
    skipped, so running it again raises nothing new. Gaps of customers no longer active are closed."""
    policy, version = contact()
    today = timezone.localdate()
    now = timezone.now()
    closed = _close_stale_gaps(now)
    opened = 0
    groups = interval_groups(policy, today)
    for i, (q, days) in enumerate(groups, 1):
        rows_qs = overdue_customers(q, days, today).values_list(
            "pk", "name", "owner_id", "last_contact_at", "status_changed_at", "created_at"
        )
        last_pk = 0
        while True:
            batch = list(rows_qs.filter(pk__gt=last_pk).order_by("pk")[:GAP_BATCH])
            if not batch:
                break
            last_pk = batch[-1][0]
            try:
                opened += _open_gaps(batch, days, now, today, version)
            except IntegrityError:
                # another run opened gaps for some of them meanwhile: open the rest
                still = set(
                    overdue_customers(q, days, today)
                    .filter(pk__in=[r[0] for r in batch])
                    .values_list("pk", flat=True)
                )
                rest = [r for r in batch if r[0] in still]
                if rest:
                    opened += _open_gaps(rest, days, now, today, version)
        if progress is not None:
            progress(i, len(groups), str(gettext_lazy("联系间断检查")))
    return {"opened": opened, "closed": closed}


# --------------------------------------------------------------------------------------------------------------
# Dossier sections (R-CUS-06)
# --------------------------------------------------------------------------------------------------------------


def channel_icon(channel: str) -> str:
    return CHANNEL_ICONS.get(channel, "bi-chat-dots")  # type: ignore[call-overload]


def decorate(logs: list[ContactLog]) -> list[ContactLog]:
    mark_next_step_state(logs)
    for log in logs:
        log.icon = channel_icon(log.channel)  # type: ignore[attr-defined]
    return logs


def render_service_section(request: HttpRequest, customer: Customer) -> str:
    """Category 5: the latest contacts (capped) with a link to the full list filtered to this customer."""
    qs = ContactLog.objects.filter(customer=customer)
    logs = decorate(
        list(
            qs.select_related("staff", "contact", "recorded_by").order_by("-contacted_at", "-pk")[
                :SECTION_LIMIT
            ]
        )
    )
    total = len(logs) if len(logs) < SECTION_LIMIT else qs.count()
    return render_to_string(
        "customers/contactlog/_section_service.html",
        {
            "c": customer,
            "logs": logs,
            "total": total,
            "more": total > len(logs),
            "can_log": can_log(request.user, customer),
            "list_url": reverse("contact_log_list") + f"?customer={customer.pk}",
            "interval": contact_interval(customer),
        },
        request=request,
    )


def render_visit_section(request: HttpRequest, customer: Customer) -> str:
    """Category 1: the visit reports (capped) with their attachments (one query for all of them)."""
    from kehu.core.models.attachments import Attachment

    qs = ContactLog.objects.filter(customer=customer, channel=ContactChannel.VISIT)
    visits = decorate(
        list(qs.select_related("staff", "contact").order_by("-contacted_at", "-pk")[:SECTION_LIMIT])
    )
    total = len(visits) if len(visits) < SECTION_LIMIT else qs.count()
    files: dict[str, list[Attachment]] = {}
    if visits:
        ct = ContentType.objects.get_for_model(ContactLog)
        for att in Attachment.objects.filter(
            content_type=ct, object_id__in=[str(v.pk) for v in visits], current=True
        ).order_by("pk"):
            files.setdefault(att.object_id, []).append(att)
    for v in visits:
        v.files = files.get(str(v.pk), [])  # type: ignore[attr-defined]
    return render_to_string(
        "customers/contactlog/_section_visits.html",
        {
            "c": customer,
            "visits": visits,
            "total": total,
            "more": total > len(visits),
            "can_log": can_log(request.user, customer),
            "list_url": reverse("contact_log_list") + f"?customer={customer.pk}&channel=visit",
        },
        request=request,
    )


def register() -> None:
    """Sections of categories 1 and 5, and attachments on contact logs (photos and reports of a visit)."""
    from kehu.core.attachments import register_attachable

    register_section(
        ArchiveCategory.BASIC,
        "customers.visit_reports",
        gettext_lazy("拜访报告"),
        render_visit_section,
        order=60,
    )
    register_section(
        ArchiveCategory.SERVICE,
        "customers.contact_log",
        gettext_lazy("联系记录"),
        render_service_section,
        order=10,
    )
    register_attachable(
        ContactLog,
        view_action=VIEW_ACTION,
        change_action=LOG_ACTION,
        scope_action=VIEW_ACTION,
    )
