"""The unified social credit code: check characters, validation errors, generation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kehu.core.errors import ValidationFailed
from kehu.core.uscc import (
    ALPHABET,
    org_check_char,
    uscc_check_char,
    uscc_generate,
    uscc_is_valid,
    uscc_validate,
)

# Published codes of registered companies; both checks were confirmed with this implementation.
KNOWN_GOOD = [
    "91350100M000100Y43",
    "911100001000044477",
    "914403001922038216",
    "91440300708461136T",
    "91110108551385082Q",
]


def _error(code: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as info:
        uscc_validate(code)
    exc = info.value
    assert exc.field == "credit_code"
    assert exc.as_dict()["detail"]["field"] == "credit_code"
    return exc


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_known_good_codes(code: str) -> None:
    assert uscc_is_valid(code)
    assert uscc_check_char(code[:17]) == code[17]
    assert org_check_char(code[8:16]) == code[16]


@pytest.mark.parametrize("code", KNOWN_GOOD)
def test_lower_case_and_blanks_are_normalised(code: str) -> None:
    assert uscc_is_valid(code.lower())
    assert uscc_is_valid(f"  {code.lower()} ")


def test_check_char_value_31_becomes_zero() -> None:
    # A computed value of 31 is written as "0": exactly one last character of the prefix gives it.
    prefixes = [f"9131011500000000{c}" for c in ALPHABET]
    zeros = [p for p in prefixes if uscc_check_char(p) == "0"]
    assert len(zeros) == 1  # exactly one substitution at a position maps the sum to 0 mod 31


def test_org_check_char_10_and_11() -> None:
    # GB 11714: 10 -> X and 11 -> 0.
    assert org_check_char("00000000") == "0"
    bodies = [f"0000000{c}" for c in "0123456789"] + [f"000000{a}{b}" for a in "0123" for b in "0123456789"]
    assert "X" in {org_check_char(b) for b in bodies}


def test_wrong_final_check_char_names_expected() -> None:
    good = KNOWN_GOOD[0]
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    exc = _error(bad)
    assert exc.rule == "check_char"
    assert exc.detail["expected"] == good[17]
    assert exc.detail["position"] == 18
    assert f"“{good[17]}”" in str(exc.message)


def test_wrong_org_code_check_is_reported() -> None:
    good = KNOWN_GOOD[1]  # 911100001000044477: organisation code 100004447, check 7
    first17 = good[:16] + "8"
    bad = first17 + uscc_check_char(first17)  # the final check is right, the organisation check is not
    exc = _error(bad)
    assert exc.rule == "org_code_check"
    assert exc.detail["expected"] == "7"
    assert exc.detail["position"] == 17


@pytest.mark.parametrize("code,n", [("", 0), ("9131011", 7), ("91350100M000100Y431", 19)])
def test_length_error(code: str, n: int) -> None:
    exc = _error(code)
    assert exc.rule == "length"
    assert exc.detail["length"] == n
    assert "18" in str(exc.message)


@pytest.mark.parametrize(
    "pos,char", [(1, "I"), (5, "O"), (9, "Z"), (12, "S"), (18, "V"), (3, "-"), (10, "字")]
)
def test_alphabet_error_names_position(pos: int, char: str) -> None:
    good = KNOWN_GOOD[0]
    bad = good[: pos - 1] + char + good[pos:]
    exc = _error(bad)
    assert exc.rule == "alphabet"
    assert exc.detail["position"] == pos
    assert exc.detail["char"] == char.upper()
    assert f"第 {pos} 位" in str(exc.message)


def test_check_char_rejects_bad_input() -> None:
    with pytest.raises(ValueError):
        uscc_check_char("123")
    with pytest.raises(ValueError):
        uscc_check_char("9131011500000000I")


@given(st.integers(min_value=0, max_value=2**32))
def test_generated_codes_validate(seed: int) -> None:
    code = uscc_generate(random.Random(seed))
    assert len(code) == 18
    assert code[0] == "9"
    assert code[1] in "123"
    uscc_validate(code)


@given(
    st.integers(min_value=0, max_value=2**32),
    st.integers(min_value=0, max_value=17),
    st.sampled_from(ALPHABET),
)
def test_any_single_substitution_is_invalid(seed: int, position: int, char: str) -> None:
    code = uscc_generate(random.Random(seed))
    if code[position] == char:
        char = ALPHABET[(ALPHABET.index(char) + 1) % len(ALPHABET)]
    changed = code[:position] + char + code[position + 1 :]
    assert not uscc_is_valid(changed)


def test_generation_is_deterministic() -> None:
    a = [uscc_generate(random.Random(7)) for _ in range(3)]
    b = [uscc_generate(random.Random(7)) for _ in range(3)]
    assert a == b


def test_generate_with_division() -> None:
    code = uscc_generate(random.Random(1), division="440305")
    assert code[2:8] == "440305" and uscc_is_valid(code)
    with pytest.raises(ValueError):
        uscc_generate(random.Random(1), division="4403")
