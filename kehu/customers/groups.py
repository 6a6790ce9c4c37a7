"""The six information groups of a dossier and their completion deadlines (R-CUS-04).

A customer's fields are grouped as the regulation on basic customer information has it (识别信息, 基本信息, 业务信息,
经营信息, 守法信息, 形象信息). Each group is a list of *items*: a master-data field, or a fact about related records
(an active contact, an authorised signer, a document of some type). An item that does not apply to the customer
(e.g. the credit code of a natural person) is left out of the count.

When a customer is created, :func:`customer_created` fixes a deadline per group from the policy
``customers.groups`` then in force, in working days (:mod:`kehu.core.workdays`); a later policy change affects
only customers created afterwards. Whenever the dossier's data change, :func:`groups_refresh` marks the groups that
became complete (``completed_at``) and closes their overdue tasks. The daily job
:func:`kehu.customers.reminders.group_deadlines_overdue` raises one inbox task per overdue incomplete group.
Customers created before deadlines existed show their completion without deadlines.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kehu.core import audit
from kehu.core.models.attachments import Attachment, DocumentType
from kehu.core.workdays import Calendar
from kehu.customers import documents, policies
from kehu.customers.models import Contact, ContactRole, Customer, GroupDeadline, InfoGroup


@dataclass
class Facts:
    """What the items need besides the customer row: contacts and current documents (two queries)."""

    contacts: int = 0
    signers: int = 0
    decision_makers: int = 0
    docs: list[Attachment] = field(default_factory=list)
    required: list[str] = field(default_factory=list)
    today: dt.date = field(default_factory=timezone.localdate)

    @property
    def doc_types(self) -> set[str]:
        return {d.doc_type for d in self.docs}


@dataclass(frozen=True)
class Item:
    key: str
    label: str | Promise
    check: Callable[[Customer, Facts], bool]
    corporate_only: bool = False

    def applies(self, c: Customer) -> bool:
        return not (self.corporate_only and c.is_person)


def _field(name: str, label: str | Promise, *, corporate_only: bool = False) -> Item:
    def check(c: Customer, _facts: Facts) -> bool:
        value = getattr(c, name)
        return value is not None and value != ""

    return Item(name, label, check, corporate_only)


def _doc(doc_type: str, label: str | Promise, *, corporate_only: bool = False) -> Item:
    return Item(f"doc:{doc_type}", label, lambda _c, f: doc_type in f.doc_types, corporate_only)


def _required_valid(c: Customer, f: Facts) -> bool:
    return documents.check_documents(f.docs, f.today, f.required).ok


GROUP_ITEMS: dict[str, list[Item]] = {
    # who the customer is
    InfoGroup.IDENTIFICATION: [
        _field("name", gettext_lazy("客户名称")),
        _field("credit_code", gettext_lazy("统一社会信用代码"), corporate_only=True),
        _field("kind", gettext_lazy("客户类型")),
        _field("enterprise_type", gettext_lazy("企业类型"), corporate_only=True),
        _field("legal_representative", gettext_lazy("法定代表人"), corporate_only=True),
        _field("province", gettext_lazy("省份")),
        _field("city", gettext_lazy("城市")),
        _field("registered_address", gettext_lazy("注册地址")),
    ],
    # registration and how to reach the customer
    InfoGroup.BASIC: [
        _field("founded_on", gettext_lazy("成立日期"), corporate_only=True),
        _field("registered_capital", gettext_lazy("注册资本"), corporate_only=True),
        _field("operating_from", gettext_lazy("营业期限"), corporate_only=True),
        _field("issuing_authority", gettext_lazy("登记机关"), corporate_only=True),
        _field("office_address", gettext_lazy("办公地址")),
        _field("postcode", gettext_lazy("邮政编码")),
        _field("phone", gettext_lazy("电话")),
    ],
    # what we need to trade: people, invoicing, settlement
    InfoGroup.BUSINESS: [
        Item("contacts", gettext_lazy("有效联系人"), lambda _c, f: f.contacts > 0),
        Item("signers", gettext_lazy("有效签单人员"), lambda _c, f: f.signers > 0),
        _field("invoice_title", gettext_lazy("开票抬头")),
        _field("tax_number", gettext_lazy("纳税人识别号"), corporate_only=True),
        _field("bank_name", gettext_lazy("开户行")),
        _field("bank_account", gettext_lazy("银行账号")),
    ],
    # the customer's business and management
    InfoGroup.OPERATING: [
        _field("industry", gettext_lazy("行业")),
        _field("business_scope", gettext_lazy("经营范围"), corporate_only=True),
        _field("chairman", gettext_lazy("董事长"), corporate_only=True),
        _field("general_manager", gettext_lazy("总经理"), corporate_only=True),
        Item("decision_makers", gettext_lazy("决策人联系人"), lambda _c, f: f.decision_makers > 0),
        _doc(DocumentType.STATEMENT, gettext_lazy("财务报表"), corporate_only=True),
    ],
    # licences in force (守法)
    InfoGroup.COMPLIANCE: [
        _field("licence_valid_until", gettext_lazy("营业执照有效期"), corporate_only=True),
        _doc(DocumentType.TAX_REGISTRATION, gettext_lazy("税务登记证"), corporate_only=True),
        Item("documents_valid", gettext_lazy("必备证照齐全且在有效期内"), _required_valid),
    ],
    # how the customer presents itself
    InfoGroup.IMAGE: [
        _field("website", gettext_lazy("网址"), corporate_only=True),
        _field("certifications", gettext_lazy("资质认证"), corporate_only=True),
        _doc(DocumentType.PHOTO, gettext_lazy("照片")),
    ],
}


def facts_for(customer: Customer, *, today: dt.date | None = None) -> Facts:
    """Contacts and current documents of ``customer`` for the items (two queries)."""
    counts = Contact.objects.filter(customer=customer, active=True).aggregate(
        n=Count("pk"),
        signers=Count("pk", filter=Q(is_signer=True)),
        decision=Count("pk", filter=Q(role=ContactRole.DECISION_MAKER)),
    )
    docs = list(documents.customer_documents(customer).only("doc_type", "valid_from", "valid_to"))
    required, _version = documents.required_types(customer)
    return Facts(
        contacts=counts["n"] or 0,
        signers=counts["signers"] or 0,
        decision_makers=counts["decision"] or 0,
        docs=docs,
        required=required,
        today=today or timezone.localdate(),
    )


@dataclass
class GroupStatus:
    group: str
    label: str
    done: int
    total: int
    missing: list[str]
    due_on: dt.date | None = None
    completed_at: dt.datetime | None = None
    task_raised_at: dt.datetime | None = None
    overdue: bool = False
    estimated: bool = False

    @property
    def complete(self) -> bool:
        return self.done >= self.total

    @property
    def percent(self) -> int:
        return 100 if not self.total else round(100 * self.done / self.total)


def completion(customer: Customer, facts: Facts) -> dict[str, tuple[int, int, list[str]]]:
    """{group: (done, total, labels of the missing items)} (no query)."""
    out = {}
    for group, items in GROUP_ITEMS.items():
        applicable = [i for i in items if i.applies(customer)]
        missing = [str(i.label) for i in applicable if not i.check(customer, facts)]
        out[str(group)] = (len(applicable) - len(missing), len(applicable), missing)
    return out


def group_status(customer: Customer, *, today: dt.date | None = None) -> list[GroupStatus]:
    """Each group's completion, deadline and whether it is overdue, in the order of :class:`InfoGroup` (four
    queries and the policy)."""
    facts = facts_for(customer, today=today)
    deadlines = {d.group: d for d in GroupDeadline.objects.filter(customer=customer)}
    done = completion(customer, facts)
    calendar: Calendar | None = None  # one calendar lookup for all groups, and none without deadlines
    out = []
    for group in InfoGroup:
        n, total, missing = done[group.value]
        d = deadlines.get(group.value)
        status = GroupStatus(group.value, str(group.label), n, total, missing)
        if d is not None:
            status.due_on, status.completed_at, status.task_raised_at = (
                d.due_on,
                d.completed_at,
                d.task_raised_at,
            )
            status.overdue = not status.complete and facts.today > d.due_on
            calendar = calendar or Calendar()
            status.estimated = calendar.source(d.due_on.year) == "weekends_only"
        out.append(status)
    return out


@transaction.atomic
def deadlines_create(
    customer: Customer, *, start: dt.date | None = None, new: bool = False
) -> list[GroupDeadline]:
    """The customer's group deadlines: ``start`` (the creation day) plus the policy's working days per group,
    with the policy version recorded. Does nothing when the customer has deadlines already (not looked up for a
    ``new`` customer)."""
    if not new and GroupDeadline.objects.filter(customer=customer).exists():
        return []
    policy, version = policies.groups()
    day = start or timezone.localtime(customer.created_at or timezone.now()).date()
    calendar = Calendar()  # working days (kehu.core.workdays), one calendar version check for all groups
    rows = [
        GroupDeadline(
            customer=customer,
            group=group.value,
            due_on=calendar.add(day, int(getattr(policy.deadlines, group.value))),
            policy_version_id=version,
        )
        for group in InfoGroup
    ]
    return GroupDeadline.objects.bulk_create(rows)


def groups_refresh(customer: Customer, *, actor: Any = None, facts: Facts | None = None) -> list[str]:
    """Mark the open groups of ``customer`` that are complete now (``completed_at``) and close their overdue
    tasks; returns the groups completed. One query when nothing is open."""
    open_rows = list(GroupDeadline.objects.filter(customer=customer, completed_at__isnull=True))
    return _complete(customer, open_rows, facts, actor)


def _complete(
    customer: Customer, open_rows: list[GroupDeadline], facts: Facts | None, actor: Any
) -> list[str]:
    from kehu.workflow.engine import task_close

    if not open_rows:
        return []
    facts = facts or facts_for(customer)
    done = completion(customer, facts)
    finished = [d for d in open_rows if done[d.group][0] >= done[d.group][1]]
    if not finished:
        return []
    now = timezone.now()
    with transaction.atomic():
        GroupDeadline.objects.filter(pk__in=[d.pk for d in finished], completed_at__isnull=True).update(
            completed_at=now
        )
        for d in finished:
            d.completed_at = now
            if d.task_raised_at is not None:
                task_close(target=d, actor=actor)
        audit.record(
            actor=actor,
            action="update",
            obj=customer,
            changes={"groups_completed": [None, [d.group for d in finished]]},
            reason=_("信息组已填写完整"),
        )
    return [d.group for d in finished]


def customer_created(customer: Customer, *, actor: Any = None) -> None:
    """After a customer is created: its group deadlines, its documents summary, the groups already complete.
    A new customer has no contacts, documents or deadlines yet, so none of them is read (import speed)."""
    rows = deadlines_create(customer, new=True)
    required, _version = documents.required_types(customer)
    missing = bool(required)
    if customer.documents_missing != missing or customer.documents_expiry is not None:
        Customer.objects.filter(pk=customer.pk).update(documents_missing=missing, documents_expiry=None)
        customer.documents_missing, customer.documents_expiry = missing, None
    facts = Facts(
        contacts=0, signers=0, decision_makers=0, docs=[], required=required, today=timezone.localdate()
    )
    _complete(customer, rows, facts, actor)


def customer_changed(customer: Customer, *, actor: Any = None) -> None:
    """After the dossier's data changed (master data, contacts): the documents summary (a natural person needs
    no licence) and the groups that became complete."""
    documents.refresh_documents_summary(customer)
    groups_refresh(customer, actor=actor)


def overdue_title(customer: Customer, deadline: GroupDeadline) -> str:
    return _("%(customer)s：%(group)s逾期未填写完整（期限 %(due)s）") % {
        "customer": customer.name,
        "group": deadline.get_group_display(),
        "due": deadline.due_on.isoformat(),
    }
