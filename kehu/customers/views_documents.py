"""Pages and dossier sections of licences, contracts and information groups (R-CUS-04..06).

- Category 1 "证照": the customer's licences and certificates with number, issuer, validity and state, the required
  types not held as missing rows, upload (to the attachment store) and replace (a new version).
- Category 2 "合同与协议": the customer's contracts and agreements in date order.
- ``customers/<pk>/documents/``: the documents with the result of :func:`customer_documents_valid`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kehu.core.attachments import _mb, can_change
from kehu.core.models.attachments import DocumentType
from kehu.core.views.attachments import UploadForm
from kehu.customers import documents, selectors
from kehu.customers.archive import ArchiveCategory, register_section
from kehu.customers.models import Customer


def upload_form() -> UploadForm:
    """The upload form of the "证照" section: the licence types only."""
    form = UploadForm(initial={"doc_type": DocumentType.BUSINESS_LICENCE}, auto_id="doc_%s")
    field: Any = form.fields["doc_type"]
    field.choices = [(t.value, t.label) for t in DocumentType if t.value in documents.LICENCE_TYPES]
    return form


def documents_context(request: HttpRequest, customer: Customer) -> dict[str, Any]:
    actor: Any = request.user
    today = timezone.localdate()
    rows = documents.document_rows(actor=actor, customer=customer, at=today)
    required, _version = documents.required_types(customer)
    check = documents.check_documents([r.att for r in rows if r.att is not None], today, required)
    editable = can_change(actor, customer)
    return {
        "c": customer,
        "rows": rows,
        "check": check,
        "can_change": editable,
        "form": upload_form() if editable else None,
        "next": request.get_full_path(),
        "max_mb": _mb(int(settings.KEHU_UPLOAD_MAX_BYTES)),
        "extensions": " ".join(str(e) for e in settings.KEHU_UPLOAD_EXTENSIONS),
    }


def render_documents(request: HttpRequest, customer: Customer) -> str:
    return render_to_string(
        "customers/documents/section.html", documents_context(request, customer), request=request
    )


def render_contracts(request: HttpRequest, customer: Customer) -> str:
    actor: Any = request.user
    rows = documents.contract_rows(actor=actor, customer=customer)
    return render_to_string(
        "customers/documents/contracts.html",
        {
            "c": customer,
            "rows": rows,
            "today": timezone.localdate(),
            "can_change": can_change(actor, customer),
        },
        request=request,
    )


@login_required
def customer_documents(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer's documents and the check other modules use (404 outside the user's scope)."""
    actor: Any = request.user
    c = selectors.customer_get(actor=actor, pk=pk)
    return render(request, "customers/documents/page.html", documents_context(request, c))


def register() -> None:
    register_section(ArchiveCategory.BASIC, "customers.documents", _("证照"), render_documents, order=10)
    register_section(
        ArchiveCategory.CONTRACTS, "customers.contracts", _("合同与协议"), render_contracts, order=10
    )


urlpatterns = [
    path("customers/<int:pk>/documents/", customer_documents, name="customer_documents"),
]
