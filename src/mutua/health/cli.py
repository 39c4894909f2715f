"""`mutua health ...`: kidney-disease monitoring (肾病监测): eGFR, staging, risk, imports."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from mutua.auth.security import SYSTEM
from mutua.dates import parse_date, today
from mutua.db import unit_of_work
from mutua.errors import ValidationFailed
from mutua.health import clinical, coordination, service
from mutua.jobs import starts
from mutua.jobs.cli import finished_or_fail, submit
from mutua.settings import get_settings

app = typer.Typer(help="Kidney-disease monitoring: eGFR, staging, risk, alerts.",
                  no_args_is_help=True)


def _print(data: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False))
    else:
        for k, v in data.items():
            typer.echo(f"{k}: {v}")


@app.command()
def egfr(
    creatinine: Annotated[float, typer.Option(help="serum creatinine")],
    age: Annotated[float, typer.Option(help="age in years (18 or over)")],
    sex: Annotated[str, typer.Option(help="F or M")],
    unit: Annotated[str, typer.Option(help="mg/dL or umol/L")] = "mg/dL",
    cystatin_c: Annotated[float | None, typer.Option(help="cystatin C, mg/L")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """eGFR by CKD-EPI 2021 (creatinine, or creatinine with cystatin C)."""
    value = clinical.egfr_creatinine(creatinine, age=age, sex=sex, unit=unit,
                                     cystatin_c=cystatin_c)
    equation = clinical.EQUATION_CR if cystatin_c is None else clinical.EQUATION_CR_CYS
    _print({"egfr": round(value, 1), "equation": equation,
            "g_category": clinical.g_category(round(value, 1))}, as_json)


@app.command()
def stage(
    egfr: Annotated[float, typer.Option(help="eGFR, mL/min/1.73m2")],
    acr: Annotated[float | None, typer.Option(help="urine albumin-creatinine ratio")] = None,
    acr_unit: Annotated[str, typer.Option(help="mg/g or mg/mmol")] = "mg/g",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """KDIGO G and A categories and the heat-map risk."""
    s = clinical.stage(egfr, acr, acr_unit=acr_unit)
    _print({"g_category": s.g_category, "a_category": s.a_category, "risk": s.risk}, as_json)


@app.command()
def kfre(
    age: Annotated[float, typer.Option()],
    sex: Annotated[str, typer.Option(help="F or M")],
    egfr: Annotated[float, typer.Option(help="eGFR below 60")],
    acr: Annotated[float, typer.Option(help="urine ACR above 0")],
    acr_unit: Annotated[str, typer.Option(help="mg/g or mg/mmol")] = "mg/g",
    calibration: Annotated[str, typer.Option(
        help="north-american or non-north-american")] = "north-american",
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """4-variable Kidney Failure Risk Equation: 2- and 5-year risk as fractions."""
    r = clinical.kfre(age=age, sex=sex, egfr=egfr, acr=acr, acr_unit=acr_unit,
                      calibration=calibration)
    _print({"risk_2y": round(r.risk_2y, 4), "risk_5y": round(r.risk_5y, 4)}, as_json)


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    format: Annotated[str, typer.Option("--format", help="fhir or csv")] = "csv",
    detach: Annotated[bool, typer.Option("--detach", help="queue it, print the job id")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Import lab results from a FHIR R4 Bundle (JSON) or a partner lab's CSV, as a job."""

    if file.stat().st_size > get_settings().import_max_bytes:
        raise ValidationFailed("file", "is larger than the import limit")
    data = file.read_bytes()
    job = submit(lambda db: starts.lab_import(db, data=data, filename=file.name, format=format,
                                              actor=SYSTEM), detach=detach, quiet=as_json)
    if job is not None:
        _print(finished_or_fail(job), as_json)


@app.command()
def outcomes(
    project: Annotated[str, typer.Option(help="project code, e.g. KIDNEY")],
    on: Annotated[str | None, typer.Option(help="report date, YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Cohort report: how many patients' decline slowed after enrolment, and how it is measured."""
    when: date = parse_date(on, field="on") if on else today()
    with unit_of_work() as db:
        report = service.outcomes_report(db, project_code=project, on=when, actor=SYSTEM)
    _print(report, as_json)


@app.command()
def overdue(
    on: Annotated[str | None, typer.Option(help="date, YYYY-MM-DD")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Raise an alert for every patient whose next kidney test is overdue."""
    when: date = parse_date(on, field="on") if on else today()
    with unit_of_work() as db:
        raised = coordination.raise_overdue_alerts(db, on=when, actor=SYSTEM)
    _print({"alerts_raised": raised}, as_json)
