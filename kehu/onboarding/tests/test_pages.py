"""Onboarding pages and API: list with filters, export and bounded queries, queue, application form, case page
with its actions (checklist errors shown inline), confidentiality (404 for another region's rep, 403 for roles
outside the review), the API actions and reports."""

from __future__ import annotations

import io
import json

import pytest
import python_calamine
from django.urls import reverse

from kehu.core.models import AuditEntry
from kehu.core.tests.factories import PASSWORD
from kehu.onboarding import services
from kehu.onboarding.models import Review
from kehu.onboarding.tests.conftest import ANSWERS, APPLICATION, prospect, step, to_stage

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def apply(team, name="上海华信精密机械有限公司"):
    c = prospect(team, name=name)
    return services.review_apply(actor=team["rep1"], customer_id=c.pk, **APPLICATION)


@pytest.mark.parametrize("n", [2, 8])
def test_list_queries_bounded_and_filters(team, client, django_assert_max_num_queries, n):
    reviews = [apply(team, name=f"测试客户{i:03d}号机械有限公司") for i in range(n)]
    step(team["rep1"], reviews[0], "submit")
    login(client, team["mgr_east"])
    with django_assert_max_num_queries(20):
        r = client.get(reverse("onboarding_list"))
    assert r.status_code == 200 and reviews[0].number.encode() in r.content
    r = client.get(reverse("onboarding_list"), {"stage": "qualification"})
    assert reviews[0].number in r.content.decode() and reviews[1].number not in r.content.decode()
    r = client.get(reverse("onboarding_list"), {"overdue": "on"})
    assert reviews[0].number not in r.content.decode()
    r = client.get(reverse("onboarding_list"), {"owner": team["rep2"].pk})
    assert reviews[0].number not in r.content.decode()


def test_export(team, client):
    review = apply(team)
    login(client, team["gm"])
    r = client.get(reverse("onboarding_list"), {"export": "xlsx"})
    assert r.status_code == 200
    rows = (
        python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(r.content))
        .get_sheet_by_index(0)
        .to_python()
    )
    assert rows[1][0] == review.number
    login(client, team["rep1"])
    assert client.get(reverse("onboarding_list"), {"export": "xlsx"}).status_code == 403


def test_overdue_filter(team, client):
    review = apply(team)
    import datetime as dt

    from django.utils import timezone

    type(review.case).objects.filter(pk=review.case_id).update(
        state_due=timezone.localdate() - dt.timedelta(days=2)
    )
    login(client, team["gm"])
    r = client.get(reverse("onboarding_list"), {"overdue": "on"})
    assert review.number in r.content.decode() and "data-overdue" in r.content.decode()


def test_apply_form_keeps_input_on_error_and_submits(team, client):
    c = prospect(team)
    login(client, team["rep1"])
    r = client.get(reverse("onboarding_apply"))
    assert c.name in r.content.decode()
    r = client.post(
        reverse("onboarding_apply"), {"customer": c.pk, "purpose": "", "products": "轴承", "currency": "CNY"}
    )
    assert r.status_code == 200 and "请填写合作目的" in r.content.decode() and "轴承" in r.content.decode()
    r = client.post(reverse("onboarding_apply"), {"customer": c.pk, "currency": "CNY", **APPLICATION})
    review = Review.objects.get(customer=c)
    assert r.status_code == 302 and r.url == reverse("onboarding_detail", args=[review.pk])


def test_case_page_shows_and_acts(team, client, django_assert_max_num_queries):
    review = apply(team)
    login(client, team["rep1"])
    url = reverse("onboarding_detail", args=[review.pk])
    with django_assert_max_num_queries(60):
        r = client.get(url)
    html = r.content.decode()
    assert r.status_code == 200 and 'data-transition="submit"' in html and "必备证照齐全有效" in html
    step_url = reverse("onboarding_step", args=[review.pk, "submit"])
    r = client.post(step_url, {"submit-check_needs": "yes", "expected_state": "screening"})
    assert r.status_code == 400 and "尚未回答" in r.content.decode()
    data = {f"submit-check_{k}": v for k, v in ANSWERS["screening"].items()}
    data["submit-evidence_needs"] = "拜访纪要"
    r = client.post(step_url, {**data, "expected_state": "screening"})
    assert r.status_code == 302
    review.case.refresh_from_db()
    assert review.case.state == "qualification"
    html = client.get(url).content.decode()
    assert "拜访纪要" in html and 'data-transition="qualify"' not in html  # the rep holds no review-team step
    # a stale form (the state moved on) is a conflict shown as a message
    r = client.post(step_url, {**data, "expected_state": "screening"})
    assert r.status_code in (302, 403)


