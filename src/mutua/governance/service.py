"""Proposals and ballots (议案与投票): make, open, vote, change, close, publish, verify.

One member, one vote, secret and verifiable:

- When voting opens, the electorate is frozen in one ``INSERT ... SELECT``: every member
  holding a policy in force in the scope that day.
- Casting a ballot flips the member's ``has_voted`` flag with a conditional UPDATE
  (``... WHERE has_voted = false``): exactly one of two racing ballots wins, the other
  is refused as a second ballot. The choice goes, in the same transaction, to the ballots
  table under a receipt hash, with no member id, time or sequence number.
- The secret behind the receipt is returned once and never stored.

Changing a ballot (only where the proposal allows it), and its trade-off: the member
presents the secret and choice of their ballot; the service recomputes the receipt,
deletes that ballot and stores the new one under a fresh secret. The database still
never links a member to a ballot, because the old ballot is found by its receipt, not
by the member. The elector's row keeps a one-way tag of the secret handed to that
member (``receipts.owner_tag``), so only a member's own secret opens a change: another
elector holding someone's secret can replace neither that ballot nor their own with it,
and without the secret the tag matches no receipt. What it costs: the secret is still
the key to one's own ballot, so it must be kept like a password; and while a request is being
served the server necessarily sees who is asking and what they choose, as in any
server-side vote without blind signatures. Nothing of that moment is persisted: the
audit record names the member and the proposal, never the choice or the receipt.

Residual risk, stated plainly: a database superuser watching physical row order
(PostgreSQL's ctid) or the write-ahead log as ballots arrive one by one could line up
an elector's flag with a ballot row. The application never reads either; operators
should treat WAL archives of an open vote as sensitive.

>>> from fractions import Fraction
>>> rule_for_options(["yes", "no", "abstain"], seats=0, quorum=Fraction(1, 2),
...                  threshold="simple").options
('yes', 'no', 'abstain')
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from fractions import Fraction

from sqlalchemy import Integer, case, delete, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import SHANGHAI, utcnow
from mutua.errors import Conflict, Forbidden, NotFound, ProblemCollector, ValidationFailed
from mutua.governance import enactment, notices, receipts
from mutua.governance.models import PROPOSAL_TEXT_LIMIT, Ballot, Elector, Proposal
from mutua.governance.tally import (
    ABSTAIN,
    MOTION_OPTIONS,
    THRESHOLDS,
    Result,
    VoteRule,
    count_choices,
    every_choice,
    normalise_choice,
    tally_grouped,
)
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


# --- voting ---------------------------------------------------------------------------


def _voting_proposal(db: Session, proposal_id: int, now: datetime) -> Proposal:
    # A shared lock (PostgreSQL): a close waits for ballots in flight, so none is left out.
    proposal = db.scalar(select(Proposal).where(Proposal.id == proposal_id)
                         .with_for_update(read=True))
    if proposal is None:
        raise NotFound("proposal %(proposal_id)s not found", proposal_id=proposal_id)
    if proposal.status == "draft" or now < proposal.opens_at:
        raise Conflict("voting on this proposal has not opened")
    if proposal.status == "closed" or now >= proposal.closes_at:
        raise Conflict("voting on this proposal has closed")
    return proposal


def _checked_choice(proposal: Proposal, choice: list[str], field: str = "choice"
                    ) -> tuple[str, ...]:
    if isinstance(choice, str):
        choice = [choice]
    codes = [o["code"] for o in proposal.options]
    unknown = [c for c in choice if c not in codes]
    if unknown:
        raise ValidationFailed(field, "%(option)s is not an option of this proposal "
                                      "(options: %(options)s)",
                                      option=f"{unknown[0]!r}", options=", ".join(codes))
    canonical = normalise_choice(rule_of(proposal), choice)
    if canonical is None:
        limit = proposal.seats or 1
        raise ValidationFailed(field, "choose 1 to %(limit)s different options, or abstain "
                                      "alone", limit=limit)
    return canonical


def _require_member(actor: Principal) -> int:
    if not actor.is_member or actor.member_id is None:
        raise Forbidden("only members vote, each for themselves")
    return actor.member_id


def cast_ballot(db: Session, *, proposal_id: int, choice: list[str], actor: Principal,
                now: datetime | None = None) -> dict:
    """Cast the acting member's one ballot; returns the receipt and, once only, its secret."""
    now = _now(now)
    member_id = _require_member(actor)
    proposal = _voting_proposal(db, proposal_id, now)
    canonical = _checked_choice(proposal, choice)
    secret = receipts.new_secret()
    flipped = db.execute(
        update(Elector)
        .where(Elector.proposal_id == proposal_id, Elector.member_id == member_id,
               Elector.has_voted.is_(False))
        .values(has_voted=True, ballot_tag=receipts.owner_tag(
            proposal_id=proposal_id, member_id=member_id, secret=secret))
    ).rowcount
    if flipped != 1:
        if _is_elector(db, proposal_id, member_id):
            raise (Conflict("you have already voted on this proposal; you may change your "
                            "ballot with your receipt secret") if proposal.allow_change else
                   Conflict("you have already voted on this proposal"))
        raise Forbidden("you were not eligible when voting opened (no policy in force in "
                        "the scope that day)")
    receipt = _store_ballot(db, proposal, canonical, secret)
    audit.record(db, actor=actor, action="ballot.cast", entity="proposal",
                 entity_id=proposal_id, project_id=proposal.project_id)
    return {"proposal_id": proposal_id, "receipt": receipt,
            "secret": receipts.secret_to_text(secret), "choice": list(canonical)}


