"""The claims queue (/staff/claims): open claims, the engine's reasons, the decision form.

A handler also reports a claim on a member's behalf (/staff/claims/new), for members who
call or come to the desk instead of using the portal, and adds documents to a claim.

On a claim's page the handler also revises the case reserve (未决赔款准备金) with a written
reason, closes a claim with nothing left to pay, and, for a kidney (CKD) claim, reads the
progression evidence from the health record (an audited read of health data).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, File, Form, Query, Request, UploadFile
from starlette.datastructures import FormData
from starlette.responses import Response

from mutua.audit import service as audit_service
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.claims import handling, payments
from mutua.claims import service as claims_service
from mutua.claims.first_notice import DuplicateReport
from mutua.claims.models import OPEN_STATES
from mutua.claims.schemas import DecisionIn, ItemOverride
from mutua.dates import today
from mutua.deps import MAX_OFFSET, DbSession, PathId, PathText, Router, refusal_undone
from mutua.errors import Conflict, Forbidden, Problem, ValidationFailed
from mutua.health import underwriting as health_underwriting
from mutua.jobs import starts
from mutua.jobs.service import JobAlreadyOpen
from mutua.members import accounts
from mutua.members import service as members_service
from mutua.money import non_negative_money, parse_yuan, plain_yuan
from mutua.policies import cover as policy_cover
from mutua.web import labels
from mutua.web.i18n import gettext as _
from mutua.web.pages import claim_form
from mutua.web.pages.staff import open_to
from mutua.web.pages.staff_jobs import job_path
from mutua.web.problems import describe, describe_all
from mutua.web.render import N_, redirect, render
from mutua.web.session import form_data

router = Router(prefix="/staff/claims")
PAGE = 50
STATUS_FILTERS = ("open", claims_service.OVERDUE, claims_service.AWAITING_APPROVAL, "reported",
                  "under_review", "awaiting_docs", "reopened", "decided", "paid", "closed")
RESERVE_KINDS = {"reported": N_("Set when reported"), "revised": N_("Revised by a handler"),
                 "decided": N_("Released on the decision"), "appeal": N_("Reopened on appeal")}
# The rules this page's own forms check, as msgids (problems.describe translates them).
RULES = (N_("say why the reserve changes"),)
MAX_REASON = 500
DONE = {"reserve": N_("The case reserve is revised."), "closed": N_("The claim is closed."),
        "reported": N_("The claim is reported in the member's name."),
        "documents": N_("The documents are added to the claim."),
        "declined": N_("The claim is declined; the member sees the reason on their claim."),
        "requested": N_("The member is asked for the documents; the decision clock stops "
                        "until one arrives."),
        "assigned": N_("The claim's handler is recorded."),
        "pending": N_("The override is above the engine by more than the four-eyes limit: it "
                      "waits for another handler to approve it."),
        "approved": N_("The override is approved and the decision recorded."),
        "rejected": N_("The override is turned down; the claim is open to decide again.")}


@router.get("")
def queue(request: Request, db: DbSession, principal: Principal = open_to("claims"),
          status: str = Query("open", max_length=20), project: str = Query("", max_length=32),
          mine: bool = Query(False), offset: int = Query(0, ge=0, le=MAX_OFFSET),
          q: str = Query("", max_length=32)):
    try:
        return _queue_page(request, db, principal, status=status, project=project,
                           offset=offset, mine=mine, q=q)
    except ValidationFailed as exc:  # a search that names no number: the queue, and why
        return _queue_page(request, db, principal, status=status, project=project, mine=mine,
                           q=q, search=False, status_code=422, problems=describe_all(exc))


def _queue_page(request, db, principal, *, status="open", project="", offset=0, paid=None,
                problems=None, status_code=200, mine=False, q="", search=True):
    """The queue: overdue claims (past the 30 days of PRC Insurance Law art. 23) marked,
    each claim's handler and due day, and the claims assigned to the one looking. A claim,
    policy or member number in ``q`` finds that claim, or the claims on the policy or of the
    member, whatever their status."""
    status = status if status in STATUS_FILTERS else "open"
    searching = search and bool(q.strip())
    claims, total = claims_service.list_claims(
        db, actor=principal, status=None if searching else status,
        project_code=project or None, limit=PAGE, offset=offset,
        assigned_to=principal.user_id if mine else None, search=q if searching else None)
    on = today()
    projects = {p.id: p for p in catalog_service.list_projects(db)}
    return render(request, "staff/claims.html", status_code=status_code, claims=claims,
                  total=total, status=status, project=project, projects=projects,
                  statuses=STATUS_FILTERS, offset=offset, page=PAGE, more=offset + PAGE < total,
                  status_labels=labels.CLAIM_STATUS, event_labels=labels.EVENT_TYPES,
                  outcome_labels=labels.CLAIM_OUTCOME, paid=paid, problems=problems or [],
                  mine=mine, q=q, searching=searching,
                  overdue={c.id for c in claims if handling.is_overdue(c, on)})


@router.get("/payments/preview")
def payment_preview(request: Request, db: DbSession, principal: Principal = open_to("claims"),
                    project: str = Query("", max_length=32)):
    """What a payment batch would pay now (claims, members, total), with the button that pays
    it: money moves only after someone has seen this page. No project is chosen for them."""
    if project not in {p.code for p in catalog_service.list_projects(db)}:
        return _queue_page(request, db, principal, status_code=422, problems=describe_all(
            ValidationFailed("project", "choose one of the projects")))
    try:
        return _preview_page(request, db, project)
    except Conflict as exc:  # the cash cannot cover it: nothing to confirm
        return _queue_page(request, db, principal, status_code=exc.status_code,
                           problems=describe_all(exc, lead=_("Nothing was paid.")))


def _preview_page(request, db, project: str, *, problems=None, status_code=200):
    named = catalog_service.get_project(db, code=project)
    shown = payments.preview(db, project=named)
    return render(request, "staff/payment_preview.html", status_code=status_code,
                  preview=shown, project=named, problems=problems or [])


@router.post("/payments")
def pay(request: Request, db: DbSession, principal: Principal = open_to("claims"),
        project: Annotated[str, Form(max_length=32)] = "",
        expected_claims: Annotated[int, Form(ge=0, le=10**9)] = -1,
        expected_total: Annotated[str, Form(max_length=24)] = ""):
    """Pay the project's approved claims in one batch (赔款支付), as a job whose page says what
    was paid; a re-run pays nothing twice. Only the batch a preview showed is paid: if claims
    were decided or paid since, the preview is shown again with what changed."""
    codes = {p.code for p in catalog_service.list_projects(db)}
    try:
        with refusal_undone(db):
            if project not in codes:
                raise ValidationFailed("project", "choose one of the projects")
            now = payments.preview(db, project=catalog_service.get_project(db, code=project),
                                   shown=0)
            if (now.claims, str(now.total)) != (expected_claims, expected_total):
                return _preview_page(request, db, project, status_code=409, problems=[
                    _("The approved claims changed since this preview: check the batch again.")])
            job = starts.payment_batch(db, project_code=project, actor=principal)
    except JobAlreadyOpen as open_job:  # a batch of this project is queued or running
        return redirect(job_path(open_job.job_id))
    except (ValidationFailed, Conflict) as exc:
        return _queue_page(request, db, principal, status_code=exc.status_code,
                           problems=describe_all(exc, lead=_("Nothing was paid.")))
    return redirect(job_path(job.id))


# --- reporting on a member's behalf (代客报案) ------------------------------------------------

def find_member(db, number: str):
    """The member with exactly this member number ("m000000012" is read as M000000012)."""
    return members_service.find_by_number(db, number or "")


def _new_claim_page(request, db, principal, *, number="", problems=None, form=None,
                    status_code=200, duplicate=None):
    member = find_member(db, number)
    if number and member is None and not problems:
        problems, status_code = [describe(Problem("member", "unknown member %(code)s", code=number))], 404
    context = {"member": None, "covers": []}
    if member is not None:
        context = {"member": members_service.to_out(member, viewer=principal),
                   "covers": claim_form.covers(db, member_id=member.id, actor=principal)}
    return render(request, "staff/claim_new.html", status_code=status_code, number=number,
                  problems=problems or [], form=form or {}, event_labels=labels.EVENT_TYPES,
                  document_kinds=labels.DOCUMENT_KINDS, today=today(), duplicate=duplicate,
                  **context)


@router.get("/new")
def new_claim(request: Request, db: DbSession, principal: Principal = open_to("claims"),
              member: str = Query("", max_length=32)):
    """Find the member by number, then the claim form for their policies."""
    return _new_claim_page(request, db, principal, number=member)


@router.post("/new")
def report_claim(
    request: Request,
    db: DbSession,
    fields: Annotated[dict, Depends(claim_form.form_fields)],
    principal: Principal = open_to("claims"),
    member: Annotated[str, Form(max_length=32)] = "",
    document_kind: Annotated[str, Form(max_length=24)] = "other",
    document: Annotated[list[UploadFile] | None, File()] = None,
):
    """File the claim in the member's name; the handler is its reporter (reported_by)."""
    settings = request.app.state.settings
    form = {**fields, "document_kind": document_kind}
    try:
        with refusal_undone(db):
            holder = find_member(db, member)
            if holder is None:
                raise ValidationFailed("member", "unknown member %(code)s", code=member.strip())
            allowed = {c["value"] for c in claim_form.covers(db, member_id=holder.id,
                                                              actor=principal)}
            claim = claim_form.report_with_documents(
                db, form=form, uploads=claim_form.read_uploads(document, settings),
                kind=document_kind, actor=principal, settings=settings, allowed=allowed)
    except ValidationFailed as exc:
        return _new_claim_page(request, db, principal, number=member.strip(), form=form,
                               problems=describe_all(exc), status_code=422)
    except DuplicateReport as exc:
        return _new_claim_page(request, db, principal, number=member.strip(), form=form,
                               duplicate=exc, status_code=409)
    return redirect(f"/staff/claims/{claim.id}?done=reported")


