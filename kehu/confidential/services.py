"""Writes of the confidential archive (R-ARC-01): file an access request (its approval runs on the workflow
engine), approve / forward / reject it, revoke a grant, record the lending and return of a physical file. Every
write checks permission, locks what it changes, validates, writes and leaves one audit entry. The workflow
definition (:mod:`kehu.confidential.workflow`) calls the guards and effects below.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.confidential import items as it
from kehu.confidential.models import (
    AccessRequest,
    CopyForm,
    Grant,
    Lending,
    Level,
    Office,
    RequestStatus,
)
from kehu.confidential.policies import levels
from kehu.confidential.workflow import KEY, REVIEW_STATES
from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import User
from kehu.core.models.audit import AuditAction
from kehu.customers.models import Customer
from kehu.workflow import engine
from kehu.workflow.models import Case, TaskState

MAX_PURPOSE = 2000
REQUEST_AUDIT = ("customer", "items", "purpose", "period_days", "form", "office", "level", "status")

# ---------------------------------------------------------------------------------------------------------------
# What a user may ask for


@dataclass(frozen=True)
class ItemChoice:
    key: str
    label: str
    level: str
    office: str


def _dossier_attachments(customer: Customer) -> list[Any]:
    from django.contrib.contenttypes.models import ContentType

    from kehu.core.models.attachments import Attachment

    return list(
        Attachment.objects.filter(
            content_type=ContentType.objects.get_for_model(Customer), object_id=str(customer.pk), current=True
        ).order_by("doc_type", "pk")
    )


def _other_record_files(actor: User, customer: Customer, keys: list[str]) -> list[Any]:
    """The files named by ``keys`` that lie on the customer's other records (a review, a contact log, a limit
    application, a case) and that the actor may see the record of."""
    from kehu.core.attachments import attachment_get

    ids = [i for i in (it.attachment_id(k) for k in keys) if i is not None]
    if not ids:
        return []
    out = []
    for att_id in ids:
        try:
            att = attachment_get(actor=actor, attachment_id=att_id)
        except (NotFound, PermissionDenied):
            continue
        if it.listing_section(att) or it.attachment_customers([att]).get(att.pk) != customer.pk:
            continue  # a file of the dossier itself is listed anyway; a file of another customer is not asked here
        out.append(att)
    return out


def requestable_items(actor: User, customer: Customer, wanted: list[str] | None = None) -> list[ItemChoice]:
    """The confidential items of the customer the actor's roles do not show: the credit items, the dossier files
    and the dossier sections above the actor's levels (the choices of the request form); and, when named in
    ``wanted`` (where the request starts from), such files on the customer's other records."""
    from kehu.customers.archive import ArchiveCategory, sections

    policy, _v = levels()
    out: list[ItemChoice] = []
    for key in it.CREDIT_ITEMS:
        if access.scope_for(actor, it.ITEM_ACTION[key]) is None:
            out.append(ItemChoice(key, it.credit_label(key), it.item_level(key, policy), Office.CREDIT))
    files = _dossier_attachments(customer)
    listed = {a.pk for a in files}
    files += [a for a in _other_record_files(actor, customer, wanted or []) if a.pk not in listed]
    for att in files:
        level = it.attachment_level(att, policy)
        if it.is_confidential(level) and not it.cleared(actor, level, policy):
            label = _("附件：%(title)s（%(type)s）") % {
                "title": att.title or att.filename,
                "type": att.get_doc_type_display(),
            }
            out.append(ItemChoice(f"{it.ATTACHMENT}{att.pk}", label, level, Office.ARCHIVE))
    for category in ArchiveCategory:
        for s in sections(category):
            level = it.section_level(s.key, policy)
            if (
                it.is_confidential(level)
                and not it.cleared(actor, level, policy)
                and it.section_visible(actor, s.key)
            ):
                label = _("档案栏目：%(title)s") % {"title": s.title}
                out.append(ItemChoice(f"{it.SECTION}{s.key}", label, level, Office.ARCHIVE))
    return out