def _store_ballot(db: Session, proposal: Proposal, choice: tuple[str, ...], secret: bytes
                  ) -> str:
    receipt = receipts.receipt_for(proposal_id=proposal.id, choice=choice, secret=secret)
    db.execute(insert(Ballot).values(proposal_id=proposal.id, receipt=receipt,
                                     choice=receipts.encode_choice(choice),
                                     project_id=proposal.project_id))
    return receipt


def _is_elector(db: Session, proposal_id: int, member_id: int) -> bool:
    return db.scalar(select(exists().where(Elector.proposal_id == proposal_id,
                                           Elector.member_id == member_id))) or False


def change_ballot(db: Session, *, proposal_id: int, secret: str, new_choice: list[str],
                  actor: Principal, old_choice: list[str] | None = None,
                  now: datetime | None = None) -> dict:
    """Replace one's ballot before the window closes (see the module docstring's trade-off).

    The secret alone is enough: the ballots table holds receipts, not voters, so the old
    ballot is found by recomputing the receipt of every choice the proposal allows with
    that secret (:func:`_old_receipt`). ``old_choice`` is needed only where the choices
    are too many to try."""
    now = _now(now)
    member_id = _require_member(actor)
    proposal = _voting_proposal(db, proposal_id, now)
    if not proposal.allow_change:
        raise Conflict("ballots on this proposal cannot be changed")
    if not db.scalar(select(exists().where(Elector.proposal_id == proposal_id,
                                           Elector.member_id == member_id,
                                           Elector.has_voted.is_(True)))):
        raise Forbidden("only a member who has voted on this proposal can change a ballot")
    raw = receipts.secret_from_text(secret)
    if raw is None:
        raise ValidationFailed("secret", "must be the 64 hex digits given when you voted")
    new = _checked_choice(proposal, new_choice, "new_choice")
    candidates = _old_choices(proposal, old_choice)
    fresh = receipts.new_secret()
    # The secret must be the one handed to this member, not someone else's they hold: the
    # elector's tag moves to the fresh secret in one conditional UPDATE.
    mine = db.execute(
        update(Elector)
        .where(Elector.proposal_id == proposal_id, Elector.member_id == member_id,
               Elector.ballot_tag == receipts.owner_tag(proposal_id=proposal_id,
                                                        member_id=member_id, secret=raw))
        .values(ballot_tag=receipts.owner_tag(proposal_id=proposal_id, member_id=member_id,
                                              secret=fresh))
    ).rowcount
    old_receipt = _old_receipt(db, proposal_id, raw, candidates) if mine == 1 else None
    gone = 0
    if old_receipt is not None:
        gone = db.execute(delete(Ballot).where(Ballot.proposal_id == proposal_id,
                                               Ballot.receipt == old_receipt)).rowcount
    if gone != 1:
        raise ValidationFailed("secret", "does not match a ballot on this proposal with that "
                                         "choice")
    receipt = _store_ballot(db, proposal, new, fresh)
    audit.record(db, actor=actor, action="ballot.change", entity="proposal",
                 entity_id=proposal_id, project_id=proposal.project_id)
    return {"proposal_id": proposal_id, "receipt": receipt,
            "secret": receipts.secret_to_text(fresh), "choice": list(new)}


