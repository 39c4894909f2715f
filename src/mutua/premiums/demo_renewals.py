"""The demo's renewals: the last period renewed into the open one, and the renewal offers
going out now.

History: the builder re-enrolled most members whose year of cover ended into the open
period (builder.RENEWAL_RATE), as new policies (their cover did not always continue the
day after, so they are not linked and keep their waiting periods). Each ended policy gets
the offer it would have had, as the renewal run leaves it: renewed, pointing at the policy
the member holds now (some by auto-renewal), declined by some of the others, expired for
the rest; the dashboard's renewal rate then reads about that rate. Now: the renewal run offers renewal to
policies ending within their product's offer days, and members answer: some consent to
auto-renewal, some decline, some accept (owing the new premium), the rest have not yet.

Everything is set-based but the few hundred answers, so `mutua demo` stays as fast.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased

from mutua.auth.security import Principal
from mutua.dates import utcnow
from mutua.db import batched, copy_rows
from mutua.errors import DomainError
from mutua.money import to_fen
from mutua.policies import domain, renewal_offers
from mutua.policies.models import Policy, RenewalOffer

ANSWERS = 300  # live offers answered one by one (accepted or declined), at most
AUTO_SHARE, DECLINE_SHARE, ACCEPT_SHARE = 0.3, 0.15, 0.25  # of the live offers


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal) -> dict:
    history = offers_of_the_last_renewal(db, today=today)
    return {"history": history, **answer_live_offers(db, rng=rng, today=today, actor=actor)}


def offers_of_the_last_renewal(db: Session, *, today: date) -> dict:
    """Every policy whose cover ended gets the offer the run would have written 30 days
    before: renewed when the member holds the product again in a later period (one in four
    by auto-renewal), else one in three declined and the rest expired. One read and one
    bulk write."""
    new = aliased(Policy)
    rows = db.execute(
        select(Policy.project_id, Policy.id, Policy.member_id, Policy.product_id,
               Policy.period_id, Policy.premium, Policy.cover_end, Policy.age_at_start,
               Policy.occupation_class, Policy.coefficient, new.id, new.period_id,
               new.cover_start, new.cover_end, new.age_at_start, new.coefficient)
        .outerjoin(new, (new.member_id == Policy.member_id) & (new.product_id == Policy.product_id)
                   & (new.enrolled_on > Policy.enrolled_on))
        .where(Policy.status == domain.IN_FORCE, Policy.cover_end < today)
        .order_by(Policy.id, new.enrolled_on)).all()
    rows = [r for r, before in zip(rows, [None, *rows], strict=False)
            if before is None or before[1] != r[1]]  # the first later policy of each
    states: dict[str, int] = {}

    def offer(r):
        (project, pid, member, product, period, premium, end, age, cls, coef,
         nid, nperiod, nstart, nend, nage, ncoef) = r
        state = "renewed" if nid else "declined" if pid % 3 == 0 else "expired"
        states[state] = states.get(state, 0) + 1
        start = nstart or end + timedelta(days=1)
        return (project, pid, member, product, nperiod or period, to_fen(premium), start,
                nend or start + timedelta(days=364), nage or age + 1, cls,
                ncoef or coef, state, end - timedelta(days=30), end,
                bool(nid) and pid % 4 == 0, nid)

    copy_rows(db, RenewalOffer.__tablename__, [
        "project_id", "policy_id", "member_id", "product_id", "period_id", "premium",
        "cover_start", "cover_end", "age_at_start", "occupation_class", "coefficient", "state",
        "offered_on", "expires_on", "by_auto_renewal", "renewed_policy_id"],
        (offer(r) for r in rows), same={"created_at": utcnow()})
    return states


def answer_live_offers(db: Session, *, rng: np.random.Generator, today: date,
                       actor: Principal) -> dict:
    """The run offers renewal now; some members consent to auto-renewal, some decline,
    some accept (their renewed policy owed on a due they pay), the rest have not answered."""
    offered = renewal_offers.make_offers(db, on=today)
    live = list(db.execute(select(RenewalOffer.id, RenewalOffer.policy_id)
                           .where(RenewalOffer.state == "offered",
                                  RenewalOffer.offered_on == today)
                           .order_by(RenewalOffer.id)).tuples())
    draw = rng.random(len(live))
    auto = [pid for (_, pid), r in zip(live, draw, strict=True) if r < AUTO_SHARE]
    for chunk in batched(auto, 5000):
        db.execute(update(Policy).where(Policy.id.in_(chunk))
                   .values(auto_renew=True).execution_options(synchronize_session=False))
    declined = accepted = 0
    for (offer_id, _), r in list(zip(live, draw, strict=True)):
        if declined + accepted >= ANSWERS:
            break
        try:
            if AUTO_SHARE <= r < AUTO_SHARE + DECLINE_SHARE:
                renewal_offers.decline(db, offer_id=offer_id, actor=actor, on=today)
                declined += 1
            elif AUTO_SHARE + DECLINE_SHARE <= r < AUTO_SHARE + DECLINE_SHARE + ACCEPT_SHARE:
                renewal_offers.accept(db, offer_id=offer_id, actor=actor, on=today)
                accepted += 1
        except DomainError:
            continue
    told = renewal_offers.tell_cover_ending(db, on=today)
    return {"offered": offered, "auto_renew": len(auto), "declined": declined,
            "accepted": accepted, "told_cover_ending": told,
            "answer_by": (today + timedelta(days=30)).isoformat()}