def test_case_page_send_back_and_round_timeline(team, client):
    review = step(team["rep1"], apply(team), "submit")
    login(client, team["reviewer"])
    r = client.post(
        reverse("onboarding_step", args=[review.pk, "send_back_qualification"]),
        {"send_back_qualification-comment": "缺税务登记证", "expected_state": "qualification"},
    )
    assert r.status_code == 302
    html = client.get(reverse("onboarding_detail", args=[review.pk])).content.decode()
    assert 'data-round="1"' in html and "缺税务登记证" in html and "等待客户整改" in html


def test_confidential_page_access(team, client):
    review = apply(team)
    url = reverse("onboarding_detail", args=[review.pk])
    login(client, team["rep2"])
    assert client.get(url).status_code == 404
    assert review.number not in client.get(reverse("onboarding_list")).content.decode()
    login(client, team["auditor"])
    assert client.get(url).status_code == 403
    login(client, team["reviewer"])
    assert client.get(url).status_code == 200
    assert AuditEntry.objects.filter(object_id=str(review.pk), action="read", actor=team["reviewer"]).exists()


def test_queue_shows_my_steps(team, client):
    review = step(team["rep1"], apply(team), "submit")
    other = apply(team, name="杭州远景电子科技有限公司")
    login(client, team["reviewer"])
    html = client.get(reverse("onboarding_queue")).content.decode()
    assert review.number in html and other.number not in html


def test_schedule_and_reports_pages(team, client):
    review = to_stage(team, apply(team), "approval")
    step(team["gm"], review, "approve")
    login(client, team["gm"])
    r = client.get(reverse("onboarding_schedule"))
    assert r.status_code == 200 and review.customer.name in r.content.decode()
    r = client.get(reverse("onboarding_reports"))
    html = r.content.decode()
    assert r.status_code == 200 and 'id="decisions"' in html and "批准合作" in html
    r = client.get(reverse("onboarding_reports"), {"export": "xlsx"})
    assert r.status_code == 200
    login(client, team["rep1"])
    assert client.get(reverse("onboarding_reports")).status_code == 403


def test_requal_open_page(team, client):
    review = to_stage(team, apply(team), "approval")
    step(team["gm"], review, "approve")
    login(client, team["reviewer"])
    r = client.post(reverse("onboarding_requal_open", args=[review.customer_id]), {"reason": "信用下滑"})
    assert r.status_code == 302
    assert Review.objects.filter(customer=review.customer, kind="requalification").exists()


# --- API ---------------------------------------------------------------------------------------------------------


def api(client, method, path, body=None):
    fn = getattr(client, method)
    kw = {"content_type": "application/json", "data": json.dumps(body)} if body is not None else {}
    return fn(f"/api/v1/reviews{path}", **kw)


def test_api_flow(team, client):
    c = prospect(team)
    login(client, team["rep1"])
    r = api(client, "post", "/", {"customer_id": c.pk, **APPLICATION})
    assert r.status_code == 201, r.content
    rid = r.json()["id"]
    assert r.json()["state"] == "screening" and r.json()["allowed_actions"]
    r = api(client, "post", f"/{rid}/actions/submit", {"checklist": {"needs": "yes"}})
    assert r.status_code == 400 and r.json()["detail"]["field"].startswith("checklist.")
    r = api(
        client,
        "post",
        f"/{rid}/actions/submit",
        {"checklist": ANSWERS["screening"], "evidence": {"needs": "纪要"}},
    )
    assert r.status_code == 200 and r.json()["state"] == "qualification"
    assert r.json()["steps"][0]["evidence"] == {"needs": "纪要"}
    r = api(client, "post", f"/{rid}/actions/qualify", {"checklist": ANSWERS["qualification"]})
    assert r.status_code == 403
    login(client, team["reviewer"])
    assert [a["key"] for a in api(client, "get", f"/{rid}/actions").json()][:1] == ["qualify"]
    r = api(client, "post", f"/{rid}/actions/send_back_qualification", {"comment": "补充资料"})
    assert r.status_code == 200 and r.json()["rounds"][0]["findings"] == "补充资料"
    r = api(client, "post", f"/{rid}/actions/send_back_qualification", {"comment": "again"})
    assert r.status_code == 409
    r = api(client, "get", "/queue")
    assert r.status_code == 200 and rid not in [x["id"] for x in r.json()["items"]]