def item_labels(keys: list[str]) -> dict[str, str]:
    """Labels of item keys for display (one query for the attachments named)."""
    from kehu.core.models.attachments import Attachment
    from kehu.customers.archive import ArchiveCategory, sections

    ids = [i for i in (it.attachment_id(k) for k in keys) if i is not None]
    atts = {a.pk: a for a in Attachment.objects.filter(pk__in=ids)} if ids else {}
    titles = {s.key: str(s.title) for c in ArchiveCategory for s in sections(c)}
    out: dict[str, str] = {}
    for key in keys:
        kind = it.kind(key)
        if kind == "credit":
            out[key] = it.credit_label(key)
        elif kind == "attachment":
            att = atts.get(it.attachment_id(key) or 0)
            name = (att.title or att.filename) if att is not None else f"#{it.attachment_id(key)}"
            out[key] = _("附件：%(title)s") % {"title": name}
        elif kind == "section":
            out[key] = _("档案栏目：%(title)s") % {
                "title": titles.get(it.section_key(key), it.section_key(key))
            }
        else:
            out[key] = key
    return out


# ---------------------------------------------------------------------------------------------------------------
# Requests


def _invalid(field: str, rule: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, field=field, rule=rule)


def _clean_days(value: Any, field: str, max_days: int, *, required: bool = True) -> int | None:
    if value in (None, ""):
        if required:
            raise _invalid(field, "required", _("请填写查阅期限（天）。"))
        return None
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise _invalid(field, "integer", _("查阅期限须为整数天。")) from None
    if days < 1 or days > max_days:
        raise _invalid(
            field, "range", _("查阅期限须在 1 至 %(max)s 天之间（制度规定的最长期限）。") % {"max": max_days}
        )
    return days


def _clean_items(raw: Any) -> list[str]:
    if isinstance(raw, str):
        raw = raw.replace("，", ",").split(",")
    keys: list[str] = []
    for value in raw or []:
        key = str(value).strip()
        if key and key not in keys:
            keys.append(key)
    if not keys:
        raise _invalid("items", "required", _("请选择要查阅的内容。"))
    return keys


@transaction.atomic
def request_create(
    *,
    actor: User,
    customer_id: int | str,
    items: Any,
    purpose: str,
    period_days: Any = None,
    form: str = CopyForm.COPY,
) -> AccessRequest:
    """File an access request for items of a customer the actor may see but whose confidential items their role
    does not show (R-ARC-01), and submit it to the approving office."""
    access.require(actor, "confidential.request.create")
    try:
        customer = access.get_scoped(
            actor, "customer.view", Customer.objects.select_related("owner"), pk=int(customer_id)
        )
    except (TypeError, ValueError):
        raise NotFound() from None
    policy, version_id = levels()
    keys = _clean_items(items)
    choices = {c.key: c for c in requestable_items(actor, customer, keys)}
    for key in keys:
        if key not in choices:
            if it.kind(key):
                raise _invalid(
                    "items",
                    "not_requestable",
                    _("“%(item)s”不需要申请：您可直接查看或该项不存在。") % {"item": key},
                )
            raise _invalid("items", "unknown", _("未知的查阅内容：%(item)s。") % {"item": key})
    offices = {choices[k].office for k in keys}
    if len(offices) > 1:
        raise _invalid("items", "one_office", _("信用档案与归档文件由不同部门审批，请分别提交申请。"))
    text = (purpose or "").strip()
    if not text:
        raise _invalid("purpose", "required", _("请填写查阅目的。"))
    if len(text) > MAX_PURPOSE:
        raise _invalid("purpose", "max_length", _("查阅目的不能超过 %(n)s 字。") % {"n": MAX_PURPOSE})
    days = int(
        _clean_days(
            policy.default_period_days if period_days in (None, "") else period_days,
            "period_days",
            policy.max_period_days,
        )
        or policy.default_period_days
    )
    if form not in CopyForm.values:
        raise _invalid("form", "choice", _("请选择查阅方式（复印件或原件）。"))
    # one requester's requests are filed one at a time, so two submissions cannot both pass the duplicate check
    User.objects.select_for_update().filter(pk=actor.pk).first()
    open_same = AccessRequest.objects.filter(
        requester=actor,
        customer=customer,
        status__in=[RequestStatus.DRAFT, RequestStatus.PENDING, RequestStatus.GM],
    )
    for other in open_same.only("items", "number"):
        if set(other.items) & set(keys):
            raise Conflict(
                _("您已有一份未办结的查阅申请（%(n)s）包含相同内容。") % {"n": other.number},
                field="items",
                rule="duplicate",
            )
    office = offices.pop()
    req = AccessRequest.objects.create(
        customer=customer,
        requester=actor,
        items=keys,
        purpose=text,
        period_days=days,
        form=form,
        office=office,
        level=it.max_level(choices[k].level for k in keys),
        policy_version_id=version_id,
    )
    case = engine.case_open(
        actor=actor,
        definition_key=KEY,
        subject=req,
        title=_("查阅申请：%(c)s") % {"c": customer.name},
        department=actor.department,
    )
    req.case, req.number = case, case.number
    req.save(update_fields=["case", "number"])
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=req,
        changes=audit.diff(None, audit.snapshot(req, REQUEST_AUDIT)),
        reason=text,
        policy_version=version_id,
    )
    engine.case_transition(
        actor=actor,
        case_id=case.pk,
        transition="submit_credit" if office == Office.CREDIT else "submit_archive",
    )
    req.refresh_from_db()
    return req


