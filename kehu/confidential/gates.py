"""Where the confidential archive plugs into the platform (R-ARC-01..03, R-PLT-02):

- a *grant source* of the access layer: an active grant stands in for the role on the credit file, statements and
  ratings of its customer (``credit.*.view``, the statements export), checked at read time, and only while the
  user sees the customer by role;
- the *clearance* of files of a customer's dossier and records: a file at a confidential level (its category or
  flag, or the section listing it) opens for the roles of that level or under a grant for it, and every opening is
  logged;
- the *section gate* of the dossier: a section at a confidential level shows to the roles of that level or under a
  grant, else a "申请查阅" placeholder;
- the *write guard*: what is on file for an archived dossier is not rewritten (R-ARC-03).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from django.db.models import Q
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _

from kehu.confidential import items as it
from kehu.confidential.models import Grant, in_force_q
from kehu.confidential.policies import CREDIT_SECTION, levels
from kehu.core import access, audit
from kehu.core.errors import Conflict

# ---------------------------------------------------------------------------------------------------------------
# Active grants


def active_grants(user: Any, customer_ids: Iterable[int], at: Any = None) -> list[tuple[int, int, list[str]]]:
    """``(grant id, customer id, items)`` of the user's grants in force now (one query): not revoked, started,
    not yet ended. This is where expiry and revocation take effect."""
    ids = sorted({int(c) for c in customer_ids if c is not None})
    if not ids or not getattr(user, "pk", None):
        return []
    return list(
        Grant.objects.filter(in_force_q(at), user_id=user.pk, customer_id__in=ids)
        .order_by("-valid_until", "-pk")
        .values_list("pk", "customer_id", "items")
    )


def grant_covering(user: Any, customer_id: int | None, wanted: Iterable[str]) -> int | None:
    """The grant in force that covers one of the ``wanted`` items of the customer, else None."""
    if customer_id is None:
        return None
    want = set(wanted)
    for pk, _cid, granted in active_grants(user, [customer_id]):
        if want & set(granted or []):
            return int(pk)
    return None


def request_url(customer_id: int, keys: Iterable[str]) -> str:
    return (
        reverse("confidential_request_new")
        + "?"
        + urlencode({"customer": customer_id, "items": ",".join(keys)})
    )


def may_request(user: Any, customer_id: int) -> bool:
    """Whether the user may ask for access to the customer's items: the action, and the customer in sight."""
    from kehu.customers.models import Customer

    if not access.can(user, "confidential.request.create") or not access.can(user, "customer.view"):
        return False
    return access.restrict(user, "customer.view", Customer.objects.filter(pk=customer_id)).exists()


# ---------------------------------------------------------------------------------------------------------------
# The grant source of the access layer


def customers_in_sight(user: Any, customer_ids: Iterable[int]) -> set[int]:
    """Of these customers, those the user sees now by role (``customer.view`` scope; one query). A grant never
    reaches past them: after a hand-over the former owner's grants open nothing (R-ARC-01)."""
    from kehu.customers.models import Customer

    ids = sorted({int(c) for c in customer_ids})
    if not ids:
        return set()
    qs = access.restrict(user, "customer.view", Customer.objects.filter(pk__in=ids))
    return set(qs.values_list("pk", flat=True))


def _lookup(user: Any, action: str, obj: Any) -> int | None:
    wanted = it.ACTION_ITEMS.get(action)
    if not wanted:
        return None
    customer_id = it.customer_id_of(obj)
    grant = grant_covering(user, customer_id, wanted)
    if grant is None or customer_id is None or customer_id not in customers_in_sight(user, [customer_id]):
        return None
    return grant


def _rows(user: Any, action: str, model: type[Any]) -> Q | None:
    from kehu.credit.models import CreditFile, FinancialStatement, Rating
    from kehu.customers.models import Customer

    wanted = it.ACTION_ITEMS.get(action)
    if not wanted:
        return None
    if model in (CreditFile, FinancialStatement, Rating):
        field = "customer_id__in"
    elif model is Customer:
        field = "pk__in"
    else:
        return None
    granted = Grant.objects.filter(in_force_q(), user_id=user.pk).values_list("customer_id", "items")
    ids = customers_in_sight(user, {cid for cid, keys in granted if wanted & set(keys or [])})
    return Q(**{field: sorted(ids)}) if ids else None


def _hint(user: Any, action: str, obj: Any) -> str | None:
    item = it.ACTION_REQUEST_ITEM.get(action)
    customer_id = it.customer_id_of(obj)
    if item is None or customer_id is None or not may_request(user, customer_id):
        return None
    return request_url(customer_id, [item])


# ---------------------------------------------------------------------------------------------------------------
# Files: of the dossier, and of the customer's other records (reviews, contact logs, limit applications, cases)


