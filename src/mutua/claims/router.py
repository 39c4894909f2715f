"""HTTP routes under /api/v1/claims.

The claims role decides and pays; members file, read and appeal their own claims (another
member's claim is a 404); every staff role may read the queue.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, Response, UploadFile

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service
from mutua.claims.schemas import (
    AppealIn,
    AssignIn,
    ClaimIn,
    ClaimOut,
    ClaimSummary,
    DecisionIn,
    DeclineIn,
    DocumentOut,
    DocumentsRequestIn,
    OverrideAnswerIn,
    PayIn,
    PublishedClaim,
    ReserveIn,
    TriangleCell,
)
from mutua.dates import today
from mutua.deps import (
    DbSession,
    Page,
    Paging,
    PathId,
    QueryCode,
    QueryDay,
    QueryId,
    ReadDbSession,
    Router,
    allow,
    refused,
)
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


@router.post("", response_model=ClaimOut, status_code=201,
             responses={409: refused("the event is already reported: the answer names the "
                                     "claim (claim_id, claim_number)")})
def report(body: ClaimIn, request: Request, db: DbSession, actor: Filer) -> ClaimOut:
    """First notice of a claim (报案); simple small claims are decided at once.

    A second report of the same event (policy, event date and type) is refused with 409
    naming the existing claim; staff may record a separate event with ``duplicate_reason``.
    """
    claim = service.report(db, data=body, actor=actor, settings=request.app.state.settings)
    return service.to_out(db, claim)


@router.get("", response_model=Page[ClaimSummary])
def list_claims(db: DbSession, actor: Reader, paging: Paging,
                project: QueryCode = None,
                status: Annotated[str | None, Query(max_length=32)] = None,
                member_id: QueryId = None,
                q: Annotated[str | None, Query(max_length=32, description=(
                    "a claim number (CL...), policy number (P...) or member number (M...)"))
                             ] = None) -> Page[ClaimSummary]:
    """Claims, newest first; ``status=open`` is the handlers' queue, ``status=overdue`` its
    claims past their decision day (30 days, PRC Insurance Law art. 23, less the days spent
    waiting for documents) and ``status=awaiting_approval`` the overrides waiting for a
    second handler. Members see their own."""
    rows, total = service.list_claims(db, actor=actor, project_code=project, status=status,
                                      member_id=member_id, limit=paging.limit,
                                      offset=paging.offset, search=q)
    return Page(items=[service.summary(c) for c in rows], total=total, limit=paging.limit,
                offset=paging.offset)


@router.get("/published", response_model=Page[PublishedClaim])
def published(db: DbSession, actor: Anyone, paging: Paging,
              project: Annotated[str, Query(max_length=32)]) -> Page[PublishedClaim]:
    """The project's paid claims, anonymised, as published to its members (理赔公示)."""
    rows, total = service.published(db, project_code=project, limit=paging.limit,
                                    offset=paging.offset)
    return Page(items=rows, total=total, limit=paging.limit, offset=paging.offset)


@router.get("/triangle", response_model=list[TriangleCell])
def triangle(db: ReadDbSession, actor: Analyst, project: Annotated[str, Query(max_length=32)],
             basis: Annotated[str, Query(pattern="^(paid|incurred)$", max_length=8)] = "paid",
             as_of: QueryDay = None) -> list[TriangleCell]:
    """Cumulative claims triangle by accident and development quarter."""
    project_id = catalog_service.get_project(db, code=project).id
    now = today()
    cells = service.triangle(db, project_id=project_id, basis=basis, as_of=as_of or now,
                             today=now)
    return [TriangleCell(origin=o, development=d, value=v) for o, d, v in cells]


@router.post("/payments", status_code=202, response_model=JobOut)
def pay(body: PayIn, db: DbSession, actor: Handler):
    """Queue a batch paying the project's approved claims: 202 and the job, whose result is
    the batch (key, claims, total, and in ``refused`` any item approved above what its
    benefit can still pay, left unpaid). A repeat pays nothing twice; one batch per project
    at a time (409 names the open one); the job fails with 409 when the project's cash and
    approved overdraft do not cover the total (the message names the shortfall)."""
    return accepted(db, starts.payment_batch(db, project_code=body.project, actor=actor,
                                             claim_ids=body.claim_ids))


@router.get("/{claim_id}", response_model=ClaimOut)
def get(claim_id: PathId, db: DbSession, actor: Reader) -> ClaimOut:
    """One claim with its items, decisions and reasons."""
    return service.to_out(db, service.get(db, claim_id=claim_id, actor=actor))


@router.post("/{claim_id}/review", response_model=ClaimOut)
def review(claim_id: PathId, db: DbSession, actor: Handler) -> ClaimOut:
    return service.to_out(db, service.review(db, claim_id=claim_id, actor=actor))


@router.post("/{claim_id}/reserve", response_model=ClaimOut)
def reserve(claim_id: PathId, body: ReserveIn, db: DbSession, actor: Handler) -> ClaimOut:
    claim = service.set_reserve(db, claim_id=claim_id, amount=body.amount, actor=actor,
                                reason=body.reason)
    return service.to_out(db, claim)


