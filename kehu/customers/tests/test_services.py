"""Master data validation, duplicates, lifecycle, staff, change history (R-CUS-01..03, 07, 09, 11, 14)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry
from kehu.core.uscc import uscc_check_char
from kehu.customers import names, selectors, services
from kehu.customers.models import CustomerChange
from kehu.customers.tests.conftest import code, make

pytestmark = pytest.mark.django_db


def test_credit_code_with_wrong_check_char_is_refused_naming_expected(org):
    good = code()
    expected = good[17]
    wrong = good[:17] + ("0" if expected != "0" else "1")
    with pytest.raises(ValidationFailed) as exc:
        make(org["rep1"], credit_code=wrong)
    assert exc.value.field == "credit_code" and exc.value.rule == "check_char"
    assert f"“{expected}”" in str(exc.value.message)
    assert uscc_check_char(good[:17]) == expected
    with pytest.raises(ValidationFailed) as exc:
        make(org["rep1"], credit_code="91310115MA1K3XYZ0")
    assert exc.value.rule == "length"
    # lower case input is normalised and accepted
    c = make(org["rep1"], credit_code=good.lower())
    assert c.credit_code == good and c.number.startswith("KH-")


def test_organisation_needs_a_code_person_does_not(org):
    with pytest.raises(ValidationFailed) as exc:
        make(org["rep1"], credit_code="")
    assert exc.value.rule == "required"
    c = make(org["rep1"], name="王小明", credit_code="", is_person=True)
    assert c.credit_code == ""


@pytest.mark.parametrize(
    ("field", "value", "rule"),
    [
        ("phone", "12345", "phone_format"),
        ("phone", "021-1234", "phone_format"),
        ("fax", "abc", "phone_format"),
        ("postcode", "20012", "postcode_format"),
        ("postcode", "9000000", "postcode_format"),
        ("postcode", "a00120", "postcode_format"),
        ("registered_capital", "-5", "range"),
        ("registered_capital", "abc", "decimal"),
        ("capital_currency", "XXX", "choices"),
        ("customer_class", "vip", "choices"),
        ("website", "not a url", "url"),
        ("tax_number", "123", "tax_number_format"),
    ],
)
def test_bad_master_data_is_refused_with_field_and_rule(org, field, value, rule):
    with pytest.raises(ValidationFailed) as exc:
        make(org["rep1"], **{field: value})
    assert exc.value.field == field and exc.value.rule == rule


def test_good_phone_postcode_and_capital_are_stored(org):
    c = make(
        org["rep1"],
        phone="021-58881234",
        fax="0755 2345678",
        postcode="200120",
        registered_capital="5000000",
        capital_currency="USD",
    )
    assert c.phone == "021-58881234" and c.fax == "07552345678" and c.postcode == "200120"
    assert c.registered_capital == Decimal("5000000.00") and c.capital_currency == "USD"
    for good in ("13812345678", "+86 139 1234 5678", "010-82345678", "0571-8765432-12", "400-820-8820"):
        assert names.is_phone(good), good
    for bad in ("1381234567", "02112345678x", "12812345678"):
        assert not names.is_phone(bad), bad


def test_contact_mobile_and_email_validated(org):
    c = make(org["rep1"])
    with pytest.raises(ValidationFailed) as exc:
        services.contact_add(actor=org["rep1"], customer_id=c.pk, name="李四", mobile="1234567")
    assert exc.value.field == "mobile" and exc.value.rule == "mobile_format"
    with pytest.raises(ValidationFailed) as exc:
        services.contact_add(actor=org["rep1"], customer_id=c.pk, name="李四", email="x@")
    assert exc.value.field == "email"
    with pytest.raises(ValidationFailed) as exc:
        services.contact_add(actor=org["rep1"], customer_id=c.pk, name="李四")
    assert exc.value.rule == "required"
    p = services.contact_add(
        actor=org["rep1"],
        customer_id=c.pk,
        name="李四",
        role="purchaser",
        mobile="13912345678",
        is_signer=True,
    )
    assert (
        p.is_signer and AuditEntry.objects.filter(object_type="customers.contact", action="create").exists()
    )
    p = services.contact_update(actor=org["rep1"], customer_id=c.pk, contact_id=p.pk, title="采购经理")
    assert p.title == "采购经理"


def test_name_key_of_tricky_names():
    a = names.name_key("上海华信精密机械有限公司")
    assert a == "华信精密机械"
    assert names.name_key("华信精密机械（上海）有限公司") == a
    assert names.name_key("华信精密机械(上海)有限责任公司") == a
    assert names.name_key("上海华信精密机械股份有限公司") == a
    assert names.name_key("上海市 华信精密机械集团有限公司") == a
    assert names.name_key("华信精密机械（上海）有限公司") != names.name_key("华信精工科技有限公司")


def test_duplicates_flagged_and_confirmed(org):
    first = make(org["rep1"], name="上海华信精密机械有限公司")
    for tricky in (
        "华信精密机械（上海）有限公司",
        "上海华信精密机械股份有限公司",
        "华信精密机械 (上海) 有限公司",
    ):
        with pytest.raises(services.DuplicateCandidates) as exc:
            make(org["rep2"], name=tricky)
        assert exc.value.status == 409 and exc.value.rule == "near_duplicate"
        assert [c.id for c in exc.value.candidates] == [first.pk]
        assert exc.value.as_dict()["detail"]["candidates"][0]["number"] == first.number
    # the user confirms: created, and the confirmation is in the audit reason
    second = make(org["rep2"], name="华信精密机械（上海）有限公司", confirm_duplicates=True)
    entry = AuditEntry.objects.get(
        object_type="customers.customer", object_id=str(second.pk), action="create"
    )
    assert "上海华信精密机械有限公司" in entry.reason
    # an unrelated name passes
    make(org["rep2"], name="深圳华为技术有限公司")


def test_same_credit_code_always_refused(org):
    first = make(org["rep1"])
    with pytest.raises(services.DuplicateCandidates) as exc:
        make(
            org["rep2"], name="完全不同的名称有限公司", credit_code=first.credit_code, confirm_duplicates=True
        )
    assert exc.value.exact and exc.value.rule == "credit_code_unique" and exc.value.field == "credit_code"
    other = make(org["rep1"], name="另一家公司有限公司")
    with pytest.raises(services.DuplicateCandidates):
        services.customer_update(actor=org["rep1"], customer_id=other.pk, credit_code=first.credit_code)


def test_lifecycle_allowed_and_refused_transitions_are_audited(org):
    rep, mgr = org["rep1"], org["mgr_east"]
    c = make(rep)
    assert c.status == "prospect"
    with pytest.raises(Conflict):
        services.customer_activate(actor=mgr, customer_id=c.pk, reason="跳过审核")
    with pytest.raises(ValidationFailed) as exc:
        services.customer_submit_review(actor=rep, customer_id=c.pk, reason=" ")
    assert exc.value.field == "reason"
    services.customer_submit_review(actor=rep, customer_id=c.pk, reason="资料齐全")
    with pytest.raises(PermissionDenied):  # a rep cannot activate
        services.customer_activate(actor=rep, customer_id=c.pk, reason="自己批")
    services.customer_activate(actor=mgr, customer_id=c.pk, reason="审核通过")
    services.customer_suspend(actor=mgr, customer_id=c.pk, reason="信用恶化")
    services.customer_reactivate(actor=mgr, customer_id=c.pk, reason="已还款")
    with pytest.raises(ValidationFailed) as exc:
        services.customer_end(actor=mgr, customer_id=c.pk, reason="停止合作", ended_reason="other")
    assert exc.value.field == "ended_reason"
    c = services.customer_end(actor=mgr, customer_id=c.pk, reason="停止合作", ended_reason="trade_past")
    assert c.status == "ended" and c.ended_reason == "trade_past"
    with pytest.raises(Conflict):
        services.customer_suspend(actor=mgr, customer_id=c.pk, reason="再次暂停")
    trail = list(
        AuditEntry.objects.filter(object_type="customers.customer", object_id=str(c.pk), action="transition")
        .order_by("seq")
        .values_list("changes", "reason")
    )
    assert [t[0]["status"][1] for t in trail] == ["review", "active", "suspended", "active", "ended"]
    assert trail[-1] == ({"status": ["active", "ended"], "ended_reason": ["", "trade_past"]}, "停止合作")
    # a manager of another department cannot act on it (404: outside scope)
    c2 = make(org["rep2"], name="广州某某贸易有限公司")
    services.customer_submit_review(actor=org["rep2"], customer_id=c2.pk, reason="提交")
    with pytest.raises(NotFound):
        services.customer_activate(actor=mgr, customer_id=c2.pk, reason="不是我的部门")


def test_ended_customer_leaves_list_but_dossier_opens(org):
    c = make(org["rep1"])
    other = make(org["rep1"], name="苏州另一家机械有限公司")
    services.customer_end(
        actor=org["gm"], customer_id=c.pk, reason="客户注销", ended_reason="trade_suspended"
    )
    ids = set(selectors.customer_list(actor=org["rep1"]).values_list("pk", flat=True))
    assert ids == {other.pk}
    assert selectors.customer_get(actor=org["rep1"], pk=c.pk).status == "ended"
    assert [x.pk for x in selectors.customer_list(actor=org["rep1"], filters={"status": "ended"})] == [c.pk]


def test_important_customers_need_two_staff(org):
    rep = org["rep1"]
    with pytest.raises(ValidationFailed) as exc:
        make(rep, customer_class="important")
    assert exc.value.field == "staff" and exc.value.rule == "min_staff"
    c = make(rep, customer_class="core", staff=[org["rep3"]])
    assert set(c.staff.values_list("username", flat=True)) == {"rep1", "rep3"}
    with pytest.raises(ValidationFailed):
        services.customer_set_staff(actor=rep, customer_id=c.pk, staff=[])
    general = make(rep, name="杭州一般客户有限公司")
    with pytest.raises(ValidationFailed):
        services.customer_update(actor=rep, customer_id=general.pk, customer_class="important")
    services.customer_set_staff(actor=rep, customer_id=general.pk, staff=[org["rep3"]])
    assert services.customer_update(
        actor=rep, customer_id=general.pk, customer_class="important"
    ).is_important


def test_significant_changes_recorded_with_source_and_former_names_searchable(org):
    rep, mgr = org["rep1"], org["mgr_east"]
    c = make(rep, name="上海老名字机械有限公司", legal_representative="张三", registered_capital="1000000")
    services.customer_update(
        actor=rep,
        customer_id=c.pk,
        name="上海新名字科技股份有限公司",
        legal_representative="李四",
        registered_capital="2000000",
        registered_address="上海市浦东新区世纪大道1号",
        source="licence",
        source_note="换发营业执照",
        changed_on=dt.date(2026, 3, 1),
    )
    services.customer_update(actor=mgr, customer_id=c.pk, owner=org["rep3"], source="handover")
    rows = {ch.field: ch for ch in CustomerChange.objects.filter(customer=c)}
    assert set(rows) == {"name", "legal_representative", "registered_capital", "address", "owner"}
    assert rows["name"].old == "上海老名字机械有限公司" and rows["name"].source == "licence"
    assert rows["name"].changed_on == dt.date(2026, 3, 1)
    assert rows["registered_capital"].new == "2000000.00 CNY"
    assert rows["owner"].source == "handover"
    c.refresh_from_db()
    assert c.owner == org["rep3"] and c.name_initials.startswith("shxmz")
    # the former name and the pinyin initials find it
    gm = org["gm"]
    assert [x.pk for x in selectors.customer_list(actor=gm, filters={"q": "老名字"})] == [c.pk]
    assert [x.pk for x in selectors.customer_list(actor=gm, filters={"q": "xmzkj"})] == [c.pk]
    # a rep cannot change the owner
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=org["rep3"], customer_id=c.pk, owner=rep)


def test_contacts_searchable(org):
    c = make(org["rep1"])
    services.contact_add(actor=org["rep1"], customer_id=c.pk, name="欧阳锋", mobile="13700001111")
    assert [x.pk for x in selectors.customer_list(actor=org["gm"], filters={"q": "欧阳"})] == [c.pk]
    assert [x.pk for x in selectors.customer_list(actor=org["gm"], filters={"q": "13700001111"})] == [c.pk]


def test_scope_rep_own_manager_department_others_all(org):
    mine = make(org["rep1"])
    theirs = make(org["rep2"], name="广州某某贸易有限公司")
    shared = make(org["rep2"], name="深圳共享客户有限公司", staff=[org["rep1"]])
    assert set(selectors.customer_list(actor=org["rep1"]).values_list("pk", flat=True)) == {
        mine.pk,
        shared.pk,
    }
    with pytest.raises(NotFound):
        selectors.customer_get(actor=org["rep1"], pk=theirs.pk)
    assert set(selectors.customer_list(actor=org["mgr_east"]).values_list("pk", flat=True)) == {mine.pk}
    for reader in ("gm", "credit", "auditor"):
        assert selectors.customer_list(actor=org[reader]).count() == 3
    # listed staff may read but only the owner edits
    with pytest.raises(PermissionDenied):
        services.customer_update(actor=org["rep1"], customer_id=shared.pk, notes="x")
    with pytest.raises(PermissionDenied):  # read-only roles do not edit
        services.customer_update(actor=org["credit"], customer_id=mine.pk, notes="x")
    with pytest.raises(PermissionDenied):  # a rep creates customers only for themself
        make(org["rep1"], name="代建客户有限公司", owner=org["rep2"])


def test_return_to_prospect_and_region_scope_for_manager(org):
    from kehu.core.tests.factories import DepartmentFactory, user_with

    other_dept = DepartmentFactory(code="X1", name="大客户部", kind="sales")
    # a manager outside the department but in the same region sees (and acts on) the region's customers
    regional = user_with("sales_manager", username="mgr_region", department=other_dept, region=org["r_east"])
    c = make(org["rep1"])
    services.customer_submit_review(actor=org["rep1"], customer_id=c.pk, reason="提交")
    c = services.customer_transition(actor=regional, customer_id=c.pk, action="return", reason="缺营业执照")
    assert c.status == "prospect"
    assert [x.pk for x in selectors.customer_list(actor=regional)] == [c.pk]
    with pytest.raises(ValidationFailed):
        services.customer_transition(actor=regional, customer_id=c.pk, action="destroy", reason="x")


def test_allowed_actions_follow_role_and_state(org):
    c = make(org["rep1"])
    assert services.allowed_actions(org["rep1"], c) == ["submit_review"]
    assert services.allowed_actions(org["rep3"], c) == []
    assert set(services.allowed_actions(org["mgr_east"], c)) == {"submit_review", "end"}
    assert services.allowed_actions(org["auditor"], c) == []


def test_near_identical_threshold_is_the_policy_in_force(org):
    """R-CUS-11: how near a name must be to be flagged is a policy value, not a constant."""
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import policy_get

    make(org["rep1"], name="上海华信精密机械有限公司")
    near = "上海华信精密机械件有限公司"  # one character more: 92% similar after normalising
    assert [c.reason for c in services.duplicate_candidates(name=near)] == ["name"]
    policy_get("customers.duplicates")  # version 1 (the default, 90) exists
    PolicyVersion.objects.create(
        type_key="customers.duplicates",
        number=2,
        status="formal",
        effective_from=dt.date(2020, 1, 1),
        values={"name_similarity": 99},
    )
    assert services.duplicate_candidates(name=near) == []  # stricter policy: no longer flagged
    make(org["rep2"], name=near)  # and it can be created without confirmation


def test_name_prefilter_covers_every_key_within_the_threshold():
    from rapidfuzz import fuzz

    key = names.name_key("上海华信精密机械有限公司")
    for threshold in (85, 90, 95):
        pieces = names.key_windows(key, threshold)
        assert pieces and all(len(p) == 2 for p in pieces)
        # a key one insertion away (similar enough at every threshold here) still contains a piece
        other = key[:3] + "新" + key[3:]
        if fuzz.ratio(key, other) >= threshold:
            assert any(p in other for p in pieces)
    assert names.key_windows("华信精", 85) is None  # too short for disjoint pieces: no prefilter
