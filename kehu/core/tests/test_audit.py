"""The audit trail (R-PLT-04): hash chain, tamper detection, the append-only trigger, atomicity, confidential
reads, the pages, the API and the command."""

from __future__ import annotations

import datetime as dt
import io
from contextlib import contextmanager

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone
from python_calamine import CalamineWorkbook

from kehu.core import audit
from kehu.core.errors import ValidationFailed
from kehu.core.models import AuditEntry, AuditHead, User
from kehu.core.models.org import RoleCode
from kehu.core.tests.factories import UserFactory, user_with

pytestmark = pytest.mark.django_db

COLUMNS = (
    "seq, timestamp, actor_id, actor_label, acting_for_id, action, object_type, object_id, object_repr, changes, "
    "reason, policy_version, confidential, ip, prev_hash, hash"
)


@contextmanager
def tampering():
    """Raw SQL on the trail; on PostgreSQL the append-only trigger is disabled for the duration."""
    pg = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if pg:
            cursor.execute("ALTER TABLE core_auditentry DISABLE TRIGGER USER")
        try:
            yield cursor
        finally:
            if pg:
                cursor.execute("ALTER TABLE core_auditentry ENABLE TRIGGER USER")


def _write(n: int, actor: User | None = None) -> list[AuditEntry]:
    actor = actor or UserFactory()
    out = []
    for i in range(n):
        out.append(
            audit.record(
                actor=actor,
                action="update",
                obj=actor,
                changes={"display_name": [f"旧{i}", f"新{i}"], "amount": [dt.date(2026, 1, 1), i * 1.5]},
                reason=f"原因{i}",
                policy_version="2026.1" if i % 2 else None,
            )
        )
    return out


def _last_seq() -> int:
    return AuditEntry.objects.order_by("-seq").values_list("seq", flat=True)[0]


# --- the chain ---------------------------------------------------------------------------------------------------


def test_chain_intact_after_many_writes():
    before = AuditHead.objects.get(pk=1).seq
    entries = _write(60)
    assert [e.seq for e in entries] == list(range(before + 1, before + 61))
    assert all(entries[i].prev_hash == entries[i - 1].hash for i in range(1, 60))
    result = audit.verify(chunk=7)  # several chunks
    assert result.ok, result.problem
    assert result.checked == _last_seq()
    head = AuditHead.objects.get(pk=1)
    assert (head.seq, head.hash) == (entries[-1].seq, entries[-1].hash)


def test_entry_fields_and_changed_fields_only():
    actor, boss = UserFactory(), UserFactory()
    before = audit.snapshot(actor, ["display_name", "email", "department"])
    actor.display_name = "改名"
    actor.save()
    changes = audit.diff(before, audit.snapshot(actor, ["display_name", "email", "department"]))
    token = audit.current_acting_for.set(boss)
    try:
        e = audit.record(
            actor=actor, action="update", obj=actor, changes=changes, reason="更正", policy_version=3
        )
    finally:
        audit.current_acting_for.reset(token)
    e.refresh_from_db()
    assert set(e.changes) == {"display_name"}
    assert e.changes["display_name"][1] == "改名"
    assert (e.actor_id, e.acting_for_id, e.reason, e.policy_version) == (actor.pk, boss.pk, "更正", "3")
    assert (e.object_type, e.object_id) == ("core.user", str(actor.pk))
    assert timezone.is_aware(e.timestamp)
    assert audit.verify().ok


def test_verify_detects_altered_row():
    entries = _write(5)
    target = entries[2]
    with tampering() as cursor:
        cursor.execute("UPDATE core_auditentry SET reason = %s WHERE seq = %s", ["篡改", target.seq])
    result = audit.verify()
    assert not result.ok
    assert result.bad_seq == target.seq
    assert result.checked == target.seq - 1
    assert f"{target.seq}" in result.problem


def test_verify_detects_altered_timestamp_and_changes():
    entries = _write(4)
    with tampering() as cursor:
        cursor.execute(
            "UPDATE core_auditentry SET timestamp = %s WHERE seq = %s",
            [entries[1].timestamp + dt.timedelta(seconds=1), entries[1].seq],
        )
    assert audit.verify().bad_seq == entries[1].seq


def test_verify_detects_deleted_row_in_the_middle():
    entries = _write(5)
    with tampering() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq = %s", [entries[2].seq])
    result = audit.verify()
    assert not result.ok
    assert result.bad_seq == entries[2].seq


