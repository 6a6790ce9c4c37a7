"""Process monitoring figures on a small known data set."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from freezegun import freeze_time

from kehu.core.errors import PermissionDenied
from kehu.core.tests.factories import user_with
from kehu.workflow.engine import case_open, case_transition
from kehu.workflow.models import ProcessDefinition
from kehu.workflow.selectors import monitoring

pytestmark = pytest.mark.django_db
TZ = dt.timezone(dt.timedelta(hours=8))


def test_monitoring_known_figures(wf_def, people):
    rep, reviewer = people["rep"], people["reviewer"]
    with freeze_time("2025-06-02 09:00:00+08:00"):
        a = case_open(
            actor=rep, definition_key="wf_test", title="a", data={"approver_id": people["manager"].pk}
        )
        b = case_open(
            actor=rep, definition_key="wf_test", title="b", data={"approver_id": people["manager"].pk}
        )
    with freeze_time("2025-06-02 11:00:00+08:00"):  # draft: 2 h each
        case_transition(actor=rep, case_id=a.pk, transition="submit")
        case_transition(actor=rep, case_id=b.pk, transition="submit")
    with freeze_time("2025-06-02 15:00:00+08:00"):  # review of a: 4 h, sent back
        case_transition(actor=reviewer, case_id=a.pk, transition="send_back", comment="补充")
    with freeze_time("2025-06-10 11:00:00+08:00"):  # review of b: 8 days, due 06-05 → overdue
        case_transition(actor=reviewer, case_id=b.pk, transition="send_back", comment="补充")
    with freeze_time("2025-06-11 11:00:00+08:00"):
        case_open(actor=rep, definition_key="wf_test", title="c outside")
    pmo = user_with("pmo")
    pd = ProcessDefinition.objects.get(key="wf_test")
    m = monitoring(actor=pmo, definition=pd, start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 10))
    assert m.opened == 2 and m.closed == 0 and m.events == 4
    assert m.send_backs == 2 and m.send_back_rate == 0.5
    assert m.overdue_events == 1 and m.overdue_rate == 0.25
    by_state = {s.state: s for s in m.states}
    assert by_state["draft"].exits == 2 and by_state["draft"].avg_hours == 2.0
    assert by_state["review"].exits == 2 and by_state["review"].avg_hours == round((4 + 8 * 24) / 2, 2)
    assert by_state["review"].overdue == 1
    assert m.as_dict()["opened"] == 2
    # the period bounds are inclusive local dates
    m2 = monitoring(actor=pmo, definition=pd, start=dt.date(2025, 6, 11), end=dt.date(2025, 6, 11))
    assert m2.opened == 1 and m2.events == 0 and m2.overdue_rate == 0.0
    with pytest.raises(PermissionDenied):
        monitoring(actor=rep, definition=pd, start=dt.date(2025, 6, 1), end=dt.date(2025, 6, 10))
    assert timezone.now()
