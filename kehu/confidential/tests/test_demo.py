"""The demo loader: one request waiting for the credit office head and one approved for three days."""

from __future__ import annotations

import pytest

from kehu.confidential.demo import load_confidential
from kehu.confidential.models import AccessRequest, RequestStatus
from kehu.core.demo import load_org
from kehu.core.models import User
from kehu.customers import services as cs

from .conftest import make_customer

pytestmark = pytest.mark.django_db


def test_demo_loader():
    load_org()
    gm = User.objects.get(username="gm")
    for owner, names in (("sales1", ["演示甲有限公司", "演示乙有限公司"]), ("sales2", ["演示丙有限公司"])):
        user = User.objects.get(username=owner)
        for name in names:
            c = make_customer(user, name)
            cs.customer_submit_review(actor=user, customer_id=c.pk, reason="提交")
            cs.customer_activate(actor=gm, customer_id=c.pk, reason="通过")
    load_confidential()
    pending = AccessRequest.objects.get(status=RequestStatus.PENDING)
    approved = AccessRequest.objects.get(status=RequestStatus.APPROVED)
    assert pending.requester.username == "sales1" and pending.case.state == "credit_review"
    assert approved.requester.username == "sales2" and approved.grant.is_active()
    assert approved.approved_days == 3
    load_confidential()  # once only
    assert AccessRequest.objects.count() == 2
