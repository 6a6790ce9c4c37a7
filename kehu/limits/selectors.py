"""Reads of credit limits for the pages and the API; every selector takes the acting user and returns only what
that user may see."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from kehu.core import access
from kehu.core.models import User
from kehu.customers.models import Customer
from kehu.limits import adapters, policies
from kehu.limits.models import (
    AppStatus,
    CreditApplication,
    CreditLimit,
    CreditReview,
    LimitStatus,
    TermsDowngrade,
)

OVERVIEW_ROWS = 200  # the overview lists at most this many over-limit customers (largest excess first)


def applications(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[CreditApplication]:
    qs = access.restrict(
        actor,
        "limits.application.view",
        CreditApplication.objects.select_related("customer", "customer__owner", "case", "created_by"),
    )
    return apply_application_filters(qs, filters or {})


def amount_bands() -> list[tuple[str, str, Decimal | None, Decimal | None]]:
    """(key, label, lower exclusive, upper inclusive) of the authority matrix's bands."""
    policy, _v = policies.credit()
    out = []
    lower: Decimal | None = None
    for i, band in enumerate(policy.bands):
        upper = band.up_to
        if upper is None:
            label = f"> {lower:,.0f}" if lower is not None else "—"
        elif lower is None:
            label = f"≤ {upper:,.0f}"
        else:
            label = f"{lower:,.0f} – {upper:,.0f}"
        out.append((str(i), label, lower, upper))
        lower = upper
    return out


def apply_application_filters(
    qs: QuerySet[CreditApplication], f: dict[str, Any]
) -> QuerySet[CreditApplication]:
    if f.get("status"):
        qs = qs.filter(status=f["status"])
    if f.get("stage"):
        qs = qs.filter(case__state=f["stage"])
    if f.get("owner"):
        qs = qs.filter(customer__owner=f["owner"])
    if f.get("q"):
        qs = qs.filter(Q(customer__name__icontains=f["q"]) | Q(number__icontains=f["q"]))
    if f.get("band") not in (None, ""):
        for key, _label, lower, upper in amount_bands():
            if key == str(f["band"]):
                if lower is not None:
                    qs = qs.filter(requested_amount__gt=lower)
                if upper is not None:
                    qs = qs.filter(requested_amount__lte=upper)
    return qs


