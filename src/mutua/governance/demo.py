"""Governance's part of the synthetic mutual: votes that took effect, meetings, ratings.

Built after the members, policies, claims and closes exist. It holds:

- closed proposals: a pricing change enacted into a later period, an allocation change
  enacted into a later close (one of its voters, the demo's voter, holds a receipt the
  demo can print: ``demo_voter``), a motion that failed its quorum, a representatives'
  election (3 of 5);
- one proposal open for voting, with ballots already cast;
- consultation meetings with registrations, attendance, minutes, and feedback in every
  status; service ratings with follow-ups for the low ones.

Ballots from thousands of voters go in set-based: one UPDATE of the electorate per chunk
and one multi-row INSERT of ballots, shuffled so that their order says nothing of who.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.catalog.schemas import PeriodDef
from mutua.claims.models import Claim
from mutua.dates import SHANGHAI, Quarter
from mutua.errors import DomainError
from mutua.governance import enactment, experience, meetings, receipts, service
from mutua.governance.models import (
    Ballot,
    Elector,
    FeedbackItem,
    MeetingRegistration,
    Proposal,
    ServiceRating,
)
from mutua.policies.models import Policy

CHUNK = 5_000


def _at(day: date, hour: int = 9) -> datetime:
    """A Shanghai wall-clock time on ``day``, as an aware UTC timestamp."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def _np_rng(rng) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(rng.randrange(2**31))


def build(db: Session, *, rng, today: date, actor: Principal) -> dict:
    """Fill in governance; returns a summary of what was made."""
    g = _np_rng(rng)
    project_id, product_id = _busiest(db, on=today - timedelta(days=21))
    if project_id is None:
        return {"proposals": 0, "note": "no policies in force: nothing to govern"}
    opened, closed = today - timedelta(days=21), today - timedelta(days=7)
    made = {
        "pricing": _pricing(db, g, project_id, product_id, opened, closed, today, actor),
        "allocation": _allocation(db, g, project_id, opened, closed, today, actor),
        "failed_quorum": _failed_quorum(db, g, project_id, opened, closed, today, actor),
        "election": _election(db, g, opened, closed, today, actor),
        "open": _open_motion(db, g, today, actor),
    }
    meeting_ids, feedback = _meetings(db, g, project_id, today, actor)
    rated = _ratings(db, g, today, actor)
    return {
        "proposals": {k: v for k, v in made.items() if v is not None},
        "enacted": [k for k, v in made.items()
                    if v and db.get(Proposal, v).enactment_status == "enacted"],
        "meetings": meeting_ids, "feedback_by_status": feedback, "ratings": rated,
    }


def _busiest(db: Session, *, on: date) -> tuple[int | None, int | None]:
    """The project and product with the most policies in force on ``on``."""
    row = db.execute(select(Policy.project_id, Policy.product_id, func.count().label("n"))
                     .where(Policy.status == "in_force", Policy.cover_start <= on,
                            Policy.cover_end >= on)
                     .group_by(Policy.project_id, Policy.product_id)
                     .order_by(func.count().desc()).limit(1)).first()
    return (row[0], row[1]) if row else (None, None)


def vote_in_bulk(db: Session, *, proposal: Proposal, rng: np.random.Generator,
                 turnout: float, weights: dict[tuple[str, ...], float]) -> int:
    """Cast ballots for a random share of the electorate, set-based; the secrets are dropped.

    For the demo (and for counting paper ballots): electors are flipped to ``has_voted``
    by chunks and the ballots inserted shuffled, with no order tying them to electors.
    """
    members = np.array(db.scalars(select(Elector.member_id).where(
        Elector.proposal_id == proposal.id, Elector.has_voted.is_(False))
        .order_by(Elector.member_id)).all(), dtype=np.int64)
    if members.size == 0:
        return 0
    voters = members[rng.random(members.size) < turnout]
    choices = list(weights)
    p = np.asarray([weights[c] for c in choices], dtype=float)
    picks = rng.choice(len(choices), size=voters.size, p=p / p.sum())
    for start in range(0, voters.size, CHUNK):
        ids = [int(x) for x in voters[start:start + CHUNK]]
        db.execute(update(Elector).where(Elector.proposal_id == proposal.id,
                                         Elector.member_id.in_(ids)).values(has_voted=True))
    rows, project_id = [], service.ballot_project_id(db, proposal)
    for k in rng.permutation(voters.size):
        choice = choices[int(picks[k])]
        secret = rng.bytes(32)
        rows.append({"proposal_id": proposal.id, "project_id": project_id,
                     "choice": receipts.encode_choice(choice),
                     "receipt": receipts.receipt_for(proposal_id=proposal.id, choice=choice,
                                                     secret=secret)})
    for start in range(0, len(rows), CHUNK):
        db.execute(insert(Ballot), rows[start:start + CHUNK])
    return int(voters.size)


