"""Member governance pages (/me/governance): proposals to vote on, receipts, checking a ballot.

The secret behind a receipt is shown once, on the page that answers the vote, and never
stored: the member writes it down or prints the page. Where a proposal allows it, the
member may change their vote (改投) until voting closes by giving back that secret and the
choice on the receipt; the answer is a new receipt and secret, and the old ones lapse.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, Query, Request

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.bounds import MAX_ID
from mutua.claims import service as claims_service
from mutua.dates import utcnow
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, allow
from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.governance import ballots as governance_ballots
from mutua.governance import meetings as governance_meetings
from mutua.governance import ratings as governance_ratings
from mutua.governance import service as governance_service
from mutua.policies import service as policies_service
from mutua.web.i18n import gettext as _
from mutua.web.i18n import pick
from mutua.web.pages.member import flash
from mutua.web.pages.member_statements import my_projects
from mutua.web.problems import describe_all
from mutua.web.qr import ballot_receipt_qr
from mutua.web.render import N_, redirect, render

router = Router(prefix="/me/governance")
Member = Depends(allow(Role.MEMBER))
PAGE = 50

PROPOSAL_STATUS = {"draft": N_("Draft"), "open": N_("Voting open"), "closed": N_("Closed")}
KIND_LABELS = {"motion": N_("Motion"), "pricing": N_("Pricing"),
               "allocation": N_("Use of surplus"), "election": N_("Election")}
VOTE_REFUSED = {
    "conflict": N_("You have already voted on this proposal, or voting is not open."),
    "forbidden": N_("You could not vote: you had no policy in force in this project on the "
                    "day voting opened."),
    "invalid": N_("Choose one option (in an election, up to the number of seats), or abstain "
                  "alone."),
}


def option_labels(proposal) -> dict[str, str]:
    return {o["code"]: pick(o.get("label_zh"), o.get("label_en")) for o in proposal.options}


def _voted(db, principal: Principal) -> dict[int, bool]:
    rows, _total = governance_service.participation(db, member_id=principal.member_id,
                                                    actor=principal, limit=500)
    return {r["proposal_id"]: r["has_voted"] for r in rows}


@router.get("")
def proposals(request: Request, db: DbSession, principal: Principal = Member,
              offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    items, total = governance_service.list_proposals(db, actor=principal, limit=PAGE,
                                                     offset=offset)
    extra = _extras(db, principal)
    return render(request, "member/governance.html", proposals=items,
                  voted=_voted(db, principal), status_labels=PROPOSAL_STATUS,
                  kind_labels=KIND_LABELS, offset=offset, page=PAGE,
                  more=offset + PAGE < total, flash=flash(request), **extra)


def _extras(db, principal: Principal) -> dict:
    """Meetings, feedback with its answers, and the services the member may rate."""
    meetings, _n = governance_meetings.list_meetings(db, actor=principal, limit=20)
    feedback, _n = governance_meetings.list_feedback(db, actor=principal, limit=20)
    rated, _n = governance_ratings.my_ratings(db, member_id=principal.member_id,
                                              actor=principal, limit=100)
    done = {(r.service_kind, r.service_ref) for r in rated}
    claims, _n = claims_service.list_claims(db, actor=principal, limit=50)
    policies, _n = policies_service.list_for_member(db, member_id=principal.member_id,
                                                    actor=principal, limit=50)
    to_rate = [{"kind": "claim", "ref": c.id, "number": c.claim_number} for c in claims
               if c.status in ("paid", "closed") and ("claim", str(c.id)) not in done]
    to_rate += [{"kind": "enrolment", "ref": p.id, "number": p.policy_number} for p in policies
                if ("enrolment", str(p.id)) not in done]
    # meeting id -> attended, for the meetings this member registered for
    attendance = governance_meetings.my_meetings(db, member_id=principal.member_id,
                                                 meeting_ids=[m.id for m in meetings])
    return {"meetings": meetings, "feedback": feedback, "ratings": rated, "to_rate": to_rate,
            "projects": my_projects(db, principal), "attendance": attendance}


@router.post("/meetings/{meeting_id}/register")
def register(meeting_id: PathId, db: DbSession, principal: Principal = Member):
    try:
        governance_meetings.register(db, meeting_id=meeting_id, actor=principal)
    except Conflict:
        db.rollback()
        return redirect("/me/governance?done=not_registered#meetings")
    return redirect("/me/governance?done=registered#meetings")


@router.post("/feedback")
def feedback(db: DbSession, text: Annotated[str, Form(max_length=4000)] = "",
             project: Annotated[str, Form(max_length=32)] = "",
             principal: Principal = Member):
    project_id = None
    if project:
        project_id = next((p.id for p in my_projects(db, principal) if p.code == project), None)
    governance_meetings.raise_feedback(db, text=text, actor=principal, project_id=project_id)
    return redirect("/me/governance?done=feedback#feedback")


@router.post("/ratings")
def rate(db: DbSession, service_kind: Annotated[str, Form(max_length=16)],
         service_ref: Annotated[int, Form(ge=1, le=MAX_ID)], score: Annotated[int, Form(ge=1, le=5)],
         comment: Annotated[str, Form(max_length=2000)] = "", principal: Principal = Member):
    if service_kind not in ("claim", "enrolment"):
        raise ValidationFailed("service_kind", "must be claim or enrolment")
    governance_ratings.rate(db, service_kind=service_kind, service_ref=service_ref,
                            score=score, comment=comment, actor=principal)
    return redirect("/me/governance?done=rated#ratings")


def _proposal_context(db, principal: Principal, proposal_id: int) -> dict:
    proposal = governance_service.visible_proposal(db, proposal_id=proposal_id, actor=principal)
    voted = _voted(db, principal)
    result = proposal.result if proposal.status == "closed" else None
    has_voted = voted.get(proposal.id, False)
    return {"proposal": proposal, "labels": option_labels(proposal),
            "is_elector": proposal.id in voted, "has_voted": has_voted,
            "can_change": has_voted and proposal.allow_change and _voting_open(proposal),
            "change": {}, "change_problems": [],
            "needs_old_choice": governance_ballots.needs_old_choice(proposal),
            "result": result, "status_labels": PROPOSAL_STATUS, "kind_labels": KIND_LABELS}


def _voting_open(proposal) -> bool:
    """Open on the page as in the service: status open and the window not yet ended."""
    return proposal.status == "open" and utcnow() < proposal.closes_at


@router.get("/proposals/{proposal_id}")
def proposal_page(proposal_id: PathId, request: Request, db: DbSession,
                  principal: Principal = Member):
    return render(request, "member/proposal.html", refused=None,
                  **_proposal_context(db, principal, proposal_id))


@router.post("/proposals/{proposal_id}/vote")
def vote(proposal_id: PathId, request: Request, db: DbSession,
         choice: Annotated[list[str], Form(max_length=50)] = (), principal: Principal = Member):
    try:
        ballot = governance_ballots.cast_ballot(db, proposal_id=proposal_id,
                                                choice=list(choice), actor=principal)
    except (Conflict, Forbidden, ValidationFailed) as exc:
        db.rollback()
        key = {Conflict: "conflict", Forbidden: "forbidden"}.get(type(exc), "invalid")
        return render(request, "member/proposal.html", status_code=exc.status_code,
                      refused=_(VOTE_REFUSED[key]),
                      **_proposal_context(db, principal, proposal_id))
    return _receipt_page(request, db, principal, proposal_id, ballot)


@router.post("/proposals/{proposal_id}/change")
def change(proposal_id: PathId, request: Request, db: DbSession,
           secret: Annotated[str, Form(max_length=200)] = "",
           old_choice: Annotated[list[str], Form(max_length=50)] = (),
           new_choice: Annotated[list[str], Form(max_length=50)] = (), principal: Principal = Member):
    """Replace one's ballot with the secret of its receipt; answer with the new receipt.

    Refused (nothing stored): a wrong or malformed secret, a choice not on the ballot or a
    member who has not voted -> 422; voting closed or changes not allowed -> 409.
    """
    governance_service.visible_proposal(db, proposal_id=proposal_id, actor=principal)
    try:
        ballot = governance_ballots.change_ballot(
            db, proposal_id=proposal_id, secret=secret.strip(), old_choice=list(old_choice),
            new_choice=list(new_choice), actor=principal)
    except (Conflict, Forbidden, ValidationFailed) as exc:
        db.rollback()
        ctx = _proposal_context(db, principal, proposal_id)
        ctx["change"] = {"secret": secret, "old_choice": list(old_choice),
                         "new_choice": list(new_choice)}
        ctx["change_problems"] = describe_all(exc)
        return render(request, "member/proposal.html", refused=None,
                      status_code=409 if isinstance(exc, Conflict) else 422, **ctx)
    return _receipt_page(request, db, principal, proposal_id, ballot, changed=True)


def _receipt_page(request, db, principal: Principal, proposal_id: int, ballot: dict, *,
                  changed: bool = False):
    proposal = governance_service.visible_proposal(db, proposal_id=proposal_id, actor=principal)
    labels = option_labels(proposal)
    qr = ballot_receipt_qr(proposal_id=proposal_id, receipt=ballot["receipt"],
                           secret=ballot["secret"], title=_("Receipt and secret"))
    return render(request, "member/receipt.html", proposal=proposal, ballot=ballot,
                  chosen=[labels.get(c, c) for c in ballot["choice"]], changed=changed,
                  can_change=proposal.allow_change, qr=qr)


@router.get("/proposals/{proposal_id}/check")
def check_form(proposal_id: PathId, request: Request, db: DbSession,
               principal: Principal = Member):
    return render(request, "member/check.html", outcome=None, secret="",
                  **_proposal_context(db, principal, proposal_id))


@router.post("/proposals/{proposal_id}/check")
def check(proposal_id: PathId, request: Request, db: DbSession,
          secret: Annotated[str, Form(max_length=200)] = "",
          choice: Annotated[list[str], Form(max_length=50)] = (), principal: Principal = Member):
    try:
        outcome = governance_ballots.verify_ballot(db, proposal_id=proposal_id,
                                                   secret=secret.strip(), choice=list(choice),
                                                   actor=principal)
    except ValidationFailed:
        outcome = {"invalid": True}
    return render(request, "member/check.html", outcome=outcome, secret=secret,
                  **_proposal_context(db, principal, proposal_id))


@router.get("/proposals/{proposal_id}/receipts")
def receipts(proposal_id: PathId, request: Request, db: DbSession, principal: Principal = Member,
             offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    ctx = _proposal_context(db, principal, proposal_id)
    if ctx["proposal"].status != "closed":
        raise Conflict("the receipt list is published when voting closes")
    rows, total = governance_ballots.receipt_list(db, proposal_id=proposal_id, actor=principal,
                                                  limit=PAGE, offset=offset)
    return render(request, "member/receipts.html", rows=rows, total=total, offset=offset,
                  page=PAGE, more=offset + PAGE < total, **ctx)
