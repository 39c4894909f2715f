"""Member claims (/me/claims): report a claim with documents, follow it, appeal once."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile

from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM, Principal
from mutua.catalog import service as catalog_service
from mutua.claims import service as claims_service
from mutua.claims.schemas import ClaimIn, ItemIn
from mutua.dates import today
from mutua.deps import DbSession, allow
from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.policies import service as policies_service
from mutua.web import labels
from mutua.web.i18n import gettext as _
from mutua.web.pages.member import flash, own
from mutua.web.problems import describe, describe_all
from mutua.web.render import N_, redirect, render

router = APIRouter(prefix="/me/claims")
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
              offset: int = Query(0, ge=0)):
    claims, total = claims_service.list_claims(db, actor=principal, limit=PAGE, offset=offset)
    return render(request, "member/claims.html", claims=claims, offset=offset, page=PAGE,
                  more=offset + PAGE < total, status_labels=labels.CLAIM_STATUS,
                  event_labels=labels.EVENT_TYPES)


def _covers(db, principal: Principal) -> list[dict]:
    """Each policy's benefits a member can claim on, as (policy, benefit) choices."""
    policies, _total = policies_service.list_for_member(db, member_id=principal.member_id,
                                                        actor=principal)
    out = []
    for p in policies:
        product = catalog_service.get_product(db, code=_product_code(db, p))
        for b in product.benefits:
            out.append({"value": f"{p.id}|{b.code}", "policy": p, "product": product,
                        "benefit": b})
    return out


def _product_code(db, policy) -> str:
    return policies_service.cover_on(db, policy_id=policy.id, on=policy.cover_start).product_code


def _form_page(request, db, principal, *, problems=None, form=None, status_code=200):
    return render(request, "member/claim_new.html", status_code=status_code,
                  covers=_covers(db, principal), problems=problems or [], form=form or {},
                  event_labels=labels.EVENT_TYPES, document_kinds=labels.DOCUMENT_KINDS,
                  today=today())


@router.get("/new")
def new_claim(request: Request, db: DbSession, principal: Principal = Member):
    return _form_page(request, db, principal)


def _money(text: str, field: str) -> Decimal | None:
    text = (text or "").replace(",", "").replace("¥", "").strip()
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(field, "must be an amount in yuan") from None
    if value < 0 or not value.is_finite():
        raise ValidationFailed(field, "must be an amount in yuan")
    return value


def _int(text: str, field: str) -> int | None:
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise ValidationFailed(field, "must be a whole number")
    return int(text)


def claim_in(*, cover: str, event_type: str, event_date: str, place: str, description: str,
             invoice_amount: str, social_insurance_paid: str, has_social_insurance: bool,
             hospital_days: str, disability_grade: str, claimed_amount: str) -> ClaimIn:
    """The form's fields as the claims service's request; bad fields raise ValidationFailed."""
    try:
        policy_id, benefit_code = cover.split("|", 1)
        policy_id = int(policy_id)
    except ValueError:
        raise ValidationFailed("cover", "choose a policy and benefit") from None
    try:
        day = date.fromisoformat(event_date)
    except ValueError:
        raise ValidationFailed("event_date", "must be a date") from None
    item = ItemIn(benefit_code=benefit_code,
                  claimed_amount=_money(claimed_amount, "claimed_amount"),
                  invoice_amount=_money(invoice_amount, "invoice_amount"),
                  social_insurance_paid=_money(social_insurance_paid, "social_insurance_paid")
                  or Decimal(0),
                  has_social_insurance=has_social_insurance,
                  hospital_days=_int(hospital_days, "hospital_days"),
                  disability_grade=_int(disability_grade, "disability_grade"))
    return ClaimIn(policy_id=policy_id, event_type=event_type, event_date=day,
                   place=place[:200], description=description[:2000], items=[item])


@router.post("/new")
def report_claim(
    request: Request,
    db: DbSession,
    cover: Annotated[str, Form(max_length=80)] = "",
    event_type: Annotated[str, Form(max_length=16)] = "",
    event_date: Annotated[str, Form(max_length=10)] = "",
    place: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    invoice_amount: Annotated[str, Form(max_length=20)] = "",
    social_insurance_paid: Annotated[str, Form(max_length=20)] = "",
    has_social_insurance: Annotated[bool, Form()] = False,
    hospital_days: Annotated[str, Form(max_length=4)] = "",
    disability_grade: Annotated[str, Form(max_length=2)] = "",
    claimed_amount: Annotated[str, Form(max_length=20)] = "",
    document_kind: Annotated[str, Form(max_length=24)] = "other",
    document: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Member,
):
    settings = request.app.state.settings
    form = dict(cover=cover, event_type=event_type, event_date=event_date, place=place,
                description=description, invoice_amount=invoice_amount,
                social_insurance_paid=social_insurance_paid,
                has_social_insurance=has_social_insurance, hospital_days=hospital_days,
                disability_grade=disability_grade, claimed_amount=claimed_amount)
    try:
        claim = claims_service.report(db, data=claim_in(**form), actor=principal,
                                      settings=settings)
        for upload in document or []:
            if upload.filename:
                claims_service.add_document(
                    db, claim_id=claim.id, actor=principal, filename=upload.filename,
                    content_type=upload.content_type or "", data=upload.file.read(),
                    kind=document_kind, settings=settings)
    except ValidationFailed as exc:
        db.rollback()
        return _form_page(request, db, principal, problems=[_words(p) for p in exc.problems],
                          form=form, status_code=422)
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
def claim_page(claim_id: int, request: Request, db: DbSession, principal: Principal = Member):
    return _claim_page(request, db, principal, claim_id)


@router.post("/{claim_id}/documents")
def add_documents(
    claim_id: int,
    request: Request,
    db: DbSession,
    document_kind: Annotated[str, Form(max_length=24)] = "other",
    document: Annotated[list[UploadFile] | None, File()] = None,
    principal: Principal = Member,
):
    claim = claims_service.load_claim(db, claim_id, SYSTEM)
    own(claim.member_id, principal)
    try:
        files = [u for u in document or [] if u.filename]
        if not files:
            raise ValidationFailed("file", "is empty")
        for upload in files:
            claims_service.add_document(
                db, claim_id=claim_id, actor=principal, filename=upload.filename,
                content_type=upload.content_type or "", data=upload.file.read(),
                kind=document_kind, settings=request.app.state.settings)
    except ValidationFailed as exc:
        db.rollback()
        return _claim_page(request, db, principal, claim_id, status_code=422,
                           problems=[_words(p) for p in exc.problems])
    return redirect(f"/me/claims/{claim_id}#documents")


@router.post("/{claim_id}/appeal")
def appeal(claim_id: int, request: Request, db: DbSession,
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