def request_get(*, actor: User, request_id: int | str) -> AccessRequest:
    """One request the actor may see: their own, one in their inbox, or any for the offices (404 otherwise)."""
    qs = AccessRequest.objects.select_related("customer", "requester", "decided_by", "case")
    try:
        pk = int(request_id)
    except (TypeError, ValueError):
        raise NotFound() from None
    req = qs.filter(pk=pk).first()
    if req is not None and req.case is not None and engine.acting_task(req.case, actor)[0] is not None:
        return req
    return access.get_scoped(actor, "confidential.request.view", qs, pk=pk)


ACTIONS = ("approve", "forward_gm", "approve_gm", "reject")


def request_act(
    *,
    actor: User,
    request_id: int | str,
    transition: str,
    comment: str = "",
    days: Any = None,
    expected_state: str | None = None,
) -> AccessRequest:
    """Approve (with the period in days), forward to the general manager, or reject (with a reason) on the
    engine. ``approve`` on a request awaiting the general manager is the general manager's approval
    (``approve_gm``). The period may not exceed the policy's maximum; by default it is the one requested."""
    req = request_get(actor=actor, request_id=request_id)
    if transition not in ACTIONS:
        raise _invalid("transition", "unknown", _("该申请没有此操作。"))
    if req.case_id is None:
        raise Conflict(_("该申请没有流程。"))
    if transition == "approve" and req.case is not None and req.case.state == "gm_review":
        transition = "approve_gm"
    data: dict[str, Any] = {}
    if transition in ("approve", "forward_gm", "approve_gm"):
        policy, _v = levels()
        chosen = _clean_days(days, "days", policy.max_period_days, required=False)
        if chosen is not None:
            data["days"] = chosen
    engine.case_transition(
        actor=actor,
        case_id=req.case_id,
        transition=transition,
        comment=comment,
        data=data or None,
        expected_state=expected_state,
    )
    return request_get(actor=actor, request_id=req.pk)


# --- guards and effects of the workflow -------------------------------------------------------------------------


def request_of(case: Case) -> AccessRequest:
    req = AccessRequest.objects.filter(case_id=case.pk).first()
    if req is None:  # the case is being opened: the request links it right after
        req = AccessRequest.objects.get(pk=int(case.subject_id or 0))
    return req


def decided_level(req: AccessRequest) -> str:
    """The highest level of the request's items under the policy in force now (one query for the files named):
    the level the approval is decided at, whatever it was when the request was filed."""
    from kehu.core.models.attachments import Attachment

    policy, _v = levels()
    ids = [i for i in (it.attachment_id(k) for k in req.items) if i is not None]
    atts = {a.pk: a for a in Attachment.objects.filter(pk__in=ids)} if ids else {}
    return it.max_level(it.item_level(k, policy, atts.get(it.attachment_id(k) or 0)) for k in req.items)