def claim_context(db, principal: Principal, claim_id: int) -> dict:
    claim = claims_service.get(db, claim_id=claim_id, actor=principal)
    out = claims_service.to_out(db, claim)
    member = members_service.to_out(
        members_service.get(db, member_id=claim.member_id, actor=principal), viewer=principal)
    cover = policy_cover.cover_on(db, policy_id=claim.policy_id, on=claim.event_date)
    product = catalog_service.get_product(db, code=cover.product_code)
    benefits = {b.code: b for b in product.benefits}
    return {"claim": out, "member": member, "cover": cover, "product": product,
            "benefit_names": benefits,
            "status_labels": labels.CLAIM_STATUS, "outcome_labels": labels.CLAIM_OUTCOME,
            "reason_labels": labels.CLAIM_REASONS, "event_labels": labels.EVENT_TYPES,
            "document_kinds": labels.DOCUMENT_KINDS, "reserve_kinds": RESERVE_KINDS,
            "reserve_history": claims_service.reserve_history(db, claim_id=claim.id,
                                                              actor=principal),
            "reserve_open": out.status in OPEN_STATES,
            "can_close": out.status in ("decided", "paid") and out.approved == out.paid,
            "duplicate_of": (claims_service.load_claim(db, out.duplicate_of, principal)
                             if out.duplicate_of else None),
            "handlers": accounts.active_staff(db, roles=handling.HANDLER_ROLES),
            "own_request": (out.pending_override is not None
                            and out.pending_override.requested_by_name == principal.username),
            "evidence": progression_evidence(db, principal, claim, product, benefits,
                                             [i.benefit_code for i in out.items])}


