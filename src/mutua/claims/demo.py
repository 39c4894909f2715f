"""The claims part of the demo mutual: claims across every project's policies, a window at a time.

Claims are drawn from the experience in demo_experience.py (who claims, for what, how much
and when), decided by the same pure rules the service uses against the cover on the event
date (uplifts from earlier closes included), and written in bulk by demo_writer.py.

Kidney benefits are left to the health demo; here claims are accident and illness cash.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.claims import adjudication as rules
from mutua.claims.demo_experience import Drawn, ProductInfo, claimants, draw_claim, product_infos
from mutua.claims.demo_writer import CHUNK, write_claims
from mutua.claims.models import CLOSED, DECIDED, PAID, REOPENED, REPORTED, UNDER_REVIEW
from mutua.money import ZERO
from mutua.policies import domain as policies_domain
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settings import get_settings

APPEAL_RATE = 0.4  # share of denied claims whose member appeals


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal) -> dict:
    """Claims on every day of cover before today, and a summary of them."""
    return summary(draw(db, rng=rng, today=today, actor=actor))


def draw(db: Session, *, rng: np.random.Generator, today: date, actor: Principal,
         start: date | None = None, end: date | None = None,
         later: list[tuple] | None = None) -> list[Drawn]:
    """Draw, decide and write the claims whose events fall from ``start`` to ``end`` (both
    included; by default all cover before today). Decisions and payments may come later,
    up to today. Returns what was written.

    With ``later`` (a list kept between calls for consecutive windows) the payments dated
    after ``end`` wait in it, so each project's weekly batch is written once, with every
    claim it pays, by the call whose window reaches its day; a call without ``end`` (the
    last window) or without ``later`` writes every payment at once.
    """
    last = today - timedelta(days=1) if end is None else min(end, today - timedelta(days=1))
    cols = _policies(db, start=start, end=last)
    products = product_infos(db)
    chosen = claimants(rng, cols, products, start=start, end=last) if len(cols["id"]) else []
    terms_of = _terms(db, cols, np.unique([i for i, _ in chosen]), products)
    limit = Decimal(get_settings().auto_decide_limit_yuan)
    drawn = []
    for i, kind in chosen:
        claim = draw_claim(rng, cols, i, kind, products, start=start, end=last, today=today)
        if claim is None:  # not reported by today
            continue
        _decide(claim, terms_of(i, claim.event_date), rng, today, limit)
        drawn.append(claim)
    write_claims(db, drawn, cols, actor=actor, pay_through=None if later is None or end is None
                 else last, later=later if later is not None else [])
    return drawn


# --- drawing ---------------------------------------------------------------------------------

def _policies(db: Session, *, start: date | None, end: date) -> dict[str, np.ndarray]:
    """Columns of the policies with cover on some day from ``start`` to ``end``."""
    where = [Policy.cover_start <= end]
    if start is not None:
        where.append(Policy.cover_end >= start)
    rows = db.execute(select(Policy.id, Policy.project_id, Policy.product_id, Policy.member_id,
                             Policy.occupation_class, Policy.cover_start, Policy.cover_end,
                             Policy.coefficient, Policy.status)
                      .where(*where).order_by(Policy.id)).all()
    names = ["id", "project_id", "product_id", "member_id", "occupation_class", "cover_start",
             "cover_end", "coefficient", "status"]
    return {n: np.array([r[k] for r in rows], dtype=object if k >= 5 else np.int64)
            for k, n in enumerate(names)}


def _terms(db: Session, cols, chosen: np.ndarray, products: dict[int, ProductInfo]):
    """A function giving a claimant policy's terms on a date, from columns loaded in bulk."""
    ids = [int(cols["id"][i]) for i in chosen]
    uplifts: dict[int, list[tuple[int, date, Decimal]]] = defaultdict(list)
    for s in range(0, len(ids), CHUNK):
        for pid, bid, eff, added in db.execute(
                select(SumInsuredUplift.policy_id, SumInsuredUplift.benefit_id,
                       SumInsuredUplift.effective_from, SumInsuredUplift.sum_insured_added)
                .where(SumInsuredUplift.policy_id.in_(ids[s:s + CHUNK]))):
            uplifts[pid].append((bid, eff, added))

    def terms(i: int, on: date) -> rules.PolicyTerms:
        info = products[int(cols["product_id"][i])]
        coefficient = cols["coefficient"][i]
        extra = defaultdict(lambda: ZERO)
        for bid, eff, added in uplifts.get(int(cols["id"][i]), ()):
            if eff <= on:
                extra[bid] += added
        return rules.PolicyTerms(
            policy_id=int(cols["id"][i]), status=cols["status"][i],
            cover_start=cols["cover_start"][i], cover_end=cols["cover_end"][i],
            occupation_class=int(cols["occupation_class"][i]), exclusions=info.exclusions,
            covered_classes=info.allowed or None, waiting_days=info.waiting_days,
            benefits=tuple(rules.BenefitTerms(
                benefit_id=b.id, code=b.code, kind=b.kind,
                sum_insured=policies_domain.scaled_sum_insured(b.base_sum_insured, coefficient)
                + extra[b.id],
                deductible=b.deductible or ZERO,
                coinsurance_with_social=b.coinsurance_with_social,
                coinsurance_without_social=b.coinsurance_without_social,
                daily_amount=None if b.daily_amount is None
                else policies_domain.scaled_sum_insured(b.daily_amount, coefficient),
                max_days=b.max_days, shares_sum_insured_with=b.shares_sum_insured_with,
                waiting_days=b.waiting_days) for b in info.benefits))
    return terms


