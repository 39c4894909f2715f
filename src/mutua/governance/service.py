"""Proposals (议案): make, open, close and publish; who may see them, and the electorate.

One member, one vote: when voting opens, the electorate is frozen in one
``INSERT ... SELECT``: every member holding a policy in force in the scope that day. Casting,
changing and verifying ballots, and how the vote stays secret, are in ballots.py.

>>> from fractions import Fraction
>>> rule_for_options(["yes", "no", "abstain"], seats=0, quorum=Fraction(1, 2),
...                  threshold="simple").options
('yes', 'no', 'abstain')
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import Integer, case, exists, func, insert, literal, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog.mutual import mutual_project_id
from mutua.dates import SHANGHAI, utcnow
from mutua.errors import Conflict, NotFound, ProblemCollector, ValidationFailed
from mutua.governance import enactment, notices, receipts
from mutua.governance.models import PROPOSAL_TEXT_LIMIT, Ballot, Elector, Proposal
from mutua.governance.tally import ABSTAIN, MOTION_OPTIONS, THRESHOLDS, Result, VoteRule, tally_grouped
from mutua.members.models import Member
from mutua.policies import membership

KINDS = ("motion", "pricing", "allocation", "election")
MOTION_LABELS = {
    "yes": ("赞成", "For"),
    "no": ("反对", "Against"),
    "abstain": ("弃权", "Abstain"),
}


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def _shanghai_date(at: datetime) -> date:
    return at.astimezone(SHANGHAI).date()


def rule_for_options(codes: list[str], *, seats: int, quorum: Fraction | Decimal,
                     threshold: str) -> VoteRule:
    return VoteRule(options=tuple(codes), quorum=Fraction(str(quorum)), threshold=threshold,
                    seats=seats)


def rule_of(proposal: Proposal) -> VoteRule:
    return rule_for_options([o["code"] for o in proposal.options], seats=proposal.seats,
                            quorum=proposal.quorum,
                            threshold="plurality" if proposal.seats else proposal.threshold)


# --- making a proposal ----------------------------------------------------------------


def create_proposal(
    db: Session,
    *,
    kind: str,
    project_id: int | None,
    title_zh: str,
    title_en: str,
    body_zh: str = "",
    body_en: str = "",
    quorum: Decimal | str,
    threshold: str = "simple",
    allow_change: bool = False,
    opens_at: datetime,
    closes_at: datetime,
    payload: dict | None = None,
    actor: Principal,
    today: date | None = None,
) -> Proposal:
    """A draft proposal, checked whole; its payload must be able to take effect.

    ``payload`` by kind: motion ``{}``; pricing ``{"product_id", "period_id", "cells"}``;
    allocation ``{"uplift", "aid", "services", "effective_from"}``; election
    ``{"seats", "candidates": [member_id, ...]}``.
    """
    problems = ProblemCollector()
    if kind not in KINDS:
        problems.add("kind", "must be one of %(choices)s", choices=", ".join(KINDS))
    if threshold not in THRESHOLDS:
        problems.add("threshold", "must be simple or two_thirds")
    for name, text, limit in (("title_zh", title_zh, 200), ("title_en", title_en, 300)):
        if not (text or "").strip() or len(text) > limit:
            problems.add(name, "must be 1 to %(limit)s characters", limit=limit)
    for name, text in (("body_zh", body_zh), ("body_en", body_en)):
        if len(text or "") > PROPOSAL_TEXT_LIMIT:
            problems.add(name, "must be at most %(limit)s characters", limit=PROPOSAL_TEXT_LIMIT)
    q = _share(quorum, problems)
    if opens_at.tzinfo is None or closes_at.tzinfo is None:
        problems.add("opens_at", "times must carry a timezone")
    elif closes_at <= opens_at:
        problems.add("closes_at", "must be after opens_at")
    problems.raise_if_any()
    if kind in ("pricing", "allocation") and project_id is None:
        raise ValidationFailed("project_id", "a %(kind)s proposal belongs to one project", kind=kind)
    canonical = enactment.validate_payload(db, kind=kind, project_id=project_id,
                                           payload=payload or {}, today=today or
                                           _shanghai_date(utcnow()))
    options, seats = _options_for(db, kind, canonical)
    proposal = Proposal(
        kind=kind, project_id=project_id, title_zh=title_zh.strip(), title_en=title_en.strip(),
        body_zh=body_zh, body_en=body_en, options=options, seats=seats, quorum=q,
        threshold=threshold, allow_change=allow_change, opens_at=opens_at, closes_at=closes_at,
        payload=canonical, created_by=actor.username, status="draft",
    )
    db.add(proposal)
    db.flush()
    audit.record(db, actor=actor, action="proposal.create", entity="proposal",
                 entity_id=proposal.id, project_id=project_id,
                 detail={"kind": kind, "threshold": threshold, "quorum": str(q)})
    return proposal


def _share(value: object, problems: ProblemCollector) -> Decimal:
    try:
        q = Decimal(str(value))
    except Exception:
        problems.add("quorum", "must be a share between 0 and 1, e.g. 0.2")
        return Decimal(0)
    if isinstance(value, float) or not q.is_finite() or not Decimal(0) <= q <= Decimal(1):
        problems.add("quorum", "must be a decimal share between 0 and 1, e.g. 0.2")
    return q


def _options_for(db: Session, kind: str, payload: dict) -> tuple[list[dict], int]:
    if kind != "election":
        return [{"code": c, "label_zh": MOTION_LABELS[c][0], "label_en": MOTION_LABELS[c][1]}
                for c in MOTION_OPTIONS], 0
    names = enactment.candidate_names(db, member_ids=payload["candidates"])
    options = [{"code": f"m{mid}", "label_zh": names[mid], "label_en": names[mid],
                "member_id": mid} for mid in payload["candidates"]]
    options.append({"code": ABSTAIN, "label_zh": "弃权", "label_en": "Abstain"})
    return options, int(payload["seats"])


def get_proposal(db: Session, *, proposal_id: int) -> Proposal:
    proposal = db.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("proposal %(proposal_id)s not found", proposal_id=proposal_id)
    return proposal


def _locked(db: Session, proposal_id: int) -> Proposal:
    """The proposal row, locked on PostgreSQL so open/close/vote see one state."""
    proposal = db.scalar(select(Proposal).where(Proposal.id == proposal_id)
                         .with_for_update())
    if proposal is None:
        raise NotFound("proposal %(proposal_id)s not found", proposal_id=proposal_id)
    return proposal


# --- opening: freeze the electorate ---------------------------------------------------


def open_proposal(db: Session, *, proposal_id: int, actor: Principal,
                  now: datetime | None = None) -> Proposal:
    """Open voting and freeze who may vote: members with a policy in force in scope today."""
    now = _now(now)
    proposal = _locked(db, proposal_id)
    if proposal.status != "draft":
        raise Conflict("proposal %(number)s is %(status)s, not a draft",
                       number=proposal_id, status=proposal.status)
    if now < proposal.opens_at:
        raise Conflict("voting opens at %(when)s", when=proposal.opens_at.isoformat())
    if now >= proposal.closes_at:
        raise Conflict("the voting window has already ended")
    eligible = freeze_electorate(db, proposal_id=proposal.id, project_id=proposal.project_id,
                                 on=_shanghai_date(now))
    proposal.status = "open"
    proposal.opened_at = now
    proposal.eligible = eligible
    audit.record(db, actor=actor, action="proposal.open", entity="proposal",
                 entity_id=proposal.id, project_id=proposal.project_id,
                 detail={"eligible": eligible})
    notices.tell_electors(db, proposal=proposal, event="vote.opened")  # the electorate just frozen
    return proposal


def freeze_electorate(db: Session, *, proposal_id: int, project_id: int | None, on: date) -> int:
    """One set-based INSERT ... SELECT of the members in force on ``on``; returns the count."""
    members = membership.in_force_members(project_id, on).subquery()
    in_force = select(literal(proposal_id), members.c.member_id, literal(False),
                      literal(project_id, type_=Integer()))
    db.execute(insert(Elector).from_select(["proposal_id", "member_id", "has_voted",
                                            "project_id"], in_force))
    return db.scalar(select(func.count()).select_from(Elector)
                     .where(Elector.proposal_id == proposal_id)) or 0


def _is_elector(db: Session, proposal_id: int, member_id: int) -> bool:
    return db.scalar(select(exists().where(Elector.proposal_id == proposal_id,
                                           Elector.member_id == member_id))) or False


# --- closing, the tally, the published result -------------------------------------------


def ballot_project_id(db: Session, proposal: Proposal) -> int:
    """The project a proposal's ballots are kept under (the shard they live on): its own, or
    the mutual-wide project for a mutual-wide proposal (catalog/mutual.py)."""
    return proposal.project_id if proposal.project_id is not None else mutual_project_id(db)


def count(db: Session, *, proposal: Proposal) -> Result:
    """The tally over the stored ballots: one GROUP BY, then the pure function."""
    rows = db.execute(select(Ballot.choice, func.count()).where(
        Ballot.project_id == ballot_project_id(db, proposal),
        Ballot.proposal_id == proposal.id).group_by(Ballot.choice)).all()
    grouped = {receipts.decode_choice(c): int(n) for c, n in rows}
    return tally_grouped(rule_of(proposal), eligible=proposal.eligible or 0, grouped=grouped)


def close_proposal(db: Session, *, proposal_id: int, actor: Principal,
                   now: datetime | None = None) -> Proposal:
    """Close at or after the end of the window, publish the tally, enact if it passed."""
    now = _now(now)
    proposal = _locked(db, proposal_id)
    if proposal.status != "open":
        raise Conflict("proposal %(number)s is %(status)s, not open",
                       number=proposal_id, status=proposal.status)
    if now < proposal.closes_at:
        raise Conflict("the voting window runs until %(when)s", when=proposal.closes_at.isoformat())
    result = count(db, proposal=proposal)
    proposal.status = "closed"
    proposal.closed_at = now
    proposal.result = result.as_published()
    proposal.passed = result.passed
    audit.record(db, actor=actor, action="proposal.close", entity="proposal",
                 entity_id=proposal.id, project_id=proposal.project_id,
                 detail={"passed": result.passed, "turnout": result.turnout,
                         "eligible": result.eligible, "quorum_met": result.quorum_met})
    notices.tell_electors(db, proposal=proposal, event="vote.result")
    if result.passed and proposal.kind != "motion":
        enactment.enact(db, proposal=proposal, result=result, actor=actor,
                        today=_shanghai_date(now))
    return proposal


def in_scope(db: Session, *, member_id: int, project_id: int | None) -> bool:
    """A member is in a project's scope if they have held a policy there; all are mutual-wide."""
    if project_id is None:
        return db.get(Member, member_id) is not None
    return membership.is_member_of(db, member_id=member_id, project_id=project_id)


