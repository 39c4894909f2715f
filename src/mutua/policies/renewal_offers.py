"""Renewal offers to members (续保邀请) and the daily renewal run.

A product's policies ending within its ``renewal_offer_days`` are offered renewal into the
next sale period, at the price then (the one a member vote may have changed) and re-rated
on the member's age at the new start and class now (policies.renewals.renewal_offer). The
member accepts (the renewed policy is written at once, its premium owed on a due of its
own that they pay like any other) or declines. A policy whose member consented to
auto-renewal (``Policy.auto_renew``) is renewed at its end without a word from them.

The daily run (:func:`run`) does, set-based and in one transaction: write the new offers
and tell their members; tell members whose cover ends soon with neither an accepted offer
nor auto-renewal; renew the auto-renewals whose cover has ended; and settle the offers
that ended: renewed when the renewed policy is paid, expired when nothing was taken up or
its premium lapsed. A staff group renewal (policies.renewals.renew_group) still renews
everyone in force; the run then counts those offers renewed too.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise

from sqlalchemy import Integer, and_, exists, literal, or_, select, update
from sqlalchemy.orm import Session, aliased

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.catalog.models import Product, SalePeriod
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.db import batched, copy_rows
from mutua.errors import Conflict, NotFound, ValidationFailed
from mutua.members.models import Member
from mutua.money import to_fen
from mutua.notify import service as notify
from mutua.policies import domain, renewals
from mutua.policies import service as policies_service
from mutua.policies.models import Policy, PremiumDue, RenewalOffer

OFFERED, ACCEPTED, DECLINED, EXPIRED, RENEWED = (
    "offered", "accepted", "declined", "expired", "renewed")
ENDING_NOTICE_DAYS = 14  # members not renewing hear this many days before their cover ends
CHUNK = 5000  # offer or member ids in one statement


@dataclass
class RunResult:
    offered: int = 0
    told_ending: int = 0
    auto_renewed: int = 0
    renewed: int = 0
    expired: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def run(db: Session, *, on: date, actor: Principal) -> RunResult:
    """The daily renewal run (safe to run again the same day: it does nothing twice)."""
    result = RunResult(offered=make_offers(db, on=on))
    result.told_ending = tell_cover_ending(db, on=on)
    result.auto_renewed = renew_automatically(db, on=on)
    result.renewed, result.expired = settle_ended(db, on=on)
    audit.record(db, actor=actor, action="policy.renewal_run", entity="renewal_offers",
                 entity_id=0, detail={"on": on.isoformat(), **result.to_dict()})
    return result


# --- offers -------------------------------------------------------------------------------

def renewal_periods(db: Session) -> list[tuple[Product, SalePeriod, date, date | None]]:
    """(product, period, from, until) for every period of an active product: a policy
    whose cover ends the day before a day in [from, until) renews into that period (the
    one on sale when it ends; until None for the last). A handful of catalogue rows."""
    out = []
    for product in db.scalars(select(Product).where(Product.status == "active")):
        periods = sorted(product.periods, key=lambda p: p.sale_start)
        for period, after in pairwise([*periods, None]):
            out.append((product, period, period.sale_start,
                        after.sale_start if after is not None else None))
    return out


def make_offers(db: Session, *, on: date) -> int:
    """Offer renewal to every policy in force ending within its product's offer days, into
    the period on sale when it ends, if its member holds nothing there yet and it has no
    offer; members told in one statement per period. Open offers take the price now."""
    written = 0
    for product, new, starts, until in renewal_periods(db):
        db.execute(update(RenewalOffer).where(RenewalOffer.period_id == new.id,
                                              RenewalOffer.state == OFFERED)
                   .values(premium=product.uniform_premium)
                   .execution_options(synchronize_session=False))
        rows = _quoted(db, product, new, on, starts, until)
        if not rows:
            continue
        copy_rows(db, RenewalOffer.__tablename__, [
            "policy_id", "member_id", "cover_start", "cover_end", "age_at_start",
            "occupation_class", "coefficient", "expires_on"],
            ((pid, m.id, o.cover_start, o.cover_end, o.age, m.occupation_class,
              o.coefficient, end) for pid, end, m, o in rows),
            same={"project_id": product.project_id, "product_id": product.id,
                  "period_id": new.id, "premium": to_fen(product.uniform_premium),
                  "state": OFFERED, "offered_on": on, "by_auto_renewal": False,
                  "created_at": utcnow()})
        notify.tell_from_select(db, event="renewal.offered", rows=_told(and_(
            RenewalOffer.period_id == new.id, RenewalOffer.state == OFFERED)), once=True)
        written += len(rows)
    return written


def _quoted(db: Session, product: Product, new: SalePeriod, on: date, starts: date,
            until: date | None):
    """(policy id, its last day, member, quote) of the policies to offer renewal into
    ``new`` now; a member the new period would refuse (too old, a class no longer sold)
    gets no offer."""
    offered = select(RenewalOffer.id).where(RenewalOffer.policy_id == Policy.id).exists()
    window = and_(Policy.cover_end <= on + timedelta(days=product.renewal_offer_days),
                  Policy.cover_end >= starts - timedelta(days=1), ~offered)
    if until is not None:
        window = and_(window, Policy.cover_end < until - timedelta(days=1))
    cells = catalog_service.table_cells(db, table_id=new.coefficient_table_id)
    # A renewal continues cover rather than selling it: the new period's sale window does
    # not bind it (an offer goes out before that period is on sale), its ages and classes do.
    rules = domain.ProductRules(product.code, product.min_age, product.max_age,
                                tuple(product.allowed_classes), date.min, date.max)
    out = []
    for (pid, end), member in renewals.renewable(db, product.id, None, new.id, on,
                                                 where=window):
        quote = renewals.renewal_offer(rules, cells, member, last_cover_end=end,
                                       term_days=product.term_days, on=on)
        if not quote.problems:
            out.append((pid, end, member, quote))
    return out


def _told(where):
    """(project, member, offer id, policy number renewed, premium in fen) of the offers."""
    return (select(RenewalOffer.project_id, RenewalOffer.member_id, RenewalOffer.id,
                   Policy.policy_number, RenewalOffer.premium)
            .join(Policy, Policy.id == RenewalOffer.policy_id).where(where))


# --- the member's answer ------------------------------------------------------------------

def offers_of(db: Session, *, member_id: int) -> list[tuple[RenewalOffer, Policy]]:
    """A member's offers with the policy each renews, newest first."""
    return list(db.execute(
        select(RenewalOffer, Policy).join(Policy, Policy.id == RenewalOffer.policy_id)
        .where(RenewalOffer.member_id == member_id)
        .order_by(RenewalOffer.expires_on.desc(), RenewalOffer.id.desc()).limit(100)).tuples())


