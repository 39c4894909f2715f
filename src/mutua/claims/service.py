"""Claims use cases (理赔) and the figures other domains read.

The workflow steps live in :mod:`mutua.claims.workflow`, payment batches in
:mod:`mutua.claims.payments`, documents in :mod:`mutua.claims.documents`; they are
re-exported here so every edge calls one module. The quarterly close and the actuarial
code read claims only through :func:`paid_in`, :func:`case_reserve_at`,
:func:`claims_payable_at`, :func:`triangle` and :func:`claimants_approved_in`.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import claim_documents
from mutua.catalog import service as catalog_service
from mutua.claims import adjudication as rules
from mutua.claims import approvals, documents, handling, triangles
from mutua.claims.first_notice import report
from mutua.claims.inputs import item_facts, items_of, policy_terms
from mutua.claims.models import (
    OPEN_STATES,
    PENDING,
    STATES,
    CaseReserveMovement,
    Claim,
    ClaimDecision,
    ClaimPayment,
    OverrideRequest,
)
from mutua.claims.payments import BatchResult, pay
from mutua.claims.schemas import (
    BatchOut,
    ChecklistItemOut,
    ClaimOut,
    ClaimSummary,
    DecisionOut,
    DocumentOut,
    ItemOut,
    OverrideOut,
    PublishedClaim,
)
from mutua.claims.workflow import (
    appeal,
    close,
    decide,
    decline,
    load_claim,
    review,
    set_reserve,
)
from mutua.dates import age_on
from mutua.dates import today as shanghai_today
from mutua.errors import ValidationFailed
from mutua.ledger.service import fen_sum
from mutua.members.identifiers import canonical_text, member_number_or_none
from mutua.members.models import Member
from mutua.money import from_fen
from mutua.policies import cover as policy_cover
from mutua.policies.models import Policy

# The queue filter for claims whose override waits for a second handler (four eyes).
AWAITING_APPROVAL = "awaiting_approval"
OVERDUE = "overdue"  # open, clock running, decision past due (PRC Insurance Law art. 23)

add_document = documents.add
list_documents = documents.list_for
read_document = documents.read
approve_override = approvals.approve
reject_override = approvals.reject

__all__ = [
    "BatchResult", "add_document", "appeal", "assign", "medical_breakdowns", "overdue_counts",
    "request_documents", "approve_override", "batch_out", "case_reserve_at",
    "claimants_approved_in", "claims_payable_at", "close",
    "decide", "decline", "get", "list_claims", "list_documents", "load_claim", "paid_in", "pay", "published",
    "read_document", "reject_override", "report", "reserve_history", "review", "set_reserve",
    "to_out", "triangle",
    "triangle_csv",
]


# --- reading claims -------------------------------------------------------------------------

def get(db: Session, *, claim_id: int, actor: Principal) -> Claim:
    """One claim; a member asking for another member's claim gets NotFound. Audited: claims
    carry medical facts."""
    claim = load_claim(db, claim_id, actor)
    audit.record(db, actor=actor, action="claim.read", entity="claim", entity_id=claim.id,
                 project_id=claim.project_id)
    return claim


def list_claims(db: Session, *, actor: Principal, project_code: str | None = None,
                status: str | None = None, member_id: int | None = None, limit: int = 50,
                offset: int = 0, assigned_to: int | None = None,
                on: date | None = None, search: str | None = None) -> tuple[list[Claim], int]:
    """Claims newest first; members always get only their own. ``status=open`` is the queue,
    ``status=overdue`` its claims past their decision day; ``assigned_to`` one handler's;
    ``search`` a claim, policy or member number (what a caller reads out on the phone)."""
    where = [found_by(search)] if search and search.strip() else []
    if assigned_to is not None:
        where.append(Claim.assigned_to == assigned_to)
    if actor.is_member:  # their own, and the claims on dependants they pay for
        where.append(or_(Claim.member_id == actor.member_id, Claim.member_id.in_(
            select(Member.id).where(Member.payer_id == actor.member_id))))
    elif member_id is not None:
        where.append(Claim.member_id == member_id)
    if project_code:
        where.append(Claim.project_id == catalog_service.get_project(db, code=project_code).id)
    if status == "open":
        where.append(Claim.status.in_(OPEN_STATES))
    elif status == OVERDUE:
        where += handling.overdue(on or shanghai_today())
    elif status == AWAITING_APPROVAL:
        where.append(Claim.id.in_(select(OverrideRequest.claim_id)
                                  .where(OverrideRequest.status == PENDING)))
    elif status:
        if status not in STATES:
            raise ValidationFailed("status", "must be open or one of %(choices)s",
                                   choices=", ".join((OVERDUE, AWAITING_APPROVAL, *STATES)))
        where.append(Claim.status == status)
    total = db.scalar(select(func.count()).select_from(Claim).where(*where))
    rows = db.scalars(select(Claim).where(*where).order_by(Claim.id.desc())
                      .limit(limit).offset(offset)).all()
    return list(rows), total


CLAIM_NUMBER = re.compile(r"CL[0-9]{9,12}")
POLICY_NUMBER = re.compile(r"P[0-9]{6,16}")


def found_by(text: str):
    """SQL for the claims a number names: the claim itself, or every claim on the policy or of
    the member. Spaces, full-width characters and lower case are read as typed on a phone.

    >>> str(found_by(" cl000000012 ")).split(" = ")[0]
    'claims.claim_number'
    """
    number = canonical_text(text).upper()
    if CLAIM_NUMBER.fullmatch(number):
        return Claim.claim_number == number
    if member_number_or_none(number):
        return Claim.member_id == select(Member.id).where(
            Member.member_number == number).scalar_subquery()
    if POLICY_NUMBER.fullmatch(number):
        return Claim.policy_id == select(Policy.id).where(
            Policy.policy_number == number).scalar_subquery()
    raise ValidationFailed("q", "must be a claim number (CL...), a policy number (P...) or a "
                                "member number (M...)")


def summary(claim: Claim, on: date | None = None) -> ClaimSummary:
    out = ClaimSummary.model_validate(claim, from_attributes=True)
    out.overdue = handling.is_overdue(claim, on or shanghai_today())
    return out


def overdue_counts(db: Session, *, on: date | None = None) -> dict[int, int]:
    """Overdue claims per project id (the dashboard's count; the queue's overdue filter)."""
    rows = db.execute(select(Claim.project_id, func.count()).where(
        *handling.overdue(on or shanghai_today())).group_by(Claim.project_id))
    return dict(rows.tuples().all())


def medical_breakdowns(db: Session, *, claim: Claim) -> dict[int, rules.MedicalSteps]:
    """How each medical item's amount is worked out (invoice, social insurance paid,
    deductible, share paid), by item id, for the member's claim page."""
    items = [i for i in items_of(db, claim.id) if i.kind in rules.MEDICAL_KINDS]
    if not items:
        return {}
    terms = policy_terms(policy_cover.cover_on(db, policy_id=claim.policy_id,
                                               on=claim.event_date))
    return {i.id: rules.medical_steps(terms.benefit(i.benefit_code), item_facts(i))
            for i in items if terms.benefit(i.benefit_code) is not None}