def visible_proposal(db: Session, *, proposal_id: int, actor: Principal) -> Proposal:
    """Staff see every proposal; a member sees opened ones of their scope (others look absent)."""
    proposal = get_proposal(db, proposal_id=proposal_id)
    if actor.is_member and (proposal.status == "draft" or not (
        _is_elector(db, proposal_id, actor.member_id or 0)
        or in_scope(db, member_id=actor.member_id or 0, project_id=proposal.project_id)
    )):
        raise NotFound("proposal %(proposal_id)s not found", proposal_id=proposal_id)
    return proposal


def published_result(db: Session, *, proposal_id: int, actor: Principal) -> dict:
    """The result as published: only once voting has closed (no running counts)."""
    proposal = visible_proposal(db, proposal_id=proposal_id, actor=actor)
    if proposal.status != "closed" or proposal.result is None:
        raise Conflict("results are published when voting closes")
    return {"proposal_id": proposal.id, **proposal.result,
            "enactment_status": proposal.enactment_status}


def participation(db: Session, *, member_id: int, actor: Principal, limit: int = 100,
                  offset: int = 0) -> tuple[list[dict], int]:
    """Which proposals a member could vote on and whether they did (never how)."""
    actor.require_member_or_staff(member_id, Role.SECRETARY)
    base = select(Elector.proposal_id, Elector.has_voted).where(Elector.member_id == member_id)
    total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
    rows = db.execute(base.order_by(Elector.proposal_id.desc()).limit(limit).offset(offset)).all()
    return [{"proposal_id": p, "has_voted": bool(v)} for p, v in rows], total


