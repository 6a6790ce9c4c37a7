"""Writes of the credit app (R-CRD-01, R-CRD-03): the credit file, financial statements (form and xlsx import) and
ratings (prepare → submit → approve / send back / reject; override of the grade).

Rating approval is a status field with service checks rather than a workflow case: one step (a credit manager or
the committee, per the rating policy, who did not prepare the rating), with an inbox task for the approvers while
the rating is pending. Every write leaves one audit entry in the same transaction (confidential)."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from kehu.core import access, audit
from kehu.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from kehu.core.excel import ImportColumn, ImportReport, ImportSpec, run_import
from kehu.core.models import User
from kehu.core.models.audit import AuditAction
from kehu.credit import policies, scoring
from kehu.credit.models import (
    CreditDocument,
    CreditFile,
    FileItem,
    FinancialStatement,
    PeriodType,
    Rating,
    RatingStatus,
    StatementSource,
)
from kehu.customers import archive
from kehu.customers.models import Customer

FILE_FIELDS = ("site_survey", "related_party_survey", "analysis_conclusion", "public_materials")
LINES = policies.LINES
RATING_INPUTS = ("payment_history", "years_of_trade", "industry_outlook", "management", "litigation")
RATING_AUDIT = ("status", "grade", "computed_grade", "credit_class", "score", "overridden", "review_due")


def _label(model: Any, key: str) -> str:
    return str(getattr(model._meta.get_field(key), "verbose_name", key))


def line_label(key: str) -> str:
    """The Chinese name of a statement line (also the import column header)."""
    return _label(FinancialStatement, key)


def customer_for(actor: User, action: str, customer_id: int | str) -> Customer:
    """The customer when the actor holds ``action`` (403; an access grant for the customer's item stands in for the
    role on reads, R-ARC-01) and may see the customer (404)."""
    scope = access.require(actor, action, customer_id)
    qs = Customer.objects.select_related("owner", "department")
    if scope != access.Scope.ALL:
        qs = access.restrict(actor, "customer.view", qs)
    try:
        return qs.get(pk=int(customer_id))
    except (Customer.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


# --------------------------------------------------------------------------------------------------------------
# Credit file


def _file_for_update(customer: Customer) -> tuple[CreditFile, bool]:
    cf = CreditFile.objects.select_for_update().filter(customer=customer).first()
    if cf is not None:
        return cf, False
    return CreditFile.objects.create(customer=customer), True


@transaction.atomic
def credit_file_update(*, actor: User, customer_id: int, **texts: str) -> CreditFile:
    """Save the written parts of the credit file (site survey, related-party survey, analysis conclusion, public
    materials) (R-CRD-01)."""
    customer = customer_for(actor, "credit.file.edit", customer_id)
    unknown = set(texts) - set(FILE_FIELDS)
    if unknown:
        raise ValidationFailed(_("未知的信用档案项目。"), field=sorted(unknown)[0], rule="unknown")
    cf, created = _file_for_update(customer)
    if not created:
        archive.ensure_writable(customer)  # R-ARC-03: an archived dossier's file is not rewritten
    before = None if created else audit.snapshot(cf, FILE_FIELDS)
    for key, value in texts.items():
        text = (value or "").strip()
        if len(text) > 20000:
            raise ValidationFailed(_("内容过长（上限 20000 字）。"), field=key, rule="max_length")
        setattr(cf, key, text)
    cf.updated_by = actor
    cf.save()
    audit.record(
        actor=actor,
        action=AuditAction.CREATE if created else AuditAction.UPDATE,
        obj=cf,
        changes=audit.diff(before, audit.snapshot(cf, FILE_FIELDS)),
        confidential=True,
    )
    return cf


@transaction.atomic
def credit_document_add(
    *,
    actor: User,
    customer_id: int,
    item: str,
    upload: Any,
    doc_type: str = "",
    title: str = "",
    note: str = "",
) -> CreditDocument:
    """File a document under an item of the credit file. Credit-file attachments are always confidential, so every
    download is logged."""
    from kehu.core.attachments import attachment_add
    from kehu.core.models.attachments import DocumentType

    customer = customer_for(actor, "credit.file.edit", customer_id)
    if item not in FileItem.values:
        raise ValidationFailed(_("请选择档案项目。"), field="item", rule="choice")
    if doc_type and doc_type not in DocumentType.values:
        raise ValidationFailed(_("未知的附件类别。"), field="doc_type", rule="choice")
    cf, _created = _file_for_update(customer)
    att = attachment_add(
        actor=actor,
        target=cf,
        upload=upload,
        doc_type=doc_type or (DocumentType.STATEMENT if item == FileItem.STATEMENTS else DocumentType.REPORT),
        title=title,
        note=note,
        confidential=True,
    )
    doc = CreditDocument.objects.create(credit_file=cf, item=item, attachment=att)
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=cf,
        changes={"document": [None, {"item": item, "attachment": att.pk, "filename": att.filename}]},
        confidential=True,
    )
    return doc


def on_attachment_change(target: Any) -> None:
    """Files on a credit file are confidential whichever way they were added or replaced (the generic attachment
    page or API included): a file added as not confidential is marked confidential at once, with an audit entry."""
    from django.contrib.contenttypes.models import ContentType

    from kehu.core.models.attachments import Attachment

    open_files = list(
        Attachment.objects.select_for_update().filter(
            content_type=ContentType.objects.get_for_model(CreditFile),
            object_id=str(target.pk),
            confidential=False,
        )
    )
    for att in open_files:
        att.confidential = True
        att.save(update_fields=["confidential"])
        audit.record(
            actor=None,
            action=AuditAction.UPDATE,
            obj=att,
            changes={"confidential": [False, True]},
            reason=_("信用档案的文件一律保密"),
        )


# --------------------------------------------------------------------------------------------------------------
# Financial statements


def _quarter_end(day: dt.date) -> bool:
    return day.month in (3, 6, 9, 12) and day.day == calendar.monthrange(day.year, day.month)[1]


def _amount(key: str, value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed(
            _("%(line)s：不是有效的金额。") % {"line": line_label(key)}, field=key, rule="number"
        ) from None
    if not amount.is_finite() or abs(amount) >= Decimal("1e16"):
        raise ValidationFailed(
            _("%(line)s：金额超出范围。") % {"line": line_label(key)}, field=key, rule="range"
        )
    return amount.quantize(Decimal("0.01"))


def check_statement(
    period_end: dt.date, period_type: str, lines: dict[str, Decimal | None], policy: policies.StatementsPolicy
) -> None:
    """The checks of one period's statements; the first failing check is raised, naming the line and the rule."""
    if period_type not in PeriodType.values:
        raise ValidationFailed(_("请选择报表类型（年报或季报）。"), field="period_type", rule="choice")
    if period_type == PeriodType.YEAR and (period_end.month, period_end.day) != (12, 31):
        raise ValidationFailed(_("年报的报告期末应为 12 月 31 日。"), field="period_end", rule="year_end")
    if period_type == PeriodType.QUARTER and not _quarter_end(period_end):
        raise ValidationFailed(
            _("季报的报告期末应为季末（3 月 31 日、6 月 30 日、9 月 30 日或 12 月 31 日）。"),
            field="period_end",
            rule="quarter_end",
        )
    if period_end > timezone.localdate():
        raise ValidationFailed(_("报告期末不能晚于今天。"), field="period_end", rule="not_future")
    for key in policy.required_lines:
        if lines.get(key) is None:
            raise ValidationFailed(
                _("%(line)s：必填（财务报表校验政策）。") % {"line": line_label(key)},
                field=key,
                rule="required",
            )
    for key in policy.non_negative_lines:
        value = lines.get(key)
        if value is not None and value < 0:
            raise ValidationFailed(
                _("%(line)s：不得为负数。") % {"line": line_label(key)}, field=key, rule="non_negative"
            )
    ta, tl, eq = lines.get("total_assets"), lines.get("total_liabilities"), lines.get("equity")
    ca, cl = lines.get("current_assets"), lines.get("current_liabilities")
    if ca is not None and ta is not None and ca > ta:
        raise ValidationFailed(
            _("流动资产合计不能大于资产总计。"), field="current_assets", rule="part_of_total"
        )
    parts = [lines.get(k) for k in ("cash", "receivables", "inventory")]
    if ca is not None and sum(p for p in parts if p is not None) > ca:
        raise ValidationFailed(
            _("货币资金、应收账款与存货之和不能大于流动资产合计。"),
            field="current_assets",
            rule="part_of_total",
        )
    if cl is not None and tl is not None and cl > tl:
        raise ValidationFailed(
            _("流动负债合计不能大于负债合计。"), field="current_liabilities", rule="part_of_total"
        )
    if ta is not None and tl is not None and eq is not None:
        gap = abs(ta - (tl + eq))
        if gap > policy.balance_tolerance:
            raise ValidationFailed(
                _(
                    "资产总计（%(ta)s）应等于负债合计加所有者权益合计（%(sum)s），相差 %(gap)s 元，"
                    "超过容差 %(tol)s 元。"
                )
                % {
                    "ta": f"{ta:,}",
                    "sum": f"{tl + eq:,}",
                    "gap": f"{gap:,}",
                    "tol": policy.balance_tolerance,
                },
                field="total_assets",
                rule="balance",
            )