def limits_in_force(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[CreditLimit]:
    qs = access.restrict(
        actor,
        "limits.limit.view",
        CreditLimit.objects.filter(status=LimitStatus.IN_FORCE).select_related(
            "customer", "customer__owner", "approved_by"
        ),
    )
    return apply_limit_filters(qs, filters or {})


def apply_limit_filters(qs: QuerySet[CreditLimit], f: dict[str, Any]) -> QuerySet[CreditLimit]:
    if f.get("q"):
        qs = qs.filter(customer__name__icontains=f["q"])
    if f.get("credit_class"):
        qs = qs.filter(credit_class=f["credit_class"])
    if f.get("review_within") not in (None, ""):
        qs = qs.filter(next_review_on__lte=timezone.localdate() + dt.timedelta(days=int(f["review_within"])))
    if f.get("min_utilisation") not in (None, ""):
        # exposure at least the percentage of the limit, in SQL (100 lists the customers at or over their limit)
        percent = Decimal(str(f["min_utilisation"]))
        qs = qs.alias(exposure_now=adapters.exposure_expression()).filter(
            exposure_now__gte=F("amount") * percent / 100
        )
    return qs


def with_utilisation(rows: list[CreditLimit]) -> list[CreditLimit]:
    """Attach ``exposure``, ``available`` and ``utilisation`` (percent) to each row (one query for all rows)."""
    exposures = adapters.credit_exposures([row.customer_id for row in rows])
    for row in rows:
        exposure = exposures[row.customer_id]
        row.exposure = exposure  # type: ignore[attr-defined]
        row.available = row.amount - exposure  # type: ignore[attr-defined]
        row.utilisation = (  # type: ignore[attr-defined]
            (exposure * 100 / row.amount).quantize(Decimal("0.1")) if row.amount else Decimal("0")
        )
    return rows


def reviews(*, actor: User, filters: dict[str, Any] | None = None) -> QuerySet[CreditReview]:
    qs = access.restrict(
        actor,
        "limits.review.view",
        CreditReview.objects.select_related("customer", "customer__owner", "decided_by"),
    )
    return apply_review_filters(qs, filters or {})


def apply_review_filters(qs: QuerySet[CreditReview], f: dict[str, Any]) -> QuerySet[CreditReview]:
    today = timezone.localdate()
    state = f.get("state")
    if state == "open":
        qs = qs.filter(decision="")
    elif state == "overdue":
        qs = qs.filter(decision="", due__lt=today)
    elif state == "decided":
        qs = qs.exclude(decision="")
    if f.get("trigger"):
        qs = qs.filter(trigger=f["trigger"])
    if f.get("q"):
        qs = qs.filter(customer__name__icontains=f["q"])
    return qs


def customer_credit(*, actor: User, customer: Customer) -> dict[str, Any]:
    """The customer's credit tab: limit in force, history, applications, reviews (what the user may see)."""
    limits = list(
        access.restrict(
            actor,
            "limits.limit.view",
            CreditLimit.objects.filter(customer=customer).select_related("approved_by"),
        ).order_by("-valid_from", "-pk")[:50]
    )
    in_force = next((r for r in limits if r.status == LimitStatus.IN_FORCE), None)
    if in_force is not None:
        with_utilisation([in_force])
    return {
        "in_force": in_force,
        "history": limits,
        "applications": list(
            access.restrict(
                actor,
                "limits.application.view",
                CreditApplication.objects.filter(customer=customer).select_related("case"),
            ).order_by("-pk")[:20]
        ),
        "reviews": list(
            access.restrict(
                actor, "limits.review.view", CreditReview.objects.filter(customer=customer)
            ).order_by("-pk")[:20]
        ),
        "downgrades": list(TermsDowngrade.objects.filter(customer=customer).order_by("-quarter_start")[:10])
        if access.can(actor, "limits.review.view")
        else [],
    }


def overview(*, actor: User) -> dict[str, Any]:
    """Credit overview (R-CRD-05/08): totals by class, utilisation of the largest limits, over-limit customers,
    ageing (from the receivables app when installed), reviews due and applications in progress."""
    qs = limits_in_force(actor=actor)
    by_class: dict[str, dict[str, Any]] = {
        r["credit_class"]: dict(r)
        for r in qs.order_by().values("credit_class").annotate(n=Count("pk"), total=Sum("amount"))
    }
    # every limit in scope, summed and ranked in SQL: no sample, whatever the number of customers
    measured = qs.annotate(exposure_now=adapters.exposure_expression())
    total_limit = sum((r["total"] or Decimal("0") for r in by_class.values()), Decimal("0"))
    total_exposure = measured.aggregate(t=Sum("exposure_now"))["t"] or Decimal("0")
    over = with_utilisation(
        list(
            measured.filter(exposure_now__gt=F("amount"))
            .annotate(excess=F("exposure_now") - F("amount"))
            .order_by("-excess", "pk")[:OVERVIEW_ROWS]
        )
    )
    today = timezone.localdate()
    review_qs = reviews(actor=actor, filters={"state": "open"})
    apps = applications(actor=actor).filter(
        status__in=[AppStatus.DRAFT, AppStatus.INVESTIGATION, AppStatus.APPROVAL]
    )
    ageing = adapters.ageing_summary(actor)
    top = with_utilisation(
        list(
            measured.filter(amount__gt=0)
            .annotate(ratio=F("exposure_now") * 1000 / F("amount"))
            .order_by("-ratio", "pk")[:10]
        )
    )
    return {
        "count": sum(r["n"] for r in by_class.values()),
        "total_limit": total_limit,
        "total_exposure": total_exposure,
        "utilisation": (total_exposure * 100 / total_limit).quantize(Decimal("0.1")) if total_limit else None,
        "by_class": [
            {"cls": c, "n": by_class.get(c, {}).get("n", 0), "total": by_class.get(c, {}).get("total") or 0}
            for c in ("A", "B", "C", "D")
        ],
        "top": top,
        "over": over,
        "reviews_open": review_qs.count(),
        "reviews_overdue": review_qs.filter(due__lt=today).count(),
        "reviews_due_soon": qs.filter(next_review_on__lte=today + dt.timedelta(days=30)).count(),
        "apps_by_status": {
            r["status"]: r["n"] for r in apps.order_by().values("status").annotate(n=Count("pk"))
        },
        "ageing": ageing,
        "rows_capped": len(over) == OVERVIEW_ROWS,
    }


def chart_data(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "classes": [c["cls"] for c in data["by_class"]],
        "class_totals": [float(c["total"]) for c in data["by_class"]],
        "top_names": [r.customer.name for r in data["top"]],
        "top_util": [float(r.utilisation) for r in data["top"]],
        "ageing_keys": list((data["ageing"] or {}).keys()),
        "ageing_values": [float(v) for v in (data["ageing"] or {}).values()],
    }
