"""Care coordinators (/staff/care): the alert queue, acting on an alert, the patient view,
assigning coordinators, "my patients", importing lab files, and the kidney calculators.

The health service decides who sees which patient and audits every read."""

from __future__ import annotations

from pathlib import PurePath
from typing import Annotated

from fastapi import File, Form, Query, Request, UploadFile
from starlette.responses import Response

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.bounds import MAX_ID
from mutua.catalog import service as catalog_service
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, refusal_undone
from mutua.errors import Conflict, Forbidden, NotFound, Problem, ValidationFailed
from mutua.health import clinical, imports
from mutua.health import coordination as health_coordination
from mutua.health import patient_view as health_view
from mutua.jobs import service as jobs_service
from mutua.jobs import starts
from mutua.jobs.kinds import record_place
from mutua.jobs.service import JobAlreadyOpen
from mutua.web import labels
from mutua.web.i18n import gettext as _
from mutua.web.pages.member_health import health_context
from mutua.web.pages.staff import open_to
from mutua.web.pages.staff_jobs import job_path
from mutua.web.problems import describe, describe_all
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/care")
PAGE = 50
ACTIONS = ("acknowledge", "contact", "resolve")

# KDIGO names of the GFR categories, as a clinician reads them.
G_NAMES = {
    "G1": N_("Normal or high"), "G2": N_("Mildly decreased"),
    "G3a": N_("Mildly to moderately decreased"), "G3b": N_("Moderately to severely decreased"),
    "G4": N_("Severely decreased"), "G5": N_("Kidney failure"),
}
RISK_NAMES = {"low": N_("Low risk"), "moderately increased": N_("Moderately increased risk"),
              "high": N_("High risk"), "very high": N_("Very high risk")}

ROSTER_HEADINGS = {"mine": N_("My patients"), "unassigned": N_("Patients without a coordinator"),
                   "all": N_("Kidney patients")}

# The page's own rules (the health domain's are listed in mutua.web.problems); named here
# so the catalogs translate them.
PAGE_RULES = (
    N_("must be F or M"), N_("choose a care coordinator from the list"),
    N_("choose a file to upload"), N_("must be a FHIR Bundle (.json) or a CSV file (.csv)"),
    N_("must be UTF-8 text"),
)


# ---------------------------------------------------------------- the alert queue


@router.get("")
def alert_queue(request: Request, db: DbSession, principal: Principal = open_to("care"),
                status: str = Query("", max_length=14), offset: int = Query(0, ge=0, le=MAX_OFFSET),
                project: str = Query("", max_length=32)):
    status = status if status in labels.ALERT_STATUS or status == health_coordination.OVERDUE else ""
    # alerts belong to kidney projects (or to none: patients who hold no kidney policy)
    projects = [p for p in catalog_service.list_projects(db)
                if any(product.line == "ckd" for product in p.products)]
    chosen = next((p for p in projects if p.code == project), None)
    alerts, total = health_coordination.alert_queue(db, actor=principal, status=status or None,
                                                    project_id=chosen.id if chosen else None,
                                                    limit=PAGE, offset=offset)
    return render(request, "staff/care.html", alerts=alerts, total=total, status=status,
                  projects=projects, project=chosen.code if chosen else "",
                  offset=offset, page=PAGE, more=offset + PAGE < total,
                  status_labels=labels.ALERT_STATUS, severity_labels=labels.SEVERITY,
                  done=request.query_params.get("done"))


@router.post("/alerts/{alert_id}")
def act(alert_id: PathId, request: Request, db: DbSession, principal: Principal = open_to("care"),
        action: Annotated[str, Form(max_length=16)] = "",
        note: Annotated[str, Form(max_length=2000)] = "",
        member_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None):
    back = f"/staff/care/patients/{member_id}" if member_id else "/staff/care"
    try:
        with refusal_undone(db):
            health_coordination.act_on_alert(db, actor=principal, alert_id=alert_id, action=action,
                                             note=note)
    except (ValidationFailed, Conflict) as exc:
        return _patient(request, db, principal, member_id, describe_all(exc),
                        exc.status_code) if member_id else redirect(back)
    return redirect(f"{back}?done={action}")


# ---------------------------------------------------------------- patients


