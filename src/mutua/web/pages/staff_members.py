"""Members in the staff console (/staff/members): find a member, see their policies and
claims, register one member (会员登记), and enrol a group from a file (团体批量投保).
Finance and actuaries also read a member's quarterly statements (会员季度结算单) here, as
``GET /api/v1/settlement/members/{id}/statement`` lets them; every such read is audited.

Identity numbers and phones are masked unless the role needs them (members.to_out).
Registering and importing are open to the roles the API lets write members
(``POST /api/v1/members`` and ``/members/import``: underwriters, and admin).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import secrets
import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile
from starlette.responses import FileResponse, Response

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.bounds import MAX_ID
from mutua.catalog import service as catalog_service
from mutua.claims import service as claims_service
from mutua.dates import today
from mutua.deps import MAX_OFFSET, DbSession, PathId, PathText, Router, allow, refusal_undone
from mutua.errors import Conflict, NotFound, Problem, ValidationFailed
from mutua.jobs import service as jobs_service
from mutua.jobs import starts
from mutua.jobs.service import JobAlreadyOpen
from mutua.members import service as members_service
from mutua.members.idcard import canonical_id_number, id_problem
from mutua.members.models import Member
from mutua.members.occupations import occupations
from mutua.members.schemas import MemberIn
from mutua.policies import importer
from mutua.policies import service as policies_service
from mutua.settlement import service as settlement_service
from mutua.web import labels, policy_document
from mutua.web.i18n import gettext as _
from mutua.web.pages import member_statements
from mutua.web.pages.member import POLICY_STATUS
from mutua.web.pages.staff_jobs import job_path
from mutua.web.problems import describe, describe_all, field_label, problem_words
from mutua.web.render import N_, SECTIONS, redirect, render

router = Router(prefix="/staff/members")
PAGE = 50

# Who may write members: the roles of POST /api/v1/members (admin is always let in).
REGISTRAR_ROLES = (Role.UNDERWRITER,)
Registrar = Depends(allow(*REGISTRAR_ROLES))

DONE = {"registered": N_("The member is registered.")}


# Who reads a member's statements: the staff roles of the settlement API's member statement.
STATEMENT_ROLES = (Role.FINANCE, Role.ACTUARY)
StatementReader = Depends(allow(*STATEMENT_ROLES))
# The members section (its roles include the statement readers, who find a member first).
MemberReader = Depends(allow(*SECTIONS["members"].roles))


def reads_statements(principal: Principal) -> bool:
    return principal.role is Role.ADMIN or principal.role in STATEMENT_ROLES


def may_register(principal: Principal) -> bool:
    return principal.role is Role.ADMIN or principal.role in REGISTRAR_ROLES


# --- refused input in the reader's language ---------------------------------------------

# Rules these pages add to the services' own (problems.describe translates those); each is
# its own msgid, translated by problems.problem_words through the catalog.
KNOWN_RULES = (
    N_("is required"), N_("is already registered"), N_("choose a file to upload"),
    N_("is not on sale today; choose one from the list"),
)


# --- search and the member's page ---------------------------------------------------------

@router.get("")
def search(request: Request, db: DbSession, principal: Principal = MemberReader,
           q: str = Query("", max_length=60), offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    rows, total = ([], 0)
    if q.strip():
        found, total = members_service.search(db, query=q, limit=PAGE, offset=offset,
                                              viewer=principal)
        rows = [members_service.to_out(m, viewer=principal) for m in found]
    return render(request, "staff/members.html", q=q, rows=rows, total=total, offset=offset,
                  page=PAGE, more=offset + PAGE < total, may_register=may_register(principal))


# --- registering one member -------------------------------------------------------------

FORM_FIELDS = ("name", "id_number", "phone", "occupation_code", "city")


def occupation_groups() -> list[tuple[int, list]]:
    """The occupation table by risk class 1-6, for the form's grouped choice."""
    groups: dict[int, list] = {}
    for occ in sorted(occupations().values(), key=lambda o: (o.occupation_class, o.code)):
        groups.setdefault(occ.occupation_class, []).append(occ)
    return sorted(groups.items())


def _register_page(request: Request, *, form: dict | None = None, problems=None,
                   existing=None, status_code: int = 200):
    return render(request, "staff/member_new.html", status_code=status_code,
                  form=form or {}, problems=problems or [], existing=existing,
                  groups=occupation_groups())