def by_policy(db: Session, *, member_id: int) -> dict[int, RenewalOffer]:
    """A member's offers keyed by the policy each renews (what their pages show)."""
    return {o.policy_id: o for o, _ in offers_of(db, member_id=member_id)}


def offer_for(db: Session, *, policy_id: int) -> RenewalOffer | None:
    return db.scalar(select(RenewalOffer).where(RenewalOffer.policy_id == policy_id))


def get(db: Session, *, offer_id: int, actor: Principal) -> RenewalOffer:
    """An offer; a member asking for another member's offer gets NotFound."""
    offer = db.get(RenewalOffer, offer_id)
    if offer is None or (actor.is_member and offer.member_id != actor.member_id):
        raise NotFound("renewal offer %(offer_id)s not found", offer_id=offer_id)
    return offer


def accept(db: Session, *, offer_id: int, actor: Principal, on: date | None = None,
           paid: bool = False, reference: str = "") -> Policy:
    """The member renews: the renewed policy is written now, its premium owed on a due of
    its own (or ``paid`` at the counter). Of two acceptances at once one wins; the other
    gets Conflict and changes nothing."""
    on = on or shanghai_today()
    offer = get(db, offer_id=offer_id, actor=actor)
    if paid and not 1 <= len(reference) <= 32:
        raise ValidationFailed("reference", "must be 1 to 32 characters when the premium "
                                            "is paid with the acceptance")
    _check_open(offer, on)
    if db.scalar(select(_holds_next().where(RenewalOffer.id == offer.id))):
        raise Conflict("the member already holds a policy in the period offered")
    _decide(db, offer, ACCEPTED)
    policy = _write(db, [offer], on=on, paid=paid, reference=reference)[0]
    audit.record(db, actor=actor, action="policy.renewal_accept", entity="policy",
                 entity_id=policy.id, project_id=offer.project_id,
                 detail={"offer": offer.id, "renews": offer.policy_id, "paid": paid})
    return policy