request_documents = handling.request_documents
assign = handling.assign


def to_out(db: Session, claim: Claim) -> ClaimOut:
    """The claim with its items, decisions (with reasons), override requests and documents."""
    decisions = db.scalars(select(ClaimDecision).where(ClaimDecision.claim_id == claim.id)
                           .order_by(ClaimDecision.round)).all()
    overrides = [OverrideOut.model_validate(o, from_attributes=True)
                 for o in approvals.history(db, claim_id=claim.id)]
    items, files = items_of(db, claim.id), documents.of_claim(db, claim_id=claim.id)
    return ClaimOut(
        **summary(claim).model_dump(), policy_id=claim.policy_id, place=claim.place,
        reported_on=claim.reported_on, decided_on=claim.decided_on,
        uncovered_loss=claim.uncovered_loss, appeals=claim.appeals,
        can_appeal=claim.appeals == 0 and claim.status in ("decided", "paid", "closed"),
        duplicate_of=claim.duplicate_of, duplicate_reason=claim.duplicate_reason,
        pending_override=next((o for o in overrides if o.status == PENDING), None),
        items=[ItemOut.model_validate(i, from_attributes=True) for i in items],
        decisions=[DecisionOut.model_validate(d, from_attributes=True) for d in decisions],
        overrides=overrides,
        documents=[DocumentOut.model_validate(d, from_attributes=True) for d in files],
        checklist=[ChecklistItemOut(kind=k, present=k in {d.kind for d in files})
                   for k in claim_documents.required_for(i.kind for i in items)])