@router.get("/new")
def register_page(request: Request, principal: Principal = Registrar):
    return _register_page(request)


@router.post("/new")
def register(
    request: Request,
    db: DbSession,
    name: Annotated[str, Form(max_length=200)] = "",
    id_number: Annotated[str, Form(max_length=40)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    occupation_code: Annotated[str, Form(max_length=20)] = "",
    city: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    principal: Principal = Registrar,
):
    form = dict(name=name, id_number=id_number, phone=phone, occupation_code=occupation_code,
                city=city)
    # The service checks every field and names each broken rule, so the form is passed as
    # entered (no pydantic check first, which would stop at the first bad field).
    data = MemberIn.model_construct(**form, password=password or None)
    try:
        with refusal_undone(db):
            member = members_service.register(db, data=data, actor=principal)
    except (ValidationFailed, Conflict) as exc:
        problems = [] if isinstance(exc, Conflict) else describe_all(
            ValidationFailed(blank_is_required(exc.problems, form)))
        existing = _already_registered(db, id_number)
        if existing is not None:
            problems.append(describe(Problem("id_number", "is already registered")))
        elif isinstance(exc, Conflict):
            problems = describe_all(exc)
        return _register_page(request, form=form, problems=problems, existing=existing,
                              status_code=422)
    return redirect(f"/staff/members/{member.id}?done=registered")


def blank_is_required(problems: list[Problem], form: dict) -> list[Problem]:
    """A field left empty is told as required, not as a malformed value ("got 0")."""
    return [Problem(p.field, "is required")
            if p.field in form and not str(form[p.field]).strip() else p for p in problems]


def _already_registered(db, id_number: str):
    """The member already registered under this ID number, if it is a valid one."""
    number = canonical_id_number(id_number)
    if id_problem(number) is not None:
        return None
    found = members_service.existing_ids(db, [number])
    if not found:
        return None
    return db.get(Member, found[number])


# --- group import -----------------------------------------------------------------------

SHOWN_MAX = 200  # refused rows listed on the page; the CSV download has them all
REFUSED_DIR = "import-refused"
REFUSED_KEEP_SECONDS = 24 * 3600  # the refused-rows file holds personal data: kept a day
TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _offers(db) -> list[dict]:
    """Products and sale periods open for sale today: the only ones a group may join."""
    return [{"value": f"{product.code}|{period.code}", "product": product, "period": period}
            for product, period in catalog_service.open_for_sale(db, on=today())]


def _import_page(request: Request, db, *, form: dict | None = None, problems=None,
                 report=None, status_code: int = 200):
    settings = request.app.state.settings
    return render(request, "staff/member_import.html", status_code=status_code,
                  offers=_offers(db), form=form or {}, problems=problems or [],
                  report=report, columns=importer.COLUMNS, shown_max=SHOWN_MAX,
                  limit_mb=settings.import_max_bytes // (1024 * 1024),
                  max_rows=settings.import_max_rows)


@router.get("/import")
def import_page(request: Request, db: DbSession, principal: Principal = Registrar,
                job: int | None = Query(None, ge=1, le=MAX_ID)):
    """The import form; with ``job``, also the report of that import job once it ended."""
    if job is None:
        return _import_page(request, db)
    return _import_page(request, db, report=_job_report(request, db, principal, job))


@router.get("/import/template.csv")
def import_template(principal: Principal = Registrar):
    """The header a group file must carry; with a BOM so Excel opens it as UTF-8."""
    body = "\ufeff" + ",".join(importer.COLUMNS) + "\r\n"
    return Response(body.encode("utf-8"), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="group-import-template.csv"'})


@router.post("/import")
def import_group(
    request: Request,
    db: DbSession,
    offer: Annotated[str, Form(max_length=64)] = "",
    all_or_nothing: Annotated[bool, Form()] = False,
    logins: Annotated[bool, Form()] = False,
    file: Annotated[UploadFile | None, File()] = None,
    principal: Principal = Registrar,
):
    settings = request.app.state.settings
    form = {"offer": offer, "all_or_nothing": all_or_nothing, "logins": logins}
    chosen = next((o for o in _offers(db) if o["value"] == offer), None)
    if chosen is None:
        return _import_page(request, db, form=form, status_code=422, problems=[describe(
            Problem("product", "is not on sale today; choose one from the list"))])
    filename = (file.filename or "") if file is not None else ""
    data = file.file.read(settings.import_max_bytes + 1) if file is not None else b""
    if not filename and not data:
        return _import_page(request, db, form=form, status_code=422,
                            problems=[describe(Problem("file", "choose a file to upload"))])
    try:
        with refusal_undone(db):
            job = starts.member_import(
                db, data=data, filename=filename, product_code=chosen["product"].code,
                period_code=chosen["period"].code, actor=principal, all_or_nothing=all_or_nothing,
                settings=settings, logins=logins)
    except JobAlreadyOpen as open_job:  # the same file into the same period: follow that job
        return redirect(job_path(open_job.job_id))
    except (ValidationFailed, NotFound) as exc:
        for problem in getattr(exc, "problems", []):
            if problem.field == "file.header":  # shown as "Column header", not "file header"
                problem.field = "header"
        return _import_page(request, db, form=form, problems=describe_all(exc),
                            status_code=422)
    _keep_upload(settings, principal, job.id, data, filename)  # for the refused-rows download
    return redirect(job_path(job.id))  # the job's page follows it and links the report


def _job_report(request: Request, db, principal: Principal, job_id: int) -> dict | None:
    """The report of an import job that ended, as the page shows it (None before its end)."""
    job = jobs_service.get(db, job_id=job_id, actor=principal)
    if job.kind != "members.import":
        raise NotFound("job %(job_id)s is not a group import", job_id=job_id)
    data = job.result or (job.error or {}).get("report")
    if data is None:
        return None
    report = _report_of(data)
    product = catalog_service.get_product(db, code=report.product_code)
    period = catalog_service.get_period(db, product=product, code=report.period_code)
    view = report_view(report, offer={"product": product, "period": period})
    kept = _kept_upload(request.app.state.settings, principal, job_id)
    if report.bad_rows and kept is not None:
        view["download"] = _save_refused(request.app.state.settings, principal, kept[1],
                                         kept[0], report)
    return view


def _report_of(data: dict) -> importer.ImportReport:
    """An import report back from the job's JSON result."""
    return importer.ImportReport(
        data["product"], data["period"], data["file_kind"], rows=data["rows"],
        enrolled=data["enrolled"], registered=data["registered"], reused=data["reused"],
        logins=data.get("logins", 0),
        premium_total=Decimal(data["premium_total"]), all_or_nothing=data["all_or_nothing"],
        stored=data["stored"], seconds=data["seconds"],
        bad_rows={b["row"]: [Problem(p["field"], p["rule"]) for p in b["problems"]]
                  for b in data["bad_rows"]})


def _keep_upload(settings, principal: Principal, job_id: int, data: bytes, filename: str) -> None:
    """Keep the file a day for its refused-rows download (the job's own copy goes when it
    ends); only the staff member who sent it may have the rows back."""
    folder = _refused_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{principal.user_id}-job{job_id}.upload").write_bytes(data)
    (folder / f"{principal.user_id}-job{job_id}.name").write_text(filename[:200])


def _kept_upload(settings, principal: Principal, job_id: int) -> tuple[str, bytes] | None:
    folder = _refused_dir(settings)
    data = folder / f"{principal.user_id}-job{job_id}.upload"
    name = folder / f"{principal.user_id}-job{job_id}.name"
    if not data.is_file() or not name.is_file():
        return None
    return name.read_text(), data.read_bytes()


def report_view(report: importer.ImportReport, *, offer: dict) -> dict:
    """The import report as the page shows it: counts, and the first refused rows."""
    lines = []
    for row, problems in sorted(report.bad_rows.items()):
        for p in problems:
            lines.append({"row": row, "field": field_label(p.field), "rule": problem_words(p)})
            if len(lines) >= SHOWN_MAX:
                break
        if len(lines) >= SHOWN_MAX:
            break
    return {"report": report, "product": offer["product"], "period": offer["period"],
            "refused": len(report.bad_rows), "lines": lines,
            "capped": sum(len(ps) for ps in report.bad_rows.values()) > len(lines)}


def refused_rows_csv(data: bytes, filename: str, report: importer.ImportReport,
                     settings) -> bytes:
    """The refused rows as they were in the file, each with its row number and problems.

    The group can fix these rows and send them again (drop the two extra columns).
    """
    rows = importer.stream_table(data, filename=filename, settings=settings)[1]
    cells = {row: importer.record(values) for row, values in rows if row in report.bad_rows}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Row"), *importer.COLUMNS, _("Problems")])
    for row, problems in sorted(report.bad_rows.items()):
        values = cells.get(row, {})
        writer.writerow([row, *(_cell(values.get(c, "")) for c in importer.COLUMNS),
                         "; ".join(describe(p) for p in problems)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (=, @, or a sign before letters)."""
    text = str(value or "")
    if text[:1] in ("=", "@", "\t", "\r") or (text[:1] in ("+", "-")
                                              and not text[1:].replace(" ", "").isdigit()):
        return "'" + text
    return text


def _refused_dir(settings) -> Path:
    return Path(settings.upload_dir) / REFUSED_DIR


def _save_refused(settings, principal: Principal, data: bytes, filename: str,
                  report: importer.ImportReport) -> str:
    """Write the refused rows for this staff member to download; returns the token.

    Files older than a day are removed first: they hold names and ID numbers.
    """
    folder = _refused_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    cutoff = time.time() - REFUSED_KEEP_SECONDS
    for old in [*folder.glob("*.csv"), *folder.glob("*.upload"), *folder.glob("*.name")]:
        if old.stat().st_mtime < cutoff:
            old.unlink(missing_ok=True)
    token = secrets.token_urlsafe(24)
    (folder / f"{principal.user_id}-{token}.csv").write_bytes(
        refused_rows_csv(data, filename, report, settings))
    return token


@router.get("/import/refused/{token}.csv")
def refused_rows(token: PathText, request: Request, principal: Principal = Registrar):
    """The refused rows of an import, for the staff member who ran it (kept a day)."""
    path = _refused_dir(request.app.state.settings) / f"{principal.user_id}-{token}.csv"
    if not TOKEN.fullmatch(token) or not path.is_file():
        raise NotFound("no such refused-rows file (they are kept for a day)")
    return FileResponse(path, media_type="text/csv; charset=utf-8",
                        filename="refused-rows.csv")


# --- one member ---------------------------------------------------------------------------

@router.get("/{member_id}/policies/{policy_id}/document.pdf")
def policy_document_pdf(member_id: PathId, policy_id: PathId, db: DbSession,
                        principal: Principal = MemberReader):
    """The member's electronic policy (电子保单), as the member downloads it."""
    policy = policies_service.get(db, policy_id=policy_id, actor=principal)
    if policy.member_id != member_id:
        raise NotFound("policy %(policy_id)s not found", policy_id=policy_id)
    return policy_document.response(db, policy)


@router.get("/{member_id}")
def member_page(member_id: PathId, request: Request, db: DbSession,
                principal: Principal = MemberReader):
    member = members_service.to_out(
        members_service.get(db, member_id=member_id, actor=principal), viewer=principal)
    policies, _n = policies_service.list_for_member(db, member_id=member_id, actor=principal)
    claims = []
    if principal.role in (Role.CLAIMS, Role.ADMIN):
        claims, _n = claims_service.list_claims(db, actor=principal, member_id=member_id)
    statements = None
    if reads_statements(principal):  # the service audits the read
        statements = list(reversed(settlement_service.member_statement(
            db, member_id=member_id, actor=principal)["quarters"]))
    done = request.query_params.get("done")
    return render(request, "staff/member.html", member=member, policies=policies,
                  claims=claims, status_labels=POLICY_STATUS,
                  claim_status=labels.CLAIM_STATUS,
                  sees_health=principal.role in (Role.CARE, Role.ADMIN),
                  statements=statements, to_money=member_statements._money,
                  flash=_(DONE[done]) if done in DONE else None)


@router.get("/{member_id}/statements/{project}/{quarter}")
def member_statement(member_id: PathId, project: PathText, quarter: PathText, request: Request,
                     db: DbSession, principal: Principal = StatementReader):
    """The member's statement of one quarter as the member reads it at /me/statements.

    The member page's context is built by the member's own code, reading for the member
    this staff login looks at (the login and role stay the staff's, so the audit names them).
    """
    member = members_service.to_out(
        members_service.get(db, member_id=member_id, actor=principal), viewer=principal)
    reader = dataclasses.replace(principal, member_id=member_id)
    ctx = member_statements._statement(db, reader, project, quarter)
    return render(request, "staff/member_statement.html", member=member,
                  to_money=member_statements._money, **member_statements.page_parts(ctx),
                  **ctx)
