"""The benchmark harness: the generator makes valid data and every benchmark runs at a tiny size (no timing)."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from bench.__main__ import SCALES, print_table
from bench.benchmarks import BENCHMARKS, Figure
from bench.data import DataGenerator, bulk_audit_entries, bulk_users
from kehu.core import audit
from kehu.core.uscc import uscc_is_valid

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-[2-8]\d{6,7}$")
SUFFIXES = ("有限公司", "股份有限公司", "有限责任公司", "集团有限公司")


def test_generator_is_deterministic() -> None:
    assert DataGenerator(5).companies(20) == DataGenerator(5).companies(20)
    assert DataGenerator(5).companies(5) != DataGenerator(6).companies(5)


def test_generated_companies_are_valid() -> None:
    rows = DataGenerator(1).companies(300)
    for row in rows:
        assert uscc_is_valid(row["credit_code"]), row
        assert row["name"].endswith(SUFFIXES)
        assert 8 <= len(row["name"]) <= 30
        assert MOBILE.match(row["contact_mobile"]), row["contact_mobile"]
        assert LANDLINE.match(row["phone"]), row["phone"]
        assert re.fullmatch(r"\d{6}", row["postcode"])
        assert isinstance(row["registered_capital"], Decimal) and row["registered_capital"] > 0
        assert row["address"].endswith("号") and row["district"] in row["address"]
        assert 2 <= len(row["legal_representative"]) <= 4
    assert len({r["credit_code"] for r in rows}) == len(rows)


@pytest.mark.django_db
def test_bulk_audit_entries_form_a_valid_chain() -> None:
    gen = DataGenerator(3)
    users = bulk_users(3, gen)
    before = audit.record(actor=users[0], action="other", object_type="bench", object_id="1").seq
    seq = bulk_audit_entries(25, gen, users, batch=10)
    assert seq == before + 25
    result = audit.verify()
    assert result.ok and result.checked == seq


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_each_benchmark_returns_figures(name: str) -> None:
    params = dict(SCALES["tiny"][name])
    if name == "login":
        params["n"] = 2
    figures = BENCHMARKS[name](**params)
    assert figures
    for fig in figures:
        assert isinstance(fig, Figure)
        assert fig.n > 0 and fig.seconds > 0 and fig.rate > 0
        if fig.baseline:  # figures with a baseline carry the ratio against it
            assert fig.ratio is not None and fig.ratio > 0
    assert any(f.baseline for f in figures)
    assert audit.verify().ok  # the benchmarks leave a valid chain behind
    if name == "login":
        assert figures[1].extra["queries"] > 0
    if name == "audit_verify":
        assert figures[0].extra["seconds_per_100k"] > 0


def test_print_table() -> None:
    import io

    out = io.StringIO()
    print_table([Figure("x", 10, 1.0, 10.0, "ops/s", "base", 2.0, {"p50_ms": 1.5}).as_dict()], out)
    assert "x" in out.getvalue() and "2.00" in out.getvalue() and "p50_ms=1.50" in out.getvalue()