STATEMENT_AUDIT = ("period_end", "period_type", *LINES, "note")


@transaction.atomic
def statement_save(
    *,
    actor: User,
    customer_id: int,
    period_end: dt.date | None,
    period_type: str,
    lines: dict[str, Any],
    note: str = "",
    statement_id: int | None = None,
    source: str = StatementSource.FORM,
    replace: bool = False,
) -> FinancialStatement:
    """Enter (or correct, with ``statement_id``) one period's balance sheet, income statement and cash flow.
    ``replace``: a period already on file is overwritten (the import) instead of refused."""
    customer = customer_for(actor, "credit.statement.edit", customer_id)
    if period_end is None:
        raise ValidationFailed(_("报告期末：必填。"), field="period_end", rule="required")
    unknown = set(lines) - set(LINES)
    if unknown:
        raise ValidationFailed(_("未知的报表项目。"), field=sorted(unknown)[0], rule="unknown")
    amounts = {key: _amount(key, lines.get(key)) for key in LINES}
    policy, version_id = policies.statements()
    check_statement(period_end, period_type, amounts, policy)
    existing = (
        FinancialStatement.objects.select_for_update()
        .filter(customer=customer, period_end=period_end)
        .first()
    )
    if statement_id is not None or existing is not None:
        archive.ensure_writable(customer)  # R-ARC-03: an archived dossier's statements are not rewritten
    if statement_id is not None:
        try:
            stmt = FinancialStatement.objects.select_for_update().get(pk=statement_id, customer=customer)
        except FinancialStatement.DoesNotExist:
            raise NotFound() from None
        if existing is not None and existing.pk != stmt.pk:
            raise ValidationFailed(_("该报告期的报表已存在。"), field="period_end", rule="unique")
    elif existing is not None:
        if not replace:
            raise ValidationFailed(_("该报告期的报表已存在。"), field="period_end", rule="unique")
        stmt = existing
    else:
        stmt = FinancialStatement(customer=customer, created_by=actor)
    before = audit.snapshot(stmt, STATEMENT_AUDIT) if stmt.pk else None
    stmt.period_end, stmt.period_type, stmt.source = period_end, period_type, source
    stmt.note = (note or "").strip()[:500]
    stmt.policy_version_id = version_id
    for key, value in amounts.items():
        setattr(stmt, key, value)
    try:
        with transaction.atomic():
            stmt.save()
    except IntegrityError:
        raise ValidationFailed(_("该报告期的报表已存在。"), field="period_end", rule="unique") from None
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE if before else AuditAction.CREATE,
        obj=stmt,
        changes=audit.diff(before, audit.snapshot(stmt, STATEMENT_AUDIT)),
        policy_version=version_id,
        confidential=True,
    )
    return stmt