def decline(db: Session, *, offer_id: int, actor: Principal, on: date | None = None
            ) -> RenewalOffer:
    """The member does not renew; the policy then ends with its period."""
    on = on or shanghai_today()
    offer = get(db, offer_id=offer_id, actor=actor)
    _check_open(offer, on)
    _decide(db, offer, DECLINED)
    audit.record(db, actor=actor, action="policy.renewal_decline", entity="policy",
                 entity_id=offer.policy_id, project_id=offer.project_id,
                 detail={"offer": offer.id})
    db.refresh(offer)
    return offer


def _holds_next():
    """Whether the offer's member already holds the period offered (a staff group renewal
    may have renewed them meanwhile), as a correlated EXISTS."""
    held = aliased(Policy)
    return exists().where(held.member_id == RenewalOffer.member_id,
                          held.product_id == RenewalOffer.product_id,
                          held.period_id == RenewalOffer.period_id)


def _check_open(offer: RenewalOffer, on: date) -> None:
    if offer.state == EXPIRED or (offer.state == OFFERED and on > offer.expires_on):
        raise ValidationFailed("offer_id", "has expired: the cover it renews has ended")
    if offer.state != OFFERED:
        raise Conflict("renewal offer %(id)s is already %(state)s", id=offer.id, state=offer.state)


def _decide(db: Session, offer: RenewalOffer, state: str) -> None:
    """Move the offer out of ``offered`` in one conditional UPDATE: under two acceptances
    at once the second finds it decided (PostgreSQL re-reads the row after the first
    commits) and gets Conflict."""
    done = db.execute(update(RenewalOffer).where(RenewalOffer.id == offer.id,
                                                 RenewalOffer.state == OFFERED)
                      .values(state=state, decided_at=utcnow())
                      .execution_options(synchronize_session=False)).rowcount
    if done != 1:
        raise Conflict("renewal offer %(id)s was decided meanwhile", id=offer.id)


def set_auto_renew(db: Session, *, policy_id: int, auto_renew: bool, actor: Principal
                   ) -> Policy:
    """The member gives or withdraws consent to be renewed without being asked."""
    policy = policies_service.get(db, policy_id=policy_id, actor=actor)
    if policy.status not in (domain.IN_FORCE, domain.UNPAID):
        raise Conflict("policy %(policy_number)s is %(status)s: nothing to renew",
                       policy_number=policy.policy_number, status=policy.status)
    policy.auto_renew = auto_renew
    audit.record(db, actor=actor, action="policy.auto_renew", entity="policy",
                 entity_id=policy.id, project_id=policy.project_id,
                 detail={"auto_renew": auto_renew})
    db.flush()
    return policy


# --- the run's other steps ----------------------------------------------------------------

def tell_cover_ending(db: Session, *, on: date, days: int = ENDING_NOTICE_DAYS) -> int:
    """Members offered renewal whose cover ends within ``days`` and who will not be renewed
    (they declined, or have not answered and gave no consent to auto-renewal) are told
    once, in one statement."""
    not_renewing = or_(RenewalOffer.state == DECLINED,
                       and_(RenewalOffer.state == OFFERED, Policy.auto_renew.is_(False)))
    rows = (select(Policy.project_id, Policy.member_id, Policy.id, Policy.policy_number,
                   literal(None, Integer()))
            .join(RenewalOffer, RenewalOffer.policy_id == Policy.id)
            .where(Policy.status == domain.IN_FORCE, Policy.cover_end >= on,
                   Policy.cover_end <= on + timedelta(days=days), not_renewing))
    return notify.tell_from_select(db, event="cover.ending", rows=rows, once=True)