def _run(db, proposal, g, *, opened, closed, turnout, weights, actor, close=True,
         receipt_for: tuple[str, ...] | None = None):
    """Open, vote, close. With ``receipt_for`` (a choice), one elector first votes it with
    a receipt the demo can print (``demo_voter``)."""
    service.open_proposal(db, proposal_id=proposal.id, actor=actor, now=_at(opened))
    if receipt_for is not None:
        _vote_with_receipt(db, proposal, g, receipt_for)
    vote_in_bulk(db, proposal=proposal, rng=g, turnout=turnout, weights=weights)
    if close:
        service.close_proposal(db, proposal_id=proposal.id, actor=actor, now=_at(closed, 18))
    return proposal.id


def demo_ballot_secret(*, proposal_id: int, member_id: int) -> bytes:
    """The demo voter's ballot secret, derived so that the demo can print it again.

    A real secret comes from the operating system (``receipts.new_secret``) and is shown to
    its voter once; this one anybody reading this code can work out, which is what a demo
    database wants and a real one must never have.
    """
    return hashlib.sha256(f"mutua-demo-ballot|{proposal_id}|{member_id}".encode()).digest()


def _vote_with_receipt(db: Session, proposal: Proposal, g: np.random.Generator,
                       choice: tuple[str, ...]) -> int | None:
    """One elector, drawn at random, votes ``choice`` as ``ballots.cast_ballot`` stores a
    ballot (the owner tag on the elector, the receipt beside the choice), with the secret
    of ``demo_ballot_secret``."""
    electors = db.scalars(select(Elector.member_id).where(Elector.proposal_id == proposal.id)
                          .order_by(Elector.member_id)).all()
    if not electors:
        return None
    member_id = int(electors[int(g.integers(len(electors)))])
    secret = demo_ballot_secret(proposal_id=proposal.id, member_id=member_id)
    db.execute(update(Elector).where(Elector.proposal_id == proposal.id,
                                     Elector.member_id == member_id)
               .values(has_voted=True, ballot_tag=receipts.owner_tag(
                   proposal_id=proposal.id, member_id=member_id, secret=secret)))
    db.execute(insert(Ballot).values(
        proposal_id=proposal.id, project_id=service.ballot_project_id(db, proposal),
        choice=receipts.encode_choice(choice),
        receipt=receipts.receipt_for(proposal_id=proposal.id, choice=choice, secret=secret)))
    return member_id


def demo_voter(db: Session, *, among=None, exclude=()) -> dict | None:
    """The member who voted with a printable receipt: who, on what, and the secret that
    checks it (``{"member_id", "proposal_id", "title_zh", "title_en", "choice", "secret",
    "receipt"}``); None when the demo has none. ``among`` (a select of member ids) narrows
    the search; ``exclude`` leaves members out."""
    q = (select(Elector.member_id, Proposal.id, Proposal.title_zh, Proposal.title_en)
         .join(Proposal, Proposal.id == Elector.proposal_id)
         .where(Elector.ballot_tag.is_not(None), Elector.member_id.not_in(list(exclude)))
         .order_by(Proposal.id, Elector.member_id))
    if among is not None:
        q = q.where(Elector.member_id.in_(among))
    for member_id, proposal_id, title_zh, title_en in db.execute(q):
        secret = demo_ballot_secret(proposal_id=proposal_id, member_id=member_id)
        choices = db.scalars(select(Ballot.choice).where(Ballot.proposal_id == proposal_id)
                             .distinct()).all()
        for choice in sorted(choices):
            receipt = receipts.receipt_for(proposal_id=proposal_id,
                                           choice=receipts.decode_choice(choice), secret=secret)
            if db.scalar(select(Ballot.receipt).where(Ballot.proposal_id == proposal_id,
                                                      Ballot.receipt == receipt)):
                return {"member_id": member_id, "proposal_id": proposal_id,
                        "title_zh": title_zh, "title_en": title_en,
                        "choice": receipts.decode_choice(choice),
                        "secret": receipts.secret_to_text(secret), "receipt": receipt}
    return None