@router.get("/patients")
def patients(request: Request, db: DbSession, principal: Principal = open_to("care"),
             unassigned: str = Query("", max_length=5), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    """A coordinator's own patients; with ?unassigned=1 (or for an administrator) the
    kidney patients with their coordinator, so nobody is left without one."""
    only_unassigned = unassigned.lower() in ("1", "true", "yes", "on")
    if principal.role is Role.CARE and not only_unassigned:
        rows, total = health_coordination.my_patients(db, actor=principal, limit=PAGE, offset=offset)
        counts = health_coordination.open_alerts_by_patient(db, [r["member_id"] for r in rows])
        rows = [r | {"open_alerts": counts.get(r["member_id"], 0)} for r in rows]
        mode = "mine"
    else:
        rows, total = health_coordination.patient_roster(db, actor=principal,
                                                         unassigned=only_unassigned,
                                                         limit=PAGE, offset=offset)
        mode = "unassigned" if only_unassigned else "all"
    is_admin = principal.role is Role.ADMIN
    coordinators = [c for c in health_coordination.care_coordinators(db) if c["active"]] \
        if is_admin else []
    return render(request, "staff/care_patients.html", rows=rows, total=total, mode=mode,
                  heading=_(ROSTER_HEADINGS[mode]),
                  offset=offset, page=PAGE, more=offset + PAGE < total, is_admin=is_admin,
                  coordinators=coordinators, g_names=G_NAMES, risk_names=RISK_NAMES,
                  done=request.query_params.get("done"))


@router.get("/patients/{member_id}")
def patient(member_id: PathId, request: Request, db: DbSession,
            principal: Principal = open_to("care")):
    return _patient(request, db, principal, member_id, [], 200)


@router.post("/patients/{member_id}/coordinator")
def assign(member_id: PathId, request: Request, db: DbSession,
           principal: Principal = open_to("care"),
           coordinator_user_id: Annotated[str, Form(max_length=12)] = "",
           back: Annotated[str, Form(max_length=12)] = ""):
    """An administrator assigns the patient to a care coordinator (the service refuses others)."""
    if principal.role is not Role.ADMIN:
        raise Forbidden("only an administrator assigns patients")
    try:
        with refusal_undone(db):
            chosen = coordinator_user_id.strip()
            if not (chosen.isascii() and chosen.isdigit() and len(chosen) <= 9):  # an int4 id
                raise ValidationFailed("coordinator_user_id", "choose a care coordinator from the list")
            health_coordination.assign(db, actor=principal, member_id=member_id,
                                       coordinator_user_id=int(chosen))
    except ValidationFailed as exc:
        return _patient(request, db, principal, member_id, describe_all(exc), 422,
                        chosen=coordinator_user_id)
    if back == "unassigned":
        return redirect("/staff/care/patients?unassigned=1&done=assigned")
    return redirect(f"/staff/care/patients/{member_id}?done=assigned")


def _patient(request, db, principal, member_id, problems, status_code, chosen: str = ""):
    view = health_view.patient_view(db, actor=principal, member_id=member_id)
    everyone = health_coordination.care_coordinators(db)
    current = next((c for c in everyone if c["user_id"] == view["coordinator_user_id"]), None)
    return render(request, "staff/patient.html", status_code=status_code, problems=problems,
                  status_labels=labels.ALERT_STATUS, severity_labels=labels.SEVERITY,
                  actions=ACTIONS, done=request.query_params.get("done"),
                  coordinator=current, is_admin=principal.role is Role.ADMIN,
                  coordinators=[c for c in everyone if c["active"]],
                  chosen=chosen or str(view["coordinator_user_id"] or ""),
                  **health_context(view))


# ---------------------------------------------------------------- importing lab files

SHOWN_MAX = 1000  # refused records listed on the page; the count says how many in all
TEMPLATE_CSV = ",".join(imports.CSV_COLUMNS) + "\n"


@router.get("/import")
def import_page(request: Request, db: DbSession, principal: Principal = open_to("care"),
                job: int | None = Query(None, ge=1, le=MAX_ID)):
    """The import form; with ``job``, also what that import job did once it ended."""
    if job is None:
        return _import_page(request, problems=None, report=None, status_code=200)
    return _job_outcome(request, jobs_service.get(db, job_id=job, actor=principal))


@router.get("/import/template.csv")
def import_template(principal: Principal = open_to("care")):
    """The header a partner lab's CSV must carry (the columns ``imports.read_csv`` reads)."""
    return Response(TEMPLATE_CSV, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="lab-results-template.csv"'})


@router.post("/import")
def import_file(request: Request, db: DbSession, principal: Principal = open_to("care"),
                file: Annotated[UploadFile | None, File()] = None):
    """Check the upload is a readable FHIR Bundle or CSV, then import it as a job (a wrong
    value, unit or date anywhere refuses the whole file); the job's page links the report."""
    limit = request.app.state.settings.upload_max_bytes
    try:
        with refusal_undone(db):
            source, data, filename = _read_upload(file, limit)
            job = starts.lab_import(db, data=data, filename=filename, format=source,
                                    actor=principal, whole_file=True)
    except JobAlreadyOpen as open_job:  # the same file is being imported: follow that job
        return redirect(job_path(open_job.job_id))
    except ValidationFailed as exc:
        return _import_page(request, problems=_record_lines(exc.problems),
                            total_problems=len(exc.problems), report=None, status_code=422)
    return redirect(job_path(job.id))


def _job_outcome(request, job):
    """The import page with what a lab import job did: its report, or why it refused."""
    if job.kind != "health.import":
        raise NotFound("job %(id)s is not a lab results import", id=job.id)
    source = (job.params or {}).get("format", "csv")
    problems = (job.error or {}).get("problems")
    if problems:
        lines = [Problem.from_record(p) for p in problems]
        return _import_page(request, problems=_record_lines(lines), total_problems=len(lines),
                            report=None, status_code=200)
    if job.result is None:  # still running, or stopped before any record was read
        return _import_page(request, problems=None, report=None, status_code=200)
    skipped = job.result["rejected"]
    duplicates = sum(1 for r in skipped if r["field"] == "record")
    report = {"stored": job.result["accepted"], "duplicates": duplicates,
              "alerts": job.result["alerts_raised"], "skipped": len(skipped),
              "format": source, "lines": _record_lines(
                  [Problem.from_record({**r, "field": f"{record_place(source, r['record'])}."
                                                      f"{r['field']}", "rule": r["reason"]})
                   for r in skipped])}
    return _import_page(request, problems=None, report=report, status_code=200)


def _read_upload(file: UploadFile | None, limit: int):
    data = file.file.read(limit + 1) if file is not None else b""
    if not data:
        raise ValidationFailed("file", "choose a file to upload")
    if len(data) > limit:
        raise ValidationFailed("file", "is larger than the upload limit")
    suffix = PurePath(file.filename or "").suffix.lower()
    if suffix not in (".json", ".csv"):
        raise ValidationFailed("file", "must be a FHIR Bundle (.json) or a CSV file (.csv)")
    return ("fhir" if suffix == ".json" else "csv"), data, file.filename or ""


def _record_lines(problems: list[Problem]) -> list[str]:
    """Each problem as '<where> · <field>: <rule>', translated; at most SHOWN_MAX lines.

    CSV records are named by line; Bundle entries are counted from 1 for people
    (the service numbers them from 0, as Bundle.entry[0])."""
    out = []
    for p in problems[:SHOWN_MAX]:
        where, _dot, field = p.field.partition(".")
        if where.startswith("line "):
            place = _("Line %(n)s", n=where[5:])
        elif where.startswith("entry["):
            place = _("Bundle entry %(n)s", n=int(where[6:-1]) + 1)  # counted from 1
        else:
            place, field = "", p.field
        line = describe(p.at(field or p.field))
        out.append(f"{place} · {line}" if place else line)
    return out


def _import_page(request, *, problems, report, status_code, total_problems: int = 0):
    return render(request, "staff/care_import.html", status_code=status_code,
                  problems=problems, total_problems=total_problems, report=report,
                  shown_max=SHOWN_MAX, columns=imports.CSV_COLUMNS,
                  limit_mb=request.app.state.settings.upload_max_bytes // (1024 * 1024))


# ---------------------------------------------------------------- calculators

SEXES = {"F": N_("Female"), "M": N_("Male")}
CREATININE_UNITS = ("mg/dL", "umol/L")
ACR_UNITS = ("mg/g", "mg/mmol")
CALIBRATIONS = {"north-american": N_("North American"),
                "non-north-american": N_("Outside North America")}


@router.get("/calculators")
def calculators(request: Request, principal: Principal = open_to("care")):
    return _calculators_page(request, form={}, status_code=200)


@router.post("/calculators/egfr")
def egfr(request: Request, principal: Principal = open_to("care"),
         creatinine: Annotated[str, Form(max_length=20)] = "",
         creatinine_unit: Annotated[str, Form(max_length=10)] = "mg/dL",
         cystatin_c: Annotated[str, Form(max_length=20)] = "",
         age: Annotated[str, Form(max_length=10)] = "",
         sex: Annotated[str, Form(max_length=6)] = ""):
    """eGFR by CKD-EPI 2021 (the API's /calculators/egfr): nothing is stored."""
    form = {"creatinine": creatinine, "creatinine_unit": creatinine_unit,
            "cystatin_c": cystatin_c, "age": age, "sex": sex, "calc": "egfr"}
    try:
        cys = _number("cystatin_c", cystatin_c) if cystatin_c.strip() else None
        value = clinical.egfr_creatinine(_number("creatinine", creatinine), age=_age(age),
                                         sex=_sex(sex), unit=_choice("creatinine_unit",
                                                                     creatinine_unit,
                                                                     CREATININE_UNITS),
                                         cystatin_c=cys)
    except ValidationFailed as exc:
        return _calculators_page(request, form=form, problems=describe_all(exc),
                                 status_code=422)
    shown = round(value, 1)
    g = clinical.g_category(shown)
    result = {"egfr": shown, "g": g, "g_name": _(G_NAMES[g]),
              "equation": clinical.EQUATION_CR if cys is None else clinical.EQUATION_CR_CYS}
    # Carry the inputs over to the KFRE form, which takes the same age, sex and eGFR.
    kfre_form = {"age": age, "sex": sex, "egfr": f"{shown:g}"}
    return _calculators_page(request, form=form | {"kfre": kfre_form}, egfr_result=result,
                             status_code=200)


@router.post("/calculators/kfre")
def kfre(request: Request, principal: Principal = open_to("care"),
         age: Annotated[str, Form(max_length=10)] = "",
         sex: Annotated[str, Form(max_length=6)] = "",
         egfr: Annotated[str, Form(max_length=20)] = "",
         acr: Annotated[str, Form(max_length=20)] = "",
         acr_unit: Annotated[str, Form(max_length=10)] = "mg/g",
         calibration: Annotated[str, Form(max_length=20)] = "north-american"):
    """The 4-variable Kidney Failure Risk Equation (the API's /calculators/kfre)."""
    kfre_form = {"age": age, "sex": sex, "egfr": egfr, "acr": acr, "acr_unit": acr_unit,
                 "calibration": calibration}
    try:
        e = _number("egfr", egfr)
        a = _number("acr", acr)
        unit = _choice("acr_unit", acr_unit, ACR_UNITS)
        risk = clinical.kfre(age=_age(age), sex=_sex(sex), egfr=e, acr=a, acr_unit=unit,
                             calibration=_choice("calibration", calibration, CALIBRATIONS))
        stage = clinical.stage(e, a, acr_unit=unit)
    except ValidationFailed as exc:
        return _calculators_page(request, form={"kfre": kfre_form, "calc": "kfre"},
                                 problems=describe_all(exc), status_code=422)
    result = {"risk_2y": round(risk.risk_2y, 4), "risk_5y": round(risk.risk_5y, 4),
              "g": stage.g_category, "g_name": _(G_NAMES[stage.g_category]),
              "a": stage.a_category, "risk": _(RISK_NAMES[stage.risk]) if stage.risk else None,
              "calibration": _(CALIBRATIONS[calibration])}
    return _calculators_page(request, form={"kfre": kfre_form, "calc": "kfre"},
                             kfre_result=result, status_code=200)


def _number(field: str, text: str) -> float:
    try:
        return float(text.replace(",", ".").strip())
    except ValueError:
        raise ValidationFailed(field, "must be a number") from None


def _age(text: str) -> float:
    return clinical.check_adult(_number("age", text))


def _sex(text: str) -> str:
    if text not in SEXES:
        raise ValidationFailed("sex", "must be F or M")
    return text


def _choice(field: str, text: str, allowed) -> str:
    if text not in allowed:
        raise ValidationFailed(field, "must be one of %(choices)s", choices=", ".join(allowed))
    return text


def _calculators_page(request, *, form, status_code, problems=None, egfr_result=None,
                      kfre_result=None):
    return render(request, "staff/care_calculators.html", status_code=status_code,
                  form=form, kfre_form=form.get("kfre", {}), problems=problems,
                  egfr_result=egfr_result, kfre_result=kfre_result, sexes=SEXES,
                  creatinine_units=CREATININE_UNITS, acr_units=ACR_UNITS,
                  calibrations=CALIBRATIONS)