def batch_out(r: BatchResult) -> BatchOut:
    return BatchOut(batch_key=r.batch_key, project=r.project, paid_on=r.paid_on, claims=r.claims,
                    total=r.total, refused=list(r.refused))


@dataclass(frozen=True)
class ReserveMove:
    """One change of a claim's case reserve (未决赔款准备金), oldest first in a history."""

    moved_on: date
    change: Decimal
    reserve_after: Decimal
    kind: str  # reported | revised | decided | appeal
    reason: str  # a handler's written reason for a revision, else ""
    by: str  # the handler's login for a revision, else ""


def reserve_history(db: Session, *, claim_id: int, actor: Principal) -> list[ReserveMove]:
    """Every movement of the claim's case reserve, with the running reserve after it.

    A handler's revision carries the written reason kept in its audit event. A claim has
    a handful of movements, so they are read in one query and summed here.
    """
    claim = load_claim(db, claim_id, actor)
    moves = db.scalars(select(CaseReserveMovement)
                       .where(CaseReserveMovement.claim_id == claim.id)
                       .order_by(CaseReserveMovement.moved_on, CaseReserveMovement.id)).all()
    notes = {}
    for event in audit.recent(db, limit=1000, entity="claim", entity_id=str(claim.id)):
        detail = event.detail or {}
        if event.action == "claim.reserve" and "movement_id" in detail:
            notes[detail["movement_id"]] = (str(detail.get("reason", "")), event.actor_username)
    out, running = [], Decimal("0.00")
    for m in moves:
        running += m.amount
        reason, by = notes.get(m.id, ("", ""))
        out.append(ReserveMove(m.moved_on, m.amount, running, m.reason, reason, by))
    return out


# --- transparency ---------------------------------------------------------------------------

def mask_name(name: str) -> str:
    """张三 -> 张*, 欧阳修文 -> 欧***: the family name's first character only.

    >>> mask_name("张三"), mask_name("李")
    ('张*', '李*')
    """
    name = (name or "").strip()
    return (name[:1] or "*") + "*" * max(1, len(name) - 1)