@router.post("/{claim_id}/decide", response_model=ClaimOut,
             responses={202: {"model": ClaimOut,
                              "description": "an override waits for a second handler"}})
def decide(claim_id: PathId, body: DecisionIn, request: Request, response: Response,
           db: DbSession, actor: Handler) -> ClaimOut:
    """Decide: accept the engine, or override item amounts with a written reason.

    An override above the engine by more than the four-eyes limit is not decided yet: the
    answer is 202 with ``pending_override``, and another handler approves or rejects it.
    """
    claim = service.decide(db, claim_id=claim_id, actor=actor, data=body,
                           settings=request.app.state.settings)
    out = service.to_out(db, claim)
    if out.pending_override is not None:
        response.status_code = 202
    return out


@router.post("/{claim_id}/decline", response_model=ClaimOut)
def decline(claim_id: PathId, body: DeclineIn, request: Request, db: DbSession,
            actor: Handler) -> ClaimOut:
    """Decline an open claim with a written reason, which the member sees on the claim."""
    claim = service.decline(db, claim_id=claim_id, actor=actor, reason=body.reason,
                            settings=request.app.state.settings)
    return service.to_out(db, claim)


@router.post("/{claim_id}/documents-request", response_model=ClaimOut)
def request_documents(claim_id: PathId, body: DocumentsRequestIn, db: DbSession,
                      actor: Handler) -> ClaimOut:
    """Ask the member for the documents still missing: the claim waits and its decision
    clock stops until a document arrives (PRC Insurance Law art. 22-23)."""
    claim = service.request_documents(db, claim_id=claim_id, actor=actor, kinds=body.kinds,
                                      note=body.note)
    return service.to_out(db, claim)


@router.post("/{claim_id}/assign", response_model=ClaimOut)
def assign(claim_id: PathId, body: AssignIn, db: DbSession, actor: Handler) -> ClaimOut:
    """Give an open claim to a handler (their username), or take it back with ""."""
    return service.to_out(db, service.assign(db, claim_id=claim_id, actor=actor,
                                             handler=body.handler))


@router.post("/{claim_id}/override/approve", response_model=ClaimOut)
def approve_override(claim_id: PathId, body: OverrideAnswerIn, db: DbSession,
                     actor: Handler) -> ClaimOut:
    """A second handler (not the one who asked) approves the pending override: decided."""
    claim = service.approve_override(db, claim_id=claim_id, actor=actor, note=body.note)
    return service.to_out(db, claim)


@router.post("/{claim_id}/override/reject", response_model=ClaimOut)
def reject_override(claim_id: PathId, body: OverrideAnswerIn, db: DbSession,
                    actor: Handler) -> ClaimOut:
    """Turn the pending override down, saying why; the claim stays open to decide again."""
    claim = service.reject_override(db, claim_id=claim_id, actor=actor, note=body.note)
    return service.to_out(db, claim)


@router.post("/{claim_id}/appeal", response_model=ClaimOut)
def appeal(claim_id: PathId, body: AppealIn, db: DbSession, actor: Filer) -> ClaimOut:
    """Ask once for the decision to be looked at again."""
    claim = service.appeal(db, claim_id=claim_id, actor=actor, reason=body.reason)
    return service.to_out(db, claim)


@router.post("/{claim_id}/close", response_model=ClaimOut)
def close(claim_id: PathId, db: DbSession, actor: Handler) -> ClaimOut:
    return service.to_out(db, service.close(db, claim_id=claim_id, actor=actor))


@router.post("/{claim_id}/documents", response_model=DocumentOut, status_code=201)
def upload(claim_id: PathId, request: Request, db: DbSession, actor: Filer,
           file: Annotated[UploadFile, File()],
           kind: Annotated[str, Form(max_length=24)] = "other") -> DocumentOut:
    """Attach a PDF, JPEG or PNG (size limited) to a claim."""
    settings = request.app.state.settings
    data = file.file.read(settings.upload_max_bytes + 1)  # one byte over is enough to refuse
    doc = service.add_document(db, claim_id=claim_id, actor=actor,
                               filename=file.filename or "", data=data, kind=kind,
                               content_type=file.content_type or "", settings=settings)
    return DocumentOut.model_validate(doc, from_attributes=True)


@router.get("/{claim_id}/documents", response_model=list[DocumentOut])
def documents(claim_id: PathId, db: DbSession, actor: Reader) -> list[DocumentOut]:
    return [DocumentOut.model_validate(d, from_attributes=True)
            for d in service.list_documents(db, claim_id=claim_id, actor=actor)]


@router.get("/{claim_id}/documents/{document_id}")
def document(claim_id: PathId, document_id: PathId, request: Request, db: DbSession,
             actor: Reader) -> Response:
    doc, data = service.read_document(db, claim_id=claim_id, document_id=document_id,
                                      actor=actor, settings=request.app.state.settings)
    return Response(content=data, media_type=doc.content_type)
