"""Who may see a case and attach evidence to it (R-PLT-02, R-PLT-03)."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from kehu.core import attachments
from kehu.core.errors import NotFound, PermissionDenied
from kehu.core.tests.factories import user_with
from kehu.workflow import engine
from kehu.workflow.models import Task
from kehu.workflow.tests.conftest import make_absent

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _case_with_task_for(wf_def, people):
    case = engine.case_open(actor=people["rep"], definition_key="wf_test", subject=None, title="范围")
    Task.objects.create(
        case=case, title="批准", assignee=people["manager"], state="open", created_at=timezone.now()
    )
    return case


def test_a_backup_sees_the_case_only_while_the_principal_is_absent(wf_def, people):
    case = _case_with_task_for(wf_def, people)
    with pytest.raises(NotFound):
        engine.case_get(actor=people["backup"], case_id=case.pk)
    absence = make_absent(people["manager"])
    assert engine.case_get(actor=people["backup"], case_id=case.pk) == case
    absence.cancelled = True
    absence.save(update_fields=["cancelled"])
    with pytest.raises(NotFound):
        engine.case_get(actor=people["backup"], case_id=case.pk)


def test_only_participants_attach_evidence_never_the_auditor(wf_def, people):
    case = _case_with_task_for(wf_def, people)
    auditor = user_with("auditor")
    assert engine.case_get(actor=auditor, case_id=case.pk) == case  # the auditor reads every case
    with pytest.raises(PermissionDenied):
        attachments.attachment_add(
            actor=auditor, target=case, upload=SimpleUploadedFile("x.pdf", PDF), doc_type="other"
        )
    att = attachments.attachment_add(
        actor=people["rep"], target=case, upload=SimpleUploadedFile("x.pdf", PDF), doc_type="other"
    )
    assert att.pk