def _window(opened: date, closed: date) -> dict:
    return {"opens_at": _at(opened), "closes_at": _at(closed, 17)}


def _next_period_id(db: Session, product_id: int, today: date, actor: Principal) -> int:
    """The product's first period not yet on sale, made for the quarter after next if none."""

    period = catalog_service.next_unsold_period(db, product_id=product_id, on=today)
    if period is not None:
        return period.id
    q = Quarter.of(today).next().next()
    product = db.get(Product, product_id)
    made = catalog_service.create_period(
        db, product_code=product.code, actor=actor,
        period=PeriodDef(code=str(q), sale_start=q.start - timedelta(days=14), sale_end=q.end,
                         cover_start=q.start))
    return made.id


def _pricing(db, g, project_id, product_id, opened, closed, today, actor) -> int | None:
    period_id = _next_period_id(db, product_id, today, actor)
    try:
        p = experience.generate_pricing_proposal(
            db, product_id=product_id, period_id=period_id,
            experience_from=Quarter.of(today).previous().previous().previous().start,
            experience_to=opened, quorum="0.1", actor=actor, today=opened,
            **_window(opened, closed))
    except DomainError:
        p = _manual_pricing(db, project_id, product_id, period_id, opened, closed, actor)
    return _run(db, p, g, opened=opened, closed=closed, turnout=0.31, actor=actor,
                weights={("yes",): 0.71, ("no",): 0.21, ("abstain",): 0.08})


def _manual_pricing(db, project_id, product_id, period_id, opened, closed, actor) -> Proposal:
    """Without enough claims history: raise the youngest band's coefficients by 5%."""
    from decimal import Decimal

    before = db.get(SalePeriod, period_id).sale_start
    table_id = enactment.current_table_id(db, product_id=product_id, before=before)
    cells = catalog_service.table_cells(db, table_id=table_id)
    young = min(c.age_min for c in cells)
    payload = {"product_id": product_id, "period_id": period_id, "cells": [
        {"age_min": c.age_min, "age_max": c.age_max, "occupation_class": c.occupation_class,
         "coefficient": str((c.coefficient * (Decimal("1.05") if c.age_min == young else 1))
                            .quantize(Decimal("0.0001")))} for c in cells]}
    return service.create_proposal(
        db, kind="pricing", project_id=project_id, title_zh="青年档保额系数上调5%",
        title_en="Raise the youngest band's coefficients by 5%", quorum="0.1",
        payload=payload, actor=actor, today=opened, **_window(opened, closed))


def _allocation(db, g, project_id, opened, closed, today, actor) -> int:
    p = service.create_proposal(
        db, kind="allocation", project_id=project_id, threshold="two_thirds",
        title_zh="结余分配比例调整:提升保额60%、救助出险会员30%、增值服务10%",
        title_en="Surplus shares: 60% sum-insured uplift, 30% aid, 10% services",
        body_en="A special resolution: it changes how surplus is shared from the next close.",
        quorum="0.1", actor=actor, today=opened,
        payload={"uplift": "0.60", "aid": "0.30", "services": "0.10",
                 "effective_from": str(Quarter.of(today).next())},
        **_window(opened, closed))
    return _run(db, p, g, opened=opened, closed=closed, turnout=0.27, actor=actor,
                weights={("yes",): 0.78, ("no",): 0.15, ("abstain",): 0.07},
                receipt_for=("yes",))