PERIOD_TYPES_BY_TEXT = {
    "年报": PeriodType.YEAR,
    "年": PeriodType.YEAR,
    "year": PeriodType.YEAR,
    "季报": PeriodType.QUARTER,
    "季": PeriodType.QUARTER,
    "quarter": PeriodType.QUARTER,
}


def _parse_date(text: str) -> dt.date:
    value = text.strip().split(" ")[0].replace("/", "-").replace(".", "-")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(_("日期格式应为 2025-12-31")) from None


def _parse_type(text: str) -> str:
    value = PERIOD_TYPES_BY_TEXT.get(text.strip().lower())
    if value is None:
        raise ValueError(_("应为“年报”或“季报”"))
    return value


def _parse_amount(text: str) -> Decimal:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        raise ValueError(_("不是有效的金额")) from None
    if not value.is_finite():
        raise ValueError(_("不是有效的金额"))
    return value


def import_spec() -> ImportSpec:
    """One row per period: the period end, the type and every line (headers are the Chinese line names)."""
    return ImportSpec(
        columns=[
            ImportColumn(_("报告期末"), "period_end", required=True, parse=_parse_date),
            ImportColumn(_("报表类型"), "period_type", required=True, parse=_parse_type),
            *(ImportColumn(line_label(key), key, parse=_parse_amount) for key in LINES),
            ImportColumn(_("说明"), "note"),
        ],
        key="period_end",
    )


