"""A customer's licences and certificates (R-CUS-05): the check other modules call, the summary on the customer
row that lets the list filter by document state, the rows of the dossier's "证照" section, and the expiry
warnings.

- :func:`customer_documents_valid` answers whether a customer's required documents are present and valid on a day,
  with each problem named. Onboarding, re-qualification and the order checks call it.
- :func:`refresh_documents_summary` keeps ``Customer.documents_expiry`` (the earliest end of validity among the
  document types the customer holds, each type counted by its longest-running current document) and
  ``Customer.documents_missing`` (a required type absent) current; the attachment store calls it whenever a file
  is added to or replaced on a customer. :func:`refresh_all_summaries` recomputes every customer (a daily job,
  and after a change of the required types).
- :func:`summary_state` / :func:`state_q` read the summary as one of four states (有效 / 即将到期 / 已过期 / 缺失),
  for the list badge and the list filter, without touching the attachments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import audit
from kehu.core.attachments import attachment_list, attachment_state, expiring_days, state_display
from kehu.core.models import User
from kehu.core.models.attachments import Attachment, DocumentType
from kehu.customers import policies
from kehu.customers.models import Customer, DocumentWarning

MISSING, EXPIRED, NOT_YET_VALID = "missing", "expired", "not_yet_valid"
VALID, EXPIRING = "valid", "expiring"

# The document types of the "证照" section: licences and certificates with a validity (R-CUS-05).
LICENCE_TYPES: tuple[str, ...] = (
    DocumentType.BUSINESS_LICENCE,
    DocumentType.TAX_REGISTRATION,
    DocumentType.ORGANISATION_CODE,
    DocumentType.QUALIFICATION,
    DocumentType.PERMIT,
    DocumentType.CERTIFICATION,
    DocumentType.HONOUR,
)

# The document states of the customer list (summary fields), in the order of the filter.
SUMMARY_STATES: list[tuple[str, Any]] = [
    (VALID, gettext_lazy("有效")),
    (EXPIRING, gettext_lazy("即将到期")),
    (EXPIRED, gettext_lazy("已过期")),
    (MISSING, gettext_lazy("缺失")),
]
STATE_CSS = {
    VALID: "bg-success-subtle text-success-emphasis",
    EXPIRING: "bg-warning-subtle text-warning-emphasis",
    EXPIRED: "bg-danger-subtle text-danger-emphasis",
    MISSING: "bg-danger-subtle text-danger-emphasis",
    NOT_YET_VALID: "bg-secondary-subtle text-secondary-emphasis",
}


@dataclass(frozen=True)
class DocumentProblem:
    doc_type: str
    state: str  # "missing" | "expired" | "not_yet_valid"
    valid_to: dt.date | None = None

    @property
    def label(self) -> str:
        return (
            str(DocumentType(self.doc_type).label) if self.doc_type in DocumentType.values else self.doc_type
        )

    @property
    def message(self) -> str:
        if self.state == MISSING:
            return _("缺少%(doc)s") % {"doc": self.label}
        if self.state == NOT_YET_VALID:
            return _("%(doc)s尚未生效") % {"doc": self.label}
        return _("%(doc)s已于 %(day)s 过期") % {"doc": self.label, "day": self.valid_to}


@dataclass(frozen=True)
class DocumentCheck:
    """The answer of :func:`customer_documents_valid`: ``ok`` and, when not, each problem."""

    ok: bool
    at: dt.date
    problems: list[DocumentProblem] = field(default_factory=list)
    policy_version_id: int | None = None

    def __bool__(self) -> bool:
        return self.ok

    @property
    def message(self) -> str:
        return "；".join(p.message for p in self.problems)


def customer_documents(customer: Customer) -> QuerySet[Attachment]:
    """The customer's current attachments (every type), newest first."""
    ct = ContentType.objects.get_for_model(Customer)
    return Attachment.objects.filter(content_type=ct, object_id=str(customer.pk), current=True).order_by(
        "-uploaded_at", "-pk"
    )