def needs_general_manager(req: AccessRequest) -> bool:
    """An original, or an item at the "secret" level when the office head decides, needs the general manager's
    approval (R-ARC-01)."""
    return req.form == CopyForm.ORIGINAL or decided_level(req) == Level.SECRET


def guard_office(case: Case, office: str) -> str | None:
    req = request_of(case)
    if req.office != office:
        return _("该申请应由%(office)s审批。") % {"office": Office(req.office).label}
    return None


def guard_needs_gm(case: Case, wanted: bool) -> str | None:
    needs = needs_general_manager(request_of(case))
    if needs and not wanted:
        return _("原件借阅或机密文件的查阅须报总经理批准。")
    if wanted and not needs:
        return _("复印件查阅由部门负责人批准即可，无须报总经理。")
    return None


_STATUS_OF_STATE = {
    "draft": RequestStatus.DRAFT,
    "gm_review": RequestStatus.GM,
    "approved": RequestStatus.APPROVED,
    "rejected": RequestStatus.REJECTED,
    **dict.fromkeys(REVIEW_STATES, RequestStatus.PENDING),
}


def on_case_moved(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """Keep the request's status in step with its case; set the deadline of a review from the policy."""
    req = AccessRequest.objects.select_for_update().get(case_id=case.pk)
    old = req.status
    req.status = _STATUS_OF_STATE[case.state]
    fields = ["status"]
    changes: dict[str, Any] = {"status": [old, req.status], "stage": case.state}
    if old == RequestStatus.PENDING and case.state in ("gm_review", "approved"):
        level = decided_level(req)  # the office head decided at the level in force now
        if level != req.level:
            changes["level"] = [req.level, level]
            req.level = level
            fields.append("level")
    if data.get("days") and case.state in ("gm_review", "approved"):
        req.approved_days = int(data["days"])
        fields.append("approved_days")
    if case.state in ("approved", "rejected"):
        req.decided_by, req.decided_at = actor, timezone.now()
        req.decision_comment = str(data.get("comment") or "")
        fields += ["decided_by", "decided_at", "decision_comment"]
    req.save(update_fields=fields)
    policy, version_id = levels()
    if case.closed_at is None and case.state in (*REVIEW_STATES, "gm_review"):
        due = engine.deadline_for(timezone.localdate(), policy.approval_days)
        Case.objects.filter(pk=case.pk).update(state_due=due)
        case.state_due = due
        case.tasks.filter(state=TaskState.OPEN, case_state=case.state).update(due=due)
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=req,
        changes=changes,
        reason=str(data.get("comment") or ""),
        policy_version=version_id,
    )


def period_end(start: dt.datetime, days: int) -> dt.datetime:
    """The end of a period of ``days`` whole calendar days after ``start``'s local day (the rest of that day comes
    on top): midnight after the last day. Approved on 5 March for 3 days, a grant runs until 8 March 24:00, so even
    a grant approved late in the evening gives its holder the days approved."""
    last = timezone.localtime(start).date() + dt.timedelta(days=days)
    return timezone.make_aware(dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min))


def on_approved(case: Case, actor: Any, data: dict[str, Any]) -> None:
    """The final approval grants read access to exactly the requested items for the approved period."""
    req = AccessRequest.objects.select_for_update().get(case_id=case.pk)
    days = int(data.get("days") or req.approved_days or req.period_days)
    now = timezone.now()
    grant = Grant.objects.create(
        request=req,
        user=req.requester,
        customer=req.customer,
        items=list(req.items),
        valid_from=now,
        valid_until=period_end(now, days),
        granted_by=actor,
    )
    if not data.get("days"):
        data["days"] = days
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=grant,
        changes={
            "user": [None, req.requester_id],
            "customer": [None, req.customer_id],
            "items": [None, list(req.items)],
            "valid_from": [None, audit.jsonable(grant.valid_from)],
            "valid_until": [None, audit.jsonable(grant.valid_until)],
        },
        reason=str(data.get("comment") or ""),
        policy_version=req.policy_version_id,
    )


# ---------------------------------------------------------------------------------------------------------------
# Grants


def _may_revoke(actor: User, grant: Grant) -> bool:
    office = grant.request.office
    if actor.has_role("general_manager"):
        return True
    return actor.has_role("credit_manager" if office == Office.CREDIT else "archivist")