def statement_import(*, actor: User, customer_id: int, file: Any) -> ImportReport:
    """Import periods from xlsx, all or nothing, with a per-row report. A period already on file is replaced."""
    customer = customer_for(actor, "credit.statement.edit", customer_id)

    def handle(values: dict[str, Any], row: Any) -> str:
        lines = {k: values.get(k) for k in LINES}
        exists = FinancialStatement.objects.filter(
            customer=customer, period_end=values["period_end"]
        ).exists()
        statement_save(
            actor=actor,
            customer_id=customer.pk,
            period_end=values["period_end"],
            period_type=values["period_type"],
            lines=lines,
            note=values.get("note") or "",
            source=StatementSource.IMPORT,
            replace=True,
        )
        return "updated" if exists else "created"

    return run_import(spec=import_spec(), file=file, handler=handle, actor=actor, max_rows=200)


# --------------------------------------------------------------------------------------------------------------
# Ratings


def _level(key: str, value: Any) -> int:
    try:
        level = int(value)
    except (TypeError, ValueError):
        level = 0
    if level < 1 or level > 5:
        label = _label(Rating, key)
        raise ValidationFailed(_("%(field)s：请选择 1 到 5 级。") % {"field": label}, field=key, rule="level")
    return level


def _inputs(values: dict[str, Any]) -> scoring.Inputs:
    try:
        years = Decimal(str(values.get("years_of_trade")))
    except (InvalidOperation, ValueError):
        years = Decimal(-1)
    if not years.is_finite() or years < 0 or years > 200:
        raise ValidationFailed(
            _("往来年限：应为 0 到 200 之间的年数。"), field="years_of_trade", rule="range"
        )
    return scoring.Inputs(
        payment_history=_level("payment_history", values.get("payment_history")),
        years_of_trade=years.quantize(Decimal("0.1")),
        industry_outlook=_level("industry_outlook", values.get("industry_outlook")),
        management=_level("management", values.get("management")),
        litigation=_level("litigation", values.get("litigation")),
    )


def _statement_for(customer: Customer, statement_id: int | None) -> FinancialStatement | None:
    qs = FinancialStatement.objects.filter(customer=customer)
    if statement_id:
        try:
            return qs.get(pk=statement_id)
        except (FinancialStatement.DoesNotExist, ValueError):
            raise ValidationFailed(
                _("依据报表：不是该客户的报表。"), field="statement_id", rule="customer"
            ) from None
    return qs.order_by("-period_end").first()


def _apply_score(
    rating: Rating, customer: Customer, statement: FinancialStatement | None, inputs: Any
) -> None:
    policy, version_id = policies.rating()
    result = scoring.score(policy, policy.category_for(customer.industry), statement, inputs)
    rating.category = result.category
    rating.statement = statement
    for key in RATING_INPUTS:
        setattr(rating, key, getattr(inputs, key))
    rating.score, rating.computed_grade, rating.grade = result.score, result.grade, result.grade
    rating.credit_class = result.credit_class
    rating.details = result.details
    rating.policy_version_id = version_id
    rating.overridden, rating.override_reason, rating.override_by = False, "", None


