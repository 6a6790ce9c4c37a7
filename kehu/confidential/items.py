"""What can be confidential and asked for (R-ARC-01): item keys, their labels, their level under the policy, the
office that approves a request for them and whether a user sees them by role.

Item keys:

- ``credit.file``: the whole credit file (its written parts and documents, and the statements and ratings shown in
  it); ``credit.statements``: the financial statements only; ``credit.ratings``: the credit ratings only;
- ``attachment:<id>``: one file of the customer's dossier (that version);
- ``section:<key>``: one section of the dossier raised to a confidential level by the policy.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from kehu.confidential.models import LEVEL_ORDER, Level, Office
from kehu.confidential.policies import GATED_SECTIONS, LevelsPolicy

CREDIT_FILE = "credit.file"
CREDIT_STATEMENTS = "credit.statements"
CREDIT_RATINGS = "credit.ratings"
CREDIT_ITEMS = (CREDIT_FILE, CREDIT_STATEMENTS, CREDIT_RATINGS)
ATTACHMENT = "attachment:"
SECTION = "section:"

# The read actions of the credit app that a grant may stand in for, and the items that cover each: the credit file
# item covers the whole file, statements and ratings included.
ACTION_ITEMS: dict[str, frozenset[str]] = {
    "credit.file.view": frozenset({CREDIT_FILE}),
    "credit.statement.view": frozenset({CREDIT_STATEMENTS, CREDIT_FILE}),
    "credit.rating.view": frozenset({CREDIT_RATINGS, CREDIT_FILE}),
    "credit.export": frozenset({CREDIT_STATEMENTS, CREDIT_FILE}),  # the export of one customer's statements
}
# The item to ask for when an action is refused; and the action that reads each credit item.
ACTION_REQUEST_ITEM = {
    "credit.file.view": CREDIT_FILE,
    "credit.statement.view": CREDIT_STATEMENTS,
    "credit.rating.view": CREDIT_RATINGS,
    "credit.export": CREDIT_STATEMENTS,
}
ITEM_ACTION = {CREDIT_FILE: "credit.file.view", CREDIT_STATEMENTS: "credit.statement.view",
               CREDIT_RATINGS: "credit.rating.view"}  # fmt: skip


def credit_label(key: str) -> str:
    return {
        CREDIT_FILE: _("信用档案（含资料、财务报表、信用评级）"),
        CREDIT_STATEMENTS: _("财务报表"),
        CREDIT_RATINGS: _("信用评级"),
    }.get(key, key)


def kind(key: str) -> str:
    """ "credit" | "attachment" | "section" | "" (unknown)."""
    if key in CREDIT_ITEMS:
        return "credit"
    if key.startswith(ATTACHMENT) and key[len(ATTACHMENT) :].isdigit():
        return "attachment"
    if key.startswith(SECTION) and len(key) > len(SECTION):
        return "section"
    return ""


def attachment_id(key: str) -> int | None:
    return int(key[len(ATTACHMENT) :]) if kind(key) == "attachment" else None


def section_key(key: str) -> str:
    return key[len(SECTION) :] if kind(key) == "section" else ""


def office_of(key: str) -> str:
    """Credit items go to the credit office head; dossier files and sections to the archive office head."""
    return Office.CREDIT if kind(key) == "credit" else Office.ARCHIVE


def max_level(levels: Iterable[str]) -> str:
    best = Level.OPEN.value
    for level in levels:
        if LEVEL_ORDER.get(level, 1) > LEVEL_ORDER.get(best, 0):  # type: ignore[call-overload]
            best = level
    return best


def is_confidential(level: str) -> bool:
    return LEVEL_ORDER.get(level, 1) >= LEVEL_ORDER[Level.CONFIDENTIAL]  # type: ignore[call-overload]


def file_level(att: Any, policy: LevelsPolicy) -> str:
    """The level of the file itself: its category's, at least "confidential" for a file flagged confidential."""
    level = policy.attachment_categories.get(att.doc_type, Level.INTERNAL.value)
    return max_level([level, Level.CONFIDENTIAL.value]) if att.confidential else level


def listing_section(att: Any) -> str:
    """The dossier section that lists a file of the dossier itself ("" for a file on another record): licences in
    "证照", contracts in "合同与协议", the others in "资料附件" (see kehu/customers/sections.py)."""
    from django.contrib.contenttypes.models import ContentType

    from kehu.core.models.attachments import DocumentType
    from kehu.customers.documents import LICENCE_TYPES
    from kehu.customers.models import Customer

    if att.content_type_id != ContentType.objects.get_for_model(Customer).pk:
        return ""
    if att.doc_type in LICENCE_TYPES:
        return "customers.documents"
    if att.doc_type == DocumentType.CONTRACT:
        return "customers.contracts"
    return "customers.attachments"


def attachment_level(att: Any, policy: LevelsPolicy) -> str:
    """The level a file is opened at: the higher of the file's own level and that of the section listing it."""
    section = listing_section(att)
    own = file_level(att, policy)
    return max_level([own, section_level(section, policy)]) if section else own


