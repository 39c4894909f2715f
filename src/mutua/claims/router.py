"""HTTP routes under /api/v1/claims.

The claims role decides and pays; members file, read and appeal their own claims (another
member's claim is a 404); every staff role may read the queue.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service
from mutua.claims.schemas import (
    AppealIn,
    ClaimIn,
    ClaimOut,
    ClaimSummary,
    DecisionIn,
    DocumentOut,
    PayIn,
    PublishedClaim,
    ReserveIn,
    TriangleCell,
)
from mutua.dates import today
from mutua.deps import DbSession, Page, Paging, Router, allow
from mutua.jobs import starts
from mutua.jobs.router import accepted
from mutua.jobs.schemas import JobOut

router = Router(prefix="/claims", tags=["claims"])

Handler = Annotated[Principal, Depends(allow(Role.CLAIMS))]
Filer = Annotated[Principal, Depends(allow(Role.MEMBER, Role.CLAIMS))]
Reader = Annotated[Principal, Depends(allow(Role.MEMBER, Role.CLAIMS, Role.FINANCE,
                                            Role.ACTUARY))]
Anyone = Annotated[Principal, Depends(allow(*Role))]
Analyst = Annotated[Principal, Depends(allow(Role.CLAIMS, Role.ACTUARY, Role.FINANCE))]


@router.post("", response_model=ClaimOut, status_code=201)
def report(body: ClaimIn, request: Request, db: DbSession, actor: Filer) -> ClaimOut:
    """First notice of a claim (报案); simple small claims are decided at once."""
    claim = service.report(db, data=body, actor=actor, settings=request.app.state.settings)
    return service.to_out(db, claim)


@router.get("", response_model=Page[ClaimSummary])
def list_claims(db: DbSession, actor: Reader, paging: Paging,
                project: str | None = None, status: str | None = None,
                member_id: int | None = None) -> Page[ClaimSummary]:
    """Claims, newest first; ``status=open`` is the handlers' queue. Members see their own."""
    rows, total = service.list_claims(db, actor=actor, project_code=project, status=status,
                                      member_id=member_id, limit=paging.limit,
                                      offset=paging.offset)
    return Page(items=[service.summary(c) for c in rows], total=total, limit=paging.limit,
                offset=paging.offset)


@router.get("/published", response_model=Page[PublishedClaim])
def published(db: DbSession, actor: Anyone, paging: Paging,
              project: Annotated[str, Query()]) -> Page[PublishedClaim]:
    """The project's paid claims, anonymised, as published to its members (理赔公示)."""
    rows, total = service.published(db, project_code=project, limit=paging.limit,
                                    offset=paging.offset)
    return Page(items=rows, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/triangle", response_model=list[TriangleCell])
def triangle(db: DbSession, actor: Analyst, project: Annotated[str, Query()],
             basis: Annotated[str, Query(pattern="^(paid|incurred)$")] = "paid",
             as_of: date | None = None) -> list[TriangleCell]:
    """Cumulative claims triangle by accident and development quarter."""
    project_id = catalog_service.get_project(db, code=project).id
    cells = service.triangle(db, project_id=project_id, basis=basis, as_of=as_of or today())
    return [TriangleCell(origin=o, development=d, value=v) for o, d, v in cells]


@router.post("/payments", status_code=202, response_model=JobOut)
def pay(body: PayIn, db: DbSession, actor: Handler):
    """Queue a batch paying the project's approved claims: 202 and the job, whose result is
    the batch (key, claims, total). A repeat pays nothing twice; one batch per project at a
    time (409 names the open one)."""
    return accepted(db, starts.payment_batch(db, project_code=body.project, actor=actor,
                                             claim_ids=body.claim_ids))


@router.get("/{claim_id}", response_model=ClaimOut)
def get(claim_id: int, db: DbSession, actor: Reader) -> ClaimOut:
    """One claim with its items, decisions and reasons."""
    return service.to_out(db, service.get(db, claim_id=claim_id, actor=actor))


@router.post("/{claim_id}/review", response_model=ClaimOut)
def review(claim_id: int, db: DbSession, actor: Handler) -> ClaimOut:
    return service.to_out(db, service.review(db, claim_id=claim_id, actor=actor))


@router.post("/{claim_id}/reserve", response_model=ClaimOut)
def reserve(claim_id: int, body: ReserveIn, db: DbSession, actor: Handler) -> ClaimOut:
    claim = service.set_reserve(db, claim_id=claim_id, amount=body.amount, actor=actor,
                                reason=body.reason)
    return service.to_out(db, claim)


@router.post("/{claim_id}/decide", response_model=ClaimOut)
def decide(claim_id: int, body: DecisionIn, db: DbSession, actor: Handler) -> ClaimOut:
    """Decide: accept the engine, or override item amounts with a written reason."""
    return service.to_out(db, service.decide(db, claim_id=claim_id, actor=actor, data=body))


@router.post("/{claim_id}/appeal", response_model=ClaimOut)
def appeal(claim_id: int, body: AppealIn, db: DbSession, actor: Filer) -> ClaimOut:
    """Ask once for the decision to be looked at again."""
    claim = service.appeal(db, claim_id=claim_id, actor=actor, reason=body.reason)
    return service.to_out(db, claim)


@router.post("/{claim_id}/close", response_model=ClaimOut)
def close(claim_id: int, db: DbSession, actor: Handler) -> ClaimOut:
    return service.to_out(db, service.close(db, claim_id=claim_id, actor=actor))


@router.post("/{claim_id}/documents", response_model=DocumentOut, status_code=201)
def upload(claim_id: int, request: Request, db: DbSession, actor: Filer,
           file: Annotated[UploadFile, File()],
           kind: Annotated[str, Form()] = "other") -> DocumentOut:
    """Attach a PDF, JPEG or PNG (size limited) to a claim."""
    settings = request.app.state.settings
    data = file.file.read(settings.upload_max_bytes + 1)  # one byte over is enough to refuse
    doc = service.add_document(db, claim_id=claim_id, actor=actor,
                               filename=file.filename or "", data=data, kind=kind,
                               content_type=file.content_type or "", settings=settings)
    return DocumentOut.model_validate(doc, from_attributes=True)


@router.get("/{claim_id}/documents", response_model=list[DocumentOut])
def documents(claim_id: int, db: DbSession, actor: Reader) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d, from_attributes=True)
            for d in service.list_documents(db, claim_id=claim_id, actor=actor)]


@router.get("/{claim_id}/documents/{document_id}")
def document(claim_id: int, document_id: int, request: Request, db: DbSession,
             actor: Reader) -> Response:
    doc, data = service.read_document(db, claim_id=claim_id, document_id=document_id,
                                      actor=actor, settings=request.app.state.settings)
    return Response(content=data, media_type=doc.content_type)