def is_kidney_claim(product, benefits: dict, item_codes: list[str]) -> bool:
    """A claim on a CKD product, or one asking for a CKD progression benefit."""
    return product.line == "ckd" or any(
        getattr(benefits.get(code), "kind", "") == "ckd_progression" for code in item_codes)


def progression_evidence(db, principal: Principal, claim, product, benefits: dict,
                         codes: list[str]):
    """What the kidney results show by the claim's event date; reading them is audited
    as the health API audits it."""
    if not is_kidney_claim(product, benefits, codes):
        return None
    evidence = health_underwriting.confirmed_progression(db, member_id=claim.member_id,
                                                         on=claim.event_date)
    audit_service.record(db, actor=principal, action="health.read.progression",
                         entity="patient", entity_id=claim.member_id,
                         project_id=claim.project_id, detail={"claim_id": claim.id})
    return evidence


def _claim_page(request, db, principal, claim_id: int, *, status_code: int = 200,
                problems=None, form=None):
    done = DONE.get(request.query_params.get("done", ""))
    return render(request, "staff/claim.html", status_code=status_code,
                  problems=problems or [], form=form or {}, done=_(done) if done else None,
                  **claim_context(db, principal, claim_id))


@router.get("/{claim_id}")
def claim_page(claim_id: PathId, request: Request, db: DbSession,
               principal: Principal = open_to("claims")):
    return _claim_page(request, db, principal, claim_id)