def section_level(key: str, policy: LevelsPolicy) -> str:
    """The section's level under the policy. A section whose content the gate does not fully control never counts
    above "internal" (the policy refuses to raise it; this holds for versions stored before that rule too)."""
    level = policy.sections.get(key, Level.INTERNAL.value)
    if is_confidential(level) and key not in GATED_SECTIONS:
        return Level.INTERNAL.value
    return level


def section_visible(user: Any, key: str) -> bool:
    """Whether the user's role could see the section at all, given a grant (else nothing to ask for)."""
    from kehu.core import access

    action = GATED_SECTIONS.get(key)
    return action is not None and access.can(user, action)


def cleared(user: Any, level: str, policy: LevelsPolicy) -> bool:
    """Whether one of the user's roles sees ``level`` by default."""
    roles = getattr(policy.level_roles, level, None)
    if roles is None:
        return False
    return bool(set(user.role_codes()) & set(roles))


def item_level(key: str, policy: LevelsPolicy, attachment: Any = None) -> str:
    k = kind(key)
    if k == "credit":
        return policy.credit_items.get(key, Level.CONFIDENTIAL.value)
    if k == "attachment" and attachment is not None:
        return attachment_level(attachment, policy)
    if k == "section":
        return section_level(section_key(key), policy)
    return Level.CONFIDENTIAL.value


def customer_id_of(obj: Any) -> int | None:
    """The customer a record belongs to (the customer itself, its ``customer`` field, or for a file the customer of
    the record it is on); an id as given."""
    from kehu.core.models.attachments import Attachment
    from kehu.customers.models import Customer

    if obj is None or isinstance(obj, bool):
        return None
    if isinstance(obj, Customer):
        return obj.pk
    if isinstance(obj, int):
        return obj
    if isinstance(obj, str):
        return int(obj) if obj.isdigit() else None
    if isinstance(obj, Attachment):
        from kehu.workflow.models import Case

        field: Any = Attachment._meta.get_field("target")
        if field.is_cached(obj):  # the record is at hand (``attachment_get`` caches it)
            target = field.get_cached_value(obj)
            if target is not None and not isinstance(target, Case | Attachment):
                return customer_id_of(target)
        return attachment_customers([obj]).get(obj.pk)
    value = getattr(obj, "customer_id", None)
    return int(value) if value is not None else None


@functools.cache
def customer_models() -> tuple[type[Any], ...]:
    """The models whose rows belong to a customer (a ``customer`` foreign key)."""
    from django.apps import apps
    from django.core.exceptions import FieldDoesNotExist

    from kehu.customers.models import Customer

    out = []
    for model in apps.get_models():
        try:
            field = model._meta.get_field("customer")
        except FieldDoesNotExist:
            continue
        if getattr(field, "related_model", None) is Customer and field.many_to_one:
            out.append(model)
    return tuple(out)


def _ids(values: Iterable[str]) -> list[int]:
    return [int(v) for v in values if str(v).isdigit()]


def record_customers(pairs: Iterable[tuple[int, str]]) -> dict[tuple[int, str], int]:
    """The customer of each record named by ``(content type id, object id)``: a customer itself, a record with a
    ``customer`` foreign key, or a workflow case whose subject is one of those. One query per record type."""
    from django.contrib.contenttypes.models import ContentType

    from kehu.customers.models import Customer
    from kehu.workflow.models import Case

    by_ct: dict[int, set[str]] = {}
    for ct_id, oid in pairs:
        by_ct.setdefault(int(ct_id), set()).add(str(oid))
    out: dict[tuple[int, str], int] = {}
    cases: dict[str, tuple[int | None, str]] = {}
    for ct_id, oids in by_ct.items():
        model = ContentType.objects.get_for_id(ct_id).model_class()
        if model is Customer:
            out.update({(ct_id, o): int(o) for o in oids if o.isdigit()})
        elif model is Case:
            for pk, sct, sid in Case.objects.filter(pk__in=_ids(oids)).values_list(
                "pk", "subject_type_id", "subject_id"
            ):
                cases[str(pk)] = (sct, sid)
        elif model is not None and model in customer_models():
            for pk, cid in model._default_manager.filter(pk__in=_ids(oids)).values_list("pk", "customer_id"):
                out[(ct_id, str(pk))] = int(cid)
    if cases:
        subjects = record_customers((t, i) for t, i in cases.values() if t is not None and i)
        case_ct = ContentType.objects.get_for_model(Case).pk
        for case_pk, (subject_type, subject_id) in cases.items():
            owner = subjects.get((subject_type or 0, subject_id))
            if owner is not None:
                out[(case_ct, case_pk)] = owner
    return out


def attachment_customers(atts: Iterable[Any]) -> dict[int, int]:
    """The customer of the record each file is on (files of records without a customer are left out)."""
    atts = list(atts)
    owners = record_customers((a.content_type_id, a.object_id) for a in atts)
    return {
        a.pk: owners[(a.content_type_id, a.object_id)]
        for a in atts
        if (a.content_type_id, a.object_id) in owners
    }
