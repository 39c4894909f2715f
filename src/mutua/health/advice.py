"""Advice for the patient (健康管理建议), in Chinese and English, from KDIGO practice points.

The advice never prescribes: each item is something to discuss with the patient's doctor.
Sources: KDIGO 2021 blood pressure in CKD (systolic target below 120 mmHg where tolerated;
ACE inhibitor or ARB with albuminuria); KDIGO 2024 CKD evaluation and management (SGLT2
inhibitor for type 2 diabetes with eGFR >= 20, or eGFR >= 20 with ACR >= 200 mg/g (20
mg/mmol); referral to a nephrologist with eGFR < 30, ACR >= 300 mg/g (30 mg/mmol), a 5-year
kidney-failure risk of 3-5% or more, rapid progression, or a sudden fall in eGFR; test at
least as often as the heat map asks). Like the albuminuria categories, the ACR limits are
given in each unit, and a ratio is compared in the unit its lab reported.

>>> [a.code for a in advise(PatientState(egfr=40, a_category="A3", acr=400))]
['acei_arb', 'sglt2i', 'nephrology']
>>> [a.code for a in advise(PatientState(egfr=40, a_category="A2", acr=20, acr_unit="mg/mmol"))]
['acei_arb', 'sglt2i']
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

SGLT2I_MIN_EGFR = 20.0
SGLT2I_MIN_ACR = {"mg/g": 200.0, "mg/mmol": 20.0}  # KDIGO 2024 recommendation 3.7.1
DIABETES_HBA1C = 6.5  # %, the WHO/ADA diagnostic threshold
NEPHROLOGY_EGFR = 30.0
NEPHROLOGY_ACR = {"mg/g": 300.0, "mg/mmol": 30.0}  # KDIGO 2012 recommendation 5.1.1
NEPHROLOGY_KFRE_5Y = 0.05


@dataclass(frozen=True)
class PatientState:
    """What the advice reads: the latest values (None when unknown)."""

    egfr: float | None = None
    g_category: str | None = None
    a_category: str | None = None
    acr: float | None = None  # the latest urine ACR as its lab reported it, in acr_unit
    acr_unit: str = "mg/g"  # or "mg/mmol"
    systolic: float | None = None
    hba1c: float | None = None
    potassium: float | None = None
    risk_5y: float | None = None
    slope: float | None = None
    tests_per_year: int | None = None


@dataclass(frozen=True)
class Advice:
    code: str
    en: str
    zh: str

    def to_dict(self) -> dict:
        return asdict(self)


def advise(s: PatientState) -> list[Advice]:
    """The advice that applies to this patient now, most important first."""
    out: list[Advice] = []
    if s.systolic is not None and s.systolic >= 120:
        out.append(Advice(
            "blood_pressure",
            f"Your systolic blood pressure was {s.systolic:.0f} mmHg. For kidney protection the "
            "usual target is below 120 mmHg when you tolerate it; please discuss your blood "
            "pressure treatment with your doctor.",
            f"您的收缩压为 {s.systolic:.0f} mmHg。为保护肾脏，在可耐受时通常建议控制在 120 mmHg "
            "以下，请与您的医生讨论降压方案。",
        ))
    if s.a_category in ("A2", "A3"):
        out.append(Advice(
            "acei_arb",
            "There is albumin in your urine. Medicines called ACE inhibitors or ARBs can protect "
            "the kidneys; please ask your doctor whether one is right for you.",
            "您的尿中有白蛋白。ACEI 或 ARB 类药物可保护肾脏，请咨询您的医生是否适合使用。",
        ))
    diabetic = s.hba1c is not None and s.hba1c >= DIABETES_HBA1C
    albuminuric = _acr_at_least(s, SGLT2I_MIN_ACR)
    if s.egfr is not None and s.egfr >= SGLT2I_MIN_EGFR and (diabetic or albuminuric):
        out.append(Advice(
            "sglt2i",
            "Guidelines suggest an SGLT2 inhibitor for people with your kidney results"
            + (" and diabetes" if diabetic else "")
            + "; please discuss with your doctor whether it suits you.",
            "根据指南，您的肾功能结果" + ("及糖尿病情况" if diabetic else "")
            + "可能适合使用 SGLT2 抑制剂，请与您的医生讨论。",
        ))
    if _needs_nephrologist(s):
        out.append(Advice(
            "nephrology",
            "Your results suggest seeing a kidney specialist (nephrologist); please discuss a "
            "referral with your doctor.",
            "您的检查结果提示需要肾脏专科医生诊治，请与您的医生讨论转诊。",
        ))
    if s.potassium is not None and not 3.5 <= s.potassium <= 5.5:
        out.append(Advice(
            "potassium",
            f"Your potassium was {s.potassium:.1f} mmol/L, outside the safe range; please "
            "contact your doctor soon about diet and medicines.",
            f"您的血钾为 {s.potassium:.1f} mmol/L，超出安全范围，请尽快联系医生调整饮食和用药。",
        ))
    if s.tests_per_year:
        out.append(Advice(
            "testing",
            f"For your risk level, kidney blood and urine tests are advised {s.tests_per_year} "
            "time(s) a year; please agree the schedule with your doctor.",
            f"按您的风险等级，建议每年检查肾功能和尿白蛋白 {s.tests_per_year} 次，"
            "请与医生确定复查时间。",
        ))
    return out


def _needs_nephrologist(s: PatientState) -> bool:
    return bool(
        (s.egfr is not None and s.egfr < NEPHROLOGY_EGFR)
        or _acr_at_least(s, NEPHROLOGY_ACR)
        or (s.risk_5y is not None and s.risk_5y >= NEPHROLOGY_KFRE_5Y)
        or (s.slope is not None and s.slope < -5)
    )


def _acr_at_least(s: PatientState, limit: dict[str, float]) -> bool:
    return s.acr is not None and s.acr >= limit[s.acr_unit]