@router.post("/{claim_id}/review")
def take_into_review(claim_id: PathId, db: DbSession, principal: Principal = open_to("claims")):
    claims_service.review(db, claim_id=claim_id, actor=principal)
    return redirect(f"/staff/claims/{claim_id}")


@router.post("/{claim_id}/decide")
def decide(claim_id: PathId, request: Request, db: DbSession,
           form: FormData = Depends(form_data), principal: Principal = open_to("claims")):
    # The form has one amount per item (approved_<item id>) and exclusion checkboxes.
    fields = {k: v for k, v in form.multi_items() if isinstance(v, str)}
    try:
        with refusal_undone(db):
            data = _decision_in(db, principal, claim_id, fields, form.getlist("circumstances"))
            claim = claims_service.decide(db, claim_id=claim_id, actor=principal, data=data,
                                          settings=request.app.state.settings)
    except (ValidationFailed, Conflict) as exc:
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=describe_all(exc), form=fields)
    if claim.status in OPEN_STATES:  # a large override waits for a second handler
        return redirect(f"/staff/claims/{claim_id}?done=pending")
    return redirect(f"/staff/claims/{claim_id}?decided=1")


def _act(request, db, principal, claim_id: int, act, *, done: str, form=None):
    """Run one handler action on the claim: back to its page with what was done, or with
    every problem and what was typed (nothing stored)."""
    try:
        with refusal_undone(db):
            act()
    except (ValidationFailed, Conflict) as exc:
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=describe_all(exc), form=form)
    return redirect(f"/staff/claims/{claim_id}?done={done}")


@router.post("/{claim_id}/decline")
def decline(claim_id: PathId, request: Request, db: DbSession,
            principal: Principal = open_to("claims"),
            reason: Annotated[str, Form(max_length=2000)] = ""):
    """Decline the claim with a written reason the member reads on their claim page."""
    return _act(request, db, principal, claim_id, lambda: claims_service.decline(
        db, claim_id=claim_id, actor=principal, reason=reason,
        settings=request.app.state.settings), done="declined", form={"decline_reason": reason})


@router.post("/{claim_id}/documents-request")
def request_documents(claim_id: PathId, request: Request, db: DbSession,
                      form: FormData = Depends(form_data),
                      principal: Principal = open_to("claims")):
    """Ask the member, in one go, for the documents still missing (the clock stops)."""
    kinds = [k for k in form.getlist("kinds") if isinstance(k, str)][:10]
    note = str(form.get("note") or "")[:2001]
    return _act(request, db, principal, claim_id, lambda: claims_service.request_documents(
        db, claim_id=claim_id, actor=principal, kinds=kinds, note=note),
        done="requested", form={"request_note": note})


@router.post("/{claim_id}/assign")
def assign(claim_id: PathId, request: Request, db: DbSession,
           principal: Principal = open_to("claims"),
           handler: Annotated[str, Form(max_length=64)] = ""):
    """Give the claim to a handler, or take it back."""
    return _act(request, db, principal, claim_id, lambda: claims_service.assign(
        db, claim_id=claim_id, actor=principal, handler=handler), done="assigned")


@router.post("/{claim_id}/override/{answer}")
def answer_override(claim_id: PathId, answer: PathText, request: Request, db: DbSession,
                    principal: Principal = open_to("claims"),
                    note: Annotated[str, Form(max_length=2000)] = ""):
    """Another handler approves or turns down an override waiting for a second approver."""
    act = {"approve": claims_service.approve_override,
           "reject": claims_service.reject_override}.get(answer)
    if act is None:
        return _claim_page(request, db, principal, claim_id, status_code=404)
    try:
        with refusal_undone(db):
            act(db, claim_id=claim_id, actor=principal, note=note)
    except (ValidationFailed, Conflict, Forbidden) as exc:
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=describe_all(exc), form={"override_note": note})
    done = {"approve": "approved", "reject": "rejected"}[answer]
    return redirect(f"/staff/claims/{claim_id}?done={done}")