@transaction.atomic
def rating_prepare(
    *, actor: User, customer_id: int, statement_id: int | None = None, note: str = "", **values: Any
) -> Rating:
    """A new draft rating computed from the latest (or the chosen) statements and the analyst's inputs. A customer
    has at most one rating in preparation (draft or pending) at a time."""
    customer = customer_for(actor, "credit.rating.prepare", customer_id)
    Customer.objects.select_for_update().filter(pk=customer.pk).first()  # one preparer at a time per customer
    if Rating.objects.filter(
        customer=customer, status__in=[RatingStatus.DRAFT, RatingStatus.PENDING]
    ).exists():
        raise Conflict(_("该客户已有编制中或待审批的评级，请先处理该评级。"))
    inputs = _inputs(values)
    statement = _statement_for(customer, statement_id)
    rating = Rating(customer=customer, prepared_by=actor, note=(note or "").strip())
    _apply_score(rating, customer, statement, inputs)
    rating.save()
    audit.record(
        actor=actor,
        action=AuditAction.CREATE,
        obj=rating,
        changes=audit.diff(None, audit.snapshot(rating, (*RATING_AUDIT, *RATING_INPUTS, "category"))),
        policy_version=rating.policy_version_id,
        confidential=True,
    )
    return rating


def _locked(actor: User, action: str, rating_id: int) -> Rating:
    access.require(actor, action)
    try:
        return Rating.objects.select_for_update().select_related("customer").get(pk=int(rating_id))
    except (Rating.DoesNotExist, ValueError, TypeError):
        raise NotFound() from None


@transaction.atomic
def rating_update(
    *, actor: User, rating_id: int, statement_id: int | None = None, note: str = "", **values: Any
) -> Rating:
    """Correct a draft (also one sent back) and compute it again; only its preparer may."""
    rating = _locked(actor, "credit.rating.prepare", rating_id)
    if rating.status != RatingStatus.DRAFT:
        raise Conflict(_("只有草稿状态的评级可以修改。"))
    if rating.prepared_by_id != actor.pk:
        raise PermissionDenied(_("只有评级人本人可以修改评级草稿。"))
    before = audit.snapshot(rating, (*RATING_AUDIT, *RATING_INPUTS))
    _apply_score(rating, rating.customer, _statement_for(rating.customer, statement_id), _inputs(values))
    rating.note = (note or "").strip()
    rating.save()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=rating,
        changes=audit.diff(before, audit.snapshot(rating, (*RATING_AUDIT, *RATING_INPUTS))),
        policy_version=rating.policy_version_id,
        confidential=True,
    )
    return rating


@transaction.atomic
def rating_submit(*, actor: User, rating_id: int) -> Rating:
    """The preparer submits the draft for approval; the approvers get an inbox task."""
    from kehu.workflow.engine import task_create

    rating = _locked(actor, "credit.rating.prepare", rating_id)
    if rating.prepared_by_id != actor.pk:
        raise PermissionDenied(_("只有评级人本人可以提交评级。"))
    if rating.status != RatingStatus.DRAFT:
        raise Conflict(_("该评级已提交或已处理。"))
    rating.status = RatingStatus.PENDING
    rating.save(update_fields=["status"])
    policy, _v = policies.rating()
    task_create(
        target=rating,
        title=_("审批信用评级：%(customer)s（%(grade)s）")
        % {"customer": rating.customer.name, "grade": rating.grade},
        assignee_role=policy.approver_roles[0],
        due=timezone.localdate() + dt.timedelta(days=3),
        actor=actor,
    )
    audit.record(
        actor=actor,
        action=AuditAction.TRANSITION,
        obj=rating,
        changes={"status": [RatingStatus.DRAFT, RatingStatus.PENDING]},
        confidential=True,
    )
    return rating


def _holds_role(actor: User, roles: list[str]) -> bool:
    return bool(set(actor.role_codes()) & set(roles))


def add_months(day: dt.date, months: int) -> dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


DECISIONS = ("approve", "return", "reject")


