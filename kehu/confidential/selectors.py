"""Reads of the confidential archive: requests (mine, to approve, all), grants, lendings, the read log of
confidential content with its reports (per customer, per user, unusual patterns) (R-ARC-01, R-ARC-02)."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Case as SqlCase
from django.db.models import (
    CharField,
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.confidential import items as it
from kehu.confidential.models import AccessRequest, CopyForm, Grant, Lending, RequestStatus, in_force_q
from kehu.confidential.policies import levels
from kehu.confidential.workflow import KEY
from kehu.core import access, audit
from kehu.core.errors import ValidationFailed
from kehu.core.models import User
from kehu.core.models.audit import AuditAction, AuditEntry
from kehu.customers.models import Customer

READ_ACTIONS = (AuditAction.READ, AuditAction.DOWNLOAD, AuditAction.EXPORT)

# ---------------------------------------------------------------------------------------------------------------
# Requests


def _requests() -> QuerySet[AccessRequest]:
    return AccessRequest.objects.select_related("customer", "requester", "decided_by", "case")


def my_requests(*, actor: User) -> QuerySet[AccessRequest]:
    access.require(actor, "confidential.request.view")
    return _requests().filter(requester_id=actor.pk)


def requests_to_approve(*, actor: User) -> QuerySet[AccessRequest]:
    """Requests whose review is an open task in the actor's inbox (their role's, or as AB backup)."""
    from kehu.workflow.models import Task
    from kehu.workflow.selectors import inbox_q

    access.require(actor, "confidential.request.view")
    cases = Task.objects.filter(inbox_q(actor), case__definition__key=KEY).values("case_id")
    return _requests().filter(case_id__in=cases)


def all_requests(*, actor: User) -> QuerySet[AccessRequest]:
    access.require(actor, "confidential.request.view")
    return access.restrict(actor, "confidential.request.view", _requests())


def apply_request_filters(qs: QuerySet[AccessRequest], f: dict[str, Any]) -> QuerySet[AccessRequest]:
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("office"):
        qs = qs.filter(office=f["office"])
    if f.get("q"):
        text = str(f["q"]).strip()
        qs = qs.filter(
            Q(customer__name__icontains=text)
            | Q(customer__number__icontains=text)
            | Q(number__icontains=text)
        )
    if f.get("date_from"):
        qs = qs.filter(created_at__gte=_start(f["date_from"]))
    if f.get("date_to"):
        qs = qs.filter(created_at__lt=_start(f["date_to"] + dt.timedelta(days=1)))
    return qs


def customer_requests(*, actor: User, customer: Customer) -> list[AccessRequest]:
    """The actor's own open or approved requests for the customer (the dossier's note), newest first."""
    return list(
        AccessRequest.objects.filter(requester_id=actor.pk, customer=customer)
        .exclude(status=RequestStatus.REJECTED)
        .select_related("grant")
        .order_by("-pk")[:10]
    )


# ---------------------------------------------------------------------------------------------------------------
# Grants

ACTIVE, EXPIRED, REVOKED, ALL = "active", "expired", "revoked", "all"
GRANT_STATES = (ACTIVE, EXPIRED, REVOKED, ALL)


def grants(*, actor: User) -> QuerySet[Grant]:
    access.require(actor, "confidential.grant.view")
    return access.restrict(
        actor,
        "confidential.grant.view",
        Grant.objects.select_related("user", "customer", "request", "granted_by", "revoked_by"),
    )


def grant_state(grant: Grant, at: dt.datetime | None = None) -> str:
    at = at or timezone.now()
    if grant.revoked_at is not None:
        return REVOKED
    if grant.valid_until <= at:
        return EXPIRED
    return ACTIVE


def apply_grant_filters(qs: QuerySet[Grant], f: dict[str, Any]) -> QuerySet[Grant]:
    """Default: grants in force now. ``state``: active | expired | revoked | all (anything else is refused)."""
    now = timezone.now()
    state = f.get("state") or ACTIVE
    if state not in GRANT_STATES:
        raise ValidationFailed(
            _("未知的授权状态：%(state)s（可选 active、expired、revoked、all）。") % {"state": state},
            field="state",
            rule="choice",
        )
    if state == ACTIVE:
        qs = qs.filter(in_force_q(now))
    elif state == EXPIRED:
        qs = qs.filter(revoked_at__isnull=True, valid_until__lte=now)
    elif state == REVOKED:
        qs = qs.filter(revoked_at__isnull=False)
    if f.get("q"):
        text = str(f["q"]).strip()
        qs = qs.filter(Q(customer__name__icontains=text) | Q(customer__number__icontains=text))
    if f.get("user"):
        name = str(f["user"]).strip()
        qs = qs.filter(Q(user__username__iexact=name) | Q(user__display_name=name))
    return qs


def grant_get(*, actor: User, grant_id: int | str) -> Grant:
    return access.get_scoped(
        actor,
        "confidential.grant.view",
        Grant.objects.select_related("user", "customer", "request", "granted_by", "revoked_by"),
        pk=grant_id,
    )


# ---------------------------------------------------------------------------------------------------------------
# Lendings


def lendings(*, actor: User) -> QuerySet[AccessRequest]:
    """Approved requests for originals, with their lendings (the archivist's desk)."""
    access.require(actor, "confidential.lending.view")
    return (
        _requests()
        .filter(form=CopyForm.ORIGINAL, status=RequestStatus.APPROVED)
        .select_related("grant")
        .prefetch_related("lendings", "lendings__lent_by", "lendings__received_by")
    )


def open_lending(req: AccessRequest) -> Lending | None:
    return next((x for x in req.lendings.all() if x.returned_at is None), None)


# ---------------------------------------------------------------------------------------------------------------
# The read log (R-ARC-02)


def _tz() -> dt.tzinfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def read_entries() -> QuerySet[AuditEntry]:
    """Every logged read of confidential content: pages, API calls, downloads and exports."""
    return AuditEntry.objects.filter(confidential=True, action__in=READ_ACTIONS)


def read_log(*, actor: User) -> QuerySet[AuditEntry]:
    access.require(actor, "confidential.readlog.view")
    return read_entries().select_related("actor")


def _customer_models() -> tuple[type[Any], ...]:
    """The models whose rows belong to a customer (a ``customer`` foreign key)."""
    return it.customer_models()


def customer_q(customer_id: int) -> Q:
    """Entries about one customer: the customer itself (credit file, dossier sections), its records, the files of
    its dossier and of its records, and list reads filtered to it."""
    cid = str(customer_id)
    q = Q(object_type=audit.object_type_of(Customer), object_id=cid)
    att_q = Q(content_type=ContentType.objects.get_for_model(Customer), object_id=cid)
    for model in _customer_models():
        ids = Subquery(
            model._default_manager.filter(customer_id=customer_id)
            .annotate(key=Cast("pk", CharField()))
            .values("key")
        )
        q |= Q(object_type=audit.object_type_of(model), object_id__in=ids)
        att_q |= Q(content_type=ContentType.objects.get_for_model(model), object_id__in=ids)
    from kehu.core.models.attachments import Attachment

    att_ids = Subquery(Attachment.objects.filter(att_q).annotate(key=Cast("pk", CharField())).values("key"))
    q |= Q(object_type=audit.object_type_of(Attachment), object_id__in=att_ids)
    q |= Q(changes__filters__customer=customer_id)
    return q


def customer_id_from(value: Any) -> int | None:
    """A customer named by the record, its id, its number or its exact name (the read log's filter)."""
    if isinstance(value, Customer):
        return value.pk
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    if not text:
        return None
    q = Q(number=text) | Q(name=text)
    if text.isdigit():
        q |= Q(pk=int(text))
    return Customer.objects.filter(q).order_by("pk").values_list("pk", flat=True).first()


def apply_log_filters(qs: QuerySet[AuditEntry], f: dict[str, Any]) -> QuerySet[AuditEntry]:
    """Filters of the read log (page, export and API): customer, user, dates (local days), grant, action."""
    customer = f.get("customer")
    if customer:
        cid = customer_id_from(customer)
        qs = qs.filter(customer_q(cid)) if cid else qs.none()
    user = f.get("user")
    if user:
        if isinstance(user, User):
            qs = qs.filter(actor_id=user.pk)
        else:
            name = str(user).strip()
            qs = qs.filter(Q(actor__username__iexact=name) | Q(actor_label__iexact=name))
    if f.get("date_from"):
        qs = qs.filter(timestamp__gte=_start(f["date_from"]))
    if f.get("date_to"):
        qs = qs.filter(timestamp__lt=_start(f["date_to"] + dt.timedelta(days=1)))
    if f.get("grant"):
        qs = qs.filter(changes__grant=int(f["grant"]))
    if f.get("under_grant"):
        qs = qs.filter(changes__has_key="grant")
    if f.get("action"):
        qs = qs.filter(action=f["action"])
    return qs


@dataclass
class LogRow:
    entry: AuditEntry
    customer_id: int | None
    customer_name: str
    grant_id: int | None
    channel: str


def resolve(entries: list[AuditEntry]) -> list[LogRow]:
    """The customer of each entry (one query per record type on the page) and the grant it names."""
    from kehu.core.models.attachments import Attachment

    by_type: dict[str, set[str]] = defaultdict(set)
    for e in entries:
        if e.object_id:
            by_type[e.object_type].add(e.object_id)
    owner: dict[tuple[str, str], int] = {}
    att_label = audit.object_type_of(Attachment)
    cust_label = audit.object_type_of(Customer)
    targets: dict[str, tuple[int, str]] = {}
    if att_label in by_type:
        for pk, ct_id, oid in Attachment.objects.filter(pk__in=_ints(by_type[att_label])).values_list(
            "pk", "content_type_id", "object_id"
        ):
            ct = ContentType.objects.get_for_id(ct_id)
            targets[str(pk)] = (ct_id, oid)
            by_type.setdefault(f"{ct.app_label}.{ct.model}", set()).add(oid)
    for label, ids in by_type.items():
        if label in (att_label, cust_label):
            continue
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError):
            continue
        if model not in _customer_models():
            continue
        for pk, owner_id in model._default_manager.filter(pk__in=_ints(ids)).values_list("pk", "customer_id"):
            owner[(label, str(pk))] = owner_id
    customer_of: dict[int, int | None] = {}
    for e in entries:
        cid: int | None = None
        if e.object_type == cust_label and e.object_id.isdigit():
            cid = int(e.object_id)
        elif e.object_type == att_label and e.object_id in targets:
            ct_id, oid = targets[e.object_id]
            ct = ContentType.objects.get_for_id(ct_id)
            label = f"{ct.app_label}.{ct.model}"
            cid = int(oid) if label == cust_label and oid.isdigit() else owner.get((label, oid))
        elif (e.object_type, e.object_id) in owner:
            cid = owner[(e.object_type, e.object_id)]
        elif isinstance(e.changes, dict) and isinstance(e.changes.get("filters"), dict):
            value = e.changes["filters"].get("customer")
            cid = (
                int(value) if isinstance(value, int) or (isinstance(value, str) and value.isdigit()) else None
            )
        customer_of[e.seq] = cid
    names = dict(
        Customer.objects.filter(pk__in={c for c in customer_of.values() if c}).values_list("pk", "name")
    )
    rows = []
    for e in entries:
        cid = customer_of.get(e.seq)
        changes = e.changes if isinstance(e.changes, dict) else {}
        grant = changes.get("grant")
        rows.append(
            LogRow(
                entry=e,
                customer_id=cid,
                customer_name=names.get(cid, "") if cid else "",
                grant_id=int(grant) if isinstance(grant, int) else None,
                channel=str(changes.get("channel", "")),
            )
        )
    return rows


