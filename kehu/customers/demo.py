"""Demo customers: a few hundred realistic customers across classes, kinds, regions and owners, with contacts,
business licences and certificates (some expiring, some expired, some missing), and contact logs; then the
reminder jobs run once, so that the inbox shows what they raise."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kehu.core.models import User
from kehu.customers.models import ContactRole, Customer, CustomerClass, CustomerKind, EndedReason, Industry

DEMO_COUNT = 300


def load_customers() -> None:
    from bench.data import DataGenerator
    from kehu.customers import services

    gen = DataGenerator(seed=20260101)
    users = {u.username: u for u in User.objects.filter(username__in=["sales1", "sales2", "salesmgr", "gm"])}
    owners = [users["sales1"], users["sales2"], users["salesmgr"]]
    classes = [CustomerClass.GENERAL] * 6 + [CustomerClass.IMPORTANT] * 3 + [CustomerClass.CORE]
    kinds = [CustomerKind.END_CUSTOMER] * 6 + [CustomerKind.DISTRIBUTOR] * 2 + [CustomerKind.AGENT]
    kinds += [CustomerKind.SUPPLIER, CustomerKind.BANK, CustomerKind.LAW_FIRM]
    industries = list(Industry.values)
    roles = [ContactRole.DECISION_MAKER, ContactRole.PURCHASER, ContactRole.FINANCE, ContactRole.QUALITY]
    made = 0
    created = []
    for i in range(DEMO_COUNT * 2):
        if made >= DEMO_COUNT:
            break
        row = gen.company()
        owner = owners[i % len(owners)]
        cls = classes[i % len(classes)]
        staff = [owners[(i + 1) % len(owners)]] if cls != CustomerClass.GENERAL else []
        try:
            c = services.customer_create(
                actor=owner,
                owner=owner,
                staff=staff,
                name=row["name"],
                credit_code=row["credit_code"],
                customer_class=cls,
                kind=kinds[i % len(kinds)],
                industry=industries[i % len(industries)],
                legal_representative=row["legal_representative"],
                general_manager=row["legal_representative"],
                registered_capital=row["registered_capital"],
                founded_on=row["founded"],
                operating_from=row["founded"],
                province=row["province"],
                city=row["city"],
                registered_address=row["address"],
                office_address=row["address"],
                postcode=row["postcode"],
                phone=row["phone"],
                enterprise_type="有限责任公司",
                issuing_authority=f"{row['city']}市场监督管理局",
                invoice_title=row["name"],
                tax_number=row["credit_code"],
            )
        except services.DuplicateCandidates:
            continue
        made += 1
        created.append(c)
        for k in range(1 + i % 3):
            person = gen.person()
            services.contact_add(
                actor=owner,
                customer_id=c.pk,
                name=person["name"],
                role=roles[(i + k) % len(roles)],
                mobile=person["mobile"],
                email=person["email"],
                is_signer=k == 0,
                signer_valid_until=timezone.localdate() + dt.timedelta(days=365) if k == 0 else None,
            )
        manager = users["gm"]
        step = i % 10
        if step >= 2:
            services.customer_submit_review(actor=owner, customer_id=c.pk, reason="资料齐全，提交审核")
        if step >= 4:
            services.customer_activate(actor=manager, customer_id=c.pk, reason="审核通过")
        if step == 8:
            services.customer_suspend(actor=manager, customer_id=c.pk, reason="逾期账款未清，暂停发货")
        if step == 9:
            services.customer_end(
                actor=manager,
                customer_id=c.pk,
                reason="客户转产，不再采购",
                ended_reason=EndedReason.TRADE_PAST,
            )
        if i % 7 == 3:
            services.customer_update(
                actor=owner,
                customer_id=c.pk,
                name=c.name.replace("有限公司", "股份有限公司"),
                source="licence",
                source_note="股改后换发营业执照",
                changed_on=timezone.localdate() - dt.timedelta(days=30 + i),
            )
    _documents(created)
    _contact_logs(created)
    _backdate(created[::11])
    _run_reminders()


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
SUMMARIES = [
    ("visit", "拜访采购部，了解下季度需求，对方计划增加两个型号的采购。", "报价并寄送样品"),
    ("call", "电话确认上月发货已签收，质量无异议。", ""),
    ("email", "发送新版产品目录和价格表。", "跟进报价反馈"),
    ("meeting", "参加客户供应商大会，沟通年度框架协议条款。", "起草框架协议"),
    ("call", "催收到期货款，对方承诺本周内付款。", "核对到账"),
    ("letter", "寄送年度对账函。", ""),
    ("visit", "陪同技术人员现场解决装配问题。", "提交整改报告"),
]


def _documents(customers: list[Customer]) -> None:
    """Business licences for nine in ten (one in ten expired, one in ten expiring within 60 days), a quality
    certificate for core and important customers."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from kehu.core.attachments import attachment_add

    today = timezone.localdate()
    for k, c in enumerate(customers):
        if c.is_person or k % 10 == 0:
            continue  # no licence on file: shows as missing
        if k % 10 == 1:
            valid_to = today - dt.timedelta(days=15 + k % 60)
        elif k % 10 == 2:
            valid_to = today + dt.timedelta(days=5 + k % 50)
        else:
            valid_to = today + dt.timedelta(days=200 + (k * 37) % 1500)
        attachment_add(
            actor=c.owner,
            target=c,
            upload=SimpleUploadedFile("营业执照.pdf", PDF, content_type="application/pdf"),
            doc_type="business_licence",
            title="营业执照（副本）",
            number=c.credit_code,
            issuing_authority=c.issuing_authority,
            valid_from=c.founded_on,
            valid_to=valid_to,
        )
        if c.customer_class != CustomerClass.GENERAL:
            attachment_add(
                actor=c.owner,
                target=c,
                upload=SimpleUploadedFile("IATF16949.pdf", PDF, content_type="application/pdf"),
                doc_type="certification",
                title="IATF 16949 质量管理体系认证证书",
                number=f"IATF-{c.number[-6:]}",
                issuing_authority="中国质量认证中心",
                valid_from=today - dt.timedelta(days=700),
                valid_to=today + dt.timedelta(days=25 + (k * 53) % 700),
            )


