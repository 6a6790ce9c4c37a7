"""Score arithmetic per item (R-GRD-01), quota allocation with the tie rule (R-GRD-02) computed by hand, and the
policy's refusals (R-GRD-06)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from pydantic import ValidationError

from kehu.grading.policies import Grade, Item, SchemePolicy
from kehu.grading.scoring import Inputs, allocate, cuts, score

QUOTAS = [20, 30, 40, 10]


def grades_of(scores: list[int], quotas: list[int] = QUOTAS, names: str = "ABCD") -> list[str]:
    placed = allocate([(i, D(s)) for i, s in enumerate(scores)], list(names), quotas)
    return [p.grade for p in sorted(placed, key=lambda p: p.key)]


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, [0, 1, 1, 1]),  # 0.2→0, 0.5→1 (half up), 0.9→1
        (2, [0, 1, 2, 2]),  # 0.4→0, 1.0, 1.8→2
        (3, [1, 2, 3, 3]),  # 0.6→1, 1.5→2, 2.7→3
        (7, [1, 4, 6, 7]),  # 1.4→1, 3.5→4, 6.3→6
        (10, [2, 5, 9, 10]),
        (11, [2, 6, 10, 11]),  # 2.2→2, 5.5→6, 9.9→10
    ],
)
def test_cuts_small_and_odd_sizes(n, expected):
    assert cuts(n, QUOTAS) == expected


def test_distinct_scores_follow_quotas_exactly():
    assert grades_of([100 - i for i in range(10)]) == list("AABBBCCCCD")


def test_one_two_three_customers():
    assert grades_of([50]) == ["B"]
    assert grades_of([60, 50]) == ["B", "C"]
    assert grades_of([70, 60, 50]) == ["A", "B", "C"]


def test_tie_across_the_a_b_border_goes_to_the_better_grade():
    # positions 0..9; A ends at 2. Scores 80 at positions 1 and 2: the group starts inside A, so both are A and
    # A holds 3 (over its quota of 2); B keeps its cut at 5, so B gets positions 3, 4 only.
    assert grades_of([90, 80, 80, 70, 60, 50, 40, 30, 20, 10]) == list("AAABBCCCCD")


def test_tie_straddling_the_c_d_border():
    # C ends at 9: the 20s at positions 8 and 9 start inside C, so D is empty.
    assert grades_of([90, 85, 80, 70, 60, 50, 40, 30, 20, 20]) == list("AABBBCCCCC")


def test_whole_population_tied_all_get_the_top_grade_reached():
    assert grades_of([50] * 7) == ["A"] * 7


def test_ranks_shared_by_equal_scores():
    placed = allocate([(1, D(90)), (2, D(80)), (3, D(80)), (4, D(70))], list("ABCD"), QUOTAS)
    assert [(p.key, p.rank) for p in placed] == [(1, 1), (2, 2), (3, 2), (4, 4)]


def test_order_of_input_does_not_matter():
    pairs = [(i, D(s)) for i, s in enumerate([5, 9, 9, 1, 7, 7, 7, 3, 2, 8, 6])]
    assert allocate(pairs, list("ABCD"), QUOTAS) == allocate(list(reversed(pairs)), list("ABCD"), QUOTAS)


def test_three_grade_scheme():
    assert grades_of([9, 8, 7, 6, 5], [30, 40, 30], "XYZ") == list("XXYYZ")  # cuts 1.5→2, 3.5→4, 5


def test_score_per_item_by_hand():
    p = SchemePolicy()
    inputs = Inputs(
        sales_volume=D("2500000"),  # half of 5,000,000 × 25 = 12.50
        order_volume=12,  # half of 24 × 10 = 5.00
        worst_days_late=45,  # 1 − 45/90 = 0.5 × 20 = 10.00
        margin=D("15"),  # half of 30 × 15 = 7.50
        years_of_trade=D("10"),  # capped at 1 × 5 = 5.00
        sales_model="agent",  # 60 % × 5 = 3.00
        purchase_share=D("25"),  # half of 50 × 10 = 5.00
        industry_reputation=4,  # (4 − 1)/4 = 0.75 × 10 = 7.50
    )
    total, rows, missing = score(p, inputs)
    points = {r["key"]: r["points"] for r in rows}
    assert points == {
        "sales_volume": "12.50",
        "order_volume": "5.00",
        "payment_reputation": "10.00",
        "margin": "7.50",
        "years_of_trade": "5.00",
        "sales_model": "3.00",
        "purchase_share": "5.00",
        "industry_reputation": "7.50",
    }
    assert total == D("55.50") and missing == 0


def test_missing_items_score_per_policy():
    p = SchemePolicy()
    total, rows, missing = score(p, Inputs(sales_volume=D("5000000")))
    assert (total, missing) == (D("25.00"), 7)
    assert [r["key"] for r in rows if r["missing"]] == [
        "order_volume", "payment_reputation", "margin", "years_of_trade", "sales_model", "purchase_share",
        "industry_reputation",
    ]  # fmt: skip
    half = SchemePolicy(rules={"missing_percent": 50})
    assert score(half, Inputs(sales_volume=D("5000000")))[0] == D("25") + D("0.5") * 75


def test_payment_reputation_floors_at_zero():
    _total, rows, _missing = score(SchemePolicy(), Inputs(worst_days_late=400))
    assert next(r for r in rows if r["key"] == "payment_reputation")["points"] == "0.00"


def _grades(**changes):
    base = [g.model_dump() for g in SchemePolicy().grades]
    for i, quota in changes.items():
        base[int(i[1:])]["quota"] = quota
    return base


def test_policy_refuses_quotas_not_summing_to_100():
    with pytest.raises(ValidationError, match="配额之和必须等于 100"):
        SchemePolicy(grades=_grades(g0=25))


def test_policy_refuses_weights_not_summing_to_total():
    items = [i.model_dump() for i in SchemePolicy().items]
    items[0]["weight"] += 1
    with pytest.raises(ValidationError, match="分值之和必须等于总分"):
        SchemePolicy(items=items)
    # the same weights with a matching total are accepted
    assert SchemePolicy(items=items, total_points=101).total_points == 101


def test_policy_refuses_duplicate_grade_names_and_items():
    grades = _grades()
    grades[1]["name"] = "A"
    with pytest.raises(ValidationError, match="等级名称不得重复"):
        SchemePolicy(grades=grades)
    items = [i.model_dump() for i in SchemePolicy().items]
    items[1]["key"] = items[0]["key"]
    with pytest.raises(ValidationError, match="评分项不得重复"):
        SchemePolicy(items=items)


def test_alternative_scheme_vip_core_potential_general():
    g = SchemePolicy().grades[0].model_dump()
    scheme = SchemePolicy(
        grades=[
            Grade(**{**g, "name": n, "quota": q})
            for n, q in [("VIP", 10), ("核心", 20), ("潜力", 30), ("一般", 40)]
        ]
    )
    assert [x.name for x in scheme.grades] == ["VIP", "核心", "潜力", "一般"]
    assert Item(key="margin", weight=0).weight == 0