def _ints(values: set[str]) -> list[int]:
    return [int(v) for v in values if v.isdigit()]


def user_summary(*, actor: User, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Per user: reads, downloads, exports, and how many under a grant (R-ARC-02 report per user)."""
    qs = apply_log_filters(read_log(actor=actor), filters)
    rows = (
        qs.values("actor_id", "actor__username", "actor__display_name", "actor_label")
        .annotate(
            total=Count("pk"),
            reads=Count("pk", filter=Q(action=AuditAction.READ)),
            downloads=Count("pk", filter=Q(action=AuditAction.DOWNLOAD)),
            exports=Count("pk", filter=Q(action=AuditAction.EXPORT)),
            granted=Count("pk", filter=Q(changes__has_key="grant")),
        )
        .order_by("-total", "actor_label")[:200]
    )
    return [dict(r) for r in rows]


# The logged reads of credit lists (one entry per page, API call or export, with the number of rows).
LIST_TYPES = ("credit.statement", "credit.rating")


def _credit_customer_key() -> Any:
    """The customer (as text) of a credit-content read: the credit file of a customer, a download of one of its
    documents, a statement, a rating, or a list of them filtered to one customer; NULL for other entries."""
    from kehu.core.models.attachments import Attachment
    from kehu.credit.models import CreditFile, FinancialStatement, Rating

    def owner_of(model: type[Any], key: Any) -> Any:
        return Subquery(
            model._default_manager.annotate(key=Cast("pk", CharField()))
            .filter(key=key)
            .annotate(cid=Cast("customer_id", CharField()))
            .values("cid")[:1]
        )

    credit_doc = Subquery(
        Attachment.objects.annotate(key=Cast("pk", CharField()))
        .filter(
            key=OuterRef(OuterRef("object_id")), content_type=ContentType.objects.get_for_model(CreditFile)
        )
        .values("object_id")[:1]
    )
    return SqlCase(
        When(
            object_type=audit.object_type_of(Customer),
            changes__detail="credit.file",
            then=F("object_id"),
        ),
        When(
            object_type=audit.object_type_of(FinancialStatement),
            then=owner_of(FinancialStatement, OuterRef("object_id")),
        ),
        When(object_type=audit.object_type_of(Rating), then=owner_of(Rating, OuterRef("object_id"))),
        When(object_type=audit.object_type_of(Attachment), then=owner_of(CreditFile, credit_doc)),
        When(
            object_type__in=LIST_TYPES,
            then=Cast(KT("changes__filters__customer"), CharField()),
        ),
        default=Value(None),
        output_field=CharField(),
    )


def unusual_reading(
    *, actor: User, date_from: dt.date, date_to: dt.date, threshold: int | None = None
) -> tuple[list[dict[str, Any]], int]:
    """Users who read the credit content (credit file, its documents, statements, ratings) of more than
    ``threshold`` customers in one day (policy ``unusual_daily_customers``), per day, most first; and the threshold
    used. Reads of one customer's items count that customer once a day; a list across customers (the rating list,
    on a page, through the API or exported) counts each of its rows as one customer read."""
    access.require(actor, "confidential.unusual.view")
    if threshold is None:
        policy, _v = levels()
        threshold = policy.unusual_daily_customers
    period = read_entries().filter(
        timestamp__gte=_start(date_from), timestamp__lt=_start(date_to + dt.timedelta(days=1))
    )
    fields = ("actor_id", "actor__username", "actor__display_name", "day")
    day = TruncDate("timestamp", tzinfo=_tz())
    single = (
        period.annotate(customer_key=_credit_customer_key(), day=day)
        .filter(customer_key__isnull=False)
        .values(*fields)
        .annotate(customers=Count("customer_key", distinct=True), reads=Count("pk"))
    )
    lists = (
        period.filter(object_type__in=LIST_TYPES)
        .annotate(one_customer=KT("changes__filters__customer"))
        .filter(one_customer__isnull=True)
        .annotate(day=day, rows=Cast(KT("changes__rows"), IntegerField()))
        .values(*fields)
        .annotate(listed=Sum("rows"), reads=Count("pk"))
    )
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in single:
        merged[tuple(row[f] for f in fields)] = {**row, "listed": 0}
    for row in lists:
        key = tuple(row[f] for f in fields)
        got = merged.setdefault(key, {**{f: row[f] for f in fields}, "customers": 0, "reads": 0, "listed": 0})
        got["listed"] += int(row["listed"] or 0)
        got["reads"] += int(row["reads"] or 0)
    out = []
    for row in merged.values():
        row["customers"] = int(row["customers"]) + int(row["listed"])
        if row["customers"] > threshold:
            out.append(row)
    out.sort(key=lambda r: (-r["customers"], -r["day"].toordinal(), r["actor__username"] or ""))
    return out[:500], threshold
