"""HTTP routes under /api/v1/members."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile
from pydantic import BaseModel

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, Page, Paging, PathId, Router, allow, refused
from mutua.jobs import starts
from mutua.jobs.router import accepted
from mutua.jobs.schemas import JobOut
from mutua.members import service
from mutua.members.idcard import id_problem, parse_id_number
from mutua.members.occupations import occupations
from mutua.members.schemas import IdCheck, MemberIn, MemberOut, OccupationOut

router = Router(prefix="/members", tags=["members"])

Staff = Annotated[Principal, Depends(allow(Role.UNDERWRITER, Role.CLAIMS, Role.FINANCE,
                                           Role.CARE, Role.SECRETARY, Role.ACTUARY))]
Registrar = Annotated[Principal, Depends(allow(Role.UNDERWRITER))]
AnyCaller = Annotated[Principal, Depends(allow(*Role))]


@router.post("", response_model=MemberOut, status_code=201)
def register(body: MemberIn, db: DbSession, actor: Registrar) -> MemberOut:
    """Register a member (underwriter). The ID number gives birth date and sex."""
    return service.to_out(service.register(db, data=body, actor=actor), viewer=actor)


class ImportProblemOut(BaseModel):
    field: str
    rule: str


class ImportRowOut(BaseModel):
    row: int  # the row in the file; the header is row 1
    problems: list[ImportProblemOut]


class ImportReportOut(BaseModel):
    product: str
    period: str
    file_kind: str
    rows: int
    enrolled: int
    registered: int
    reused: int
    logins: int = 0
    bad: int
    premium_total: str
    all_or_nothing: bool
    stored: bool
    seconds: float
    rows_per_second: float
    bad_rows: list[ImportRowOut]


@router.post("/import", status_code=202, response_model=JobOut,
             responses={422: refused("the file cannot be read as a group file")})
def import_members(
    request: Request, db: DbSession, actor: Registrar,
    file: Annotated[UploadFile, File(description="CSV or .xlsx with columns name, id_number, "
                                                 "phone, occupation_code, city")],
    product: Annotated[str, Form(max_length=40)],
    period: Annotated[str, Form(max_length=20)],
    all_or_nothing: Annotated[bool, Form()] = False,
    logins: Annotated[bool, Form(description="a login for every member, first sign-in by "
                                             "SMS code")] = False,
) -> dict:
    """Bulk enrolment of a group (underwriter), as a job: 202 and the job, whose result is the
    report (every row checked, bad rows listed with reasons; ``ImportReportOut``). A file that
    cannot be read is refused at once (422). With all_or_nothing a single bad row stores
    nothing: the job fails, its error carrying the report.
    """

    settings = request.app.state.settings
    data = file.file.read(settings.import_max_bytes + 1)  # never read more than the limit
    return accepted(db, starts.member_import(
        db, data=data, filename=file.filename or "", product_code=product, period_code=period,
        actor=actor, all_or_nothing=all_or_nothing, settings=settings, logins=logins))


@router.get("", response_model=Page[MemberOut])
def search(db: DbSession, actor: Staff, paging: Paging,
           q: Annotated[str | None, Query(max_length=60)] = None) -> Page[MemberOut]:
    """Find members by member number, name or phone (staff)."""
    rows, total = service.search(db, query=q, limit=paging.limit, offset=paging.offset,
                                 viewer=actor)
    return Page(items=[service.to_out(m, viewer=actor) for m in rows], total=total,
                limit=paging.limit, offset=paging.offset)


@router.get("/me", response_model=MemberOut)
def me(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.MEMBER))]) -> MemberOut:
    """The signed-in member's own record."""
    return service.to_out(service.get(db, member_id=actor.member_id, actor=actor), viewer=actor)


@router.get("/occupations", response_model=list[OccupationOut])
def occupation_table(actor: AnyCaller) -> list[OccupationOut]:
    """The occupation table with each occupation's class 1-6."""
    return [OccupationOut(**o.__dict__) for o in occupations().values()]


@router.get("/validate-id", response_model=IdCheck)
def validate_id(id_number: Annotated[str, Query(max_length=40)], actor: AnyCaller) -> IdCheck:
    """Check a resident ID number by GB 11643 without storing anything."""
    return check_id(id_number)


@router.get("/{member_id}", response_model=MemberOut)
def get(member_id: PathId, db: DbSession, actor: AnyCaller) -> MemberOut:
    """One member: staff, or the member themself (another member's id is 404)."""
    return service.to_out(service.get(db, member_id=member_id, actor=actor), viewer=actor)


def check_id(id_number: str) -> IdCheck:
    problem = id_problem(id_number)
    if problem:
        return IdCheck(valid=False, reason=problem, birth_date=None, sex=None)
    parsed = parse_id_number(id_number)
    return IdCheck(valid=True, reason=None, birth_date=parsed.birth_date, sex=parsed.sex)