def _contact_logs(customers: list[Customer]) -> None:
    """Up to four contacts over the last four months for trading customers; a few with a next step due."""
    from kehu.customers.contactlog import contact_log_create

    now = timezone.now()
    current = Customer.objects.in_bulk([c.pk for c in customers])
    for k, c in enumerate(current[c.pk] for c in customers):
        if c.status not in ("active", "suspended"):
            continue
        contact = c.contacts.filter(active=True).order_by("pk").first()
        for n in range(k % 5):
            channel, summary, next_step = SUMMARIES[(k + n) % len(SUMMARIES)]
            days_ago = 3 + ((k * 7 + n * 29) % 120)
            due = timezone.localdate() + dt.timedelta(days=7 + n) if next_step and n == 0 else None
            contact_log_create(
                actor=c.owner,
                customer_id=c.pk,
                channel=channel,
                contacted_at=now - dt.timedelta(days=days_ago, hours=k % 8),
                summary=summary,
                contact=contact,
                next_step=next_step if due else "",
                next_step_due=due,
            )


def _backdate(customers: list[Customer]) -> None:
    """Some customers were filed a month ago: their information-group deadlines have passed."""
    from kehu.customers import groups
    from kehu.customers.models import GroupDeadline

    start = timezone.now() - dt.timedelta(days=30)
    for c in customers:
        Customer.objects.filter(pk=c.pk).update(created_at=start)
        GroupDeadline.objects.filter(customer=c).delete()
        c.refresh_from_db()
        groups.deadlines_create(c, start=start.date())
        groups.groups_refresh(c)


def _run_reminders() -> None:
    """What the daily jobs would raise this morning: overdue groups, expiring documents, contact gaps."""
    from kehu.customers import contactlog, reminders

    reminders.group_deadlines_overdue()
    reminders.documents_warn()
    contactlog.contact_gaps_raise()
