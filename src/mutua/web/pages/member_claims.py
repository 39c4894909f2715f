"""Member claims (/me/claims): report a claim with documents, follow it, appeal once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service as claims_service
from mutua.claims.first_notice import DuplicateReport
from mutua.dates import today
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, allow, refusal_undone
from mutua.errors import Conflict, ValidationFailed
from mutua.members import dependants
from mutua.policies import cover as policy_cover
from mutua.web import labels
from mutua.web.pages import claim_form
from mutua.web.pages.member import flash, members_only
from mutua.web.problems import describe_all
from mutua.web.render import redirect, render

router = Router(prefix="/me/claims")
Member = Depends(allow(Role.MEMBER))
PAGE = 20

@router.get("")
def my_claims(request: Request, db: DbSession, principal: Principal = Member,
              offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    claims, total = claims_service.list_claims(db, actor=principal, limit=PAGE, offset=offset)
    return render(request, "member/claims.html", claims=claims, offset=offset, page=PAGE,
                  more=offset + PAGE < total, status_labels=labels.CLAIM_STATUS,
                  event_labels=labels.EVENT_TYPES)


def _covers(db, principal: Principal) -> list[dict]:
    """Each policy's benefits a member can claim on, as (policy, benefit) choices: their
    own and those of the dependants they pay for."""
    return [c for m in [principal.member_id, *(d.id for d in dependants.of_payer(
        db, payer_id=principal.member_id))]
        for c in claim_form.covers(db, member_id=m, actor=SYSTEM)]


def own_claim(db, claim_id: int, principal: Principal):
    """The member's own claim or one on a dependant they pay for; another member's, like an
    unknown one, is 404 (claims.workflow.load_claim, as the API answers)."""
    members_only(principal)
    return claims_service.load_claim(db, claim_id, principal)


def _form_page(request, db, principal, *, problems=None, form=None, status_code=200,
               duplicate=None):
    return render(request, "member/claim_new.html", status_code=status_code,
                  covers=_covers(db, principal), problems=problems or [], form=form or {},
                  event_labels=labels.EVENT_TYPES, document_kinds=labels.DOCUMENT_KINDS,
                  today=today(), duplicate=duplicate)


@router.get("/new")
def new_claim(request: Request, db: DbSession, principal: Principal = Member):
    return _form_page(request, db, principal)


@router.post("/new")
def report_claim(
    request: Request,
    db: DbSession,
    fields: Annotated[dict, Depends(claim_form.form_fields)],
    document_kind: Annotated[str, Form(max_length=24)] = "other",
    document: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Member,
):
    settings = request.app.state.settings
    form = fields
    try:
        with refusal_undone(db):
            claim = claim_form.report_with_documents(
                db, form=form, uploads=claim_form.read_uploads(document, settings),
                kind=document_kind, actor=principal, settings=settings)
    except ValidationFailed as exc:
        return _form_page(request, db, principal, problems=describe_all(exc),
                          form=form, status_code=422)
    except DuplicateReport as exc:
        return _form_page(request, db, principal, form=form, status_code=409, duplicate=exc)
    return redirect(f"/me/claims/{claim.id}?done=claim")


def _claim_page(request, db, principal, claim_id, *, problems=None, status_code=200):
    own_claim(db, claim_id, principal)
    claim = claims_service.get(db, claim_id=claim_id, actor=principal)
    out = claims_service.to_out(db, claim)
    cover = policy_cover.cover_on(db, policy_id=claim.policy_id, on=claim.event_date)
    product = catalog_service.get_product(db, code=cover.product_code)
    return render(request, "member/claim.html", status_code=status_code, claim=out,
                  benefit_names={b.code: b for b in product.benefits},
                  status_labels=labels.CLAIM_STATUS, outcome_labels=labels.CLAIM_OUTCOME,
                  reason_labels=labels.CLAIM_REASONS, event_labels=labels.EVENT_TYPES,
                  document_kinds=labels.DOCUMENT_KINDS, problems=problems or [],
                  flash=flash(request),
                  breakdowns=claims_service.medical_breakdowns(db, claim=claim))


@router.get("/{claim_id}")
def claim_page(claim_id: PathId, request: Request, db: DbSession, principal: Principal = Member):
    return _claim_page(request, db, principal, claim_id)


@router.post("/{claim_id}/documents")
def add_documents(
    claim_id: PathId,
    request: Request,
    db: DbSession,
    document_kind: Annotated[str, Form(max_length=24)] = "other",
    document: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Member,
):
    own_claim(db, claim_id, principal)
    problems = claim_form.documents_refused(db, claim_id=claim_id, files=document,
                                            kind=document_kind, actor=principal,
                                            settings=request.app.state.settings)
    if problems:
        return _claim_page(request, db, principal, claim_id, status_code=422, problems=problems)
    return redirect(f"/me/claims/{claim_id}#documents")


@router.post("/{claim_id}/appeal")
def appeal(claim_id: PathId, request: Request, db: DbSession,
           reason: Annotated[str, Form(max_length=2000)] = "", principal: Principal = Member):
    own_claim(db, claim_id, principal)
    try:
        with refusal_undone(db):
            claims_service.appeal(db, claim_id=claim_id, actor=principal, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=describe_all(exc))
    return redirect(f"/me/claims/{claim_id}")
