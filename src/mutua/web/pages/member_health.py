"""Kidney health for members (/me/health): results, an eGFR chart, stage and risk in plain
words, advice, and a form to add a result. Every read is audited by the health service."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Form, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import SHANGHAI, today
from mutua.deps import DbSession, Router, allow
from mutua.errors import Problem, ValidationFailed
from mutua.health import patient_view as health_view
from mutua.health import service as health_service
from mutua.web import charts
from mutua.web.i18n import gettext as _
from mutua.web.problems import Described, describe
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me/health")
Member = Depends(allow(Role.MEMBER))

G_WORDS = {
    "G1": N_("Your kidneys filter normally (eGFR 90 or more)."),
    "G2": N_("Kidney filtering is mildly lower than normal (eGFR 60 to 89)."),
    "G3a": N_("Kidney filtering is mildly to moderately reduced (eGFR 45 to 59)."),
    "G3b": N_("Kidney filtering is moderately to severely reduced (eGFR 30 to 44)."),
    "G4": N_("Kidney filtering is severely reduced (eGFR 15 to 29)."),
    "G5": N_("The kidneys are failing (eGFR below 15)."),
}
A_WORDS = {
    "A1": N_("Little or no protein leaks into your urine."),
    "A2": N_("A moderate amount of protein leaks into your urine."),
    "A3": N_("A large amount of protein leaks into your urine."),
}
RISK_WORDS = {
    "low": N_("Low risk"),
    "moderately increased": N_("Moderately increased risk"),
    "high": N_("High risk"),
    "very high": N_("Very high risk"),
}
# What a member may type in: (kind, unit) and its label.
RESULT_KINDS = (
    ("creatinine", "umol/L", N_("Blood creatinine (µmol/L)")),
    ("creatinine", "mg/dL", N_("Blood creatinine (mg/dL)")),
    ("acr", "mg/g", N_("Urine albumin-creatinine ratio (mg/g)")),
    ("acr", "mg/mmol", N_("Urine albumin-creatinine ratio (mg/mmol)")),
    ("potassium", "mmol/L", N_("Potassium (mmol/L)")),
    ("hemoglobin", "g/L", N_("Hemoglobin (g/L)")),
    ("hba1c", "%", N_("HbA1c (%%)")),
    ("systolic", "mmHg", N_("Systolic blood pressure (mmHg)")),
    ("diastolic", "mmHg", N_("Diastolic blood pressure (mmHg)")),
)
KIND_FIELDS = {f"{k}|{u}": label for k, u, label in RESULT_KINDS}


def _local_date(text: str) -> date:
    return datetime.fromisoformat(text).astimezone(SHANGHAI).date()


def health_context(view: dict) -> dict:
    """What the page shows of a patient view, in plain words."""
    results = view["results"]
    latest = view["latest"]
    figure = None
    if results:
        figure = charts.to_json(charts.egfr_figure(
            [_local_date(r["effective_at"]) for r in results], [r["egfr"] for r in results]))
    stage = None
    if latest:
        g, a, risk = latest["g_category"], latest["a_category"], latest["risk"]
        stage = {"g": g, "a": a, "g_words": _(G_WORDS[g]),
                 "a_words": _(A_WORDS[a]) if a else None,
                 "risk_words": _(RISK_WORDS[risk]) if risk in RISK_WORDS else None,
                 "risk_2y": latest["risk_2y"], "risk_5y": latest["risk_5y"],
                 "slope": latest["slope"], "egfr": latest["egfr"],
                 "when": _local_date(latest["effective_at"])}
    rows = [{"when": _local_date(r["effective_at"]), "egfr": r["egfr"], "g": r["g_category"],
             "a": r["a_category"]} for r in reversed(results)]
    return {"view": view, "stage": stage, "chart_json": figure, "rows": rows,
            "uses_charts": figure is not None}


@router.get("")
def health_page(request: Request, db: DbSession, principal: Principal = Member):
    view = health_view.patient_view(db, actor=principal, member_id=principal.member_id)
    return render(request, "member/health.html", kinds=RESULT_KINDS, problems=None,
                  form={}, today=today(), flash=_flash(request), **health_context(view))


def _flash(request: Request) -> str | None:
    return _("Your result is saved.") if request.query_params.get("done") == "result" else None


@router.post("/results")
def add_result(
    request: Request,
    db: DbSession,
    kind: Annotated[str, Form(max_length=40)] = "",
    value: Annotated[str, Form(max_length=20)] = "",
    taken_on: Annotated[str, Form(max_length=10)] = "",
    principal: Principal = Member,
):
    try:
        item = _result_item(principal.member_id, kind, value, taken_on)
        health_service.record(db, actor=principal, items=[item])
    except ValidationFailed as exc:
        db.rollback()
        view = health_view.patient_view(db, actor=principal, member_id=principal.member_id)
        return render(request, "member/health.html", status_code=422, kinds=RESULT_KINDS,
                      problems=Described([_problem_words(p) for p in exc.problems],
                                         exc.problems),
                      form={"kind": kind, "value": value, "taken_on": taken_on}, today=today(),
                      flash=None, **health_context(view))
    return redirect("/me/health?done=result#results")


def _result_item(member_id: int, kind: str, value: str, taken_on: str) -> dict:
    """The typed result as the health service takes it; every bad field is named at once."""
    found = []
    if kind not in KIND_FIELDS:
        found.append(Problem("kind", "choose a kind of result from the list"))
    number = day = None
    try:
        number = float(value.replace(",", ".").strip())
    except ValueError:
        found.append(Problem("value", "must be a number"))
    try:
        day = date.fromisoformat(taken_on)
    except ValueError:
        found.append(Problem("taken_on", "must be a date"))
    if day is not None and day > today():
        found.append(Problem("taken_on", "is in the future"))
    if found:
        raise ValidationFailed(found)
    name, unit = kind.split("|")
    return {"member_id": member_id, "kind": name, "value": number, "unit": unit,
            "effective_at": day.isoformat()}


PROBLEM_WORDS = {
    "kind": N_("Choose what was measured."),
    "value": N_("Enter the number on your lab report. It must be a plausible value for this "
                "test and unit."),
    "taken_on": N_("Enter the date the sample was taken; it cannot be in the future."),
}


def _problem_words(problem) -> str:
    field = problem.field.rsplit(".", 1)[-1]
    if field == "effective":
        field = "taken_on"
    return _(PROBLEM_WORDS[field]) if field in PROBLEM_WORDS else describe(problem)