def test_verify_detects_deleted_tail_row():
    entries = _write(5)
    with tampering() as cursor:
        cursor.execute("DELETE FROM core_auditentry WHERE seq = %s", [entries[-1].seq])
    result = audit.verify()
    assert not result.ok
    assert result.bad_seq == entries[-1].seq
    assert result.checked == entries[-1].seq - 1


def test_verify_detects_row_inserted_out_of_order_with_forged_link():
    entries = _write(3)
    last = entries[-1]
    with tampering() as cursor:
        cursor.execute(
            f"INSERT INTO core_auditentry ({COLUMNS}) SELECT seq + 1, timestamp, actor_id, actor_label, "
            "acting_for_id, action, object_type, object_id, 'forged', changes, reason, policy_version, confidential, "
            "ip, %s, hash FROM core_auditentry WHERE seq = %s",
            ["f" * 64, last.seq],
        )
    result = audit.verify()
    assert not result.ok
    assert result.bad_seq == last.seq + 1


def test_verify_detects_well_formed_row_appended_behind_the_head():
    """A row with a correct link and a correctly computed hash is still caught: the head does not know it."""
    entries = _write(3)
    last = entries[-1]
    forged = AuditEntry(
        seq=last.seq + 1, timestamp=last.timestamp, actor_id=last.actor_id, action="update",
        object_type=last.object_type, object_id=last.object_id, object_repr="forged", changes={},
        prev_hash=last.hash,
    )  # fmt: skip
    forged_hash = audit._entry_hash(forged)
    with tampering() as cursor:
        cursor.execute(
            f"INSERT INTO core_auditentry ({COLUMNS}) SELECT seq + 1, timestamp, actor_id, actor_label, "
            "acting_for_id, action, object_type, object_id, 'forged', %s, '', '', confidential, ip, hash, %s "
            "FROM core_auditentry WHERE seq = %s",
            ["{}", forged_hash, last.seq],
        )
    result = audit.verify()
    assert not result.ok
    assert result.bad_seq == last.seq + 1


def test_verify_detects_row_inserted_with_a_gap():
    entries = _write(3)
    with tampering() as cursor:
        cursor.execute(
            f"INSERT INTO core_auditentry ({COLUMNS}) SELECT seq + 5, timestamp, actor_id, actor_label, "
            "acting_for_id, action, object_type, object_id, object_repr, changes, reason, policy_version, "
            "confidential, ip, hash, hash FROM core_auditentry WHERE seq = %s",
            [entries[-1].seq],
        )
    result = audit.verify()
    assert not result.ok
    assert result.bad_seq == entries[-1].seq + 1


# --- the command -------------------------------------------------------------------------------------------------


def test_command_exit_codes_and_the_line_naming_the_entry():
    entries = _write(4)
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)  # no SystemExit: exit 0
    assert "OK" in out.getvalue() and str(_last_seq()) in out.getvalue()

    with tampering() as cursor:
        cursor.execute("UPDATE core_auditentry SET object_repr = 'x' WHERE seq = %s", [entries[1].seq])
    err = io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("audit", "verify", stdout=io.StringIO(), stderr=err)
    assert exc.value.code == 1
    lines = [line for line in err.getvalue().splitlines() if line.strip()]
    assert len(lines) == 1
    assert f"#{entries[1].seq}" in lines[0]


def test_command_tail():
    _write(3)
    out = io.StringIO()
    call_command("audit", "tail", "-n", "2", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert len(lines) == 2
    assert lines[-1].startswith(f"#{_last_seq()}")


# --- PostgreSQL: the append-only trigger ------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE core_auditentry SET reason = 'x'", "DELETE FROM core_auditentry", "TRUNCATE core_auditentry"],
)
def test_postgres_trigger_refuses_update_delete_truncate(sql):
    _write(2)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET LOCAL kehu.allow_audit_truncate = off")  # as every production session
        cursor.execute(sql)
    assert audit.verify().ok


@pytest.mark.postgres
def test_postgres_orm_update_refused_and_chain_stays_intact():
    entries = _write(2)
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=entries[0].seq).update(reason="x")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(seq=entries[0].seq).delete()
    assert audit.verify().ok


# --- atomicity and confidential reads ---------------------------------------------------------------------------


@transaction.atomic
def _failing_service(actor: User) -> None:
    actor.display_name = "不会保存"
    actor.save()
    audit.record(actor=actor, action="update", obj=actor, changes={"display_name": ["a", "不会保存"]})
    raise ValidationFailed("校验失败", field="display_name", rule="test")