def _failed_quorum(db, g, project_id, opened, closed, today, actor) -> int:
    p = service.create_proposal(
        db, kind="motion", project_id=project_id, title_zh="增设会员线下服务站",
        title_en="Open walk-in service points for members", quorum="0.25", actor=actor,
        today=opened, **_window(opened, closed))
    return _run(db, p, g, opened=opened, closed=closed, turnout=0.06, actor=actor,
                weights={("yes",): 0.6, ("no",): 0.3, ("abstain",): 0.1})


def _election(db, g, opened, closed, today, actor) -> int | None:
    on = opened
    pool = db.scalars(select(Policy.member_id).where(
        Policy.status == "in_force", Policy.cover_start <= on, Policy.cover_end >= on)
        .order_by(Policy.member_id).limit(500)).all()
    if len(set(pool)) < 5:
        return None
    candidates = [int(x) for x in g.choice(sorted(set(pool)), size=5, replace=False)]
    p = service.create_proposal(
        db, kind="election", project_id=None, title_zh="第一届会员代表选举(5选3)",
        title_en="Election of member representatives (3 of 5)", quorum="0.05", actor=actor,
        today=opened, payload={"seats": 3, "candidates": candidates}, **_window(opened, closed))
    c = [o["code"] for o in p.options if o["code"] != "abstain"]
    weights = {(c[0], c[1]): 0.22, (c[0],): 0.12, (c[1], c[2]): 0.18, (c[2], c[3]): 0.14,
               (c[3],): 0.08, (c[4],): 0.06, (c[0], c[2], c[4]): 0.12, ("abstain",): 0.08}
    return _run(db, p, g, opened=opened, closed=closed, turnout=0.12, actor=actor,
                weights={tuple(sorted(k, key=c.index)) if k != ("abstain",) else k: v
                         for k, v in weights.items()})


def _open_motion(db, g, today, actor) -> int:
    opened = today - timedelta(days=2)
    p = service.create_proposal(
        db, kind="motion", project_id=None, title_zh="理赔材料线上提交全面推行",
        title_en="Make online claim documents the default", quorum="0.1", allow_change=True,
        actor=actor, today=opened, opens_at=_at(opened), closes_at=_at(today + timedelta(12), 17))
    return _run(db, p, g, opened=opened, closed=today, turnout=0.04, actor=actor, close=False,
                weights={("yes",): 0.8, ("no",): 0.12, ("abstain",): 0.08})


# --- meetings, feedback, ratings ------------------------------------------------------------

FEEDBACK = [
    ("理赔材料能否减少纸质原件?", "Fewer paper originals for claims?", "done",
     "已上线电子发票直连,原件不再需要。"),
    ("希望保额提升后短信通知。", "Send a text when the sum insured is raised.", "answered",
     "下季度起结算后自动发送短信。"),
    ("外卖骑手夜间事故的认定标准?", "How are night-time rider accidents assessed?",
     "in_progress", None),
    ("增加线上恳谈会的场次。", "More online consultation meetings, please.", "open", None),
    ("猝死责任的等待期能否缩短?", "Shorter waiting period for sudden death?", "open", None),
]


