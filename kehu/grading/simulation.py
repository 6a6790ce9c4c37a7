"""Grading simulation (R-GRD-05): a draft scheme (quotas, weights, scoring rules) scored against the current data
without effect.

The draft has the shape of the policy value ``grading.scheme``; the keys it leaves out are taken from the scheme in
force, and it is checked by the same validation as the policy, so a bad draft is refused naming the field and the
rule. The computation runs in the background (``kehu.core.jobs``) with the same function as a grading run
(:func:`kehu.grading.services.compute_grades`) and writes nothing to the grading tables and no audit entry: the
report is the job run's result (who asked, when, with which draft: the job run records that too). It compares,
per grade, the customer count and the sales volume in the period under the grades in force (``interface``:
approved runs and overrides) with the grades under the draft, counts the customers that move (up, down, newly
graded, no longer graded) and lists them, at most :data:`MOVERS_MAX` rows.

Grades are compared by their position from the top: in the scheme in force when both grades are in it, else in
the draft when both are there, else the old grade's position in force against the new grade's in the draft. A
grade renamed in the draft at the same position is therefore not a move.
"""

from __future__ import annotations

import copy
import datetime as dt
import io
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access
from kehu.core.errors import Conflict, ValidationFailed
from kehu.core.jobs.models import JobRun, JobState
from kehu.core.policies import schema as policy_schema
from kehu.customers.models import Customer, CustomerStatus
from kehu.grading import interface, policies, services
from kehu.grading.models import GradingResult

JOB = "kehu.grading.simulation.simulate"
PERM = "grading.simulation.run"
# The movers list kept in the report (the counts always cover every customer); the rest is not stored.
MOVERS_MAX = 5000
DIRECTIONS = ("up", "down", "new", "ungraded")

# The scheme's cross-field checks (policies.SchemePolicy._sums) raise a message without a field: the field and
# the rule they belong to.
_SCHEME_CHECKS = {
    "各等级配额之和必须等于 100%。": ("grades", "quota_sum"),
    "各评分项分值之和必须等于总分。": ("items", "weight_sum"),
    "等级名称不得重复。": ("grades", "unique_grade"),
    "评分项不得重复。": ("items", "unique_item"),
    "销售模式得分比例只能用于已知的销售模式，且须在 0 至 100 之间。": (
        "rules.sales_model_percent",
        "sales_model_percent",
    ),
}


# --------------------------------------------------------------------------------------------------------------
# The draft


