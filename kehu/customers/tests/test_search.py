"""Customer search over one maintained text column (R-CUS-13): names, former names, pinyin initials, codes,
addresses and contacts, kept equal to a rebuild after every kind of change."""

from __future__ import annotations

import pytest

from kehu.customers import search, selectors, services
from kehu.customers.models import Customer
from kehu.customers.tests.conftest import make


def found(actor, text: str) -> set[str]:
    return set(selectors.customer_list(actor=actor, filters={"q": text}).values_list("name", flat=True))


def assert_consistent() -> None:
    for c in Customer.objects.all():
        assert c.search_text == search.search_document(c), c.name


@pytest.fixture
def three(org):
    rep = org["rep1"]
    a = make(rep, "上海华信精密机械有限公司", registered_address="上海市浦东新区科技路88号")
    b = make(rep, "苏州恒泰模具股份有限公司")
    c = make(rep, "杭州（滨江）远宏电子科技有限公司")
    services.contact_add(
        actor=rep, customer_id=b.pk, name="欧阳建国", mobile="13912345678", email="Oy@Example.com"
    )
    return a, b, c


def test_each_kind_of_text_is_found(org, three):
    a, b, c = three
    rep = org["rep1"]
    assert found(rep, "华信") == {a.name}
    assert found(rep, "HXJM") == {a.name}  # pinyin initials, any case
    assert found(rep, a.number) == {a.name}
    assert found(rep, a.credit_code) == {a.name}
    assert found(rep, "科技路88") == {a.name}
    assert found(rep, "欧阳") == {b.name}
    assert found(rep, "13912345678") == {b.name}
    assert found(rep, "oy@example") == {b.name}
    assert found(rep, "杭州(滨江)远宏") == {c.name}  # half-width brackets find the full-width name
    assert found(rep, "无此客户") == set()
    assert_consistent()


def test_rename_keeps_the_former_name_searchable(org, three):
    a, _b, _c = three
    services.customer_update(actor=org["rep1"], customer_id=a.pk, name="上海华信智能装备有限公司")
    assert found(org["rep1"], "精密机械") == {"上海华信智能装备有限公司"}
    assert found(org["rep1"], "智能装备") == {"上海华信智能装备有限公司"}
    assert_consistent()


def test_contact_changes_are_followed(org, three):
    _a, b, _c = three
    contact = b.contacts.get()
    services.contact_update(actor=org["rep1"], customer_id=b.pk, contact_id=contact.pk, name="司马光")
    assert found(org["rep1"], "欧阳") == set()
    assert found(org["rep1"], "司马光") == {b.name}
    services.contact_update(actor=org["rep1"], customer_id=b.pk, contact_id=contact.pk, active=False)
    assert found(org["rep1"], "司马光") == set()
    assert_consistent()


def test_search_respects_the_scope(org, three):
    make(org["rep2"], "上海华信精密仪器有限公司")
    assert found(org["rep1"], "华信") == {"上海华信精密机械有限公司"}
    assert found(org["rep2"], "华信") == {"上海华信精密仪器有限公司"}


def test_search_is_one_query(org, three, django_assert_num_queries):
    list(selectors.customer_list(actor=org["gm"], filters={}))  # the user's roles are read once, then cached
    with django_assert_num_queries(1):
        list(selectors.customer_list(actor=org["gm"], filters={"q": "华信"}))