def test_entry_rolls_back_with_a_failed_service():
    actor = UserFactory(display_name="原名")
    head = AuditHead.objects.get(pk=1)
    count = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed):
        _failing_service(actor)
    assert AuditEntry.objects.count() == count
    assert AuditHead.objects.get(pk=1).hash == head.hash
    actor.refresh_from_db()
    assert actor.display_name == "原名"
    assert audit.verify().ok
    # the next write continues the chain where it was
    e = audit.record(actor=actor, action="update", obj=actor)
    assert e.seq == head.seq + 1 and e.prev_hash == head.hash


def test_record_read_logs_a_confidential_entry():
    reader, secret = UserFactory(), UserFactory()
    e = audit.record_read(reader, secret, channel="page")
    assert e.confidential and e.action == "read"
    assert e.changes == {"channel": "page"}
    d = audit.record_read(reader, secret, channel="download", detail="contract.pdf")
    assert d.action == "download" and d.confidential
    assert [x.seq for x in audit.history(secret)[:2]] == [d.seq, e.seq]
    assert audit.verify().ok


# --- pages and API: access --------------------------------------------------------------------------------------


PAGES = ["/audit/", "/audit/verify/"]


@pytest.mark.parametrize("role", [RoleCode.SALES_REP, RoleCode.FINANCE, RoleCode.CREDIT_OFFICER])
def test_roles_without_audit_view_get_403(client, role):
    user = user_with(role)
    entries = _write(1, actor=user)
    client.force_login(user)
    for url in [*PAGES, f"/audit/entry/{entries[0].seq}/", f"/audit/object/core.user/{user.pk}/"]:
        assert client.get(url).status_code == 403, url
    assert client.get("/api/v1/audit/entries").status_code == 403
    assert client.get(f"/api/v1/audit/entries/{entries[0].seq}").status_code == 403
    assert client.post("/api/v1/audit/verify").status_code == 403


def test_auditor_sees_every_page_and_api(client):
    auditor = user_with(RoleCode.AUDITOR)
    entries = _write(3, actor=auditor)
    client.force_login(auditor)
    e = entries[1]
    for url in [*PAGES, f"/audit/entry/{e.seq}/", f"/audit/object/core.user/{auditor.pk}/"]:
        response = client.get(url)
        assert response.status_code == 200, url
    body = client.get(f"/audit/entry/{e.seq}/").content.decode()
    assert e.hash in body and e.prev_hash in body and "旧1" in body and "新1" in body
    assert client.get("/audit/entry/999999/").status_code == 404

    data = client.get("/api/v1/audit/entries", {"page_size": 2}).json()
    assert data["count"] == AuditEntry.objects.count() and len(data["items"]) == 2
    assert data["items"][0]["seq"] == _last_seq()
    one = client.get(f"/api/v1/audit/entries/{e.seq}").json()
    assert one["hash"] == e.hash and one["prev_hash"] == e.prev_hash
    assert one["change_rows"][0]["is_change"] is True
    assert client.get("/api/v1/audit/entries/999999").status_code == 404
    verified = client.post("/api/v1/audit/verify").json()
    assert verified["ok"] is True and verified["checked"] >= 3 and verified["bad_seq"] is None


def test_pmo_views_but_may_not_export_or_verify(client):
    pmo = user_with(RoleCode.PMO)
    _write(2, actor=pmo)
    client.force_login(pmo)
    assert client.get("/audit/").status_code == 200
    assert client.get("/audit/", {"export": "xlsx"}).status_code == 403
    assert client.get("/audit/verify/").status_code == 403
    assert client.post("/api/v1/audit/verify").status_code == 403


# --- verify page -------------------------------------------------------------------------------------------------


def test_verify_page_runs_and_shows_result(client):
    admin = user_with(RoleCode.SYSADMIN)
    entries = _write(3, actor=admin)
    client.force_login(admin)
    assert "尚未校验过" in client.get("/audit/verify/").content.decode()
    response = client.post("/audit/verify/", follow=True)
    body = response.content.decode()
    assert "审计链完整" in body
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.action == "verify" and last.actor_id == admin.pk and last.changes["ok"] is True

    with tampering() as cursor:
        cursor.execute("UPDATE core_auditentry SET reason = 'x' WHERE seq = %s", [entries[1].seq])
    body = client.post("/audit/verify/", follow=True).content.decode()
    assert "审计链校验未通过" in body
    assert f'href="/audit/entry/{entries[1].seq}/"' in body
    result = AuditEntry.objects.order_by("-seq").first().changes
    assert result["bad_seq"] == entries[1].seq and result["checked"] == entries[1].seq - 1


