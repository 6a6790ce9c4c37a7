"""Attachments (R-PLT-05): storage, versions, limits, permissions, audit of confidential downloads, the check."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.core.management import call_command
from django.template.loader import render_to_string
from django.test import RequestFactory
from django.urls import reverse

from kehu.core import attachments as svc
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.models import AuditEntry, User
from kehu.core.models.attachments import Attachment, FileBlob
from kehu.core.tests.factories import PASSWORD, user_with

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.7\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def pdf(name: str = "证书.pdf", body: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, body, content_type="application/pdf")


@pytest.fixture
def admin() -> User:
    return user_with("sysadmin", username="adm")


@pytest.fixture
def reviewer() -> User:
    return user_with("reviewer", username="rev1")


@pytest.fixture
def other() -> User:
    return user_with("reviewer", username="rev2")


def add(admin: User, target: User, **kw) -> Attachment:
    kw.setdefault("upload", pdf())
    kw.setdefault("doc_type", "qualification")
    return svc.attachment_add(actor=admin, target=target, **kw)


def nothing_written(files_dir: Path) -> None:
    assert Attachment.objects.count() == 0
    assert FileBlob.objects.count() == 0
    assert list(svc.iter_blob_files()) == []
    tmp = files_dir / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


# -- storage -----------------------------------------------------------------------------------------------------


def test_upload_download_round_trip(admin, reviewer, client, settings):
    att = add(
        admin,
        reviewer,
        title="审核员证书",
        number="CCAA-001",
        issuing_authority="CCAA",
        valid_from=dt.date(2026, 1, 1),
        valid_to=dt.date(2028, 12, 31),
    )
    sha = hashlib.sha256(PDF).hexdigest()
    assert att.blob_id == sha and att.size == len(PDF) and att.version == 1 and att.current
    assert att.mime_type == "application/pdf" and att.filename == "证书.pdf"
    path = Path(settings.KEHU_FILES_DIR) / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == PDF
    assert (
        AuditEntry.objects.filter(
            object_type="core.attachment", object_id=str(att.pk), action="create"
        ).count()
        == 1
    )

    client.login(username="rev1", password=PASSWORD)
    resp = client.get(reverse("attachment_download", args=[att.pk]))
    assert resp.status_code == 200
    assert b"".join(resp.streaming_content) == PDF
    assert resp["X-Content-Type-Options"] == "nosniff"
    assert resp["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E8%AF%81%E4%B9%A6.pdf" in resp["Content-Disposition"]
    # non-confidential downloads are not audited
    assert not AuditEntry.objects.filter(action__in=["read", "download"]).exists()


def test_identical_content_is_stored_once(admin, reviewer, other):
    a = add(admin, reviewer, upload=pdf("a.pdf"))
    b = add(admin, other, upload=pdf("b.pdf"))
    assert a.blob_id == b.blob_id
    assert FileBlob.objects.count() == 1
    assert len(list(svc.iter_blob_files())) == 1


def test_replace_keeps_old_version_and_file(admin, reviewer):
    old = add(admin, reviewer, number="N-1", valid_to=dt.date(2026, 6, 30))
    body2 = b"%PDF-1.4\nrenewed\n%%EOF"
    with pytest.raises(ValidationFailed) as exc:
        svc.attachment_replace(actor=admin, attachment_id=old.pk, upload=pdf("new.pdf", body2), reason=" ")
    assert exc.value.field == "reason"
    new = svc.attachment_replace(
        actor=admin,
        attachment_id=old.pk,
        upload=pdf("new.pdf", body2),
        reason="证书换发",
        valid_to=dt.date(2029, 6, 30),
    )
    old.refresh_from_db()
    assert (new.version, new.supersedes_id, new.current) == (2, old.pk, True)
    assert old.current is False
    assert new.number == "N-1" and new.doc_type == old.doc_type  # carried over
    assert svc.blob_path(old.blob_id).read_bytes() == PDF
    assert svc.blob_path(new.blob_id).read_bytes() == body2
    entry = AuditEntry.objects.get(object_type="core.attachment", object_id=str(new.pk))
    assert entry.action == "update" and entry.reason == "证书换发"
    assert [a.pk for a in svc.attachment_list(actor=admin, target=reviewer)] == [new.pk]
    assert {a.pk for a in svc.attachment_list(actor=admin, target=reviewer, include_history=True)} == {
        old.pk,
        new.pk,
    }
    assert [v.pk for v in svc.attachment_versions(old)] == [new.pk, old.pk]
    with pytest.raises(Conflict):
        svc.attachment_replace(actor=admin, attachment_id=old.pk, upload=pdf(), reason="again")


# -- limits ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "kwargs", "field", "rule"),
    [
        (lambda: pdf("big.pdf", PDF + b"x" * 2000), {}, "file", "max_size"),
        (lambda: SimpleUploadedFile("run.exe", b"MZ\x90\x00"), {}, "file", "file_type"),
        (lambda: SimpleUploadedFile("noext", b"data"), {}, "file", "file_type"),
        (lambda: pdf("fake.pdf", b"<html>not a pdf</html>"), {}, "file", "file_content"),
        (lambda: SimpleUploadedFile("photo.png", b"\xff\xd8\xff\xe0jpeg"), {}, "file", "file_content"),
        (lambda: SimpleUploadedFile("sheet.xlsx", b"%PDF-1.4 no zip"), {}, "file", "file_content"),
        (lambda: pdf("empty.pdf", b""), {}, "file", "empty"),
        (lambda: None, {}, "file", "required"),
        (
            lambda: pdf(),
            {"valid_from": dt.date(2026, 5, 1), "valid_to": dt.date(2026, 4, 30)},
            "valid_to",
            "date_order",
        ),
        (lambda: pdf(), {"doc_type": "nonsense"}, "doc_type", "choice"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(admin, reviewer, settings, upload, kwargs, field, rule):
    settings.KEHU_UPLOAD_MAX_BYTES = 1024
    with pytest.raises(ValidationFailed) as exc:
        svc.attachment_add(
            actor=admin, target=reviewer, upload=upload(), doc_type=kwargs.pop("doc_type", "other"), **kwargs
        )
    assert (exc.value.field, exc.value.rule) == (field, rule)
    if rule == "max_size":
        assert "0.00098 MB" in str(exc.value.message)
    nothing_written(Path(settings.KEHU_FILES_DIR))
    assert not AuditEntry.objects.filter(object_type="core.attachment").exists()


def test_size_limit_message_names_megabytes(admin, reviewer, settings):
    settings.KEHU_UPLOAD_MAX_BYTES = 2 * 1024 * 1024
    with pytest.raises(ValidationFailed) as exc:
        add(admin, reviewer, upload=pdf("big.pdf", PDF + b"x" * (2 * 1024 * 1024)))
    assert "2 MB" in str(exc.value.message) and exc.value.rule == "max_size"


def test_size_checked_while_streaming_when_declared_size_lies(admin, reviewer, settings):
    settings.KEHU_UPLOAD_MAX_BYTES = 1024
    upload = pdf("big.pdf", PDF + b"x" * 5000)
    upload.size = 10  # a client-declared size is not trusted
    with pytest.raises(ValidationFailed) as exc:
        add(admin, reviewer, upload=upload)
    assert exc.value.rule == "max_size"
    nothing_written(Path(settings.KEHU_FILES_DIR))


def test_large_file_is_streamed(admin, reviewer, settings, client):
    settings.KEHU_UPLOAD_MAX_BYTES = 8 * 1024 * 1024
    body = b"%PDF-1.7\n" + bytes(range(256)) * (3 * 1024 * 4)  # 3 MB
    upload = TemporaryUploadedFile("big.pdf", "application/pdf", len(body), None)
    upload.write(body)
    upload.seek(0)
    reads: list[int] = []
    real_chunks = upload.chunks

    def chunks(chunk_size=None):
        for c in real_chunks(chunk_size):
            reads.append(len(c))
            yield c

    upload.chunks = chunks
    att = add(admin, reviewer, upload=upload)
    upload.close()
    assert att.size == len(body) and len(reads) >= 12 and max(reads) <= 256 * 1024
    assert svc.blob_path(att.blob_id).read_bytes() == body
    assert att.blob_id == hashlib.sha256(body).hexdigest()
    # and through the page, with a download of the same bytes
    client.login(username="adm", password=PASSWORD)
    url = reverse("attachment_upload", args=["core", "user", reviewer.pk])
    body2 = body + b"2"
    resp = client.post(url, {"file": pdf("big2.pdf", body2), "doc_type": "report"})
    assert resp.status_code == 302
    att2 = Attachment.objects.get(filename="big2.pdf")
    resp = client.get(reverse("attachment_download", args=[att2.pk]))
    assert b"".join(resp.streaming_content) == body2 and int(resp["Content-Length"]) == len(body2)


# -- permissions and audit ---------------------------------------------------------------------------------------


def test_upload_without_change_permission_is_403(reviewer, client):
    with pytest.raises(PermissionDenied):
        add(reviewer, reviewer)
    client.login(username="rev1", password=PASSWORD)
    url = reverse("attachment_upload", args=["core", "user", reviewer.pk])
    resp = client.post(url, {"file": pdf(), "doc_type": "other"})
    assert resp.status_code == 403
    resp = client.post(
        "/api/v1/attachments", {"file": pdf(), "doc_type": "other", "target": f"core.user:{reviewer.pk}"}
    )
    assert resp.status_code == 403
    assert Attachment.objects.count() == 0


def test_out_of_scope_is_404_on_page_and_api(admin, reviewer, other, client):
    att = add(admin, reviewer)
    with pytest.raises(NotFound):
        svc.attachment_get(actor=other, attachment_id=att.pk)
    client.login(username="rev2", password=PASSWORD)
    for url in (
        reverse("attachment_download", args=[att.pk]),
        reverse("attachment_detail", args=[att.pk]),
        reverse("attachment_replace", args=[att.pk]),
        f"/api/v1/attachments/{att.pk}",
        f"/api/v1/attachments/{att.pk}/download",
        f"/api/v1/attachments?target=core.user:{reviewer.pk}",
    ):
        assert client.get(url).status_code == 404, url
    assert client.get(reverse("attachment_download", args=[att.pk + 99])).status_code == 404


def test_confidential_download_audited_once_per_download(admin, reviewer, client):
    secret = add(admin, reviewer, confidential=True)
    plain = add(admin, reviewer, upload=pdf("plain.pdf", PDF + b"plain"))
    client.login(username="rev1", password=PASSWORD)
    before = AuditEntry.objects.count()
    for _ in range(2):
        resp = client.get(reverse("attachment_download", args=[secret.pk]))
        assert resp.status_code == 200
        b"".join(resp.streaming_content)
    resp = client.get(f"/api/v1/attachments/{secret.pk}/download")
    assert resp.status_code == 200 and b"".join(resp.streaming_content) == PDF
    assert client.get(reverse("attachment_download", args=[plain.pk])).status_code == 200
    assert client.get(f"/api/v1/attachments/{plain.pk}/download").status_code == 200
    reads = AuditEntry.objects.filter(seq__gt=before)
    assert reads.count() == 3
    assert set(reads.values_list("action", "object_id", "confidential", "actor_id")) == {
        ("download", str(secret.pk), True, reviewer.pk)
    }
    assert sorted(e.changes["detail"] for e in reads) == ["api", "page", "page"]


# -- pages -------------------------------------------------------------------------------------------------------


def test_upload_page_keeps_metadata_on_error_and_redirects_on_success(admin, reviewer, client, settings):
    client.login(username="adm", password=PASSWORD)
    url = reverse("attachment_upload", args=["core", "user", reviewer.pk])
    resp = client.post(
        url,
        {
            "file": pdf("x.pdf", b"not a pdf"),
            "doc_type": "qualification",
            "number": "ZS-7788",
            "issuing_authority": "市监局",
            "next": "/somewhere/",
        },
    )
    assert resp.status_code == 400
    html = resp.content.decode()
    assert "ZS-7788" in html and "市监局" in html and "is-invalid" in html
    assert Attachment.objects.count() == 0
    resp = client.post(
        url, {"file": pdf(), "doc_type": "qualification", "number": "ZS-7788", "next": "/somewhere/"}
    )
    assert resp.status_code == 302 and resp["Location"] == "/somewhere/"
    resp = client.post(url, {"file": pdf(), "doc_type": "other", "next": "https://evil.example/"})
    att = Attachment.objects.latest("id")
    assert resp["Location"] == reverse("attachment_detail", args=[att.pk])
    # bad dates: shown on valid_to
    resp = client.post(
        url, {"file": pdf(), "doc_type": "other", "valid_from": "2026-05-02", "valid_to": "2026-05-01"}
    )
    assert resp.status_code == 400 and "有效期至不能早于有效期自" in resp.content.decode()


def test_replace_page_and_detail(admin, reviewer, client):
    att = add(admin, reviewer, valid_from=dt.date(2025, 1, 1), valid_to=dt.date(2026, 1, 1))
    client.login(username="adm", password=PASSWORD)
    url = reverse("attachment_replace", args=[att.pk])
    assert client.get(url).status_code == 200
    resp = client.post(url, {"file": pdf("v2.pdf", PDF + b"2"), "doc_type": "qualification", "reason": ""})
    assert resp.status_code == 400 and "请填写替换原因" in resp.content.decode()
    resp = client.post(
        url,
        {
            "file": pdf("v2.pdf", PDF + b"2"),
            "doc_type": "qualification",
            "reason": "换证",
            "valid_from": "2025-01-01",
            "valid_to": "",
        },
    )
    assert resp.status_code == 302
    new = Attachment.objects.get(current=True)
    assert new.version == 2 and new.valid_from == dt.date(2025, 1, 1) and new.valid_to is None
    resp = client.get(reverse("attachment_detail", args=[att.pk]))
    html = resp.content.decode()
    assert resp.status_code == 200 and "v2.pdf" in html and "证书.pdf" in html and "换证" in html


def test_panel_lists_states_and_queries_bounded(admin, reviewer, django_assert_max_num_queries):
    today = dt.date(2026, 6, 1)
    add(admin, reviewer, valid_to=dt.date(2027, 1, 1), title="有效证书")
    add(admin, reviewer, upload=pdf("b.pdf", PDF + b"b"), valid_to=dt.date(2026, 6, 10), title="快到期")
    add(admin, reviewer, upload=pdf("c.pdf", PDF + b"c"), valid_to=dt.date(2026, 5, 1), title="已过期证书")
    for i in range(5):
        add(admin, reviewer, upload=pdf(f"m{i}.pdf", PDF + bytes([i])))
    request = RequestFactory().get("/")
    request.user = admin
    with django_assert_max_num_queries(4):
        ctx = svc.attachment_panel(actor=admin, target=reviewer, at=today, next_url="/users/1/")
        html = render_to_string("core/attachments/_panel.html", {"panel": ctx}, request=request)
    assert html.count('data-state="valid"') == 6
    assert html.count('data-state="expiring"') == 1 and html.count('data-state="expired"') == 1
    assert "modal" in html and reverse("attachment_upload", args=["core", "user", reviewer.pk]) in html
    # a reader without change permission sees no upload form
    request.user = reviewer
    ctx = svc.attachment_panel(actor=reviewer, target=reviewer, at=today)
    html = render_to_string("core/attachments/_panel.html", {"panel": ctx}, request=request)
    assert "attach-modal" not in html and html.count("data-attachment=") == 8


def test_detail_page_queries_bounded(admin, reviewer, client, django_assert_max_num_queries):
    att = add(admin, reviewer)
    for i in range(4):
        att = svc.attachment_replace(
            actor=admin, attachment_id=att.pk, upload=pdf(f"v{i}.pdf", PDF + bytes([i])), reason=f"r{i}"
        )
    client.login(username="adm", password=PASSWORD)
    with django_assert_max_num_queries(14):  # + one per related model named in the trail
        resp = client.get(reverse("attachment_detail", args=[att.pk]))
    assert resp.status_code == 200


# -- API ---------------------------------------------------------------------------------------------------------


def test_api_round_trip(admin, reviewer, client):
    client.login(username="adm", password=PASSWORD)
    resp = client.post(
        "/api/v1/attachments",
        {
            "target": f"core.user:{reviewer.pk}",
            "file": pdf(),
            "doc_type": "certification",
            "number": "ISO-1",
            "valid_to": "2030-01-01",
        },
    )
    assert resp.status_code == 201, resp.content
    body = resp.json()
    assert body["number"] == "ISO-1" and body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert body["target"] == f"core.user:{reviewer.pk}" and body["state"] == "valid"
    aid = body["id"]
    resp = client.get(f"/api/v1/attachments?target=core.user:{reviewer.pk}")
    assert [r["id"] for r in resp.json()] == [aid]
    resp = client.post(
        f"/api/v1/attachments/{aid}/replace", {"file": pdf("n.pdf", PDF + b"n"), "reason": "更新"}
    )
    assert resp.status_code == 201 and resp.json()["version"] == 2 and resp.json()["number"] == "ISO-1"
    new_id = resp.json()["id"]
    detail = client.get(f"/api/v1/attachments/{new_id}").json()
    assert [v["version"] for v in detail["versions"]] == [2, 1]
    resp = client.post(
        "/api/v1/attachments",
        {"target": f"core.user:{reviewer.pk}", "file": pdf("e.txt.pdf", b"hello"), "doc_type": "other"},
    )
    assert resp.status_code == 400 and resp.json()["detail"] == {"field": "file", "rule": "file_content"}
    resp = client.get("/api/v1/attachments?target=bad")
    assert resp.status_code == 400 and resp.json()["detail"]["field"] == "target"
    assert client.get("/api/v1/attachments?target=core.nosuch:1").status_code == 404


# -- selectors ---------------------------------------------------------------------------------------------------


def test_state_and_expiring(admin, reviewer):
    at = dt.date(2026, 6, 1)
    a = add(admin, reviewer, valid_from=dt.date(2026, 7, 1), valid_to=dt.date(2027, 1, 1))
    b = add(admin, reviewer, upload=pdf("b.pdf", PDF + b"b"), valid_to=dt.date(2026, 6, 20))
    c = add(admin, reviewer, upload=pdf("c.pdf", PDF + b"c"), valid_to=dt.date(2026, 5, 31))
    d = add(admin, reviewer, upload=pdf("d.pdf", PDF + b"d"))
    assert svc.attachment_state(a, at) == "not_yet_valid"
    assert svc.attachment_state(b, at, expiring=30) == "expiring"
    assert svc.attachment_state(b, at, expiring=10) == "valid"
    assert svc.attachment_state(c, at) == "expired"
    assert svc.attachment_state(d, at) == "valid"
    assert list(svc.attachments_expiring(within_days=30, at=at)) == [b]
    assert list(svc.attachments_expiring(within_days=19, at=at)) == [b]
    assert list(svc.attachments_expiring(within_days=18, at=at)) == []
    new = svc.attachment_replace(
        actor=admin,
        attachment_id=b.pk,
        upload=pdf("b2.pdf", PDF + b"b2"),
        reason="x",
        valid_to=dt.date(2026, 6, 5),
    )
    assert list(svc.attachments_expiring(within_days=30, at=at)) == [new]


# -- the check command -------------------------------------------------------------------------------------------


def test_check_command_finds_corrupted_missing_and_orphans(admin, reviewer, settings):
    a = add(admin, reviewer)
    b = add(admin, reviewer, upload=pdf("b.pdf", PDF + b"b"))
    out, err = io.StringIO(), io.StringIO()
    call_command("attachments", "check", stdout=out, stderr=err)
    assert out.getvalue().startswith("OK: 2 blobs checked")
    svc.blob_path(a.blob_id).write_bytes(b"%PDF-tampered")
    svc.blob_path(b.blob_id).unlink()
    orphan = Path(settings.KEHU_FILES_DIR) / "ab" / "cd" / ("ab" + "cd" + "0" * 60)
    orphan.parent.mkdir(parents=True)
    orphan.write_bytes(b"left over")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("attachments", "check", stdout=out, stderr=err)
    assert exc.value.code == 1
    assert f"CORRUPT  {a.blob_id}" in err.getvalue()
    assert f"MISSING  {b.blob_id}" in err.getvalue()
    assert "ORPHAN" in out.getvalue() and orphan.name in out.getvalue()


# -- the registry ------------------------------------------------------------------------------------------------


def test_registry_without_scope_rule_uses_the_action_alone(admin, reviewer, monkeypatch):
    from kehu.core.models import Department
    from kehu.core.tests.factories import DepartmentFactory

    monkeypatch.setattr(svc, "_REGISTRY", dict(svc._REGISTRY))
    dept = DepartmentFactory()
    with pytest.raises(NotFound):  # not registered: no attachments at all
        add(admin, dept)
    svc.register_attachable(
        Department,
        view_action="org.department.manage",
        change_action="org.department.manage",
        scope_action=None,
    )
    att = add(admin, dept)
    assert [a.pk for a in svc.attachment_list(actor=admin, target=dept)] == [att.pk]
    with pytest.raises(PermissionDenied):
        svc.attachment_list(actor=reviewer, target=dept)
    with pytest.raises(NotFound):  # one attachment by id: out of reach looks missing
        svc.attachment_get(actor=reviewer, attachment_id=att.pk)
    with pytest.raises(NotFound):
        svc.resolve_target(actor=admin, app_label="core", model="department", object_id="999999")


@pytest.mark.django_db
def test_expiring_window_is_the_policy_in_force():
    import datetime as dt

    from kehu.core.attachments import expiring_days
    from kehu.core.policies.models import PolicyVersion
    from kehu.core.policies.services import policy_get

    assert expiring_days() == policy_get("platform.documents").values.expiring_days == 30
    PolicyVersion.objects.create(
        type_key="platform.documents",
        number=2,
        status="formal",
        effective_from=dt.date(2020, 1, 1),
        values={"expiring_days": 60},
    )
    assert expiring_days() == 60
