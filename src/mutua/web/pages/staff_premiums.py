"""Premiums and collection for finance (/staff/premiums): how much of each period's premium
came in and what is still owed by age, the settlement files from banks and payment
platforms, the reconciliation queue (match by hand, refund, hold) and the lapse run.

A file is checked when uploaded (a bad line, or the same file again, is refused at once and
nothing is stored), then matched and posted by a job whose page shows the result.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import File, Form, Path, Query, Request, UploadFile

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import today
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, refusal_undone
from mutua.errors import Conflict, NotFound, Problem, ValidationFailed
from mutua.jobs import starts
from mutua.jobs.service import JobAlreadyOpen
from mutua.policies import cycle_rates, dues
from mutua.premiums import service as premiums_service
from mutua.web import charts
from mutua.web.i18n import gettext as _
from mutua.web.pages.staff import open_to
from mutua.web.pages.staff_jobs import job_path, start_and_follow
from mutua.web.problems import describe, describe_all, message_words
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/premiums")
Finance = open_to("premiums")
PAGE = 50

SOURCES = {"bank": N_("Bank collection file"), "wechat": N_("WeChat Pay"),
           "alipay": N_("Alipay")}
REASONS = {"partial": N_("Part of the premium"), "over": N_("More than the premium"),
           "duplicate": N_("Premium already paid"), "unknown": N_("No such premium due"),
           "late": N_("After the grace period")}
AGE_LABELS = (N_("0-30 days"), N_("31-60 days"), N_("61-90 days"), N_("over 90 days"))


def _named(db, figures) -> list[dict]:
    """Figures per sale period (each with a ``period_id``) with the names tables show."""
    periods = {}
    for project in catalog_service.list_projects(db):
        for product in project.products:
            for period in product.periods:
                periods[period.id] = (project, product, period)
    return [{"project": periods[c.period_id][0],
             "product": periods[c.period_id][1], "period": periods[c.period_id][2],
             "figures": c}
            for c in figures if c.period_id in periods]


def collection_rows(db, *, project_id: int | None = None) -> list[dict]:
    """Each project's and period's collection, with the names the tables show."""
    return _named(db, dues.collection(db, on=today(), project_id=project_id))


def cycle_rows(db, *, project_id: int | None = None) -> list[dict]:
    """Each project's and period's lapse and renewal rates, with their names."""
    return _named(db, cycle_rates.rates(db, on=today(), project_id=project_id))


def cycle_chart(rows: list[dict]) -> list[dict]:
    """Renewal and lapse rates by sale period, as two lines."""
    if not rows:
        return []
    title = _("Renewal and lapse rates by sale period")
    fig = charts.lines_figure(
        title, [f"{r['product'].code} {r['period'].code}" for r in rows],
        {_("Renewal rate"): [r["figures"].renewal_rate for r in rows],
         _("Lapse rate"): [r["figures"].lapse_rate for r in rows]}, percent=True)
    return [{"id": "chart-cycle", "json": charts.to_json(fig), "label": title}]


def aged_chart(rows: list[dict]) -> list[dict]:
    """One bar chart of what is still owed by age, over the rows shown."""
    if not rows:
        return []
    totals = [sum((r["figures"].owed_by_age[i] for r in rows), start=0) for i in range(4)]
    title = _("Premiums still owed, by days since due")
    fig = charts.bar_figure(title, [_(label) for label in AGE_LABELS], totals, "¥")
    return [{"id": "chart-aged", "json": charts.to_json(fig), "label": title}]


def _page(request, db, *, project: str = "", state: str = "queued", offset: int = 0,
          problems: list[str] | None = None, status_code: int = 200):
    projects = catalog_service.list_projects(db)
    current = next((p for p in projects if p.code == project), projects[0] if projects else None)
    rows = collection_rows(db, project_id=current.id) if current else []
    queue, total = (premiums_service.queue(db, project_code=current.code, state=state,
                                           limit=PAGE, offset=offset)
                    if current else ([], 0))
    cycle = cycle_rows(db, project_id=current.id) if current else []
    chart_list = aged_chart(rows) + cycle_chart(cycle)
    refunds = dues.refunds_owed(db, project_id=current.id) if current else []
    return render(request, "staff/premiums.html", status_code=status_code, projects=projects,
                  current=current, rows=rows, cycle=cycle, refunds=refunds, queue=queue,
                  total=total, state=state,
                  offset=offset, page=PAGE, more=offset + PAGE < total, sources=SOURCES,
                  reasons=REASONS, age_labels=AGE_LABELS, problems=problems or [],
                  done=request.query_params.get("done", ""), charts=chart_list,
                  uses_charts=bool(chart_list))


@router.get("")
def premiums(request: Request, db: DbSession, principal: Principal = Finance,
             project: str = Query("", max_length=32),
             state: str = Query("queued", max_length=10,
                                pattern="^(queued|held|matched|refunded)$"),
             offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    return _page(request, db, project=project, state=state, offset=offset)


@router.post("/files")
def upload(request: Request, db: DbSession, principal: Principal = Finance,
           project: Annotated[str, Form(max_length=32)] = "",
           source: Annotated[str, Form(max_length=20)] = "bank",
           file: Annotated[UploadFile | None, File()] = None):
    settings = request.app.state.settings
    filename = (file.filename or "") if file is not None else ""
    data = file.file.read(settings.import_max_bytes + 1) if file is not None else b""
    if not filename and not data:
        return _page(request, db, project=project, status_code=422,
                     problems=[describe(Problem("file", "choose a file to upload"))])
    try:
        with refusal_undone(db):
            job = starts.collection_file(db, data=data, filename=filename, project_code=project,
                                         source=source, actor=principal)
    except JobAlreadyOpen as open_job:
        return redirect(job_path(open_job.job_id))
    except (ValidationFailed, NotFound, Conflict) as exc:
        problems = describe_all(exc) if getattr(exc, "problems", None) else [message_words(exc)]
        return _page(request, db, project=project, problems=problems, status_code=422)
    return redirect(job_path(job.id))


@router.post("/queue/{payment_id}/{action}")
def work_payment(request: Request, db: DbSession, payment_id: PathId,
                 principal: Principal = Finance,
                 action: str = Path(max_length=6, pattern="^(match|refund|hold)$"),
                 project: Annotated[str, Form(max_length=32)] = "",
                 reference: Annotated[str, Form(max_length=32)] = "",
                 note: Annotated[str, Form(max_length=500)] = ""):
    """Match a queued payment to a due, refund it, or hold it with a note."""
    try:
        with refusal_undone(db):
            if action == "match":
                premiums_service.match(db, payment_id=payment_id, reference=reference,
                                       actor=principal)
            elif action == "refund":
                premiums_service.refund(db, payment_id=payment_id, actor=principal, note=note)
            else:
                premiums_service.hold(db, payment_id=payment_id, note=note, actor=principal)
    except (ValidationFailed, NotFound, Conflict) as exc:
        problems = describe_all(exc) if getattr(exc, "problems", None) else [message_words(exc)]
        return _page(request, db, project=project, problems=problems, status_code=422)
    return redirect(f"/staff/premiums?{urlencode({'project': project, 'done': 'queue'})}#queue")


@router.post("/lapsed/{reference}/refund")
def refund_lapsed(request: Request, db: DbSession, reference: Annotated[str, Path(max_length=32)],
                  project: Annotated[str, Form(max_length=32)], principal: Principal = Finance):
    try:
        with refusal_undone(db):
            premiums_service.refund_lapsed(db, project_code=project, reference=reference,
                                           actor=principal)
    except (Conflict, NotFound) as exc:
        return _page(request, db, project=project, problems=[message_words(exc)], status_code=409)
    return redirect(f"/staff/premiums?{urlencode({'project': project, 'done': 'refunded'})}"
                    "#refunds")


@router.post("/renewal-run")
def renewal_run(request: Request, db: DbSession, principal: Principal = Finance):
    return start_and_follow(db, lambda: starts.renewal_run(db, on=today(), actor=principal))


@router.post("/lapse")
def lapse(request: Request, db: DbSession, principal: Principal = Finance):
    return start_and_follow(db, lambda: starts.lapse(db, on=today(), actor=principal))