def _next_friday(after: date) -> date:
    return after + timedelta(days=(4 - after.weekday()) % 7 or 7)


def _decide(c: Drawn, terms: rules.PolicyTerms, rng, today: date, limit: Decimal) -> None:
    """Run the rules at report (the reserve) and at decision; place the claim in time."""
    facts = rules.ClaimFacts(event_date=c.event_date, event_type=c.event_type,
                             items=tuple(c.items))
    c.report_engine = rules.adjudicate(terms, facts)
    simple = (c.report_engine.outcome == rules.APPROVE and c.report_engine.approved <= limit
              and c.kind in rules.SIMPLE_KINDS and len(c.items) == 1)
    decided = c.reported_on if simple else (
        c.reported_on + timedelta(days=7 + int(rng.geometric(1 / 20))))
    if decided > today:
        c.status = REPORTED if (today - c.reported_on).days < 7 else UNDER_REVIEW
        return
    c.decided_on = decided
    c.final = rules.adjudicate(terms, rules.ClaimFacts(
        event_date=c.event_date, event_type=c.event_type, items=tuple(c.items),
        circumstances=c.circumstances))
    c.extra["auto"] = simple
    c.status = DECIDED
    if c.final.approved > 0:
        pay_day = _next_friday(decided)
        if pay_day <= today:
            c.paid_on, c.status = pay_day, PAID
    settled = c.paid_on or (decided if c.final.approved == 0 else None)
    if c.final.outcome == rules.DENY and rng.random() < APPEAL_RATE:
        settled = _appeal(c, rng, today)
    if settled is not None and (today - settled).days > 30:
        c.status = CLOSED


def _appeal(c: Drawn, rng, today: date) -> date | None:
    """Some denied members appeal (申诉); a handler answers a week or two later, upholding."""
    appeal_on = c.decided_on + timedelta(days=int(rng.integers(3, 15)))
    if appeal_on > today:
        return c.decided_on
    c.extra["appeal_on"] = appeal_on
    answer_on = appeal_on + timedelta(days=int(rng.integers(7, 21)))
    if answer_on > today:
        c.status = REOPENED
        return None
    c.extra["answer_on"] = answer_on
    return answer_on




def summary(drawn: list[Drawn]) -> dict:
    by_status, by_kind, reasons = defaultdict(int), defaultdict(int), defaultdict(int)
    for c in drawn:
        by_status[c.status] += 1
        by_kind[c.kind] += 1
        for r in (c.final or c.report_engine).reasons:
            reasons[r] += 1
    paid = sum((c.final.approved for c in drawn if c.paid_on), ZERO)
    denied = sum(1 for c in drawn if c.final is not None and c.final.outcome == rules.DENY)
    appealed = sum(1 for c in drawn if "appeal_on" in c.extra)
    return {"claims": len(drawn), "by_status": dict(by_status), "by_kind": dict(by_kind),
            "denied": denied, "appealed": appealed, "reasons": dict(sorted(reasons.items())),
            "paid_total": f"{paid:.2f}"}