def _meetings(db, g, project_id, today, actor) -> tuple[list[int], dict]:
    held = meetings.schedule_meeting(
        db, project_id=project_id, title_zh="新市民意外保障会员恳谈会",
        title_en="New-citizen accident cover: member consultation", mode="in_person",
        place="深圳市福田区会员服务中心", starts_at=_at(today - timedelta(days=30), 14),
        capacity=80, actor=actor)
    online = meetings.schedule_meeting(
        db, project_id=None, title_zh="季度结余共享线上说明会",
        title_en="Quarterly surplus sharing: online briefing", mode="online",
        place="https://meet.mutua.example/q", starts_at=_at(today - timedelta(days=10), 19),
        actor=actor)
    coming = meetings.schedule_meeting(
        db, project_id=project_id, title_zh="下一期保额系数说明会",
        title_en="Next period's coefficients explained", mode="online",
        place="https://meet.mutua.example/next", starts_at=_at(today + timedelta(days=9), 19),
        actor=actor)
    members = db.scalars(select(Policy.member_id).where(Policy.project_id == project_id)
                         .distinct().order_by(Policy.member_id).limit(2000)).all()
    for meeting, n in ((held, 60), (online, 120), (coming, 25)):
        who = [int(x) for x in g.choice(members, size=min(n, len(members)), replace=False)]
        if who:
            db.execute(insert(MeetingRegistration), [
                {"meeting_id": meeting.id, "member_id": m} for m in who])
        if meeting is not coming and who:
            present = [m for m in who if g.random() < 0.8]
            meetings.record_attendance(db, meeting_id=meeting.id, member_ids=present,
                                       actor=actor)
            meetings.publish_minutes(
                db, meeting_id=meeting.id, actor=actor,
                minutes_zh="会员就理赔时效、保额提升与服务网点提出意见,均已登记跟进。",
                minutes_en="Members raised claim turnaround, uplifts and service points; "
                           "each point is tracked as a feedback item.")
    counts: dict[str, int] = {}
    for zh, en, status, answer in FEEDBACK:
        item = meetings.raise_feedback(db, text=f"{zh} / {en}", meeting_id=held.id,
                                       actor=actor)
        if status != "open":
            meetings.update_feedback(db, item_id=item.id, owner="member-services",
                                     status="in_progress", actor=actor)
        if status in ("answered", "done"):
            meetings.update_feedback(db, item_id=item.id, response=answer, status="answered",
                                     actor=actor)
        if status == "done":
            meetings.update_feedback(db, item_id=item.id, status="done", actor=actor)
        counts[status] = counts.get(status, 0) + 1
    return [held.id, online.id, coming.id], counts


SCORE_P = [0.04, 0.06, 0.15, 0.35, 0.40]


def _ratings(db, g, today, actor) -> dict:
    """Ratings of enrolments and closed claims over the last six months, set-based."""
    services = []
    pols = db.execute(select(Policy.id, Policy.member_id, Policy.project_id)
                      .order_by(Policy.id).limit(20_000)).all()
    for pid, mid, proj in pols:
        services.append(("enrolment", pid, mid, proj, "enrolment"))
    services += _closed_claims(db)
    if not services:
        return {"count": 0}
    take = g.random(len(services)) < min(1.0, 600 / len(services))
    chosen = [s for s, t in zip(services, take, strict=True) if t]
    scores = g.choice([1, 2, 3, 4, 5], size=len(chosen), p=SCORE_P)
    ages = g.integers(0, 180, size=len(chosen))
    rows = []
    for (kind, ref, mid, proj, team), score, age in zip(chosen, scores, ages, strict=True):
        day = today - timedelta(days=int(age))
        comment = {1: "处理太慢", 2: "说明不清楚", 3: "一般", 4: "满意", 5: "非常满意"}[int(score)]
        rows.append({"project_id": proj, "member_id": mid, "service_kind": kind,
                     "service_ref": str(ref), "team": team, "score": int(score),
                     "comment": comment, "rated_on": day, "month": day.strftime("%Y-%m")})
    for start in range(0, len(rows), CHUNK):
        db.execute(insert(ServiceRating), rows[start:start + CHUNK])
    low = select(ServiceRating.id, ServiceRating.project_id, ServiceRating.member_id,
                 ServiceRating.team, ServiceRating.score).where(ServiceRating.score <= 2)
    follow = [{"project_id": p, "source": "rating", "rating_id": i, "member_id": m,
               "owner": t, "text": f"Rating {s}/5: follow up with the member"}
              for i, p, m, t, s in db.execute(low).all()]
    if follow:
        db.execute(insert(FeedbackItem), follow)
    audit.record(db, actor=actor, action="rating.demo", entity="rating", entity_id="bulk",
                 detail={"ratings": len(rows), "follow_ups": len(follow)})
    return {"count": len(rows), "follow_ups": len(follow)}


def _closed_claims(db) -> list[tuple]:
    rows = db.execute(select(Claim.id, Claim.member_id, Claim.project_id)
                      .where(Claim.status == "closed").order_by(Claim.id).limit(5000)).all()
    return [("claim", i, m, p, "claims") for i, m, p in rows]