@router.post("/{claim_id}/reserve")
def revise_reserve(claim_id: PathId, request: Request, db: DbSession,
                   principal: Principal = open_to("claims"),
                   amount: Annotated[str, Form(max_length=40)] = "",
                   reason: Annotated[str, Form(max_length=2000)] = ""):
    """The handler's new estimate of what the claim will cost, with the reason why."""
    form = {"reserve_amount": amount, "reserve_reason": reason}
    try:
        with refusal_undone(db):
            check_reserve_form(amount, reason)
            claims_service.set_reserve(db, claim_id=claim_id, amount=plain_yuan(amount),
                                       actor=principal, reason=reason.strip())
    except (ValidationFailed, Conflict) as exc:
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=describe_all(exc), form=form)
    return redirect(f"/staff/claims/{claim_id}?done=reserve")


def check_reserve_form(amount: str, reason: str) -> None:
    """Every problem of the reserve form at once: the amount in yuan and a written reason."""
    problems = []
    try:
        non_negative_money(plain_yuan(amount), field="amount")
    except ValidationFailed as exc:
        problems += exc.problems
    if not reason.strip():
        problems.append(Problem("reason", RULES[0]))
    elif len(reason.strip()) > MAX_REASON:
        problems.append(Problem("reason", "must be at most %(limit)s characters", limit=MAX_REASON))
    if problems:
        raise ValidationFailed(problems)


@router.post("/{claim_id}/close")
def close_claim(claim_id: PathId, request: Request, db: DbSession,
                principal: Principal = open_to("claims")):
    """Close a claim with nothing left to pay (paid in full, or declined)."""
    try:
        with refusal_undone(db):
            claims_service.close(db, claim_id=claim_id, actor=principal)
    except Conflict as exc:
        return _claim_page(request, db, principal, claim_id, status_code=exc.status_code,
                           problems=[_("This claim cannot close: something is still to pay "
                                       "or it is not decided.")])
    return redirect(f"/staff/claims/{claim_id}?done=closed")


def _decision_in(db, principal, claim_id: int, fields: dict, circumstances: list[str]
                 ) -> DecisionIn:
    items = claims_service.to_out(db, claims_service.load_claim(db, claim_id, principal)).items
    overrides = []
    for item in items:
        amount = parse_yuan(fields.get(f"approved_{item.id}"), field=f"approved_{item.id}")
        if amount is None:
            continue
        if amount != item.engine_amount:
            overrides.append(ItemOverride(item_id=item.id, approved=amount))
    return DecisionIn(items=overrides, circumstances=circumstances,
                      reason=(fields.get("reason") or "")[:2000],
                      documents_reason=(fields.get("documents_reason") or "")[:2000])


@router.post("/{claim_id}/documents")
def add_documents(claim_id: PathId, request: Request, db: DbSession,
                  principal: Principal = open_to("claims"),
                  document_kind: Annotated[str, Form(max_length=24)] = "other",
                  document: Annotated[list[UploadFile] | None, File()] = None):
    """Further documents for the claim (a late invoice, a discharge summary), checked as
    the API checks them; none is stored unless every file passes."""
    problems = claim_form.documents_refused(db, claim_id=claim_id, files=document,
                                            kind=document_kind, actor=principal,
                                            settings=request.app.state.settings)
    if problems:
        return _claim_page(request, db, principal, claim_id, status_code=422, problems=problems,
                           form={"document_kind": document_kind})
    return redirect(f"/staff/claims/{claim_id}?done=documents#documents")


@router.get("/{claim_id}/documents/{document_id}")
def document(claim_id: PathId, document_id: PathId, request: Request, db: DbSession,
             principal: Principal = open_to("claims")):
    doc, data = claims_service.read_document(db, claim_id=claim_id, document_id=document_id,
                                             actor=principal,
                                             settings=request.app.state.settings)
    return Response(data, media_type=doc.content_type, headers={
        "Content-Disposition": f'inline; filename="document-{doc.id}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
