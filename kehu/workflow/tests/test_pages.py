"""Pages and API of the workflow: inbox (bounded queries, acting-for tag, overdue), case page and form, definitions,
monitoring (chart + xlsx), API endpoints."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from kehu.core.models import AuditEntry
from kehu.core.tests.factories import PASSWORD, user_with
from kehu.workflow.engine import case_open, case_transition
from kehu.workflow.models import Task, TaskState
from kehu.workflow.tests.conftest import make_absent

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def opened(people, n=1):
    return [
        case_open(
            actor=people["rep"],
            definition_key="wf_test",
            title=f"事项{i}",
            data={"approver_id": people["manager"].pk},
        )
        for i in range(n)
    ]


def test_inbox_lists_own_role_and_acting_tasks_with_bounded_queries(
    wf_def, people, client, django_assert_max_num_queries
):
    cases = opened(people, 3)
    login(client, people["rep"])
    client.get(reverse("workflow_inbox"))
    with django_assert_max_num_queries(20):
        r = client.get(reverse("workflow_inbox"))
    assert r.status_code == 200 and r.content.decode().count("事项") >= 3
    for c in opened(people, 20):
        Task.objects.filter(case=c).update(due=dt.date(2020, 1, 1))
    with django_assert_max_num_queries(20):
        r = client.get(reverse("workflow_inbox") + "?size=50")
    body = r.content.decode()
    assert "data-overdue" in body and "已超期" in body
    # acting for: the backup sees the absent person's task with the tag
    people["rep"].backup = people["backup"]
    people["rep"].save(update_fields=["backup"])
    make_absent(people["rep"])
    client.logout()
    login(client, people["backup"])
    r = client.get(reverse("workflow_inbox"))
    assert "代 " in r.content.decode() and cases[0].title in r.content.decode()
    r = client.get(reverse("workflow_inbox") + "?export=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")


def test_inbox_badge_partial(wf_def, people, client):
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    opened(people, 2)
    request = RequestFactory().get("/")
    request.user = people["rep"]
    html = render_to_string("workflow/partials/_inbox_badge.html", {"request": request})
    assert 'data-inbox-count="2"' in html


def test_case_page_form_errors_and_success(wf_def, people, client):
    (case,) = opened(people)
    login(client, people["rep"])
    r = client.get(reverse("workflow_case_detail", args=[case.pk]))
    assert r.status_code == 200 and 'data-transition="submit"' in r.content.decode()
    r = client.post(
        reverse("workflow_case_transition", args=[case.pk, "submit"]), {"expected_state": "draft"}
    )
    assert r.status_code == 302
    client.logout()
    login(client, people["reviewer"])
    url = reverse("workflow_case_transition", args=[case.pk, "send_back"])
    r = client.post(url, {"expected_state": "review", "send_back-comment": ""})
    assert r.status_code == 400 and "须填写意见" in r.content.decode()
    r = client.post(
        reverse("workflow_case_transition", args=[case.pk, "review_pass"]),
        {"expected_state": "review", "review_pass-check_docs": "no"},
    )
    assert r.status_code == 400, r.content.decode()
    assert "必须确认" in r.content.decode(), r.content.decode()[r.content.decode().find("invalid") :][:3000]
    r = client.post(url, {"expected_state": "review", "send_back-comment": "请补充资料"})
    assert r.status_code == 302
    r = client.get(reverse("workflow_case_detail", args=[case.pk]))
    body = r.content.decode()
    assert "list-group-item-warning" in body and "请补充资料" in body
    # stale form: a second send-back from the same page → message, no change
    r = client.post(url, {"expected_state": "review", "send_back-comment": "again"}, follow=True)
    assert "状态已变化" in r.content.decode() or r.status_code in (403, 404)


def test_case_page_out_of_scope_is_404(wf_def, people, client):
    (case,) = opened(people)
    login(client, people["outsider"])
    assert client.get(reverse("workflow_case_detail", args=[case.pk])).status_code == 404


def test_case_page_queries_bounded(wf_def, people, client, django_assert_max_num_queries):
    (case,) = opened(people)
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    case_transition(actor=people["reviewer"], case_id=case.pk, transition="send_back", comment="x")
    case_transition(actor=people["rep"], case_id=case.pk, transition="submit")
    login(client, people["reviewer"])
    with django_assert_max_num_queries(30):
        r = client.get(reverse("workflow_case_detail", args=[case.pk]))
    assert r.status_code == 200


def test_definition_pages_and_monitoring(wf_def, people, client):
    opened(people)
    pmo = user_with("pmo")
    login(client, pmo)
    r = client.get(reverse("workflow_definition_list"))
    assert r.status_code == 200 and "wf_test" in r.content.decode()
    r = client.get(reverse("workflow_definition_detail", args=["wf_test"]))
    assert r.status_code == 200 and "review_pass" in r.content.decode()
    r = client.get(reverse("workflow_monitoring"))
    assert r.status_code == 200 and "wf-chart" in r.content.decode()
    r = client.get(reverse("workflow_monitoring") + "?export=xlsx")
    assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats")
    client.logout()
    login(client, people["rep"])
    assert client.get(reverse("workflow_monitoring")).status_code == 403


def test_api_transition_statuses(wf_def, people, client):
    (case,) = opened(people)
    login(client, people["reviewer"])
    base = f"/api/v1/workflow/cases/{case.pk}"
    r = client.post(f"{base}/transitions/submit", {}, content_type="application/json")
    assert r.status_code in (403, 404)
    client.logout()
    login(client, people["rep"])
    r = client.get(base)
    assert r.status_code == 200 and [t["key"] for t in r.json()["allowed"]] == ["submit"]
    r = client.post(
        f"{base}/transitions/submit", {"expected_state": "draft"}, content_type="application/json"
    )
    assert r.status_code == 200 and r.json()["state"] == "review" and len(r.json()["events"]) == 1
    r = client.post(f"{base}/transitions/submit", {}, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "conflict"
    client.logout()
    login(client, people["reviewer"])
    r = client.post(f"{base}/transitions/send_back", {}, content_type="application/json")
    assert r.status_code == 400 and r.json()["detail"]["field"] == "comment"
    r = client.get("/api/v1/workflow/inbox")
    assert r.status_code == 200 and r.json()["count"] == 1
    r = client.get("/api/v1/workflow/cases")
    assert r.status_code == 200
    r = client.get("/api/v1/workflow/definitions")
    assert r.status_code == 200 and any(d["key"] == "wf_test" for d in r.json())
    r = client.get("/api/v1/workflow/monitoring?definition=wf_test")
    assert r.status_code == 403
    assert AuditEntry.objects.filter(object_id=str(case.pk), action="transition").count() == 1
    assert Task.objects.filter(case=case, state=TaskState.OPEN).count() == 1


def test_home_panel_shows_tasks(wf_def, people, client):
    opened(people, 2)
    login(client, people["rep"])
    r = client.get("/")
    body = r.content.decode()
    assert r.status_code == 200 and 'data-panel="inbox"' in body and "事项0" in body


def test_non_case_task_in_inbox_and_closed(people, client):
    from kehu.workflow.engine import task_close, task_create
    from kehu.workflow.selectors import inbox_count

    target = people["dept"]
    task_create(target=target, title="核对部门资料", assignee=people["rep"])
    assert inbox_count(people["rep"]) == 1
    login(client, people["rep"])
    r = client.get(reverse("workflow_inbox"))
    assert r.status_code == 200 and "核对部门资料" in r.content.decode()
    assert task_close(target=target, actor=people["rep"]) == 1
    assert inbox_count(people["rep"]) == 0


def test_copy_task_acknowledged_from_inbox(wf_def, people, client):
    from kehu.workflow.engine import task_copy

    (case,) = opened(people)
    copy = task_copy(case=case, title="抄送：测试", assignee_role="reviewer")
    action = Task.objects.get(case=case, kind="action")
    login(client, people["reviewer"])
    r = client.post(reverse("workflow_task_acknowledge", args=[copy.pk]))
    assert r.status_code == 302
    copy.refresh_from_db()
    assert copy.state == TaskState.DONE and copy.closed_by == people["reviewer"]
    client.logout()
    login(client, people["rep"])  # an action task is handled on its case, not acknowledged
    r = client.post(reverse("workflow_task_acknowledge", args=[action.pk]), follow=True)
    assert "须在流程页面办理" in r.content.decode()
    client.logout()
    login(client, people["outsider"])
    assert client.post(reverse("workflow_task_acknowledge", args=[action.pk])).status_code == 404


def test_api_inbox_acting_for(wf_def, people, client):
    (case,) = opened(people)
    people["rep"].backup = people["backup"]
    people["rep"].save(update_fields=["backup"])
    make_absent(people["rep"])
    login(client, people["backup"])
    r = client.get("/api/v1/workflow/inbox")
    item = r.json()["items"][0]
    assert item["acting_for"] == people["rep"].username and item["case_number"] == case.number
    assert item["url"].endswith(f"/workflow/cases/{case.pk}/") and item["overdue"] is False
