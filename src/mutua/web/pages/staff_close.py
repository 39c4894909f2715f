"""The quarterly close (/staff/close): pick a project and quarter, preview (dry run) the
figures, gates and allocation, then close. Finance closes; actuaries may preview."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Query, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import Quarter, today
from mutua.deps import DbSession, Router, refusal_undone
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.jobs import starts
from mutua.jobs.service import JobAlreadyOpen
from mutua.settlement import service as settlement_service
from mutua.web import labels
from mutua.web.pages.staff import open_to
from mutua.web.pages.staff_jobs import job_path
from mutua.web.problems import describe_all
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/close")

# Statement lines shown in the preview and after the close, in order (msgids): each term
# of the result, the reserve and deficit movements, and the surplus up to what is shared.
LINES = (
    ("earned_premium", N_("Earned premium")),
    ("uplift_premium_earned", N_("Uplift premium earned")),
    ("uplift_premium_returned", N_("Uplift premium returned by cancelled policies")),
    ("claims_paid", N_("Claims paid")),
    ("claims_payable_change", N_("Change in claims payable")),
    ("case_reserve_change", N_("Change in case reserves")),
    ("ibnr_change", N_("Change in IBNR")),
    ("claims_incurred", N_("Claims incurred")),
    ("loss_ratio", N_("Loss ratio")),
    ("unexpired_risk_change", N_("Change in unexpired risk reserve")),
    ("expenses_actual", N_("Actual costs")),
    ("expense_cap", N_("Expense cap")),
    ("expenses_over_cap", N_("Costs above the cap (borne by the operator)")),
    ("expenses", N_("Expenses")),
    ("result_gross", N_("Result before reinsurance")),
    ("reinsurance_ceded", N_("Premium ceded to reinsurers")),
    ("reinsurance_recovered", N_("Recovered from reinsurers")),
    ("result", N_("Result, net of reinsurance")),
    ("reserve_before", N_("Reserve before")),
    ("reserve_set_aside", N_("Set aside")),
    ("reserve_drawn", N_("Reserve drawn")),
    ("reserve_after", N_("Reserve after")),
    ("deficit_before", N_("Deficit before")),
    ("deficit_made_good", N_("Deficit made good")),
    ("deficit_after", N_("Deficit carried")),
    ("surplus", N_("Surplus")),
    ("undistributed_before", N_("Undistributed before (incl. uplift money carried)")),
    ("start_up_costs_recovered", N_("Start-up costs recovered")),
    ("operating_fund_repaid", N_("Operating fund repaid")),
    ("distributable", N_("Distributable")),
    ("claims_payable", N_("Claims payable at the quarter's end")),
    ("case_reserve", N_("Case reserves at the quarter's end")),
    ("ibnr", N_("IBNR at the quarter's end")),
    ("unexpired_risk_reserve", N_("Unexpired risk reserve at the quarter's end")),
)
RATIOS = ("loss_ratio",)  # shown as percentages, the rest as money
ALLOCATIONS = (("uplift", N_("Uplift of sums insured")), ("aid", N_("Aid to claimants")),
               ("services", N_("Member services")))


def next_quarter(db, project_code: str) -> str:
    """The quarter a project should close next: after its last close, or the last ended one."""
    closes, _total = settlement_service.list_closes(db, project_code=project_code, limit=500)
    if closes:
        return str(Quarter.parse(closes[-1]["quarter"]).next())
    return str(Quarter.of(today()).previous())


def _page(request, db, principal, *, project: str, quarter: str, preview=None, problems=None,
          status_code=200, done=None):
    projects = catalog_service.list_projects(db)
    project = project or (projects[0].code if projects else "")
    closes, _total = (settlement_service.list_closes(db, project_code=project, limit=500)
                      if project else ([], 0))
    return render(request, "staff/close.html", status_code=status_code, projects=projects,
                  project=project, quarter=quarter or (next_quarter(db, project) if project
                                                       else ""),
                  preview=preview, problems=problems or [], closes=list(reversed(closes)),
                  lines=LINES, ratios=RATIOS, allocations=ALLOCATIONS, done=done,
                  gate_labels=labels.CLOSE_GATES, ibnr_bases=labels.IBNR_BASES,
                  may_close=principal.role in (Role.FINANCE, Role.ADMIN))


@router.get("")
def close_page(request: Request, db: DbSession, principal: Principal = open_to("close"),
               project: str = Query("", max_length=32), quarter: str = Query("", max_length=7),
               done: str = Query("", max_length=7)):
    statement = None
    if done and project:
        try:
            statement = settlement_service.project_statement(db, project_code=project,
                                                             quarter=done)
        except (NotFound, ValidationFailed):
            statement = None
    return _page(request, db, principal, project=project, quarter=quarter, preview=statement,
                 done=done or None)


@router.post("/preview")
def preview(request: Request, db: DbSession, principal: Principal = open_to("close"),
            project: Annotated[str, Form(max_length=32)] = "",
            quarter: Annotated[str, Form(max_length=7)] = ""):
    try:
        with refusal_undone(db):
            statement = settlement_service.close_quarter(db, project_code=project, quarter=quarter,
                                                         actor=principal, dry_run=True)
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _page(request, db, principal, project=project, quarter=quarter,
                     problems=describe_all(exc), status_code=exc.status_code)
    return _page(request, db, principal, project=project, quarter=quarter, preview=statement)


@router.post("/run")
def run(request: Request, db: DbSession, principal: Principal = open_to("close"),
        project: Annotated[str, Form(max_length=32)] = "",
        quarter: Annotated[str, Form(max_length=7)] = ""):
    if principal.role not in (Role.FINANCE, Role.ADMIN):
        raise Forbidden("only finance closes a quarter")
    try:
        with refusal_undone(db):
            job = starts.close(db, project_code=project, quarter=quarter, actor=principal)
    except JobAlreadyOpen as open_job:  # the same close is queued or running: follow it
        return redirect(job_path(open_job.job_id))
    except (ValidationFailed, Conflict, NotFound) as exc:
        return _page(request, db, principal, project=project, quarter=quarter,
                     problems=describe_all(exc), status_code=exc.status_code)
    return redirect(job_path(job.id))  # the job's page follows it and links the statement
