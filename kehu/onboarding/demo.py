"""Demo reviews: prospects of the demo customers taken to every stage of the onboarding review (one of them through
a rectification round), decided ones (approved, deferred, rejected), the re-qualification schedule of the active
customers and one early re-qualification."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kehu.core.models import User
from kehu.customers.documents import customer_documents_valid
from kehu.customers.models import Customer, CustomerStatus

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

ANSWERS = {
    "screening": {"needs": "yes", "reputation": "yes", "industry_position": "yes"},
    "qualification": {
        "registration": "yes",
        "operating": "yes",
        "licence": "yes",
        "tax_registration": "yes",
        "organisation_code": "na",
        "professional": "yes",
    },
    "business": {"compliance": "yes", "authenticity": "yes", "legality": "yes"},
    "risk": {
        "credit_record": "yes",
        "litigation": "yes",
        "industry": "yes",
        "history": "na",
        "site_visit": "yes",
    },
    "interview": {"details": "yes", "review_team": "yes", "nda": "yes", "integrity": "yes"},
}
EVIDENCE = {
    "screening": {"needs": "客户拜访纪要", "reputation": "同行口碑良好"},
    "qualification": {"registration": "国家企业信用信息公示系统截图", "licence": "营业执照原件已核对"},
    "business": {"compliance": "合同范本经法务审阅"},
    "risk": {"credit_record": "征信报告无不良记录", "site_visit": "现场考察报告已上传"},
    "interview": {"nda": "保密协议已签署"},
}
PATH = [
    ("screening", "submit", "rep", ""),
    ("qualification", "qualify", "reviewer", "资质齐全"),
    ("business", "pass_business", "reviewer", "业务真实合规"),
    ("risk", "pass_risk", "credit", "信用状况良好，风险等级：低"),
    ("interview", "pass_interview", "rep", "合作细节已商定"),
]
# (target stage or decision, send back once on the way)
PLAN = [
    ("screening", False),
    ("qualification", False),
    ("business", False),
    ("risk", False),
    ("interview", False),
    ("approval", False),
    ("rectification", False),
    ("approve", True),
    ("defer", False),
    ("reject", False),
]


def _licence(actor: User, customer: Customer) -> None:
    from kehu.core.attachments import attachment_add

    if customer_documents_valid(customer).ok:
        return
    today = timezone.localdate()
    attachment_add(
        actor=actor,
        target=customer,
        upload=SimpleUploadedFile("营业执照.pdf", PDF, content_type="application/pdf"),
        doc_type="business_licence",
        valid_from=today - dt.timedelta(days=800),
        valid_to=today + dt.timedelta(days=900),
    )


def _step(actor: User, review: Any, transition: str, comment: str = "", **kw: Any) -> Any:
    from kehu.onboarding import services

    state = review.case.state
    return services.review_act(
        actor=actor,
        review_id=review.pk,
        transition=transition,
        comment=comment,
        checklist=ANSWERS.get(state, {}),
        evidence=EVIDENCE.get(state, {}),
        **kw,
    )


def load_reviews() -> None:
    from kehu.onboarding import services

    users = {u.username: u for u in User.objects.filter(username__in=["reviewer1", "credit1", "gm"])}
    prospects = list(
        Customer.objects.filter(
            status=CustomerStatus.PROSPECT, owner__username__in=["sales1", "sales2", "salesmgr"]
        )
        .select_related("owner")
        .order_by("pk")
    )
    for customer, (target, send_back) in zip(prospects, PLAN, strict=False):
        rep = customer.owner
        _licence(rep, customer)
        review = services.review_apply(
            actor=rep,
            customer_id=customer.pk,
            purpose="拓展华东/华南区域业务，建立长期合作",
            expected_business="年度框架采购，按月下单",
            products="精密零部件及配套服务",
            expected_annual_volume="2400000",
            requested_terms="月结60天",
        )
        who = {"rep": rep, **{"reviewer": users["reviewer1"], "credit": users["credit1"]}}
        for state, transition, role, comment in PATH:
            if target == state:
                break
            if target == "rectification" and state == "qualification":
                review = _step(
                    users["reviewer1"], review, "send_back_qualification", "请补充税务登记证及近一年财务报表"
                )
                break
            if send_back and state == "qualification":
                review = _step(
                    users["reviewer1"], review, "send_back_qualification", "营业执照复印件不清晰，请重新提供"
                )
                review = _step(rep, review, "resubmit_qualification", "客户已重新提供清晰的营业执照复印件")
            review = _step(who[role], review, transition, comment)
        if target == "approve":
            _step(users["gm"], review, "approve", "同意合作，按申请条件执行")
        elif target == "defer":
            _step(
                users["gm"],
                review,
                "defer",
                "客户产能扩建尚未完成，暂缓合作",
                rereview_on=timezone.localdate() + dt.timedelta(days=90),
            )
        elif target == "reject":
            _step(users["gm"], review, "reject", "存在未决重大诉讼，不予合作")
    services.qualification_refresh()
    from kehu.onboarding.models import Review

    active = (
        Customer.objects.filter(status=CustomerStatus.ACTIVE)
        .exclude(pk__in=Review.objects.filter(case__closed_at__isnull=True).values("customer_id"))
        .order_by("-customer_class", "pk")
        .first()
    )
    if active is not None:
        services.requal_open(
            actor=users["reviewer1"], customer_id=active.pk, reason="客户信用状况下滑，提前复审"
        )