def test_api_confidentiality(team, client):
    review = apply(team)
    login(client, team["rep2"])
    assert api(client, "get", f"/{review.pk}").status_code == 404
    assert api(client, "get", "/").json()["count"] == 0
    login(client, team["auditor"])
    assert api(client, "get", f"/{review.pk}").status_code == 403
    login(client, team["mgr_east"])
    assert api(client, "get", f"/{review.pk}").status_code == 200


def test_api_reports_and_schedule(team, client):
    review = to_stage(team, apply(team), "approval")
    step(team["gm"], review, "reject", comment="诉讼")
    login(client, team["gm"])
    r = api(client, "get", "/reports")
    assert r.status_code == 200
    rates = {d["decision"]: d for d in r.json()["decisions"]}
    assert rates["reject"]["count"] == 1 and rates["reject"]["rate"] == 1.0
    assert any(c["state"] == "qualification" for c in r.json()["cycle"])
    assert api(client, "get", "/schedule").status_code == 200


def test_english_labels():
    from django.utils import translation
    from django.utils.translation import gettext

    with translation.override("en"):
        assert gettext("初步筛选") == "Initial screening"
        assert (
            gettext("整改完成，提交复核（资质核查）") == "Rectified, back to re-review (qualification check)"
        )


def test_print_edit_and_generic_case_page(team, client):
    review = apply(team)
    login(client, team["rep1"])
    r = client.get(reverse("onboarding_print", args=[review.pk]))
    assert (
        r.status_code == 200
        and "客户审核申请表" in r.content.decode()
        and APPLICATION["purpose"] in r.content.decode()
    )
    assert AuditEntry.objects.filter(object_id=str(review.pk), action="read").count() == 1
    r = client.post(
        reverse("onboarding_edit", args=[review.pk]),
        {**APPLICATION, "currency": "CNY", "products": "", "customer": review.customer_id},
    )
    assert r.status_code == 200 and "请填写产品/服务" in r.content.decode()
    r = client.post(
        reverse("onboarding_edit", args=[review.pk]),
        {**APPLICATION, "currency": "CNY", "products": "导轨", "customer": review.customer_id},
    )
    assert r.status_code == 302
    review.refresh_from_db()
    assert review.products == "导轨"
    # the engine's own case page links back to the review page
    r = client.get(reverse("workflow_case_detail", args=[review.case_id]))
    assert r.status_code == 200 and reverse("onboarding_detail", args=[review.pk]) in r.content.decode()
    step(team["rep1"], review, "submit")
    from kehu.core.errors import Conflict

    with pytest.raises(Conflict):  # only while screening or in rectification
        services.review_update_application(actor=team["rep1"], review_id=review.pk, **APPLICATION)


def test_engine_case_pages_keep_review_content_confidential(team, client):
    """R-ONB-06 on the workflow engine's own pages: the oversight roles the engine lets see every case (auditor,
    system administrator) do not see review cases; those the review rule admits still do."""
    review = step(team["rep1"], apply(team), "submit")
    case_url = reverse("workflow_case_detail", args=[review.case_id])
    for outsider in (team["auditor"], team["admin"], team["rep2"]):
        login(client, outsider)
        assert client.get(case_url).status_code == 404
        assert review.case.number not in client.get(reverse("workflow_case_list")).content.decode()
        assert client.get(f"/api/v1/workflow/cases/{review.case_id}").status_code == 404
    for insider in (team["reviewer"], team["gm"], team["rep1"]):
        login(client, insider)
        assert client.get(case_url).status_code == 200
