"""Synthetic people for the demo and the benchmarks: names, ID numbers, phones, occupations.

Everything is drawn from a numpy Generator, column by column, so a million people take a
few seconds and the same seed gives the same people. ID numbers are valid GB 11643 numbers
with real area codes (GB/T 2260) of Shenzhen, the rest of Guangdong and the provinces the
city's new citizens come from; each is unique.

>>> import numpy as np
>>> from datetime import date
>>> crowd = people(np.random.default_rng(1), 3, ages=(20, 40), on=date(2026, 1, 1),
...                occupations={"E0501": 1}, areas=SHENZHEN, cities=("深圳",))
>>> [len(x) for x in crowd.id_number], sorted(set(crowd.occupation_code))
([18, 18, 18], ['E0501'])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from mutua.members.idcard import CHECK, WEIGHTS
from mutua.members.occupations import occupations as occupation_table

# County-level area codes (GB/T 2260), the first six digits of an ID number.
SHENZHEN = ("440303", "440304", "440305", "440306", "440307", "440308", "440309", "440310",
            "440311")  # 罗湖 福田 南山 宝安 龙岗 盐田 龙华 坪山 光明
GUANGDONG = ("440103", "440104", "440106", "440111", "440402", "440507", "440604", "441202",
             "441302", "441402", "441502", "441602", "441702", "441802", "441900", "442000",
             "445102", "445202", "440803", "440883")  # 广州 珠海 汕头 佛山 肇庆 惠州 梅州 ...
PROVINCES = ("430102", "430124", "431021", "360702", "360781", "450103", "450802", "510104",
             "510122", "500101", "411302", "410102", "420106", "421281", "350524", "340104",
             "340421", "130102", "370102", "320102", "330106", "522601", "532301", "610113",
             "230102", "210102", "620102", "460105")  # 湖南 江西 广西 四川 重庆 河南 湖北 ...
RURAL_GUANGDONG = ("441802", "441602", "441402", "440883", "441702", "445202", "441502")

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
                "于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江"
                "尹薛段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤")
GIVEN_M = list("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志文")
GIVEN_F = list("芳娜敏静丽艳娟霞秀英华慧巧美娅莉燕玲桂丹萍红玉兰琳雪梅婷颖佳倩晶洁")
# Mobile prefixes that libphonenumber accepts as Chinese mobile numbers.
MOBILE_PREFIXES = (130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155,
                   156, 157, 158, 159, 166, 173, 175, 176, 177, 180, 181, 182, 183, 185, 186,
                   187, 188, 189, 191, 198, 199)
_EPOCH = date(1970, 1, 1)


@dataclass(frozen=True)
class Crowd:
    """Columns of equal length, one entry per person."""

    name: list[str]
    id_number: list[str]
    birth_date: list[date]
    sex: list[str]
    phone: list[str]  # E.164
    occupation_code: list[str]
    occupation_class: list[int]
    city: list[str]

    def __len__(self) -> int:
        return len(self.id_number)

    def rows(self) -> list[dict[str, str]]:
        """As import-file rows (national phone format, as people write it)."""
        return [{"name": n, "id_number": i, "phone": p[3:], "occupation_code": o, "city": c}
                for n, i, p, o, c in zip(self.name, self.id_number, self.phone,
                                         self.occupation_code, self.city, strict=True)]


@dataclass
class Taken:
    """ID numbers and phones already handed out, so no two people share one."""

    id_numbers: set[str] = field(default_factory=set)
    phones: set[str] = field(default_factory=set)


def people(rng: np.random.Generator, n: int, *, ages: tuple[int, int], on: date,
           occupations: dict[str, float], areas: tuple[str, ...], cities: tuple[str, ...],
           area_weights: tuple[float, ...] | None = None, taken: Taken | None = None,
           age_mode: float | None = None) -> Crowd:
    """``n`` people aged ``ages`` (inclusive, completed years) on ``on``.

    ``occupations`` maps occupation codes to weights; ``age_mode`` skews ages towards a peak
    (a triangular distribution) instead of uniform. ``taken`` holds the ID numbers and phones
    of earlier crowds: none is repeated, and the new ones are added to it.
    """
    taken = taken if taken is not None else Taken()
    lo, hi = ages
    if age_mode is None:
        age = rng.integers(lo, hi + 1, n)
    else:
        age = np.floor(rng.triangular(lo, min(max(age_mode, lo), hi + 1), hi + 1, n)).astype(int)
        age = np.clip(age, lo, hi)
    # A birthday 20 to 340 days before the anniversary keeps the completed age exact.
    days_back = np.floor(age * 365.2425).astype(np.int64) + rng.integers(20, 341, n)
    birth_ord = (on - _EPOCH).days - days_back
    sex_male = rng.random(n) < 0.55
    area_p = None if area_weights is None else np.asarray(area_weights) / sum(area_weights)
    area = rng.choice(np.asarray(areas), n, p=area_p)
    births = [_EPOCH + timedelta(days=int(d)) for d in birth_ord]
    codes = list(occupations)
    w = np.asarray([occupations[c] for c in codes], dtype=float)
    occ = [str(o) for o in rng.choice(np.asarray(codes), n, p=w / w.sum())]
    table = occupation_table()
    return Crowd(
        name=_names(rng, sex_male),
        id_number=_id_numbers(rng, area, births, sex_male, taken.id_numbers),
        birth_date=births,
        sex=["M" if m else "F" for m in sex_male],
        phone=phones(rng, n, taken.phones),
        occupation_code=occ,
        occupation_class=[table[o].occupation_class for o in occ],
        city=[str(c) for c in rng.choice(np.asarray(cities), n)],
    )


def _id_numbers(rng, area, births, sex_male, taken: set[str]) -> list[str]:
    """Unique valid numbers: on a clash, draw the sequence again (keeping its parity)."""
    out = []
    for a, b, male in zip(area, births, sex_male, strict=True):
        stem = f"{a}{b:%Y%m%d}"
        for _ in range(50):
            seq = 2 * int(rng.integers(0, 500)) + (1 if male else 0)
            if seq == 0:
                seq = 2
            first17 = f"{stem}{seq:03d}"
            number = first17 + _check(first17)
            if number not in taken:
                taken.add(number)
                out.append(number)
                break
        else:  # pragma: no cover - needs 500 people of one sex born on one day in one county
            raise RuntimeError(f"no free ID sequence left for {stem}")
    return out


def _check(first17: str) -> str:
    return CHECK[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def _names(rng, sex_male) -> list[str]:
    n = len(sex_male)
    surname = rng.integers(0, len(SURNAMES), n)
    g1m, g2m = rng.integers(0, len(GIVEN_M), n), rng.integers(0, len(GIVEN_M), n)
    g1f, g2f = rng.integers(0, len(GIVEN_F), n), rng.integers(0, len(GIVEN_F), n)
    two = rng.random(n) < 0.7
    out = []
    for i in range(n):
        given = (GIVEN_M if sex_male[i] else GIVEN_F)
        a, b = (g1m[i], g2m[i]) if sex_male[i] else (g1f[i], g2f[i])
        out.append(SURNAMES[surname[i]] + given[a] + (given[b] if two[i] else ""))
    return out


def phones(rng: np.random.Generator, n: int, taken: set[str] | None = None) -> list[str]:
    """``n`` distinct E.164 mobile numbers, none in ``taken`` (which is updated)."""
    taken = taken if taken is not None else set()
    out: list[str] = []
    while len(out) < n:
        need = n - len(out)
        draw = rng.choice(len(MOBILE_PREFIXES) * 10**8, need, replace=False)
        for x in draw:
            p = f"+86{MOBILE_PREFIXES[x // 10**8]}{x % 10**8:08d}"
            if p not in taken:
                taken.add(p)
                out.append(p)
    return out
