"""The orders part of the access matrix (R-PLT-02): role x action x scope, written out independently."""

from __future__ import annotations

import pytest

from kehu.core import access
from kehu.core.access import Scope
from kehu.core.models.org import RoleCode as R
from kehu.core.tests.factories import user_with

pytestmark = pytest.mark.django_db

A, D, S, N = Scope.ALL, Scope.DEPARTMENT, Scope.OWN, None
ROLES = [
    R.SALES_REP, R.SALES_MANAGER, R.CREDIT_OFFICER, R.CREDIT_MANAGER, R.CREDIT_COMMITTEE, R.FINANCE,
    R.QUALITY_ENGINEER, R.REVIEWER, R.ARCHIVIST, R.GENERAL_MANAGER, R.PMO, R.SYSADMIN, R.AUDITOR,
]  # fmt: skip
# fmt: off
EXPECTED = {
    #                        rep mgr co  cm  cc  fin qe  rev arc gm  pmo adm aud
    "orders.order.view":    [S, D, A, A, N, A, N, A, N, A, N, N, A],  # the review group reads (R-ORD-03)
    "orders.order.export":  [S, D, A, A, N, A, N, N, N, A, N, N, A],
    "orders.order.edit":    [S, D, N, N, N, N, N, N, N, A, N, N, N],
    "orders.order.import":  [S, D, N, N, N, N, N, N, N, N, N, N, N],
    "orders.hold.release":  [N, D, N, A, N, N, N, N, N, A, N, N, N],
    "orders.product.view":  [A, A, A, A, A, A, N, N, N, A, A, A, A],
    "orders.product.edit":  [N, A, N, N, N, N, N, N, N, A, N, A, N],
}
# fmt: on


def test_orders_matrix():
    users = {role: user_with(role, username=f"u-{role}") for role in ROLES}
    for action, scopes in EXPECTED.items():
        got = [access.scope_for(users[role], action) for role in ROLES]
        assert got == scopes, action
        assert access.describe(action) != action