def list_proposals(db: Session, *, actor: Principal, status: str | None = None,
                   limit: int = 50, offset: int = 0) -> tuple[list[Proposal], int]:
    """Staff see all; a member sees mutual-wide proposals and those of projects they belong to."""
    stmt = select(Proposal)
    if status:
        stmt = stmt.where(Proposal.status == status)
    if actor.is_member:  # drafts are the secretary's until voting opens
        mine = membership.projects_of(actor.member_id)
        stmt = stmt.where(Proposal.status != "draft",
                          Proposal.project_id.is_(None) | Proposal.project_id.in_(mine))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    items = list(db.scalars(stmt.order_by(Proposal.id.desc()).limit(limit).offset(offset)))
    return items, total


def turnout(db: Session, *, proposal_ids: list[int]) -> dict[int, tuple[int, int]]:
    """Live turnout per proposal: (electors who have voted, electors), one GROUP BY.

    Only who has voted is counted, never how: running tallies stay sealed until the close.
    """
    if not proposal_ids:
        return {}
    voted = func.sum(case((Elector.has_voted.is_(True), 1), else_=0))
    rows = db.execute(select(Elector.proposal_id, voted, func.count())
                      .where(Elector.proposal_id.in_(proposal_ids))
                      .group_by(Elector.proposal_id)).all()
    return {pid: (int(v or 0), int(n)) for pid, v, n in rows}
