"""Realistic Chinese company data for benchmarks and demo volumes, deterministic for a seed.

``DataGenerator(seed)`` makes rows as dicts (companies, people, addresses); :func:`bulk_users` and
:func:`bulk_audit_entries` write users and a valid audit hash chain in bulk for the benchmarks.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from kehu.core.uscc import uscc_generate

# province, city, [districts], landline area code, postcode prefix, [division codes of the districts]
CITIES: list[tuple[str, str, list[str], str, str, list[str]]] = [
    (
        "上海市",
        "上海",
        ["浦东新区", "闵行区", "徐汇区", "嘉定区", "松江区", "宝山区"],
        "021",
        "20",
        ["310115", "310112", "310104", "310101", "310114", "310117"],
    ),
    (
        "北京市",
        "北京",
        ["朝阳区", "海淀区", "丰台区", "大兴区", "顺义区", "昌平区"],
        "010",
        "10",
        ["110105", "110108", "110106", "110115", "110113", "110114"],
    ),
    (
        "天津市",
        "天津",
        ["滨海新区", "西青区", "津南区", "北辰区"],
        "022",
        "30",
        ["120116", "120111", "120112", "120113"],
    ),
    (
        "重庆市",
        "重庆",
        ["渝北区", "江北区", "九龙坡区", "沙坪坝区"],
        "023",
        "40",
        ["500112", "500105", "500107", "500106"],
    ),
    (
        "广东省",
        "深圳",
        ["南山区", "福田区", "宝安区", "龙岗区", "龙华区"],
        "0755",
        "51",
        ["440305", "440304", "440306", "440307", "440309"],
    ),
    (
        "广东省",
        "广州",
        ["天河区", "黄埔区", "番禺区", "白云区", "花都区"],
        "020",
        "51",
        ["440106", "440112", "440113", "440111", "440114"],
    ),
    ("广东省", "东莞", ["松山湖", "长安镇", "虎门镇", "塘厦镇"], "0769", "52", ["441900"]),
    ("广东省", "佛山", ["顺德区", "南海区", "禅城区"], "0757", "52", ["440606", "440605", "440604"]),
    (
        "江苏省",
        "苏州",
        ["工业园区", "吴中区", "相城区", "昆山市", "张家港市"],
        "0512",
        "21",
        ["320571", "320506", "320507", "320583", "320582"],
    ),
    (
        "江苏省",
        "南京",
        ["江宁区", "鼓楼区", "浦口区", "栖霞区"],
        "025",
        "21",
        ["320115", "320106", "320111", "320113"],
    ),
    (
        "江苏省",
        "无锡",
        ["新吴区", "滨湖区", "江阴市", "宜兴市"],
        "0510",
        "21",
        ["320214", "320211", "320281", "320282"],
    ),
    (
        "浙江省",
        "杭州",
        ["西湖区", "滨江区", "余杭区", "萧山区"],
        "0571",
        "31",
        ["330106", "330108", "330110", "330109"],
    ),
    (
        "浙江省",
        "宁波",
        ["鄞州区", "北仑区", "镇海区", "慈溪市"],
        "0574",
        "31",
        ["330212", "330206", "330211", "330282"],
    ),
    (
        "浙江省",
        "温州",
        ["鹿城区", "瓯海区", "乐清市", "瑞安市"],
        "0577",
        "32",
        ["330302", "330304", "330382", "330381"],
    ),
    (
        "山东省",
        "青岛",
        ["市南区", "黄岛区", "城阳区", "即墨区"],
        "0532",
        "26",
        ["370202", "370211", "370214", "370215"],
    ),
    ("山东省", "济南", ["历下区", "槐荫区", "章丘区"], "0531", "25", ["370102", "370104", "370114"]),
    (
        "湖北省",
        "武汉",
        ["洪山区", "江汉区", "东西湖区", "汉阳区"],
        "027",
        "43",
        ["420111", "420103", "420112", "420105"],
    ),
    (
        "四川省",
        "成都",
        ["武侯区", "高新区", "双流区", "郫都区"],
        "028",
        "61",
        ["510107", "510109", "510116", "510117"],
    ),
    ("陕西省", "西安", ["雁塔区", "未央区", "长安区"], "029", "71", ["610113", "610112", "610116"]),
    (
        "福建省",
        "厦门",
        ["思明区", "湖里区", "集美区", "海沧区"],
        "0592",
        "36",
        ["350203", "350206", "350211", "350205"],
    ),
    ("安徽省", "合肥", ["蜀山区", "包河区", "庐阳区"], "0551", "23", ["340104", "340111", "340103"]),
    ("湖南省", "长沙", ["岳麓区", "雨花区", "开福区"], "0731", "41", ["430104", "430111", "430105"]),
    ("辽宁省", "大连", ["甘井子区", "金州区", "沙河口区"], "0411", "11", ["210211", "210213", "210204"]),
]

TRADE_SYLLABLES = list(
    "华信达通恒泰远宏盛兴安源丰鑫瑞隆辉创新科力德正和嘉荣凯宇鼎晟博汇金海天联融旭昊泽明鸿祥顺"
    "永中伟东方云星辰光腾飞腾跃卓越诚智通亚欧美利佳"
)
INDUSTRIES = [
    "精密机械", "电子科技", "新材料", "化工", "纺织", "物流", "贸易", "建设工程", "汽车零部件", "医疗器械",
    "环保科技", "电气设备", "食品", "包装材料", "信息技术", "五金制品", "塑胶制品", "模具", "光电", "能源科技",
    "钢结构", "自动化设备", "仪器仪表", "供应链管理", "生物科技", "印刷", "家具", "建材", "船舶配件", "半导体",
]  # fmt: skip
SUFFIXES = ["有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司", "集团有限公司"]

SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
)
SURNAMES += ["欧阳", "司马", "上官", "诸葛"]
GIVEN_CHARS = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文博宇浩然子涵欣怡梓萱一诺晨"
)
ROADS = [
    "人民路", "中山路", "解放路", "建设路", "和平路", "长江路", "黄河路", "科技路", "创新大道", "工业大道",
    "世纪大道", "滨海大道", "学府路", "新华路", "文化路", "金融街", "高新大道", "东方路", "南京路", "北京路",
]  # fmt: skip
MOBILE_PREFIXES = ["13", "14", "15", "16", "17", "18", "19"]


class DataGenerator:
    """Rows of realistic data; the same seed gives the same rows."""

    def __init__(self, seed: int = 2026) -> None:
        self.rng = random.Random(seed)

    # --- people and contacts ---------------------------------------------------------------------------------
    def person_name(self) -> str:
        r = self.rng
        given = "".join(r.choice(GIVEN_CHARS) for _ in range(r.choice((1, 2, 2))))
        return r.choice(SURNAMES) + given

    def mobile(self) -> str:
        r = self.rng
        return r.choice(MOBILE_PREFIXES) + "".join(r.choice("0123456789") for _ in range(9))

    def landline(self, area_code: str | None = None) -> str:
        r = self.rng
        area = area_code or r.choice(CITIES)[3]
        digits = 8 if len(area) == 3 else r.choice((7, 8))
        return f"{area}-{r.choice('2345678')}" + "".join(r.choice("0123456789") for _ in range(digits - 1))

    def address(self) -> dict[str, str]:
        r = self.rng
        province, city, districts, area, post_prefix, divisions = r.choice(CITIES)
        k = r.randrange(len(districts))
        district = districts[k]
        road = r.choice(ROADS)
        number = r.randint(1, 2999)
        city_name = province if province.endswith("市") else f"{city}市"
        prefix = province if province.endswith("省") else ""
        return {
            "province": province,
            "city": city_name,
            "district": district,
            "street": f"{road}{number}号",
            "full": f"{prefix}{city_name}{district}{road}{number}号",
            "postcode": post_prefix + "".join(r.choice("0123456789") for _ in range(4)),
            "area_code": area,
            "division": divisions[k % len(divisions)],
        }

    def person(self) -> dict[str, Any]:
        return {"name": self.person_name(), "mobile": self.mobile(), "email": self._email()}

    def _email(self) -> str:
        r = self.rng
        user = "".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(4, 9)))
        return f"{user}{r.randint(1, 999)}@{r.choice(['163.com', 'qq.com', '126.com', 'sina.com', 'foxmail.com'])}"

    # --- companies -------------------------------------------------------------------------------------------
    def company_name(self, city: str | None = None) -> str:
        r = self.rng
        city = city or r.choice(CITIES)[1]
        trade = "".join(r.sample(TRADE_SYLLABLES, 2))
        return f"{city}{trade}{r.choice(INDUSTRIES)}{r.choice(SUFFIXES)}"

    def registered_capital(self) -> Decimal:
        r = self.rng
        base = r.choice((50, 100, 200, 300, 500, 800, 1000, 2000, 3000, 5000, 10000, 50000))
        return (Decimal(base) * Decimal(10000)).quantize(Decimal("0.01"))

    def founded(self) -> dt.date:
        start = dt.date(1992, 1, 1)
        return start + dt.timedelta(days=self.rng.randint(0, (dt.date(2025, 12, 31) - start).days))

    def company(self) -> dict[str, Any]:
        addr = self.address()
        legal = self.person_name()
        contact = self.person()
        return {
            "name": self.company_name(addr["city"].removesuffix("市")),
            "credit_code": uscc_generate(self.rng, division=addr["division"]),
            "legal_representative": legal,
            "registered_capital": self.registered_capital(),
            "founded": self.founded(),
            "address": addr["full"],
            "province": addr["province"],
            "city": addr["city"],
            "district": addr["district"],
            "postcode": addr["postcode"],
            "phone": self.landline(addr["area_code"]),
            "contact_name": contact["name"],
            "contact_mobile": contact["mobile"],
            "contact_email": contact["email"],
        }

    def companies(self, n: int) -> list[dict[str, Any]]:
        return [self.company() for _ in range(n)]


# ---------------------------------------------------------------------------------------------------------------
# Bulk writers (Django must be set up and migrated)


BENCH_PASSWORD = "kehu-bench-2026"  # noqa: S105  (benchmark users only)


def bulk_users(
    n: int, gen: DataGenerator, *, password: str = BENCH_PASSWORD, prefix: str = "bench"
) -> list[Any]:
    """Create ``n`` users with generated names in one statement (the password is hashed once and shared)."""
    from django.contrib.auth.hashers import make_password

    from kehu.core.models import User

    hashed = make_password(password)
    start = User.objects.filter(username__startswith=f"{prefix}").count()
    users = [
        User(
            username=f"{prefix}{start + i:06d}",
            display_name=gen.person_name(),
            phone=gen.mobile(),
            email=f"{prefix}{start + i:06d}@bench.kehu.local",
            password=hashed,
        )
        for i in range(n)
    ]
    User.objects.bulk_create(users, batch_size=1000)
    return list(User.objects.filter(username__startswith=prefix).order_by("id")[start : start + n])


def audit_payload(gen: DataGenerator, i: int) -> dict[str, Any]:
    """Arguments for one audit entry about a generated company (a realistic row and change set)."""
    row = gen.company()
    return {
        "action": "update" if i % 3 else "create",
        "object_type": "crm.customer",
        "object_id": str(100000 + i),
        "object_repr": row["name"],
        "changes": {
            "credit_code": [None, row["credit_code"]],
            "registered_capital": [None, str(row["registered_capital"])],
            "address": [None, row["address"]],
            "phone": [None, row["phone"]],
        },
        "reason": "",
    }


def bulk_audit_entries(
    n: int, gen: DataGenerator, actors: list[Any] | None = None, *, batch: int = 2000
) -> int:
    """Append ``n`` entries that form a valid chain after the current head, written with bulk_create.

    Returns the new head ``seq``. Used to bring the trail to a size for the verify benchmark quickly."""
    from django.db import transaction
    from django.utils import timezone

    from kehu.core.audit import HASHED_FIELDS, compute_hash, jsonable
    from kehu.core.models.audit import AuditEntry, AuditHead

    actors = actors or [None]
    done = 0
    seq = 0
    while done < n:
        size = min(batch, n - done)
        with transaction.atomic():
            head = AuditHead.objects.select_for_update().get(pk=1)
            seq, prev = head.seq, head.hash
            rows = []
            for k in range(size):
                p = audit_payload(gen, done + k)
                actor = actors[(done + k) % len(actors)]
                seq += 1
                entry = AuditEntry(
                    seq=seq,
                    timestamp=timezone.now(),
                    actor=actor,
                    actor_label=actor.username if actor is not None else "system",
                    acting_for=None,
                    action=p["action"],
                    object_type=p["object_type"],
                    object_id=p["object_id"],
                    object_repr=p["object_repr"],
                    changes=jsonable(p["changes"]),
                    reason="",
                    policy_version="",
                    confidential=False,
                    ip=None,
                    prev_hash=prev,
                )
                entry.hash = compute_hash({f: getattr(entry, f) for f in HASHED_FIELDS})
                prev = entry.hash
                rows.append(entry)
            AuditEntry.objects.bulk_create(rows)
            AuditHead.objects.filter(pk=1).update(seq=seq, hash=prev)
        done += size
    return seq
