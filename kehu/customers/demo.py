"""Demo customers: about sixty realistic customers across classes, kinds, regions and owners, with contacts."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from kehu.core.models import User
from kehu.customers.models import ContactRole, CustomerClass, CustomerKind, EndedReason, Industry

DEMO_COUNT = 60


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