def _clearances(actor: Any, atts: list[Any]) -> list[Any]:
    """One clearance per file (a bounded number of queries per call). A file of a customer's record opens at the
    higher of its own level (category, confidential flag) and the level of the dossier section that lists it, for
    the roles of that level; otherwise under a grant for that file, or, when only the section raises it, a grant
    for the section. Files of the credit file follow the credit file's own check; files of records that belong to
    no customer are logged when flagged confidential."""
    from kehu.core.attachments import Clearance
    from kehu.credit.models import CreditFile

    if not atts:
        return []
    out: list[Any] = [None] * len(atts)
    owners = it.attachment_customers(a for a in atts if a.content_type.model_class() is not CreditFile)
    policy = levels()[0] if owners else None
    # (index, customer id, level, listing section, whether the user's role clears the file's own level)
    pending: list[tuple[int, int, str, str, bool]] = []
    for i, att in enumerate(atts):
        if att.content_type.model_class() is CreditFile:
            # the credit file's own check (credit.file.view, or a grant for the credit file) has let the user in
            out[i] = Clearance(confidential=True)
            continue
        cid = owners.get(att.pk)
        if cid is None or policy is None:
            out[i] = Clearance(confidential=att.confidential)
            continue
        level = it.attachment_level(att, policy)
        if it.cleared(actor, level, policy):
            out[i] = Clearance(confidential=it.is_confidential(level))
            continue
        own = it.file_level(att, policy)
        pending.append((i, cid, level, it.listing_section(att), it.cleared(actor, own, policy)))
    if pending:
        cids = {cid for _i, cid, _l, _s, _o in pending}
        grants = active_grants(actor, cids)
        sight = customers_in_sight(actor, cids) if grants else set()
        requestable: dict[int, bool] = {}
        for i, cid, level, section, own_cleared in pending:
            keys = {f"{it.ATTACHMENT}{atts[i].pk}"}
            if own_cleared and section:
                keys.add(f"{it.SECTION}{section}")  # only the section raises the file
            grant = next((g for g, gc, granted in grants if gc == cid and keys & set(granted or [])), None)
            if grant is not None and cid in sight:
                out[i] = Clearance(confidential=True, grant_id=int(grant))
                continue
            if cid not in requestable:
                requestable[cid] = may_request(actor, cid)
            out[i] = Clearance(
                confidential=it.is_confidential(level),
                allowed=False,
                request_url=request_url(cid, [f"{it.ATTACHMENT}{atts[i].pk}"]) if requestable[cid] else "",
            )
    return out


# ---------------------------------------------------------------------------------------------------------------
# Sections of the dossier


def section_gate(request: HttpRequest, customer: Any, section: Any) -> str | None:
    """Render the section when the user may see it at its level; a confidential section's showing is logged (with
    the grant used); otherwise a placeholder, with "申请查阅" when a grant would let the user's role see it."""
    actor: Any = request.user
    if section.key == CREDIT_SECTION:  # guarded and logged by the credit module itself
        return section.render(request, customer)
    policy, _v = levels()
    level = it.section_level(section.key, policy)
    if it.cleared(actor, level, policy):
        html = section.render(request, customer)
        if html is not None and it.is_confidential(level):
            audit.record_read(actor, customer, channel="dossier", detail=f"{it.SECTION}{section.key}")
        return html
    key = f"{it.SECTION}{section.key}"
    grant = grant_covering(actor, customer.pk, [key])
    if grant is not None:
        html = section.render(request, customer)
        if html is not None:
            access.note_grant(actor, grant, customer.pk)
            audit.record_read(actor, customer, channel="dossier", detail=key)
        return html
    offer = it.section_visible(actor, section.key) and may_request(actor, customer.pk)
    return render_to_string(
        "confidential/_hidden_section.html",
        {"level": level, "request_url": request_url(customer.pk, [key]) if offer else ""},
        request=request,
    )


# ---------------------------------------------------------------------------------------------------------------
# Archived dossiers are not rewritten (R-ARC-03): the dossier's modules call ``archive.ensure_writable`` before
# changing a record in place; files are never changed in place (a replacement is a new version with a reason).


def archive_guard(customer: Any) -> None:
    policy, _v = levels()
    if customer.status in policy.archived_statuses:
        raise Conflict(
            _("客户档案已归档（%(status)s），其文件只读；更正须上传新版本并注明原因。")
            % {"status": customer.get_status_display()},
            field="customer",
            rule="archived",
        )


def register() -> None:
    from kehu.core.attachments import register_clearance
    from kehu.customers.archive import register_section_gate, register_write_guard

    access.register_grant_source(it.ACTION_ITEMS, _lookup, rows=_rows, hint=_hint, owner=it.customer_id_of)
    register_clearance(_clearances)
    register_write_guard(archive_guard)
    register_section_gate(section_gate)
