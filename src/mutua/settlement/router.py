"""HTTP routes under /api/v1/settlement: run and read quarterly closes, member statements.

Finance closes quarters; finance, actuaries and admins read project statements; a member
reads only their own statement (another member's is a 404).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path, Query
from fastapi.responses import StreamingResponse

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import Quarter
from mutua.deps import (
    DbSession,
    Page,
    Paging,
    PathId,
    QueryCode,
    ReadDbSession,
    Router,
    allow,
)
from mutua.errors import NotFound
from mutua.jobs import starts
from mutua.jobs.router import accepted
from mutua.jobs.schemas import JobOut
from mutua.settlement import capital, export, movements, service
from mutua.settlement.schemas import (
    AllocationPolicyIn,
    AllocationPolicyOut,
    CloseIn,
    ExpenseIn,
    SolvencyFactorIn,
)

router = Router(prefix="/settlement", tags=["settlement"])
QueryQuarter = Annotated[str | None, Query(max_length=16)]  # read by dates.Quarter.parse

Closer = Annotated[Principal, Depends(allow(Role.FINANCE))]
Reader = Annotated[Principal, Depends(allow(Role.FINANCE, Role.ACTUARY, Role.SECRETARY))]
MemberOrStaff = Annotated[Principal, Depends(allow(Role.MEMBER, Role.FINANCE, Role.ACTUARY))]


@router.post("/closes", responses={202: {"model": JobOut, "description": "the close, queued"}})
def run_close(body: CloseIn, db: DbSession, actor: Closer):
    """Queue the close of a project's quarter: 202 and the job (its result is the statement;
    a quarter already closed answers with the stored one). ``dry_run`` answers the statement
    at once and writes nothing. One close per project and quarter at a time (409 names it)."""
    if body.dry_run:
        return service.close_quarter(db, project_code=body.project, quarter=body.quarter,
                                     actor=actor, dry_run=True)
    return accepted(db, starts.close(db, project_code=body.project, quarter=body.quarter,
                                     actor=actor))


@router.get("/closes", response_model=Page[dict])
def list_closes(db: ReadDbSession, actor: Reader, paging: Paging,
                project: QueryCode = None) -> Page[dict]:
    items, total = service.list_closes(db, project_code=project, limit=paging.limit,
                                       offset=paging.offset)
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/closes/{project}/{quarter}")
def project_statement(project: Annotated[str, Path(max_length=32)],
                      quarter: Annotated[str, Path(max_length=16)], db: ReadDbSession,
                      actor: Reader) -> dict:
    """The project statement of a closed quarter (earned, claims, reserve, surplus, gates)."""
    return service.project_statement(db, project_code=project, quarter=quarter, actor=actor)


@router.get("/members/{member_id}/statement")
def member_statement(member_id: PathId, db: DbSession, actor: MemberOrStaff,
                     quarter: QueryQuarter = None) -> dict:
    """A member's contribution, uplift per policy (money and sum insured) and aid."""
    return service.member_statement(db, member_id=member_id, quarter=quarter, actor=actor)


@router.get("/me/statement")
def my_statement(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.MEMBER))],
                 quarter: QueryQuarter = None) -> dict:
    if actor.member_id is None:
        raise NotFound("this account is not a member")
    return service.member_statement(db, member_id=actor.member_id, quarter=quarter, actor=actor)


@router.post("/allocation-policies", response_model=AllocationPolicyOut, status_code=201)
def adopt_policy(body: AllocationPolicyIn, db: DbSession, actor: Closer) -> AllocationPolicyOut:
    project = catalog_service.get_project(db, code=body.project)
    row = service.adopt_allocation_policy(
        db, project_id=project.id, uplift=body.uplift, aid=body.aid, services=body.services,
        effective_from=body.effective_from, source=body.source, actor=actor)
    return AllocationPolicyOut(id=row.id, version=row.version, effective_from=row.effective_from,
                               uplift=row.uplift, aid=row.aid, services=row.services,
                               source=row.source)


@router.post("/expenses", status_code=201)
def record_expense(body: ExpenseIn, db: DbSession, actor: Closer) -> dict:
    row = service.enter_expense(db, project_code=body.project, quarter=body.quarter,
                                amount=str(body.amount), memo=body.memo, actor=actor,
                                category=body.category)  # the page's rules
    return {"id": row.id, "quarter": row.quarter, "amount": f"{row.amount:.2f}",
            "category": row.category}


# ---------------------------------------------------------------- reports for the regulator

Auditor = Annotated[Principal, Depends(allow(Role.FINANCE))]


@router.get("/reserve-movements")
def reserve_movements(db: ReadDbSession, actor: Reader, project: QueryCode,
                      quarter: Annotated[str, Query(max_length=16)]) -> dict:
    """Each reserve line of a project's quarter: opening + movements = closing, from the
    books, beside the figure it ties to."""
    return movements.movement_report(db, project_code=project or "", quarter=quarter)


@router.get("/export", response_class=StreamingResponse,
            responses={200: {"content": {"application/zip": {}}}})
def export_quarter(db: DbSession, actor: Auditor, project: QueryCode,
                   quarter: Annotated[str, Query(max_length=16)]) -> StreamingResponse:
    """The quarter's ledger, policies, claims and reserves as CSV with a data dictionary,
    one zip (finance or an administrator). Written to a spooled file, streamed in chunks."""
    import tempfile

    q = Quarter.parse(quarter)
    # closed by export.chunks once streamed, or here if writing fails
    out = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        export.write(db, out, project_code=project or "", quarter=str(q), actor=actor)
    except BaseException:
        out.close()
        raise
    name = f"mutua-{project}-{q}.zip"
    return StreamingResponse(export.chunks(out), media_type="application/zip",
                             headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/solvency")
def solvency_report(db: ReadDbSession, actor: Reader,
                    quarter: Annotated[str, Query(max_length=16)]) -> dict:
    """The mutual's C-ROSS solvency report for a quarter, project by project."""
    return capital.solvency_report(db, quarter=quarter)


@router.get("/solvency-factors")
def solvency_factors(db: ReadDbSession, actor: Reader) -> list[dict]:
    """Risk factors filed per line of business, then the demo defaults."""
    return capital.list_factors(db)


@router.post("/solvency-factors", status_code=201)
def file_solvency_factor(body: SolvencyFactorIn, db: DbSession,
                         actor: Annotated[Principal, Depends(allow(Role.ACTUARY))]) -> dict:
    row = capital.file_factor(db, actor=actor, **body.model_dump())
    return {"id": row.id, "line": row.line, "effective_from": row.effective_from}
