"""The unified social credit code (统一社会信用代码, GB 32100-2015).

Eighteen characters from :data:`ALPHABET` (no I, O, Z, S, V):

- position 1: registration authority (登记管理部门, e.g. ``9`` 工商);
- position 2: organisation type (机构类别, e.g. ``1`` 企业, ``2`` 个体工商户, ``3`` 农民专业合作社);
- positions 3-8: administrative division code (登记管理机关行政区划码, e.g. ``310115``);
- positions 9-17: organisation code (组织机构代码, GB 11714) whose last character is its own check;
- position 18: the check character over the first 17.

:func:`uscc_validate` names what is wrong (length, alphabet with position, organisation code check, final check
with the expected character); :func:`uscc_generate` makes realistic valid codes for demo and benchmark data.
"""

from __future__ import annotations

import random

from django.utils.translation import gettext as _

from kehu.core.errors import ValidationFailed

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18

# GB 11714: the organisation code's body is 8 characters of digits and upper-case letters (values A=10 .. Z=35).
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Registration authority 9 (工商) with its organisation types.
TYPES = ("1", "2", "3")

# Administrative division codes (县级) that exist, for generated codes.
DIVISIONS = (
    "110101", "110105", "110108", "120101", "120116", "310101", "310104", "310112", "310115", "310117",
    "320102", "320205", "320506", "320583", "330106", "330110", "330206", "330782", "340104", "350102",
    "350203", "360111", "370202", "370212", "370102", "410105", "420106", "430104", "440103", "440106",
    "440300", "440305", "440604", "441900", "442000", "500103", "510107", "610113", "210202", "230103",
)  # fmt: skip


def _field_error(message: str, rule: str, **detail: object) -> ValidationFailed:
    return ValidationFailed(
        message, field="credit_code", rule=rule, detail={"field": "credit_code", "rule": rule, **detail}
    )


def _org_char_value(ch: str) -> int:
    if ch.isdigit():
        return int(ch)
    return ord(ch) - ord("A") + 10


def org_check_char(body8: str) -> str:
    """The check character of an organisation code (GB 11714) for its first eight characters."""
    total = sum(_org_char_value(c) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def uscc_check_char(first17: str) -> str:
    """The 18th character for the first 17 characters of a code (upper case, from :data:`ALPHABET`)."""
    first17 = first17.upper()
    if len(first17) != LENGTH - 1 or any(c not in _VALUE for c in first17):
        raise ValueError("first17 must be 17 characters from the code alphabet")
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def normalise(code: str) -> str:
    """Upper case without surrounding blanks (what users type is often lower case)."""
    return (code or "").strip().upper()


def uscc_validate(code: str) -> None:
    """Raise :class:`ValidationFailed` (field ``credit_code``) naming what is wrong; return when valid.

    Rules: ``length``, ``alphabet`` (detail ``position`` 1-based and ``char``), ``org_code_check`` (detail
    ``expected``), ``check_char`` (detail ``expected``)."""
    code = normalise(code)
    if len(code) != LENGTH:
        raise _field_error(
            _("统一社会信用代码应为 18 位，当前为 %(n)s 位。") % {"n": len(code)}, "length", length=len(code)
        )
    for i, ch in enumerate(code, start=1):
        if ch not in _VALUE:
            raise _field_error(
                _("统一社会信用代码第 %(pos)s 位的字符“%(char)s”无效（不得使用 I、O、Z、S、V 及其他字符）。")
                % {"pos": i, "char": ch},
                "alphabet",
                position=i,
                char=ch,
            )
    org = code[8:17]
    expected_org = org_check_char(org[:8])
    if org[8] != expected_org:
        raise _field_error(
            _("统一社会信用代码第 9-17 位的组织机构代码校验位错误：第 17 位应为“%(expected)s”。")
            % {"expected": expected_org},
            "org_code_check",
            position=17,
            expected=expected_org,
        )
    expected = uscc_check_char(code[:17])
    if code[17] != expected:
        raise _field_error(
            _("统一社会信用代码校验位错误：第 18 位应为“%(expected)s”，实际为“%(actual)s”。")
            % {"expected": expected, "actual": code[17]},
            "check_char",
            position=18,
            expected=expected,
        )


def uscc_is_valid(code: str) -> bool:
    try:
        uscc_validate(code)
    except ValidationFailed:
        return False
    return True


def _org_body(rng: random.Random) -> str:
    """Eight characters of an organisation code as issued: old all-digit codes, or ``MA`` codes since 2015."""
    if rng.random() < 0.5:
        return rng.choice("3567") + "".join(rng.choice("0123456789") for _ in range(7))
    return "MA" + "".join(rng.choice(ALPHABET) for _ in range(6))


def uscc_generate(rng: random.Random, *, division: str | None = None) -> str:
    """A realistic valid code: authority 9 (工商), type 1/2/3, a real division (or ``division``), an
    organisation code with its check."""
    division = division or rng.choice(DIVISIONS)
    if len(division) != 6 or not division.isdigit():
        raise ValueError("division must be a 6-digit administrative division code")
    body = _org_body(rng)
    kind = "1" if rng.random() < 0.9 else rng.choice(TYPES[1:])  # mostly 企业
    first17 = "9" + kind + division + body + org_check_char(body)
    return first17 + uscc_check_char(first17)
