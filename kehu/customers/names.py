"""Company names, pinyin and contact formats: the normalised comparison key for duplicate detection
(R-CUS-11), pinyin initials for search (R-CUS-13), mainland phone and postcode formats (R-CUS-02)."""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

# Legal-form suffixes, longest first so that 有限责任公司 is removed before 有限公司 / 公司.
SUFFIXES = (
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "集团股份有限公司",
    "有限公司",
    "股份公司",
    "集团公司",
    "总公司",
    "分公司",
    "集团",
    "公司",
)

PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建",
    "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海",
    "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
CITIES = (
    "深圳", "广州", "东莞", "佛山", "珠海", "惠州", "中山", "苏州", "无锡", "常州", "南京", "杭州", "宁波",
    "温州", "嘉兴", "绍兴", "金华", "义乌", "合肥", "福州", "厦门", "泉州", "南昌", "济南", "青岛", "烟台",
    "郑州", "武汉", "长沙", "成都", "西安", "大连", "沈阳", "哈尔滨", "长春", "昆明", "贵阳", "南宁",
    "石家庄", "太原", "兰州", "乌鲁木齐", "呼和浩特", "银川", "西宁", "拉萨", "海口", "三亚",
)  # fmt: skip
_REGION_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "特别行政区",
    "省",
    "市",
    "区",
    "县",
)
REGIONS = tuple(sorted({*PROVINCES, *CITIES}, key=len, reverse=True))

_BRACKETS = str.maketrans(
    {"（": "(", "）": ")", "【": "(", "】": ")", "［": "(", "］": ")", "〔": "(", "〕": ")"}
)
_SPACE = re.compile(r"[\s\u3000·•.,，、\-_]+")
_BRACKETED = re.compile(r"\(([^()]*)\)")


def _strip_region(text: str) -> str:
    """Remove one leading region name (with 省/市/自治区...) and, after it, a second (上海市浦东新区...)."""
    for _round in range(2):
        for region in REGIONS:
            if text.startswith(region) and len(text) > len(region) + 1:
                text = text[len(region) :]
                for suffix in _REGION_SUFFIXES:
                    if text.startswith(suffix) and len(text) > len(suffix) + 1:
                        text = text[len(suffix) :]
                        break
                break
        else:
            break
    return text


def _is_region(text: str) -> bool:
    for suffix in _REGION_SUFFIXES:
        text = text.removesuffix(suffix)
    return text in REGIONS or text == ""


def name_key(name: str) -> str:
    """The comparison key of a company name: full-width brackets and spaces normalised, regions in brackets and
    at the start removed, legal-form suffixes removed. 上海华信精密机械有限公司, 华信精密机械（上海）有限公司 and
    上海华信精密机械股份有限公司 all give 华信精密机械."""
    text = (name or "").translate(_BRACKETS)
    text = _SPACE.sub("", text).upper()
    text = _BRACKETED.sub(lambda m: "" if _is_region(m.group(1)) else m.group(1), text)
    text = text.replace("(", "").replace(")", "")
    for _round in range(2):
        for suffix in SUFFIXES:
            if text.endswith(suffix) and len(text) > len(suffix) + 1:
                text = text[: -len(suffix)]
                break
    text = _strip_region(text)
    return text


def key_windows(key: str, threshold: float = 90.0) -> list[str] | None:
    """Disjoint two-character pieces of ``key``, the database prefilter of the duplicate check. A key whose
    similarity to ``key`` reaches ``threshold`` (rapidfuzz ratio = 1 - indel distance / total length) is at most
    ``2 * len(key) * (100 - threshold) / threshold`` insertions or deletions away (``2 * len / 9`` at 90), and each
    of them breaks at most one disjoint piece; with one piece more than that, every such key contains at least one
    piece unchanged. None when the key is too short for that many disjoint pieces (no prefilter is possible)."""
    count = int(2 * len(key) * (100 - threshold) / threshold) + 1
    if 2 * count > len(key):
        return None
    step = len(key) // count
    return [key[i * step : i * step + 2] for i in range(count)]


def initials(name: str) -> str:
    """Pinyin initials of the Chinese characters (letters and digits kept): 华信精密 -> hxjm."""
    parts = lazy_pinyin(name or "", style=Style.FIRST_LETTER, errors="default")
    return "".join(p for p in parts if p.isalnum()).lower()[:200]


MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?$")
SERVICE_RE = re.compile(r"^[48]00-?\d{3}-?\d{4}$")
POSTCODE_RE = re.compile(r"^[0-8]\d{5}$")


def clean_phone(value: str) -> str:
    return re.sub(r"[\s()（）]", "", (value or "").strip()).removeprefix("+86").removeprefix("0086")


def is_mobile(value: str) -> bool:
    return bool(MOBILE_RE.match(clean_phone(value)))


def is_phone(value: str) -> bool:
    """A mainland mobile (11 digits from 13-19), a landline with area code (021-12345678, 0755-1234567 with an
    optional extension) or a 400/800 service number."""
    v = clean_phone(value)
    return bool(MOBILE_RE.match(v) or LANDLINE_RE.match(v) or SERVICE_RE.match(v))


def is_postcode(value: str) -> bool:
    return bool(POSTCODE_RE.match((value or "").strip()))