# --- search, export, query count --------------------------------------------------------------------------------


@pytest.fixture
def trail():
    alice = UserFactory(username="alice")
    bob = UserFactory(username="bob")
    rows = []
    for i in range(6):
        rows.append(
            audit.record(actor=alice, action="update", obj=bob, changes={"email": [f"a{i}", f"b{i}"]})
        )
    for _i in range(4):
        rows.append(audit.record(actor=bob, action="create", obj=alice, reason="新建客户档案"))
    rows.append(audit.record_read(bob, alice))
    return {"alice": alice, "bob": bob, "rows": rows}


def _export(client, params):
    response = client.get("/audit/", {**params, "export": "xlsx"})
    assert response.status_code == 200
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    return sheet[0], [int(r[0]) for r in sheet[1:]]


def test_search_filters_and_export_return_exactly_the_filtered_rows(client, trail):
    auditor = user_with(RoleCode.AUDITOR)
    client.force_login(auditor)
    alice, bob = trail["alice"], trail["bob"]
    by_alice = sorted((e.seq for e in trail["rows"] if e.actor_id == alice.pk), reverse=True)
    header, seqs = _export(client, {"actor": "alice"})
    assert seqs == by_alice
    assert header[0] == "序号"

    creates = sorted((e.seq for e in trail["rows"] if e.action == "create"), reverse=True)
    assert _export(client, {"action": "create", "actor": "BOB"})[1] == creates
    assert _export(client, {"q": "客户档案"})[1] == creates
    assert _export(client, {"object_type": "core.user", "object_id": str(bob.pk)})[1] == by_alice
    assert _export(client, {"action": "read"})[1] == [trail["rows"][-1].seq]
    today = timezone.localdate()
    assert _export(client, {"actor": "alice", "date_from": today, "date_to": today})[1] == by_alice
    tomorrow = today + dt.timedelta(days=1)
    assert _export(client, {"actor": "alice", "date_from": tomorrow})[1] == []
    assert _export(client, {"actor": "alice", "sort": "seq"})[1] == sorted(by_alice)

    # the page shows the same rows
    body = client.get("/audit/", {"actor": "alice", "size": 50}).content.decode()
    for seq in by_alice:
        assert f'href="/audit/entry/{seq}/"' in body
    assert f'href="/audit/entry/{creates[0]}/"' not in body

    # every export is itself on the trail
    last = AuditEntry.objects.order_by("-seq").first()
    assert last.action == "export" and last.actor_id == auditor.pk
    assert last.changes["filters"]["actor"] == "alice" and last.changes["rows"] == len(by_alice)
    assert audit.verify().ok


def test_search_rejects_bad_dates_and_keeps_input(client, trail):
    client.force_login(user_with(RoleCode.AUDITOR))
    body = client.get("/audit/", {"date_from": "2026-05-02", "date_to": "2026-05-01"}).content.decode()
    assert "结束日期不能早于开始日期" in body
    body = client.get("/audit/", {"date_from": "not-a-date"}).content.decode()
    assert "is-invalid" in body


def test_search_page_query_count_is_bounded(client, django_assert_max_num_queries):
    auditor = user_with(RoleCode.AUDITOR)
    client.force_login(auditor)
    _write(3, actor=UserFactory())
    with django_assert_max_num_queries(9):
        assert client.get("/audit/", {"size": 100}).status_code == 200
    for _ in range(5):
        other = UserFactory()
        _write(20, actor=other)
        audit.record(actor=other, action="update", obj=other, acting_for=auditor, reason="代岗")
    with django_assert_max_num_queries(9):
        response = client.get("/audit/", {"size": 100})
    assert response.status_code == 200
    assert "代 " in response.content.decode()
    with django_assert_max_num_queries(9):
        assert client.get(f"/audit/object/core.user/{other.pk}/").status_code == 200
    with django_assert_max_num_queries(7):
        assert client.get("/api/v1/audit/entries", {"page_size": 100}).status_code == 200


# --- the history card -------------------------------------------------------------------------------------------


def test_history_card_renders_newest_first_with_changes_and_acting_for():
    from django.template.loader import render_to_string

    actor, boss, subject = UserFactory(display_name="张三"), UserFactory(display_name="李四"), UserFactory()
    audit.record(actor=actor, action="create", obj=subject)
    audit.record(
        actor=actor, action="update", obj=subject, changes={"display_name": ["旧名", "新名"]},
        reason="客户更名", policy_version="P-7", acting_for=boss,
    )  # fmt: skip
    html = render_to_string("core/partials/_history.html", {"entries": audit.history(subject)})
    assert html.index("修改") < html.index("创建")  # newest first
    assert "旧名" in html and "新名" in html and "代 李四" in html and "客户更名" in html and "P-7" in html
    empty = render_to_string("core/partials/_history.html", {"entries": []})
    assert "暂无变更记录" in empty