# Trying every choice costs one hash each; an election with many candidates and seats
# could allow millions, so past this many the voter names the choice on their receipt.
MAX_CHOICES_TRIED = 4096


def needs_old_choice(proposal: Proposal) -> bool:
    """Whether changing a ballot on this proposal needs the choice on the receipt too."""
    return count_choices(rule_of(proposal)) > MAX_CHOICES_TRIED


def _old_choices(proposal: Proposal, old_choice: list[str] | None) -> list[tuple[str, ...]]:
    """The choices the old ballot may hold: the one named, or every valid one."""
    if old_choice:
        return [_checked_choice(proposal, old_choice, "old_choice")]
    if needs_old_choice(proposal):
        raise ValidationFailed("old_choice", "name the choice shown on your receipt: this "
                                             "election allows too many ballots to find yours "
                                             "by the secret alone")
    return list(every_choice(rule_of(proposal)))


def _old_receipt(db: Session, proposal_id: int, secret: bytes,
                 choices: list[tuple[str, ...]]) -> str | None:
    """The stored receipt this secret made with one of these choices, if any."""
    made = [receipts.receipt_for(proposal_id=proposal_id, choice=c, secret=secret)
            for c in choices]
    return db.scalar(select(Ballot.receipt).where(Ballot.proposal_id == proposal_id,
                                                  Ballot.receipt.in_(made)).limit(1))


# --- closing, the tally, the published result -------------------------------------------


def count(db: Session, *, proposal: Proposal) -> Result:
    """The tally over the stored ballots: one GROUP BY, then the pure function."""
    rows = db.execute(select(Ballot.choice, func.count()).where(
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


def receipt_list(db: Session, *, proposal_id: int, actor: Principal, limit: int = 100,
                 offset: int = 0, receipt: str | None = None) -> tuple[list[dict], int]:
    """The published (receipt, choice) list: anyone in scope can recount and find theirs.

    ``receipt`` narrows the list to one receipt, so a member need not page through all.
    """
    proposal = visible_proposal(db, proposal_id=proposal_id, actor=actor)
    if proposal.status != "closed":
        raise Conflict("the receipt list is published when voting closes")
    where = [Ballot.proposal_id == proposal_id]
    if receipt:
        where.append(Ballot.receipt == receipt.strip().lower())
    total = db.scalar(select(func.count()).select_from(Ballot).where(*where)) or 0
    rows = db.execute(select(Ballot.receipt, Ballot.choice).where(*where)
                      .order_by(Ballot.receipt).limit(limit).offset(offset)).all()
    return [{"receipt": r, "choice": list(receipts.decode_choice(c))} for r, c in rows], total


def verify_ballot(db: Session, *, proposal_id: int, secret: str, choice: list[str],
                  actor: Principal) -> dict:
    """Recompute a receipt from the secret a member kept and say whether it was counted."""
    proposal = visible_proposal(db, proposal_id=proposal_id, actor=actor)
    raw = receipts.secret_from_text(secret)
    if raw is None:
        raise ValidationFailed("secret", "must be the 64 hex digits given when you voted")
    canonical = _checked_choice(proposal, choice)
    receipt = receipts.receipt_for(proposal_id=proposal_id, choice=canonical, secret=raw)
    counted = db.scalar(select(exists().where(Ballot.proposal_id == proposal_id,
                                              Ballot.receipt == receipt))) or False
    return {"proposal_id": proposal_id, "receipt": receipt, "counted": bool(counted)}


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
