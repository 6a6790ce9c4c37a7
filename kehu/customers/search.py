"""Customer search (R-CUS-13): one lower-cased text column per customer holding its name, the name's comparison
key and pinyin initials, former names, number, credit and tax codes, addresses, phone, and its active contacts'
names, phones and e-mails. The list searches that one column, so a search costs one scan of one column (or a
trigram index lookup on PostgreSQL) instead of a scan per field and per related table.

:func:`refresh_search` rebuilds one customer's text; the services call it after every change that touches what is
searched (master data, contacts, merges, imports).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q

from kehu.customers import names
from kehu.customers.models import ChangeField, Contact, Customer, CustomerChange

SEPARATOR = " | "


def _parts(
    customer: Customer, former: Iterable[str], contacts: Iterable[tuple[str, str, str, str]]
) -> list[str]:
    parts = [
        customer.name,
        customer.name_key,
        customer.name_initials,
        customer.number,
        customer.credit_code,
        customer.tax_number,
        customer.registered_address,
        customer.office_address,
        customer.phone,
        customer.legal_representative,
    ]
    for old in former:
        parts += [old, names.name_key(old), names.initials(old)]
    for contact in contacts:
        parts += list(contact)
    return parts


def search_document(
    customer: Customer,
    former: Iterable[str] | None = None,
    contacts: Iterable[tuple[str, str, str, str]] | None = None,
) -> str:
    """The searchable text of ``customer``; former names and contacts are read unless given (two queries)."""
    if former is None:
        former = CustomerChange.objects.filter(customer=customer, field=ChangeField.NAME).values_list(
            "old", flat=True
        )
    if contacts is None:
        contacts = Contact.objects.filter(customer=customer, active=True).values_list(
            "name", "mobile", "phone", "email"
        )
    seen: list[str] = []
    for part in _parts(customer, former, contacts):
        text = (part or "").strip().lower()
        if text and text not in seen:
            seen.append(text)
    return SEPARATOR.join(seen)


def refresh_search(customer: Customer, *, new: bool = False) -> None:
    """Rebuild and store one customer's search text (three queries at most; one for a ``new`` customer, which
    has no former names or contacts yet)."""
    text = search_document(customer, former=[], contacts=[]) if new else search_document(customer)
    if text != customer.search_text:
        Customer.objects.filter(pk=customer.pk).update(search_text=text)
        customer.search_text = text


def search_q(text: str) -> Q:
    """Customers whose name, former names, pinyin initials, number, codes, addresses or contacts contain
    ``text`` (case-insensitive); a company name also matches with its suffix and brackets normalised."""
    text = (text or "").strip().lower()
    if not text:
        return Q()
    q = Q(search_text__contains=text)
    key = names.name_key(text)
    if key and key != text:
        q |= Q(search_text__contains=key)
    return q
