"""Member claims (/me/claims): report a claim with documents, follow it, appeal once."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.claims import service as claims_service
from mutua.claims.workflow import DuplicateReport
from mutua.dates import today
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, allow
from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.web import labels
from mutua.web.i18n import gettext as _
from mutua.web.pages import claim_form
from mutua.web.pages.member import flash, own
from mutua.web.problems import describe, describe_all
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me/claims")
Member = Depends(allow(Role.MEMBER))
PAGE = 20

FIELD_WORDS = {
    "event_date": N_("The date of the event must be within your cover and not in the future."),
    "event_type": N_("Choose what happened."),
    "cover": N_("Choose the policy and benefit you are claiming."),
    "amount": N_("Amounts are in yuan, like 1234.50."),
    "file": N_("Documents must be PDF, JPEG or PNG files, not empty and not too large."),
    "reason": N_("Please say in a few words why the decision should be looked at again."),
}


def _words(problem: Problem) -> str:
    """A whole friendly sentence for the fields members get wrong most; else the field's
    label and the rule, both in the reader's language (problems.describe)."""
    field = problem.field.rsplit(".", 1)[-1]
    key = {"benefit_code": "cover", "policy_id": "cover", "invoice_amount": "amount",
           "claimed_amount": "amount", "social_insurance_paid": "amount",
           "hospital_days": "amount", "filename": "file", "kind": "file"}.get(field, field)
    return _(FIELD_WORDS[key]) if key in FIELD_WORDS else describe(problem)


@router.get("")
def my_claims(request: Request, db: DbSession, principal: Principal = Member,
              offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    claims, total = claims_service.list_claims(db, actor=principal, limit=PAGE, offset=offset)
    return render(request, "member/claims.html", claims=claims, offset=offset, page=PAGE,
                  more=offset + PAGE < total, status_labels=labels.CLAIM_STATUS,
                  event_labels=labels.EVENT_TYPES)


def _covers(db, principal: Principal) -> list[dict]:
    """Each policy's benefits a member can claim on, as (policy, benefit) choices."""
    return claim_form.covers(db, member_id=principal.member_id, actor=principal)


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
        claim = claim_form.report_with_documents(
            db, form=form, uploads=claim_form.read_uploads(document, settings),
            kind=document_kind, actor=principal, settings=settings)
    except ValidationFailed as exc:
        db.rollback()
        return _form_page(request, db, principal, problems=[_words(p) for p in exc.problems],
                          form=form, status_code=422)
    except DuplicateReport as exc:
        db.rollback()
        return _form_page(request, db, principal, form=form, status_code=409, duplicate=exc)
    return redirect(f"/me/claims/{claim.id}?done=claim")


def _claim_page(request, db, principal, claim_id, *, problems=None, status_code=200):
    claim = claims_service.load_claim(db, claim_id, SYSTEM)
    own(claim.member_id, principal)
    claim = claims_service.get(db, claim_id=claim_id, actor=principal)
    out = claims_service.to_out(db, claim)
    return render(request, "member/claim.html", status_code=status_code, claim=out,
                  status_labels=labels.CLAIM_STATUS, outcome_labels=labels.CLAIM_OUTCOME,
                  reason_labels=labels.CLAIM_REASONS, event_labels=labels.EVENT_TYPES,
                  document_kinds=labels.DOCUMENT_KINDS, problems=problems or [],
                  flash=flash(request))


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
    claim = claims_service.load_claim(db, claim_id, SYSTEM)
    own(claim.member_id, principal)
    settings = request.app.state.settings
    try:
        claim_form.attach_documents(db, claim_id=claim_id,
                                    uploads=claim_form.read_uploads(document, settings),
                                    kind=document_kind, actor=principal, settings=settings)
    except ValidationFailed as exc:
        db.rollback()
        return _claim_page(request, db, principal, claim_id, status_code=422,
                           problems=[_words(p) for p in exc.problems])
    return redirect(f"/me/claims/{claim_id}#documents")


@router.post("/{claim_id}/appeal")
def appeal(claim_id: PathId, request: Request, db: DbSession,
           reason: Annotated[str, Form(max_length=2000)] = "", principal: Principal = Member):
    claim = claims_service.load_claim(db, claim_id, SYSTEM)
    own(claim.member_id, principal)
    try:
        claims_service.appeal(db, claim_id=claim_id, actor=principal, reason=reason)
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        problems = ([_words(p) for p in exc.problems] if getattr(exc, "problems", None)
                    else describe_all(exc))
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=problems)
    return redirect(f"/me/claims/{claim_id}")
