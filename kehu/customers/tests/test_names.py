"""Name normalisation (R-CUS-11) and its database prefilter, as properties."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from kehu.customers import names
from kehu.customers.policies import DuplicatePolicy

DUPLICATE_THRESHOLD = DuplicatePolicy().name_similarity

CORE = st.text(alphabet="精密机械华信电子科技贸易制造材料光仪器达通泰恒瑞", min_size=2, max_size=12)
REGION = st.sampled_from(["上海", "上海市", "北京", "广东省", "深圳市", "江苏", "苏州"])
SUFFIX = st.sampled_from(["有限公司", "有限责任公司", "股份有限公司", "集团有限公司", "集团", "公司"])


@given(core=CORE, region=REGION, suffix=SUFFIX, spaced=st.booleans(), full_width=st.booleans())
@settings(max_examples=200, deadline=None)
def test_region_bracket_suffix_and_spaces_do_not_matter(core, region, suffix, spaced, full_width):
    left, right = ("（", "）") if full_width else ("(", ")")
    sep = " " if spaced else ""
    variants = [
        f"{region}{sep}{core}{suffix}",
        f"{core}{left}{region}{right}{suffix}",
        f"{core}{sep}{suffix}",
    ]
    assert {names.name_key(v) for v in variants} == {core}


@given(
    a=st.text(alphabet="甲乙丙丁戊己庚辛壬癸子丑寅卯", min_size=4, max_size=30),
    b=st.text(alphabet="甲乙丙丁戊己庚辛壬癸子丑寅卯", min_size=1, max_size=30),
)
@settings(max_examples=500, deadline=None)
def test_prefilter_never_drops_a_near_identical_key(a, b):
    if fuzz.ratio(a, b) >= DUPLICATE_THRESHOLD:
        assert any(piece in b for piece in names.key_windows(a))


@given(a=st.text(alphabet="甲乙丙丁戊己庚辛壬癸", min_size=4, max_size=30), data=st.data())
@settings(max_examples=300, deadline=None)
def test_prefilter_keeps_single_edits(a, data):
    i = data.draw(st.integers(0, len(a) - 1))
    ch = data.draw(st.sampled_from("子丑寅卯"))
    for b in (a[:i] + ch + a[i + 1 :], a[:i] + a[i + 1 :], a[:i] + ch + a[i:]):
        if fuzz.ratio(a, b) >= DUPLICATE_THRESHOLD:
            assert any(piece in b for piece in names.key_windows(a))


def test_prefilter_keeps_keys_edited_at_start_middle_and_end():
    a = "甲乙丙丁戊己庚辛壬癸" * 3
    b = "子" + a[1:15] + "子" + a[16:29] + "子"
    assert fuzz.ratio(a, b) >= DUPLICATE_THRESHOLD
    assert any(piece in b for piece in names.key_windows(a))
    assert all(len(p) == 2 for p in names.key_windows(a)) and len(names.key_windows("华信精密")) == 1