def required_types(customer: Customer) -> tuple[list[str], int | None]:
    """The document types the customer must hold (policy ``customers.documents``); none for a natural person."""
    policy, version = policies.documents()
    return ([] if customer.is_person else list(policy.required_types)), version


def check_documents(
    all_docs: Iterable[Attachment], day: dt.date, required: list[str], version: int | None = None
) -> DocumentCheck:
    """The check of :func:`customer_documents_valid` over documents already read (current versions)."""
    docs = [d for d in all_docs if d.doc_type in LICENCE_TYPES or d.doc_type in required]
    problems: list[DocumentProblem] = []
    for doc_type in required:
        held = [d for d in docs if d.doc_type == doc_type]
        if not held:
            problems.append(DocumentProblem(doc_type, MISSING))
        elif not any(d.is_valid_on(day) for d in held):
            latest = max(held, key=lambda d: d.valid_to or dt.date.max)
            if latest.valid_from and day < latest.valid_from:
                problems.append(DocumentProblem(doc_type, NOT_YET_VALID, latest.valid_to))
            else:
                problems.append(DocumentProblem(doc_type, EXPIRED, latest.valid_to))
    reported: set[str] = set()
    for d in docs:
        if d.doc_type in required or d.doc_type in reported or d.valid_to is None or d.valid_to >= day:
            continue
        if any(o.doc_type == d.doc_type and o.pk != d.pk and o.is_valid_on(day) for o in docs):
            continue  # a newer, valid document of the same type stands in for it
        reported.add(d.doc_type)
        problems.append(DocumentProblem(d.doc_type, EXPIRED, d.valid_to))
    return DocumentCheck(ok=not problems, at=day, problems=problems, policy_version_id=version)


def customer_documents_valid(customer: Customer, at: dt.date | None = None) -> DocumentCheck:
    """Whether every required document of ``customer`` is present and valid on ``at`` (today by default), and
    every other current licence or certificate with a validity has not expired (unless a valid one of the same
    type stands in for it). Two queries at most (the policy and the documents)."""
    day = at or timezone.localdate()
    required, version = required_types(customer)
    docs = list(customer_documents(customer).only("doc_type", "valid_from", "valid_to"))
    return check_documents(docs, day, required, version)


# --------------------------------------------------------------------------------------------------------------
# Summary on the customer row
# --------------------------------------------------------------------------------------------------------------


def _summary(
    per_type: dict[str, tuple[dt.date | None, bool]], required: list[str]
) -> tuple[dt.date | None, bool]:
    """(documents_expiry, documents_missing) from {doc_type: (latest valid_to, has an unlimited document)}."""
    ends = [end for doc_type, (end, unlimited) in per_type.items() if end is not None and not unlimited]
    expiry = min(ends) if ends else None
    missing = bool(set(required) - set(per_type))
    return expiry, missing


def _types_in(required: list[str]) -> list[str]:
    return list(dict.fromkeys([*LICENCE_TYPES, *required]))


def refresh_documents_summary(customer: Customer) -> None:
    """Recompute ``documents_expiry`` and ``documents_missing`` of one customer (one query, an update when they
    changed). Each held type counts with its longest-running current document, so that a newer document of the
    same type stands in for an expired one, as in :func:`customer_documents_valid`."""
    required, _version = required_types(customer)
    rows = (
        customer_documents(customer)
        .filter(doc_type__in=_types_in(required))
        .order_by()
        .values("doc_type")
        .annotate(end=Max("valid_to"), unlimited=Count("pk", filter=Q(valid_to__isnull=True)))
    )
    per_type = {r["doc_type"]: (r["end"], bool(r["unlimited"])) for r in rows}
    expiry, missing = _summary(per_type, required)
    if customer.documents_expiry != expiry or customer.documents_missing != missing:
        Customer.objects.filter(pk=customer.pk).update(documents_expiry=expiry, documents_missing=missing)
        customer.documents_expiry, customer.documents_missing = expiry, missing


