"""Who joins which demo project: share of members, ages, occupations, home areas, cities.

The shares follow the article's picture: the Shenzhen new-citizen pool is the largest;
couriers, riders, truck drivers and construction workers come with their occupations;
the old, children, farmers, low-income households and people with liver disease have
pools of their own. Kidney patients are enrolled one by one on their own lab results by
the health domain's demo step, not here.
"""

from __future__ import annotations

from dataclasses import dataclass

from mutua.demo.people import GUANGDONG, PROVINCES, RURAL_GUANGDONG, SHENZHEN


@dataclass(frozen=True)
class Cohort:
    project: str
    products: dict[str, float]  # product code -> share of the cohort
    share: float  # of all demo members
    ages: tuple[int, int]
    age_mode: float | None
    occupations: dict[str, float]
    areas: tuple[str, ...]
    area_weights: tuple[float, ...] | None
    cities: tuple[str, ...]


def _mix(local: tuple[str, ...], w_local: float, away: tuple[str, ...], w_away: float):
    """Areas and weights: a share of people born locally, the rest from elsewhere."""
    return local + away, tuple([w_local / len(local)] * len(local) + [w_away / len(away)] * len(away))


_MIGRANT_AREAS, _MIGRANT_W = _mix(SHENZHEN + GUANGDONG, 0.35, PROVINCES, 0.65)
_LOCAL_AREAS, _LOCAL_W = _mix(SHENZHEN, 0.5, GUANGDONG, 0.5)
_SZ = ("深圳",)
_GD = ("深圳", "广州", "东莞", "佛山", "惠州", "中山")
_RURAL = ("清远", "河源", "梅州", "湛江", "茂名", "揭阳", "汕尾")

COHORTS: tuple[Cohort, ...] = (
    Cohort("SZ-NEWCITIZEN", {"SZNC-BASIC": 0.7, "SZNC-PLUS": 0.3}, 0.45, (16, 64), 31,
           {"E0501": 14, "F0601": 12, "D0402": 8, "C0303": 6, "B0202": 8, "C0306": 6,
            "B0210": 5, "A0109": 10, "A0105": 6, "C0301": 5, "B0209": 5, "D0404": 5,
            "B0203": 5, "A0114": 5}, _MIGRANT_AREAS, _MIGRANT_W, _SZ),
    Cohort("RIDER", {"RIDER-ACC": 1.0}, 0.08, (18, 54), 27,
           {"F0601": 55, "E0501": 40, "D0404": 5}, _MIGRANT_AREAS, _MIGRANT_W, _GD),
    Cohort("TRUCK", {"TRUCK-ACC": 1.0}, 0.065, (22, 59), 40,
           {"E0502": 55, "D0401": 35, "E0507": 5, "D0410": 5}, _MIGRANT_AREAS, _MIGRANT_W, _GD),
    Cohort("BUILDER", {"BUILDER-ACC": 1.0}, 0.055, (18, 59), 42,
           {"D0402": 45, "E0503": 15, "D0403": 12, "D0405": 10, "F0602": 8, "D0409": 10},
           _MIGRANT_AREAS, _MIGRANT_W, _GD),
    Cohort("GIGDRIVER", {"GIG-ACC": 1.0}, 0.04, (21, 59), 36,
           {"C0303": 70, "C0302": 20, "C0310": 10}, _MIGRANT_AREAS, _MIGRANT_W, _SZ),
    Cohort("FARMER", {"FARMER-ACC": 1.0}, 0.09, (16, 69), 50,
           {"B0208": 55, "C0309": 15, "C0308": 12, "D0406": 8, "D0407": 6, "E0505": 4},
           RURAL_GUANGDONG, None, _RURAL),
    Cohort("SILVER", {"SILVER-ACC": 1.0}, 0.065, (60, 79), 64,
           {"A0111": 75, "A0112": 12, "B0208": 10, "C0311": 3}, _LOCAL_AREAS, _LOCAL_W, _GD),
    Cohort("CHILD", {"CHILD-ACC": 1.0}, 0.055, (0, 16), 8,
           {"A0110": 1}, _MIGRANT_AREAS, _MIGRANT_W, _GD),
    Cohort("LOWINCOME", {"LOWINC-ACC": 1.0}, 0.055, (16, 69), 45,
           {"B0209": 20, "C0311": 20, "B0210": 15, "D0404": 15, "B0208": 20, "C0306": 10},
           RURAL_GUANGDONG + PROVINCES, None, _RURAL + _GD),
    Cohort("LIVER", {"LIVER-CARE": 1.0}, 0.045, (18, 64), 45,
           {"A0102": 15, "A0104": 10, "B0202": 15, "C0301": 15, "C0302": 15, "B0208": 15,
            "A0111": 5, "D0402": 10}, _MIGRANT_AREAS, _MIGRANT_W, _GD),
)