def test_api_filters_and_bearer_token(client, trail):
    from kehu.core import tokens

    auditor = user_with(RoleCode.AUDITOR)
    _row, token = tokens.token_create(actor=auditor, name="审计对接")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    alice = trail["alice"]
    data = client.get("/api/v1/audit/entries", {"actor": "alice", "page_size": 3}, **auth).json()
    by_alice = sorted((e.seq for e in trail["rows"] if e.actor_id == alice.pk), reverse=True)
    assert data["count"] == len(by_alice)
    assert [i["seq"] for i in data["items"]] == by_alice[:3]
    assert all(i["actor"] == "alice" and i["action"] == "update" for i in data["items"])
    data = client.get("/api/v1/audit/entries", {"action": "read"}, **auth).json()
    assert [i["confidential"] for i in data["items"]] == [True]
    bad = client.get("/api/v1/audit/entries", {"date_from": "nope"}, **auth)
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert client.get("/api/v1/audit/entries").status_code == 401
    result = client.post("/api/v1/audit/verify", **auth).json()
    assert result == {"ok": True, "checked": result["checked"], "bad_seq": None, "problem": ""}


def test_entries_appended_while_verifying_are_not_reported(monkeypatch):
    _write(5)
    existing = AuditHead.objects.get(pk=1).seq
    real_rows = audit._rows

    def rows_with_a_concurrent_append(chunk, upto):
        for i, row in enumerate(real_rows(chunk, upto)):
            if i == 2:
                audit.record(actor=None, action="other", object_type="core.test", object_id="live")
            yield row

    monkeypatch.setattr(audit, "_rows", rows_with_a_concurrent_append)
    result = audit.verify(chunk=2)
    assert result.ok and result.checked == existing  # the walk stops at the head read at the start
    monkeypatch.setattr(audit, "_rows", real_rows)
    assert audit.verify().ok and audit.verify().checked == existing + 1


def test_a_missing_head_beside_entries_is_a_break_and_blocks_writing():
    _write(3)
    AuditHead.objects.all().delete()
    result = audit.verify()
    assert not result.ok and result.bad_seq == 1
    with pytest.raises(RuntimeError, match="head is missing"):
        audit.record(actor=None, action="other", object_type="core.test", object_id="x")


def test_history_rows_show_choice_labels_and_skip_empty_fields_of_a_creation():
    from kehu.core.models import Department

    dept = Department.objects.create(code="QX", name="质量部", kind="quality")
    entry = audit.record(
        actor=None,
        action="create",
        obj=dept,
        changes={"kind": [None, "quality"], "name": [None, "质量部"], "parent": [None, None]},
    )
    rows = {r["field"]: r for r in audit.change_rows(entry)}
    assert rows["kind"]["after"] == "质量部"  # the label of DepartmentKind.QUALITY, not the code
    assert "parent" not in rows  # left empty at creation: not listed


def test_registered_change_labels_turn_keys_and_codes_into_words():
    """History pages show words for the keys a module writes that are not model fields, and for their codes."""
    actor = UserFactory()
    audit.register_change_labels(
        "core.user", {"via_test": "测试方式"}, values={"via_test": {"submit": "提交"}, "codes": {"a": "甲"}}
    )
    entry = audit.record(
        actor=actor,
        action="update",
        obj=actor,
        changes={"via_test": "submit", "codes": "a,b", "other": "x", "pair": ["a", "b"]},
    )
    rows = {r["field"]: r for r in audit.change_rows(entry)}
    assert rows["via_test"]["label"] == "测试方式" and rows["via_test"]["after"] == "提交"
    assert rows["codes"]["after"] == "甲, b"  # unknown codes stay as they are
    assert rows["pair"]["is_change"] and rows["pair"]["after"] == "b"  # a two-item list is before/after
    # "tasks" is a reverse relation of the user: no verbose name of its own
    audit.register_change_labels("core.user", {"tasks": "待办数"})
    entry = audit.record(actor=actor, action="update", obj=actor, changes={"tasks": 3})
    assert audit.change_rows(entry)[0]["label"] == "待办数"
    assert rows["other"]["label"] == "other" and rows["other"]["after"] == "x"