def refresh_all_summaries(*, chunk: int = 2000, progress: Any = None) -> int:
    """Recompute the summary of every customer (e.g. after the policy's required types changed); two queries
    per ``chunk`` customers plus one update per changed chunk. Returns how many customers changed."""
    policy, _version = policies.documents()
    ct = ContentType.objects.get_for_model(Customer)
    types = _types_in(list(policy.required_types))
    total = Customer.objects.count()
    changed = 0
    done = 0
    last = 0
    while True:
        batch = list(
            Customer.objects.filter(pk__gt=last)
            .order_by("pk")
            .only("pk", "is_person", "documents_expiry", "documents_missing")[:chunk]
        )
        if not batch:
            break
        last = batch[-1].pk
        rows = (
            Attachment.objects.filter(
                content_type=ct,
                object_id__in=[str(c.pk) for c in batch],
                current=True,
                doc_type__in=types,
            )
            .order_by()
            .values("object_id", "doc_type")
            .annotate(end=Max("valid_to"), unlimited=Count("pk", filter=Q(valid_to__isnull=True)))
        )
        by_customer: dict[str, dict[str, tuple[dt.date | None, bool]]] = {}
        for r in rows:
            by_customer.setdefault(r["object_id"], {})[r["doc_type"]] = (r["end"], bool(r["unlimited"]))
        dirty = []
        for c in batch:
            required = [] if c.is_person else list(policy.required_types)
            expiry, missing = _summary(by_customer.get(str(c.pk), {}), required)
            if c.documents_expiry != expiry or c.documents_missing != missing:
                c.documents_expiry, c.documents_missing = expiry, missing
                dirty.append(c)
        if dirty:
            Customer.objects.bulk_update(dirty, ["documents_expiry", "documents_missing"])
            changed += len(dirty)
        done += len(batch)
        if progress is not None:
            progress(done, total, "")
    return changed


def summary_state(customer: Customer, today: dt.date | None = None, window: int | None = None) -> str:
    """The list's document state of ``customer`` from its summary fields (no query)."""
    day = today or timezone.localdate()
    days = expiring_days() if window is None else window
    if customer.documents_missing:
        return MISSING
    end = customer.documents_expiry
    if end is None:
        return VALID
    if end < day:
        return EXPIRED
    if end <= day + dt.timedelta(days=days):
        return EXPIRING
    return VALID


def state_q(state: str, today: dt.date | None = None, window: int | None = None) -> Q:
    """The customers in document ``state`` (the same reading as :func:`summary_state`), on the summary fields."""
    day = today or timezone.localdate()
    horizon = day + dt.timedelta(days=expiring_days() if window is None else window)
    if state == MISSING:
        return Q(documents_missing=True)
    if state == EXPIRED:
        return Q(documents_missing=False, documents_expiry__lt=day)
    if state == EXPIRING:
        return Q(documents_missing=False, documents_expiry__gte=day, documents_expiry__lte=horizon)
    if state == VALID:
        return Q(documents_missing=False) & (
            Q(documents_expiry__isnull=True) | Q(documents_expiry__gt=horizon)
        )
    return Q()


def filter_by_state(qs: QuerySet[Customer], state: str | None) -> QuerySet[Customer]:
    """The list filter ``documents`` (valid / expiring / expired / missing); anything else leaves ``qs``."""
    if state not in dict(SUMMARY_STATES):
        return qs
    return qs.filter(state_q(state))


def state_label(state: str) -> str:
    if state == NOT_YET_VALID:
        return state_display(state)[0]
    return str(dict(SUMMARY_STATES)[state])


def summary_badge(customer: Customer) -> str:
    """The list cell: the state's label; the row keeps the state for the cell's badge colour."""
    state = summary_state(customer)
    customer.documents_state = state  # type: ignore[attr-defined]
    customer.documents_state_css = STATE_CSS[state]  # type: ignore[attr-defined]
    return state_label(state)


def flags(customer: Customer) -> list[tuple[str, str]]:
    """(label, css) of the page-title flags: expired or missing documents (no query)."""
    state = summary_state(customer)
    if state in (EXPIRED, MISSING):
        return [(_("证照已过期") if state == EXPIRED else _("缺少必备证照"), STATE_CSS[state])]
    return []


