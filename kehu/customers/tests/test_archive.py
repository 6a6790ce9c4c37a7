"""The dossier's tabs: overview, the six archive categories with their registered sections, the audit trail
(R-CUS-06), and the trail showing related records by name (R-PLT-04, R-CUS-09)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kehu.customers import archive, services
from kehu.customers.archive import ArchiveCategory
from kehu.customers.tests.conftest import make
from kehu.customers.tests.test_pages import login


def page(client, c, tab: str = "") -> str:
    url = reverse("customer_detail", args=[c.pk]) + (f"?tab={tab}" if tab else "")
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_six_category_tabs_in_order(org, client):
    c = make(org["rep1"])
    login(client, org["rep1"])
    body = page(client, c)
    positions = [body.index(f'data-archive-tab="{n}"') for n in range(1, 7)]
    assert positions == sorted(positions)
    for category in ArchiveCategory:
        assert str(category.label) in body


def test_only_the_open_tab_is_rendered_and_sections_filed(org, client):
    calls: list[int] = []

    def render(request, customer):
        calls.append(customer.pk)
        return f"<p>合同 {customer.number}</p>"

    archive.register_section(ArchiveCategory.CONTRACTS, "test.contracts", "测试合同", render)
    try:
        c = make(org["rep1"])
        login(client, org["rep1"])
        assert "测试合同" not in page(client, c)
        assert calls == []
        body = page(client, c, "2")
        assert "测试合同" in body and f"合同 {c.number}" in body
        assert calls == [c.pk]
        assert "本类暂无记录" in page(client, c, "4")
    finally:
        archive.unregister_section("test.contracts")


def test_a_section_may_hide_itself_from_a_user(org, client):
    archive.register_section(
        ArchiveCategory.CREDIT,
        "test.secret",
        "保密段",
        lambda request, customer: None if request.user.has_role("sales_rep") else "<p>机密</p>",
    )
    try:
        c = make(org["rep1"])
        login(client, org["rep1"])
        assert "保密段" not in page(client, c, "3")
        client.logout()
        login(client, org["credit"])
        assert "机密" in page(client, c, "3")
    finally:
        archive.unregister_section("test.secret")


def test_unknown_category_refused_at_registration():
    with pytest.raises(ValueError):
        archive.register_section(7, "x", "x", lambda r, c: "")


def test_unknown_tab_falls_back_to_the_overview(org, client):
    c = make(org["rep1"])
    login(client, org["rep1"])
    body = page(client, c, "../../etc")
    assert "基本信息" in body


def test_exit_tab_lists_status_changes_with_reasons(org, client):
    c = make(org["rep1"])
    services.customer_submit_review(actor=org["rep1"], customer_id=c.pk, reason="资料齐全，提交审核")
    services.customer_activate(actor=org["mgr_east"], customer_id=c.pk, reason="审核通过")
    services.customer_end(
        actor=org["mgr_east"], customer_id=c.pk, reason="客户停产", ended_reason="trade_past"
    )
    login(client, org["rep1"])
    body = page(client, c, "6")
    for text in ("资料齐全，提交审核", "审核通过", "客户停产", "交易过去"):
        assert text in body
    assert body.index("资料齐全") < body.index("客户停产")


def test_history_tab_only_for_those_who_may_see_it(org, client):
    c = make(org["rep1"])
    login(client, org["rep3"])
    services.customer_set_staff(actor=org["rep1"], customer_id=c.pk, staff=[org["rep1"], org["rep3"]])
    body = page(client, c)
    assert "?tab=history" not in body
    assert "变更历史" not in page(client, c, "history")


def test_history_shows_the_owner_by_name_not_by_id(org, client):
    c = make(org["rep1"])
    services.customer_update(
        actor=org["mgr_east"], customer_id=c.pk, owner=org["rep3"], source_note="调整分工"
    )
    login(client, org["mgr_east"])
    body = page(client, c, "history")
    assert org["rep3"].label in body
    assert f"→ {org['rep3'].pk}<" not in body


def test_overview_query_count_is_bounded(org, client, django_assert_max_num_queries):
    c = make(org["rep1"])
    for i in range(5):
        services.contact_add(actor=org["rep1"], customer_id=c.pk, name=f"联系人{i}", mobile="13800138000")
    login(client, org["rep1"])
    with django_assert_max_num_queries(25):
        page(client, c)


def test_staff_page_for_the_owner_only(org, client):
    c = make(org["rep1"], customer_class="important", staff=[org["rep1"], org["rep3"]])
    url = reverse("customer_staff", args=[c.pk])
    login(client, org["rep3"])  # assigned staff: reads the dossier, may not change its staff
    assert client.get(url).status_code == 403
    client.logout()
    login(client, org["rep2"])  # another department's rep: the customer does not exist for them
    assert client.get(url).status_code == 404
    client.logout()
    login(client, org["rep1"])
    body = client.get(url).content.decode()
    assert "调整跟进人员" in body
    # the staffing rule (R-CUS-03) refuses one person for an important customer, shown on the form
    r = client.post(url, {"staff": [org["rep1"].pk], "reason": "调整"})
    assert r.status_code == 200 and "is-invalid" in r.content.decode()
    assert set(c.staff.values_list("username", flat=True)) == {"rep1", "rep3"}


def test_modules_add_list_columns_in_the_same_query(org, client, django_assert_max_num_queries):
    """R-CUS-08: columns other modules own (credit limit, grade) join the list's one query and its export."""
    from django.db.models import Value

    from kehu.core.listing import Column
    from kehu.customers.columns import register_list_column, unregister_list_column

    register_list_column(
        "test.limit",
        25,
        lambda: Column("test_limit", "测试额度", value=lambda c: c.test_limit),
        annotate=lambda qs: qs.annotate(test_limit=Value("¥500,000")),
    )
    try:
        for i in range(3):
            make(org["rep1"], name=f"上海第{i}精密机械有限公司", confirm_duplicates=True)
        login(client, org["rep1"])
        client.get(reverse("customer_list"))
        with django_assert_max_num_queries(12):
            body = client.get(reverse("customer_list")).content.decode()
        assert body.count("¥500,000") == 3
        # placed after the name (20) and before the class (30)
        head = body[body.index("<thead") : body.index("</thead>")]
        assert head.index("客户名称") < head.index("测试额度") < head.index("类别")
        export = client.get(reverse("customer_list") + "?export=xlsx")
        assert export.status_code == 200
    finally:
        unregister_list_column("test.limit")