def draft_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` laid over ``base`` (both in the shape of ``grading.scheme``): top-level values replace, ``rules``
    are merged key by key, ``items`` by their key (a partial list changes only the weights it names), ``grades``
    replace the list of grades, each filled from the grade of the same name in ``base`` (a grade with a new name
    must bring all its fields: ``grades.N.name``, rule ``unknown_grade``)."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        if key == "rules" and isinstance(value, dict):
            rules = out.setdefault("rules", {})
            for rk, rv in value.items():
                if rk == "sales_model_percent" and isinstance(rv, dict) and isinstance(rules.get(rk), dict):
                    rules[rk] = {**rules[rk], **rv}
                else:
                    rules[rk] = rv
        elif key == "items" and isinstance(value, list) and all(isinstance(i, dict) for i in value):
            items = out.get("items") or []
            index = {i.get("key"): n for n, i in enumerate(items)}
            for n, given in enumerate(value):
                if given.get("key") not in index:
                    raise ValidationFailed(
                        _("评分项“%(key)s”不存在。") % {"key": given.get("key")},
                        field=f"items.{n}.key",
                        rule="unknown_item",
                    )
                items[index[given["key"]]] = {**items[index[given["key"]]], **given}
            out["items"] = items
        elif key == "grades" and isinstance(value, list):
            by_name = {g.get("name"): g for g in out.get("grades") or []}
            required = [f for f, info in policies.Grade.model_fields.items() if info.is_required()]
            grades: list[Any] = []
            for n, given in enumerate(value):
                if not isinstance(given, dict):
                    grades.append(given)
                    continue
                name = given.get("name")
                if name in by_name:
                    grades.append({**by_name[name], **given})
                    continue
                lacking = [f for f in required if f not in given]
                if lacking:
                    raise ValidationFailed(
                        _(
                            "等级“%(name)s”不在现行分级方案中；新增的等级须写明其全部字段（缺少：%(fields)s）。"
                        )
                        % {"name": name, "fields": "、".join(lacking)},
                        field=f"grades.{n}.name",
                        rule="unknown_grade",
                    )
                grades.append(given)
            out["grades"] = grades
        else:
            out[key] = value
    return out


def draft_validate(changes: Any, base: policies.SchemePolicy) -> policies.SchemePolicy:
    """The draft scheme: ``changes`` over ``base``, checked like the policy itself (R-GRD-01, R-GRD-02)."""
    if changes is None:
        changes = {}
    if not isinstance(changes, dict):
        raise ValidationFailed(_("模拟草案须是分级方案（对象）。"), field="draft", rule="object")
    unknown = sorted(set(changes) - set(policies.SchemePolicy.model_fields))
    if unknown:
        raise ValidationFailed(
            _("“%(field)s”不是分级方案的字段。") % {"field": unknown[0]},
            field=unknown[0],
            rule="unknown_field",
        )
    merged = draft_merge(base.model_dump(mode="json"), changes)
    try:
        model = policy_schema.validate(policies.SchemePolicy, merged)
    except ValidationFailed as exc:
        if exc.field:
            raise
        errors = (exc.detail or {}).get("errors") or [{}]
        text = str(errors[0].get("message", ""))
        field, rule = _SCHEME_CHECKS.get(text, ("draft", str(exc.rule or "invalid")))
        raise ValidationFailed(
            _("分级方案草案不符合规则：%(text)s") % {"text": _(text)} if text else exc.message,
            field=field,
            rule=rule,
            detail={"field": field, "rule": rule, "errors": errors},
        ) from None
    assert isinstance(model, policies.SchemePolicy)
    return model


# --------------------------------------------------------------------------------------------------------------
# Starting and reading simulations


@transaction.atomic
def simulation_start(*, actor: Any, draft: Any, period_end: dt.date | None = None) -> JobRun:
    """Check the draft and queue its simulation for the period ending ``period_end`` (yesterday when None; not in
    the future). The draft is laid over the scheme in force today, whatever the period end: the scheme the form
    shows and the one the grades in force are compared under (the report's ``base_version``). One simulation per
    user at a time: the user's row is locked before the check, so two submits at the same moment queue one."""
    access.require(actor, PERM)
    period_end = services.period_end_of(period_end)
    base, version = policies.scheme(timezone.localdate())
    model = draft_validate(draft, base)
    from kehu.core.models import User

    User.objects.select_for_update().filter(pk=actor.pk).values_list("pk", flat=True).first()
    recent = timezone.now() - dt.timedelta(minutes=settings.KEHU_JOB_STALE_MINUTES)
    busy = JobRun.objects.filter(name=JOB, enqueued_by=actor).filter(
        Q(state=JobState.QUEUED) | Q(state=JobState.RUNNING, started_at__gte=recent)
    )
    if busy.exists():
        raise Conflict(_("您已有一次分级模拟正在计算，请等其完成。"))
    from kehu.core.jobs import enqueue

    job: JobRun = enqueue(
        JOB,
        actor=actor,
        draft=model.model_dump(mode="json"),
        period_end=period_end.isoformat(),
        as_of=timezone.now().isoformat(),
        base_version=version,
    )
    return job


def simulation_list(*, actor: Any) -> QuerySet[JobRun]:
    access.require(actor, PERM)
    return access.restrict(
        actor, PERM, JobRun.objects.filter(name=JOB).select_related("enqueued_by")
    ).order_by("-enqueued_at", "-pk")


def simulation_get(*, actor: Any, simulation_id: int) -> JobRun:
    """One simulation (a job run of :data:`JOB`); NotFound for other job runs."""
    return access.get_scoped(
        actor, PERM, JobRun.objects.filter(name=JOB).select_related("enqueued_by"), pk=simulation_id
    )


# --------------------------------------------------------------------------------------------------------------
# The background job


def _score_in_force(at: dt.date) -> Subquery:
    """The score in the run in force on ``at`` (the run whose grade ``interface.grade_subquery`` starts from)."""
    rows = GradingResult.objects.filter(run_id=interface.run_in_force_id(at), customer_id=OuterRef("pk"))
    return Subquery(rows.values("score")[:1])


def _direction(
    before: str | None, after: str | None, base_pos: dict[str, int], draft_pos: dict[str, int]
) -> str | None:
    if before == after:
        return None
    if before is None:
        return "new"
    if after is None:
        return "ungraded"
    if before in base_pos and after in base_pos:
        old, new = base_pos[before], base_pos[after]
    elif before in draft_pos and after in draft_pos:
        old, new = draft_pos[before], draft_pos[after]
    else:
        old, new = base_pos.get(before, len(base_pos)), draft_pos.get(after, len(draft_pos))
    if old == new:
        return None
    return "up" if new < old else "down"


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _score(value: Decimal | None) -> str | None:
    return str(Decimal(value).quantize(Decimal("0.01"))) if value is not None else None


def _revenue(inputs: dict[str, Any]) -> Decimal:
    raw = inputs.get("sales_volume")
    return Decimal(str(raw)) if raw not in (None, "") else Decimal(0)


def simulate(
    draft: dict[str, Any],
    period_end: str,
    as_of: str,
    base_version: int | None = None,
    progress: Callable[..., None] | None = None,
) -> dict[str, Any]:
    """The background job: score every active customer under ``draft`` as a run would, then compare with the
    grades in force on the day of ``as_of``. Reads only; returns the report (JSON values)."""
    policy = policies.SchemePolicy.model_validate(draft)
    start, end = services.period_of(policy, dt.date.fromisoformat(period_end))
    moment = dt.datetime.fromisoformat(as_of)
    at = timezone.localdate(moment)
    steps: dict[str, int] = {"total": 0}

    def scored(done: int, total: int, message: str = "") -> None:
        steps["total"] = total
        if progress:
            progress(done, 2 * total, message)

    placed, details = services.compute_grades(policy, start, end, moment, scored, breakdown=False)
    total = len(placed)
    after = {p.key: p for p in placed}

    # the grades in force: one query over the active customers and those graded now
    before: dict[int, tuple[str | None, Decimal | None]] = {}
    leavers: list[tuple[int, str, Decimal | None]] = []
    rows = (
        Customer.objects.annotate(g=interface.grade_subquery("pk", at), s=_score_in_force(at))
        .filter(Q(status=CustomerStatus.ACTIVE) | Q(g__isnull=False))
        .order_by()
        .values_list("pk", "g", "s")
    )
    for n, (cid, grade, score) in enumerate(rows.iterator(chunk_size=2000), start=1):
        if cid in after:
            before[cid] = (grade, score)
        elif grade is not None:
            leavers.append((cid, grade, score))  # graded now, not active: a run would leave it out
        if progress and n % 5000 == 0:
            progress(total + min(n, total), 2 * total or 1, _("正在与现行等级对比"))

    revenue = {cid: _revenue(d[2]) for cid, d in details.items()}
    for i in range(0, len(leavers), services.BATCH):
        chunk = list(Customer.objects.filter(pk__in=[c for c, _g, _s in leavers[i : i + services.BATCH]]))
        for cid, inputs in services.collect_inputs(chunk, start, end, moment).items():
            revenue[cid] = inputs.sales_volume or Decimal(0)

    base = policies.scheme_of_version(base_version)
    base_pos = {g.name: n for n, g in enumerate(base.grades)}
    draft_pos = {g.name: n for n, g in enumerate(policy.grades)}
    names: list[str | None] = [g.name for g in policy.grades]
    names += [g.name for g in base.grades if g.name not in draft_pos]
    seen = {g for g, _s in before.values() if g is not None} | {g for _c, g, _s in leavers}
    names += sorted(seen - set(names), key=str)
    names.append(None)
    table: dict[str | None, dict[str, Any]] = {
        name: {"before_count": 0, "before_revenue": Decimal(0), "after_count": 0, "after_revenue": Decimal(0)}
        for name in names
    }
    counts = dict.fromkeys(DIRECTIONS, 0)
    movers: list[dict[str, Any]] = []
    for p in placed:
        old, old_score = before.get(p.key, (None, None))
        money = revenue.get(p.key, Decimal(0))
        table[old]["before_count"] += 1
        table[old]["before_revenue"] += money
        table[p.grade]["after_count"] += 1
        table[p.grade]["after_revenue"] += money
        direction = _direction(old, p.grade, base_pos, draft_pos)
        if direction:
            counts[direction] += 1
            if len(movers) < MOVERS_MAX:
                movers.append(
                    {
                        "customer_id": p.key,
                        "before": old,
                        "before_score": _score(old_score),
                        "after": p.grade,
                        "after_score": str(p.score),
                        "rank": p.rank,
                        "direction": direction,
                        "revenue": _money(money),
                    }
                )
    for cid, old, old_score in leavers:
        money = revenue.get(cid, Decimal(0))
        table[old]["before_count"] += 1
        table[old]["before_revenue"] += money
        table[None]["after_count"] += 1
        table[None]["after_revenue"] += money
        counts["ungraded"] += 1
        if len(movers) < MOVERS_MAX:
            movers.append(
                {
                    "customer_id": cid,
                    "before": old,
                    "before_score": _score(old_score),
                    "after": None,
                    "after_score": None,
                    "rank": None,
                    "direction": "ungraded",
                    "revenue": _money(money),
                }
            )
    shown = [m["customer_id"] for m in movers]
    people = {
        pk: (number, name)
        for pk, number, name in Customer.objects.filter(pk__in=shown).values_list("pk", "number", "name")
    }
    for m in movers:
        m["number"], m["name"] = people.get(m["customer_id"], ("", ""))
    quotas = {g.name: g.quota for g in policy.grades}
    base_quotas = {g.name: g.quota for g in base.grades}
    grades = [
        {
            "grade": name,
            "quota": quotas.get(name) if name is not None else None,
            "base_quota": base_quotas.get(name) if name is not None else None,
            "before_count": row["before_count"],
            "before_revenue": _money(row["before_revenue"]),
            "after_count": row["after_count"],
            "after_revenue": _money(row["after_revenue"]),
        }
        for name, row in table.items()
        if name in draft_pos or name in base_pos or row["before_count"] or row["after_count"]
    ]
    moved = sum(counts.values())
    if progress:
        progress(2 * total or 1, 2 * total or 1, _("模拟完成"))
    return {
        "period_start": start.isoformat(),
        "period_end": end.isoformat(),
        "as_of": as_of,
        "grades_at": at.isoformat(),
        "base_version": base_version,
        "draft": draft,
        "customers": total + len(leavers),
        "active_customers": total,
        "revenue": _money(sum(revenue.values(), Decimal(0))),
        "grades": grades,
        "movers": {**counts, "total": moved},
        "mover_rows": movers,
        "mover_rows_max": MOVERS_MAX,
        "mover_rows_capped": moved > len(movers),
    }


# --------------------------------------------------------------------------------------------------------------
# The report as a workbook


def grade_label(name: str | None) -> str:
    return name if name is not None else _("未分级")


def direction_label(direction: str) -> str:
    return {
        "up": _("升级"),
        "down": _("降级"),
        "new": _("新分级"),
        "ungraded": _("不再分级"),
    }.get(direction, direction)


def _draft_rows(draft: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The draft as (section, name, value) rows: grades and quotas, item weights, scoring rules."""
    labels = {k: _(label) for k, label, _src in policies.ITEMS}
    out: list[tuple[str, str, Any]] = [
        (_("评分期间"), _("月数"), draft.get("period_months")),
        (_("总分"), "", draft.get("total_points")),
    ]
    for g in draft.get("grades", []):
        out.append((_("等级配额（%）"), str(g.get("name")), g.get("quota")))
    for i in draft.get("items", []):
        out.append((_("评分项分值"), labels.get(i.get("key"), str(i.get("key"))), i.get("weight")))
    for key, value in (draft.get("rules") or {}).items():
        title = policy_schema.title_of(policies.SchemePolicy, f"rules.{key}")
        if isinstance(value, dict):
            for k, v in value.items():
                out.append((_("计分规则"), f"{title} / {k}", v))
        else:
            out.append((_("计分规则"), title, value))
    return out


def report_xlsx(job: JobRun) -> bytes:
    """The whole report: per grade before and after, movers summary, the movers list, the draft."""
    import xlsxwriter

    report = job.result or {}
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    bold = wb.add_format({"bold": True, "bg_color": "#EEF2F7", "border": 1})
    money = wb.add_format({"num_format": "#,##0.00"})

    def sheet(
        title: str, headers: list[str], rows: list[list[Any]], money_cols: tuple[int, ...] = ()
    ) -> None:
        ws = wb.add_worksheet(title[:31])
        for c, h in enumerate(headers):
            ws.write(0, c, h, bold)
            ws.set_column(c, c, max(10, min(40, len(h) * 2 + 2)))
        for r, row in enumerate(rows, start=1):
            for c, value in enumerate(row):
                if value is None:
                    ws.write_blank(r, c, None)
                elif c in money_cols:
                    ws.write_number(r, c, float(Decimal(str(value))), money)
                else:
                    ws.write(r, c, value)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)

    sheet(
        _("等级对比"),
        [_("等级"), _("现行客户数"), _("现行销售额"), _("模拟客户数"), _("模拟销售额"), _("草案配额（%）")],
        [
            [
                grade_label(g["grade"]),
                g["before_count"],
                g["before_revenue"],
                g["after_count"],
                g["after_revenue"],
                g["quota"],
            ]
            for g in report.get("grades", [])
        ],
        money_cols=(2, 4),
    )
    counts = report.get("movers", {})
    summary: list[list[Any]] = [[direction_label(d), counts.get(d, 0)] for d in DIRECTIONS]
    summary += [
        [_("变动合计"), counts.get("total", 0)],
        [_("客户数"), report.get("customers", 0)],
        [_("期间"), f"{report.get('period_start', '')} – {report.get('period_end', '')}"],
        [_("现行等级日期"), report.get("grades_at", "")],
        [_("基准政策版本"), report.get("base_version")],
        [_("模拟编号"), job.pk],
    ]
    if report.get("mover_rows_capped"):
        summary.append([_("变动客户名单仅含前 %(n)s 户") % {"n": report.get("mover_rows_max")}, ""])
    sheet(_("变动汇总"), [_("项目"), _("数值")], summary)
    sheet(
        _("变动客户"),
        [
            _("客户编号"),
            _("客户"),
            _("现行等级"),
            _("现行得分"),
            _("模拟等级"),
            _("模拟得分"),
            _("模拟排名"),
            _("变动"),
            _("期间销售额"),
        ],
        [
            [
                m.get("number"),
                m.get("name"),
                grade_label(m.get("before")),
                float(m["before_score"]) if m.get("before_score") is not None else None,
                grade_label(m.get("after")),
                float(m["after_score"]) if m.get("after_score") is not None else None,
                m.get("rank"),
                direction_label(m.get("direction", "")),
                m.get("revenue"),
            ]
            for m in report.get("mover_rows", [])
        ],
        money_cols=(8,),
    )
    sheet(
        _("草案"),
        [_("部分"), _("名称"), _("值")],
        [[a, b, c] for a, b, c in _draft_rows(report.get("draft") or {})],
    )
    wb.close()
    return buf.getvalue()