@transaction.atomic
def rating_decide(*, actor: User, rating_id: int, decision: str, comment: str = "") -> Rating:
    """Approve, send back (to draft) or reject a pending rating. Only a role of the policy's approvers who did not
    prepare the rating may decide; the approved rating supersedes the one in force (one in force per customer)."""
    from kehu.workflow.engine import task_close

    rating = _locked(actor, "credit.rating.decide", rating_id)
    policy, version_id = policies.rating()
    if not _holds_role(actor, policy.approver_roles):
        raise PermissionDenied(_("评级须由评级政策规定的审批角色批准。"))
    if rating.prepared_by_id == actor.pk:
        raise PermissionDenied(_("评级人不得审批自己编制的评级。"))
    if decision == "approve" and rating.override_by_id == actor.pk:
        raise PermissionDenied(_("调整了等级的人不得再审批同一评级：须由另一位审批人批准。"))
    if decision not in DECISIONS:
        raise ValidationFailed(_("请选择审批结论。"), field="decision", rule="choice")
    if rating.status != RatingStatus.PENDING:
        raise Conflict(_("该评级不在待审批状态。"))
    comment = (comment or "").strip()
    if decision != "approve" and not comment:
        raise ValidationFailed(_("退回或否决须填写审批意见。"), field="comment", rule="required")
    before = audit.snapshot(rating, RATING_AUDIT)
    today = timezone.localdate()
    if decision == "approve":
        old = list(
            Rating.objects.select_for_update().filter(
                customer_id=rating.customer_id, status=RatingStatus.APPROVED
            )
        )
        Rating.objects.filter(pk__in=[r.pk for r in old]).update(status=RatingStatus.SUPERSEDED)
        rating.status = RatingStatus.APPROVED
        rating.rated_on = today
        rating.review_due = add_months(today, policy.valid_months)
        changes_extra: dict[str, Any] = {"superseded": [r.pk for r in old]}
    else:
        rating.status = RatingStatus.DRAFT if decision == "return" else RatingStatus.REJECTED
        changes_extra = {}
    rating.decided_by, rating.decided_at, rating.decision_comment = actor, timezone.now(), comment
    rating.save()
    task_close(target=rating, actor=actor)
    audit.record(
        actor=actor,
        action=AuditAction.DECISION,
        obj=rating,
        changes={**audit.diff(before, audit.snapshot(rating, RATING_AUDIT)), **changes_extra},
        reason=comment,
        policy_version=version_id,
        confidential=True,
    )
    return rating


@transaction.atomic
def rating_override(*, actor: User, rating_id: int, grade: str, reason: str) -> Rating:
    """Set a grade other than the computed one (R-CRD-03) on a pending rating. Needs a reason and one of the
    policy's override roles; neither the preparer nor the one who overrides may then approve it, so a second person
    always confirms the grade. Both grades are kept. A rating in force is changed by preparing a new one."""
    rating = _locked(actor, "credit.rating.decide", rating_id)
    policy, version_id = policies.rating()
    if not _holds_role(actor, policy.override_roles):
        raise PermissionDenied(_("调整等级须由评级政策规定的更高角色进行。"))
    if rating.prepared_by_id == actor.pk:
        raise PermissionDenied(_("评级人不得调整自己编制的评级。"))
    if rating.status != RatingStatus.PENDING:
        raise Conflict(_("只能调整待审批的评级；生效中的评级须重新评级。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(_("调整等级须填写理由。"), field="reason", rule="required")
    if grade not in policies.GRADES:
        raise ValidationFailed(_("请选择信用等级。"), field="grade", rule="choice")
    if grade == rating.grade:
        raise ValidationFailed(_("调整后的等级与当前等级相同。"), field="grade", rule="changed")
    before = audit.snapshot(rating, RATING_AUDIT)
    rating.grade = grade
    rating.credit_class = policy.class_for(grade)
    rating.overridden = grade != rating.computed_grade
    rating.override_reason, rating.override_by = reason, actor
    rating.save()
    audit.record(
        actor=actor,
        action=AuditAction.UPDATE,
        obj=rating,
        changes=audit.diff(before, audit.snapshot(rating, RATING_AUDIT)),
        reason=reason,
        policy_version=version_id,
        confidential=True,
    )
    return rating
