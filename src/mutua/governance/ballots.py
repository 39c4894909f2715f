"""Ballots (投票): cast, change, verify, and the list of receipts.

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
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, exists, func, insert, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.governance import receipts
from mutua.governance.models import Ballot, Elector, Proposal
from mutua.governance.service import (
    _is_elector,
    _now,
    ballot_project_id,
    rule_of,
    visible_proposal,
)
from mutua.governance.tally import count_choices, every_choice, normalise_choice


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
    return _store_ballot(db, proposal, canonical, secret, actor=actor, action="ballot.cast")


def _store_ballot(db: Session, proposal: Proposal, choice: tuple[str, ...], secret: bytes,
                  *, actor: Principal, action: str) -> dict:
    """Store the ballot under its receipt, audit the act (never the choice), and answer the
    voter's receipt and secret."""
    receipt = receipts.receipt_for(proposal_id=proposal.id, choice=choice, secret=secret)
    db.execute(insert(Ballot).values(proposal_id=proposal.id, receipt=receipt,
                                     choice=receipts.encode_choice(choice),
                                     project_id=ballot_project_id(db, proposal)))
    audit.record(db, actor=actor, action=action, entity="proposal", entity_id=proposal.id,
                 project_id=proposal.project_id)
    return {"proposal_id": proposal.id, "receipt": receipt,
            "secret": receipts.secret_to_text(secret), "choice": list(choice)}


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
    old_receipt = _old_receipt(db, proposal, raw, candidates) if mine == 1 else None
    gone = 0
    if old_receipt is not None:
        gone = db.execute(delete(Ballot).where(*_ballots_of(db, proposal),
                                               Ballot.receipt == old_receipt)).rowcount
    if gone != 1:
        raise ValidationFailed("secret", "does not match a ballot on this proposal with that "
                                         "choice")
    return _store_ballot(db, proposal, new, fresh, actor=actor, action="ballot.change")


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


def _ballots_of(db: Session, proposal: Proposal) -> list:
    """WHERE clauses for a proposal's ballots, its project first (routes to one shard)."""
    return [Ballot.project_id == ballot_project_id(db, proposal),
            Ballot.proposal_id == proposal.id]


def _old_receipt(db: Session, proposal: Proposal, secret: bytes,
                 choices: list[tuple[str, ...]]) -> str | None:
    """The stored receipt this secret made with one of these choices, if any."""
    made = [receipts.receipt_for(proposal_id=proposal.id, choice=c, secret=secret)
            for c in choices]
    return db.scalar(select(Ballot.receipt).where(*_ballots_of(db, proposal),
                                                  Ballot.receipt.in_(made)).limit(1))


def receipt_list(db: Session, *, proposal_id: int, actor: Principal, limit: int = 100,
                 offset: int = 0, receipt: str | None = None) -> tuple[list[dict], int]:
    """The published (receipt, choice) list: anyone in scope can recount and find theirs.

    ``receipt`` narrows the list to one receipt, so a member need not page through all.
    """
    proposal = visible_proposal(db, proposal_id=proposal_id, actor=actor)
    if proposal.status != "closed":
        raise Conflict("the receipt list is published when voting closes")
    where = _ballots_of(db, proposal)
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
    counted = db.scalar(select(exists().where(*_ballots_of(db, proposal),
                                              Ballot.receipt == receipt))) or False
    return {"proposal_id": proposal_id, "receipt": receipt, "counted": bool(counted)}