def age_band(age: int) -> str:
    """The ten-year band an age falls in, as published.

    >>> age_band(37)
    '30-39'
    """
    low = (age // 10) * 10
    return f"{low}-{low + 9}"


def published(db: Session, *, project_code: str, limit: int = 50,
              offset: int = 0) -> tuple[list[PublishedClaim], int]:
    """The project's paid claims as published to its members (理赔公示), anonymised."""
    project = catalog_service.get_project(db, code=project_code)
    last_paid = (select(ClaimPayment.claim_id, func.max(ClaimPayment.paid_on).label("paid_on"))
                 .where(ClaimPayment.project_id == project.id)
                 .group_by(ClaimPayment.claim_id).subquery())
    base = (select(Claim.claim_number, Member.name, Member.birth_date, Member.city,
                   Claim.event_type, Claim.event_date, Claim.paid, last_paid.c.paid_on)
            .join(last_paid, last_paid.c.claim_id == Claim.id)
            .join(Member, Member.id == Claim.member_id)
            .where(Claim.project_id == project.id, Claim.paid > 0))
    total = db.scalar(select(func.count()).select_from(base.subquery()))
    rows = db.execute(base.order_by(last_paid.c.paid_on.desc(), Claim.id.desc())
                      .limit(limit).offset(offset)).all()
    return [PublishedClaim(claim_number=number, name=mask_name(name),
                           age_band=age_band(age_on(birth, event_date)), city=city,
                           event_type=event_type, amount_paid=paid, paid_on=paid_on)
            for number, name, birth, city, event_type, event_date, paid, paid_on in rows], total


def published_totals(db: Session, *, project_code: str) -> list[tuple[str, int, Decimal]]:
    """The published paid claims summed by kind of event: (event type, claims, paid), most
    claims first. One GROUP BY, whatever the number of claims."""
    project = catalog_service.get_project(db, code=project_code)
    rows = db.execute(select(Claim.event_type, func.count(Claim.id), fen_sum(Claim.paid))
                      .where(Claim.project_id == project.id, Claim.paid > 0,
                             Claim.id.in_(select(ClaimPayment.claim_id)))
                      .group_by(Claim.event_type).order_by(func.count(Claim.id).desc())).all()
    return [(kind, int(n), from_fen(int(fen or 0))) for kind, n, fen in rows]


# --- figures for the quarterly close and the actuaries --------------------------------------

def paid_in(db: Session, *, project_id: int, start: date, end: date) -> Decimal:
    """Claims paid with paid_on in [start, end] (inclusive)."""
    fen = db.scalar(select(fen_sum(ClaimPayment.amount)).where(
        ClaimPayment.project_id == project_id, ClaimPayment.paid_on >= start,
        ClaimPayment.paid_on <= end))
    return from_fen(fen or 0)


def case_reserve_at(db: Session, *, project_id: int, as_of: date) -> Decimal:
    """Outstanding case reserve on the project's open claims at the end of ``as_of``."""
    fen = db.scalar(select(fen_sum(CaseReserveMovement.amount)).where(
        CaseReserveMovement.project_id == project_id, CaseReserveMovement.moved_on <= as_of))
    return from_fen(fen or 0)


def claims_payable_at(db: Session, *, project_id: int, as_of: date) -> Decimal:
    """Claims approved and not yet paid (应付赔款) at the end of ``as_of``.

    What the decisions dated by then approved (each round adds its change) less what the
    payments dated by then paid: the balance of the project's claims payable account on
    that day, computed from the dated rows, so a close run weeks later still sees the
    quarter's end. A claim is in exactly one of case reserve, payable and paid.
    """
    approved = db.scalar(select(fen_sum(ClaimDecision.approved_change)).where(
        ClaimDecision.project_id == project_id, ClaimDecision.decided_on <= as_of)) or 0
    paid = db.scalar(select(fen_sum(ClaimPayment.amount)).where(
        ClaimPayment.project_id == project_id, ClaimPayment.paid_on <= as_of)) or 0
    return from_fen(int(approved) - int(paid))


def triangle(db: Session, *, project_id: int, basis: str, as_of: date,
             today: date | None = None) -> list[tuple[str, int, Decimal]]:
    """Cumulative cells (origin quarter "2026Q1", development quarter 0.., value).

    With ``today`` (a valuation day a caller chose), ``as_of`` must lie between the
    project's first day of cover and today."""
    if today is not None:
        triangles.check_as_of(db, project_id=project_id, as_of=as_of, today=today)
    return triangles.triangle(db, project_id=project_id, basis=basis, as_of=as_of)


def triangle_csv(cells: list[tuple[str, int, Decimal]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["origin", "development", "value"])
    w.writerows([(o, d, f"{v:.2f}") for o, d, v in cells])
    return out.getvalue()


def claimants_approved_in(db: Session, *, project_id: int, start: date, end: date,
                          unpaid_before: bool = False) -> list[tuple[int, Decimal]]:
    """(member_id, uncovered loss) for claims first approved (a decision approving a
    positive amount) in [start, end]: aid follows the quarter a claim was decided in,
    whenever it is paid, and a claim counts in that one quarter only.

    ``unpaid_before`` also takes claims approved before ``start`` and not paid before it:
    the first close under this rule follows closes that aided claims by first payment,
    and those claims were not aided yet.
    """
    approved = (select(ClaimDecision.claim_id,
                       func.min(ClaimDecision.decided_on).label("first_approved"))
                .where(ClaimDecision.project_id == project_id, ClaimDecision.approved > 0)
                .group_by(ClaimDecision.claim_id).subquery())
    window = approved.c.first_approved.between(start, end)
    if unpaid_before:
        paid_before = (select(ClaimPayment.id).where(ClaimPayment.claim_id == Claim.id,
                                                     ClaimPayment.paid_on < start).exists())
        window = window | ((approved.c.first_approved < start) & ~paid_before)
    rows = db.execute(
        select(Claim.member_id, fen_sum(Claim.uncovered_loss))
        .join(approved, approved.c.claim_id == Claim.id)
        .where(window).group_by(Claim.member_id).order_by(Claim.member_id)).all()
    return [(int(m), from_fen(fen or 0)) for m, fen in rows]


def open_counts(db: Session) -> dict[int, int]:
    """Open claims (reported, under review, reopened) per project, in one GROUP BY.

    Counts only, for the staff dashboard: no claim is read, so nothing is audited.
    """
    rows = db.execute(select(Claim.project_id, func.count(Claim.id))
                      .where(Claim.status.in_(OPEN_STATES)).group_by(Claim.project_id)).all()
    return {pid: int(n) for pid, n in rows}