@transaction.atomic
def grant_revoke(*, actor: User, grant_id: int | str, reason: str) -> Grant:
    """End a grant before its period is over (R-ARC-01): the approving office (or the general manager), with a
    reason. Reads under it stop at once."""
    access.require(actor, "confidential.grant.revoke")
    try:
        grant = Grant.objects.select_for_update(of=("self",)).select_related("request").get(pk=int(grant_id))
    except (Grant.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if not _may_revoke(actor, grant):
        raise PermissionDenied(_("只有批准部门的负责人或总经理可以撤销该授权。"))
    text = (reason or "").strip()
    if not text:
        raise _invalid("reason", "required", _("请填写撤销原因。"))
    if len(text) > MAX_PURPOSE:
        raise _invalid("reason", "max_length", _("撤销原因不能超过 %(n)s 字。") % {"n": MAX_PURPOSE})
    if grant.revoked_at is not None:
        raise Conflict(_("该授权已被撤销。"), field="grant", rule="revoked")
    now = timezone.now()
    if grant.valid_until <= now:
        raise Conflict(_("该授权已到期，无须撤销。"), field="grant", rule="expired")
    grant.revoked_at, grant.revoked_by, grant.revoke_reason = now, actor, text
    grant.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=grant,
        changes={"revoked_at": [None, audit.jsonable(now)]},
        reason=text,
    )
    return grant


# ---------------------------------------------------------------------------------------------------------------
# Lending of physical files (originals)


@transaction.atomic
def lending_record(
    *, actor: User, request_id: int | str, due_back: dt.date | None = None, note: str = ""
) -> Lending:
    """The archivist hands out the original of an approved request; it is due back by the end of the grant
    unless an earlier day is given."""
    access.require(actor, "confidential.lending.manage")
    try:
        req = AccessRequest.objects.select_for_update().get(pk=int(request_id))
    except (AccessRequest.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if req.form != CopyForm.ORIGINAL:
        raise Conflict(_("该申请为复印件查阅，无须借出原件。"), field="request", rule="not_original")
    grant = Grant.objects.filter(request=req).first()
    now = timezone.now()
    if req.status != RequestStatus.APPROVED or grant is None:
        raise Conflict(_("申请尚未批准，不能借出原件。"), field="request", rule="not_approved")
    if not grant.is_active(now):
        raise Conflict(_("查阅授权已失效，不能借出原件。"), field="request", rule="grant_ended")
    last_day = timezone.localtime(grant.valid_until).date() - dt.timedelta(days=1)
    due = due_back or last_day
    if due < timezone.localdate() or due > last_day:
        raise _invalid(
            "due_back",
            "range",
            _("应还日期须在今天至授权截止日（%(d)s）之间。") % {"d": last_day.isoformat()},
        )
    if Lending.objects.filter(request=req, returned_at__isnull=True).exists():
        raise Conflict(_("该原件已借出，尚未归还。"), field="request", rule="lent")
    text = (note or "").strip()[:500]
    lending = Lending.objects.create(request=req, lent_at=now, due_back=due, lent_by=actor, note=text)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=lending,
        changes={"request": [None, req.pk], "due_back": [None, due.isoformat()]},
        reason=text,
    )
    return lending


@transaction.atomic
def lending_return(*, actor: User, lending_id: int | str, note: str = "") -> Lending:
    access.require(actor, "confidential.lending.manage")
    try:
        lending = Lending.objects.select_for_update().get(pk=int(lending_id))
    except (Lending.DoesNotExist, TypeError, ValueError):
        raise NotFound() from None
    if lending.returned_at is not None:
        raise Conflict(_("该原件已归还。"), field="lending", rule="returned")
    now = timezone.now()
    lending.returned_at, lending.received_by = now, actor
    text = (note or "").strip()[:500]
    if text:
        lending.note = (f"{lending.note}；{text}" if lending.note else text)[:500]
    lending.save(update_fields=["returned_at", "received_by", "note"])
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=lending,
        changes={"returned_at": [None, audit.jsonable(now)]},
        reason=text,
    )
    return lending