def renew_automatically(db: Session, *, on: date) -> int:
    """Open offers of auto-renewing policies whose cover ends by ``on`` are renewed, in one
    batch per product and period (each on a due of its own)."""
    offers = list(db.scalars(
        select(RenewalOffer).join(Policy, Policy.id == RenewalOffer.policy_id)
        .where(RenewalOffer.state == OFFERED, RenewalOffer.expires_on <= on,
               Policy.auto_renew.is_(True), Policy.status == domain.IN_FORCE,
               ~_holds_next())))
    if not offers:
        return 0
    for ids in batched([o.id for o in offers], CHUNK):
        db.execute(update(RenewalOffer).where(RenewalOffer.id.in_(ids))
                   .values(state=ACCEPTED, by_auto_renewal=True, decided_at=utcnow())
                   .execution_options(synchronize_session=False))
    _write(db, offers, on=on, paid=False, reference="")
    return len(offers)


def settle_ended(db: Session, *, on: date) -> tuple[int, int]:
    """Offers whose cover ended before ``on``: renewed when the renewed policy (written by
    acceptance, auto-renewal or a staff group renewal) is in force; else expired (not taken
    up, or its premium lapsed). Returns (renewed, expired)."""
    ended = and_(RenewalOffer.expires_on < on, RenewalOffer.state.in_((OFFERED, ACCEPTED)))
    successor = (select(Policy.id).where(Policy.renewed_from_id == RenewalOffer.policy_id)
                 .limit(1).scalar_subquery())
    db.execute(update(RenewalOffer).where(ended, RenewalOffer.renewed_policy_id.is_(None))
               .values(renewed_policy_id=successor)
               .execution_options(synchronize_session=False))
    in_force = select(Policy.id).where(Policy.id == RenewalOffer.renewed_policy_id,
                                       Policy.status == domain.IN_FORCE).exists()
    renewed = db.execute(update(RenewalOffer).where(ended, in_force).values(state=RENEWED)
                         .execution_options(synchronize_session=False)).rowcount
    still_owed = select(PremiumDue.id).where(PremiumDue.policy_id == RenewalOffer.renewed_policy_id,
                                             PremiumDue.state == "open").exists()
    expired = db.execute(update(RenewalOffer).where(ended, ~still_owed).values(state=EXPIRED)
                         .execution_options(synchronize_session=False)).rowcount
    return renewed, expired


def _write(db: Session, offers: list[RenewalOffer], *, on: date, paid: bool,
           reference: str) -> list[Policy]:
    """The renewed policies of accepted offers, through the renewal writer, one batch per
    product and period; each offer then points at its renewed policy (one statement per
    5,000 offers). Returns the renewed policies in the order of ``offers``."""
    batches: dict[tuple[int, int], list[RenewalOffer]] = defaultdict(list)
    for o in offers:
        batches[(o.product_id, o.period_id)].append(o)
    members = _members(db, [o.member_id for o in offers])
    written: dict[int, int] = {}
    for (product_id, period_id), batch in batches.items():
        product, period = db.get(Product, product_id), db.get(SalePeriod, period_id)
        ids = renewals.write_renewals(
            db, product, period, [(members[o.member_id], _as_quote(o)) for o in batch],
            [o.policy_id for o in batch], on=on, paid=paid,
            reference=reference or f"RENEW-{period.code}", invoice=False)
        written.update(zip([o.id for o in batch], ids, strict=True))
    successor = (select(Policy.id).where(Policy.renewed_from_id == RenewalOffer.policy_id)
                 .limit(1).scalar_subquery())
    for offer_ids in batched(written, CHUNK):
        db.execute(update(RenewalOffer).where(RenewalOffer.id.in_(offer_ids))
                   .values(renewed_policy_id=successor, **({"state": RENEWED} if paid else {}))
                   .execution_options(synchronize_session=False))
    db.expire_all()
    if len(offers) > 1:  # a run's batch: the caller counts, it does not read them back
        return []
    return [db.get(Policy, written[offers[0].id])]


def _as_quote(offer: RenewalOffer) -> policies_service.Offer:
    return policies_service.Offer(offer.cover_start, offer.cover_end, offer.age_at_start,
                                  offer.coefficient, ())


def _members(db: Session, ids: list[int]) -> dict[int, renewals.MemberRow]:
    out = {}
    for chunk in batched(ids, CHUNK):
        out.update({mid: renewals.MemberRow(mid, status, birth, cls) for mid, status, birth, cls
                    in db.execute(select(Member.id, Member.status, Member.birth_date,
                                         Member.occupation_class)
                                  .where(Member.id.in_(chunk)))})
    return out

