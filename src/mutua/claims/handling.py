"""How a claims team works its queue: requests for documents, assignment, the decision clock.

The clock follows the PRC Insurance Law (《中华人民共和国保险法》): art. 22 has the insurer
tell the claimant at once, and in one go, what documents are still missing; art. 23 asks
for a decision within 30 days once the claim (with its documents) is complete. A claim is
due ``DECISION_DAYS`` after its report; a request for documents stops the clock, and the
first document that arrives starts it again, the due day moved back by the days it waited.
"""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.claims.documents import KINDS
from mutua.claims.models import (
    AWAITING_DOCUMENTS,
    OPEN_STATES,
    REOPENED,
    UNDER_REVIEW,
    Claim,
)
from mutua.claims.workflow import due_on, load_claim
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Problem, ValidationFailed
from mutua.members import accounts
from mutua.notify import service as notify

HANDLER_ROLES = (Role.CLAIMS, Role.ADMIN)


def overdue(on: date) -> list:
    """Conditions of a claim whose decision is overdue on ``on``: open, its clock running
    (not waiting for documents), and past its due day."""
    running = [s for s in OPEN_STATES if s != AWAITING_DOCUMENTS]
    return [Claim.status.in_(running), Claim.decision_due_on.is_not(None),
            Claim.decision_due_on < on]


def is_overdue(claim, on: date) -> bool:
    """The same test for one claim already read (a queue row)."""
    return (claim.status in OPEN_STATES and claim.status != AWAITING_DOCUMENTS
            and claim.decision_due_on is not None and claim.decision_due_on < on)


def request_documents(db: Session, *, claim_id: int, actor: Principal, kinds: list[str],
                      note: str = "", on: date | None = None) -> Claim:
    """Ask the member, in one go, for the documents still missing: the clock stops."""
    on = on or shanghai_today()
    note = (note or "").strip()
    problems = [Problem(f"kinds[{n}]", "must be one of %(choices)s", choices=", ".join(KINDS))
                for n, k in enumerate(kinds) if k not in KINDS]
    if not kinds:
        problems.append(Problem("kinds", "name at least one document to ask for"))
    if len(note) > 2000:
        problems.append(Problem("note", "must be at most %(limit)s characters", limit=2000))
    if problems:
        raise ValidationFailed(problems)
    claim = load_claim(db, claim_id, actor, lock=True)
    if claim.status not in OPEN_STATES or claim.status == AWAITING_DOCUMENTS:
        raise Conflict("claim %(claim)s is %(status)s: documents can be asked for only while "
                       "it is open and not already waiting", claim=claim.claim_number, status=claim.status)
    asked = list(dict.fromkeys(kinds))
    claim.status, claim.documents_requested_on = AWAITING_DOCUMENTS, on
    claim.documents_request = ", ".join(asked) + (f": {note}" if note else "")
    audit.record(db, actor=actor, action="claim.documents_request", entity="claim",
                 entity_id=claim.id, project_id=claim.project_id,
                 detail={"kinds": asked, "note": note})
    # the member hears at once what is missing
    notify.tell(db, member_id=claim.member_id, project_id=claim.project_id,
                event="claim.documents", ref_id=claim.id, ref_text=claim.claim_number)
    return claim


def documents_arrived(db: Session, *, claim: Claim, actor: Principal,
                      on: date | None = None) -> None:
    """A document came in for a claim waiting for documents: the clock runs again, its due
    day moved back by the days it waited. Any other claim is left as it is."""
    if claim.status != AWAITING_DOCUMENTS:
        return
    on = on or shanghai_today()
    waited = max(0, (on - claim.documents_requested_on).days)
    claim.decision_due_on = (claim.decision_due_on or due_on(claim.reported_on)) + timedelta(
        days=waited)
    claim.status = REOPENED if claim.appeals else UNDER_REVIEW
    claim.documents_requested_on = None
    audit.record(db, actor=actor, action="claim.documents_arrived", entity="claim",
                 entity_id=claim.id, project_id=claim.project_id,
                 detail={"days_waited": waited, "decision_due_on": str(claim.decision_due_on)})


def assign(db: Session, *, claim_id: int, actor: Principal, handler: str) -> Claim:
    """Give an open claim to a handler (a claims or admin user), or take it back (``""``)."""
    handler = (handler or "").strip()
    chosen = None
    if handler:
        chosen = next((p for p in accounts.active_staff(db, roles=HANDLER_ROLES)
                       if p.username == handler), None)
        if chosen is None:
            raise ValidationFailed("handler", "%(user)s is not an active claims handler", user=f"{handler!r}")
    claim = load_claim(db, claim_id, actor, lock=True)
    if claim.status not in OPEN_STATES:
        raise Conflict("claim %(claim)s is %(status)s: only open claims are assigned",
                       claim=claim.claim_number, status=claim.status)
    claim.assigned_to = chosen.user_id if chosen else None
    claim.assigned_name = chosen.username if chosen else None
    audit.record(db, actor=actor, action="claim.assign", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id, detail={"handler": claim.assigned_name})
    return claim