# --------------------------------------------------------------------------------------------------------------
# Rows of the "证照" section and the API
# --------------------------------------------------------------------------------------------------------------


@dataclass
class DocumentRow:
    doc_type: str
    doc_type_label: str
    state: str
    state_label: str
    state_css: str
    att: Attachment | None = None


def document_rows(*, actor: User, customer: Customer, at: dt.date | None = None) -> list[DocumentRow]:
    """The customer's current licences and certificates with their state, then a "missing" row for each
    required type not held; 404 when the actor may not see the customer. One query for the documents."""
    day = at or timezone.localdate()
    window = expiring_days()
    required, _version = required_types(customer)
    order = {t: i for i, t in enumerate(LICENCE_TYPES)}
    docs = sorted(
        attachment_list(actor=actor, target=customer).filter(doc_type__in=_types_in(required)),
        key=lambda a: (order.get(a.doc_type, 99), -(a.valid_to or dt.date.max).toordinal()),
    )
    rows = []
    for a in docs:
        state = attachment_state(a, day, expiring=window)
        label, css = state_display(state)
        rows.append(DocumentRow(a.doc_type, str(a.get_doc_type_display()), state, str(label), css, a))
    held = {a.doc_type for a in docs}
    for doc_type in required:
        if doc_type not in held:
            rows.append(
                DocumentRow(
                    doc_type,
                    str(DocumentType(doc_type).label),
                    MISSING,
                    str(dict(SUMMARY_STATES)[MISSING]),
                    STATE_CSS[MISSING],
                )
            )
    return rows


def contract_rows(*, actor: User, customer: Customer) -> list[Attachment]:
    """The customer's current contracts and agreements in date order (valid from, else the upload date), oldest
    first (R-CUS-06 category 2)."""
    rows = list(attachment_list(actor=actor, target=customer).filter(doc_type=DocumentType.CONTRACT))
    return sorted(rows, key=lambda a: (a.valid_from or timezone.localtime(a.uploaded_at).date(), a.pk))


# --------------------------------------------------------------------------------------------------------------
# Warnings resolved by a replacement
# --------------------------------------------------------------------------------------------------------------


def warnings_resolve(customer: Customer, *, actor: Any = None) -> int:
    """Resolve the open expiry warnings of ``customer`` whose document now has a successor of the same type
    that runs longer (a replacement with a later validity, or a new document), and close their tasks."""
    from kehu.workflow.engine import task_close

    open_warnings = list(
        DocumentWarning.objects.filter(customer=customer, resolved_at__isnull=True).select_related(
            "attachment"
        )
    )
    if not open_warnings:
        return 0
    docs = list(
        customer_documents(customer)
        .filter(doc_type__in={w.attachment.doc_type for w in open_warnings})
        .only("pk", "doc_type", "valid_to")
    )
    now = timezone.now()
    resolved = []
    for w in open_warnings:
        if any(
            d.doc_type == w.attachment.doc_type and (d.valid_to is None or d.valid_to > w.valid_to)
            for d in docs
        ):
            resolved.append(w)
    if not resolved:
        return 0
    with transaction.atomic():
        DocumentWarning.objects.filter(pk__in=[w.pk for w in resolved]).update(resolved_at=now)
        for w in resolved:
            task_close(target=w, actor=actor)
        audit.record(
            actor=actor,
            action="update",
            obj=customer,
            changes={"document_warnings_resolved": [None, [w.pk for w in resolved]]},
            reason=_("证照已更新，到期提醒解除"),
        )
    return len(resolved)


def on_attachment_change(target: object) -> None:
    """Hook for the attachment store (see ``register_attachable(on_change=...)``): the summary, the warnings
    a replacement resolves and the information groups a document completes."""
    if isinstance(target, Customer):
        refresh_documents_summary(target)
        warnings_resolve(target)
        from kehu.customers import groups

        groups.groups_refresh(target)
