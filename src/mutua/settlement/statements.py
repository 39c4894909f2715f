"""What a close tells: the project statement it stores, the list of closes, and each
member's own statement of the quarters in which they had cover.

A statement adds up on its face (docs/statements.md): every term of the result, the
reserve before, set aside or drawn, and after, the deficit carried, and the split of the
distributable surplus into uplift, money carried, aid and services, so a member can
recompute it with a calculator. Amounts are strings with two decimals, as the API and
`mutua settle report --json` print them; keys are only ever added, never renamed.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.actuarial.earned import earned_between
from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Product, Project
from mutua.catalog.mutual import is_pool
from mutua.dates import Quarter
from mutua.errors import NotFound, worded_record
from mutua.ledger.service import fen_sum
from mutua.members.models import Member
from mutua.money import ZERO, fmt, from_fen, to_fen
from mutua.policies.domain import sums_insured
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settlement import allocation, reserving, uplift
from mutua.settlement.models import AidPayment, AllocationPolicy, Close
from mutua.settlement.work import Work


def percent(rate: Decimal | None) -> str | None:
    """A rate as a percentage for people: two decimals, four when it would read 0.00.

    >>> percent(Decimal("0.02314159")), percent(Decimal("0.00001234")), percent(None)
    ('2.31', '0.0012', None)
    """
    if rate is None:
        return None
    shown = (rate * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if shown == 0 and rate != 0:
        shown = (rate * 100).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    return str(shown)


def rate_text(rate: Decimal | None) -> str | None:
    """A rate with its 8 decimals, never in exponent form: 0 -> '0.00000000'."""
    return None if rate is None else f"{Decimal(rate).quantize(allocation.RATE_PLACES):f}"


def loss_ratio(incurred: int | Decimal, earned: int | Decimal) -> str | None:
    """Claims incurred per premium earned (uplift premium included), four decimals.

    >>> loss_ratio(466_00, 100_00), loss_ratio(5, 0)
    ('4.6600', None)
    """
    if earned <= 0:
        return None
    return str((Decimal(incurred) / Decimal(earned)).quantize(Decimal("0.0001"),
                                                               rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- the project statement

def close_statement(project: Project, q: Quarter, w: Work, policy: AllocationPolicy | None,
                    actor: Principal, *, dry_run: bool, defaults: allocation.Shares) -> dict:
    """The project statement of a close, as it is stored and shown."""
    y = lambda fen: fmt(from_fen(fen))  # noqa: E731
    o, a = w.outcome, w.alloc
    return {
        "project": project.code, "quarter": str(q), "dry_run": dry_run,
        "closed_by": actor.username, "period": {"start": str(q.start), "end": str(q.end)},
        **_result_terms(w, y, project.reserving_method), **_reserve_and_surplus(w, y),
        "gates": [{"name": g.name, "passed": g.passed, "reason": g.reason,
                   **worded_record(g.reason, "reason_")} for g in o.gates],
        "solvency": w.solvency,
        "allocation_policy": {
            "version": policy.version if policy else 1,
            "effective_from": policy.effective_from if policy else allocation.FIRST_QUARTER,
            "uplift": str(policy.uplift if policy else defaults.uplift),
            "aid": str(policy.aid if policy else defaults.aid),
            "services": str(policy.services if policy else defaults.services)},
        "allocations": {
            "uplift": y(a.uplift), "aid": y(int(a.aid.sum())), "services": y(a.services),
            "carried": y(a.carried), "uplift_pot": y(a.uplift_pot),
            "carried_in": y(a.carried_in), "carried_to_aid_and_services": y(a.carried_overflow),
            "aid_returned_to_uplift": y(a.aid_returned_to_uplift),
            "uplift_to_services": y(a.uplift_to_services)},
        **_uplift(w, y, q),
        **reserving.statement_terms(w.reserving, y),
        "claimants": len(w.claimants),
        "claimants_aided": int(np.count_nonzero(a.aid)),
    }


def _result_terms(w: Work, y, ibnr_method: str) -> dict:
    """Each term of the result, with the running balances they are changes of."""
    t = w.figures
    return {
        "earned_premium": y(t.earned_premium), "uplift_premium_earned": y(t.uplift_premium_earned),
        "claims_paid": y(t.claims_paid),
        "claims_payable": y(w.claims_payable),
        "claims_payable_before": y(w.claims_payable_before or 0),
        "claims_payable_change": y(t.claims_payable_change),
        # The last close counted no claims payable (it was made before they counted in
        # incurred), so this change counts every approved, unpaid claim once.
        "claims_payable_first_counted": w.last_quarter is not None
        and w.claims_payable_before is None,
        "case_reserve": y(w.case_reserve), "case_reserve_before": y(w.case_reserve_before),
        "case_reserve_change": y(t.case_reserve_change),
        "ibnr": y(w.ibnr), "ibnr_before": y(w.ibnr_before), "ibnr_change": y(t.ibnr_change),
        "ibnr_method": ibnr_method, "ibnr_chainladder": y(w.ibnr_cl), "ibnr_bf": y(w.ibnr_bf),
        "claims_incurred": y(t.claims_incurred),
        "loss_ratio": loss_ratio(t.claims_incurred, t.earned_premium + t.uplift_premium_earned),
        "expense_cap": y(w.costs.cap), "expenses": y(t.expenses),
        "expenses_actual": y(w.costs.actual), "expenses_over_cap": y(w.costs.over_cap),
        "expenses_by_category": [
            {"category": c.category, "actual": y(c.actual), "charged": y(c.charged)}
            for c in w.costs.lines],
        "result_gross": y(t.result_gross),
        "reinsurance_ceded": y(t.reinsurance_ceded),
        "reinsurance_recovered": y(t.reinsurance_recovered),
        "reinsurance": [{**r, **{k: y(r[k]) for k in ("ceded", "reinstatement_premium",
                                                     "recovered")}}
                        for r in w.reinsurance.treaties],
        "reinsurance_recovered_to_date": y(w.reinsurance.recovered_to_date),
        "reinstatement_premium_to_date": y(w.reinsurance.reinstatement_premium_to_date),
        "result": y(t.result),
    }


def _reserve_and_surplus(w: Work, y) -> dict:
    o, before = w.outcome, w.before
    return {
        "reserve_before": y(before.reserve), "reserve_drawn": y(o.reserve_drawn),
        "reserve_set_aside": y(max(o.reserve_contribution, 0)),
        "reserve_contribution": y(o.reserve_contribution),
        "reserve_after": y(o.reserve_after), "reserve_target": y(w.rules.reserve_target),
        "reserve_minimum": y(w.rules.reserve_minimum),
        "deficit_before": y(before.deficit), "deficit_made_good": y(o.deficit_made_good),
        "deficit_after": y(o.deficit_after), "surplus": y(o.surplus),
        "undistributed_before": y(before.undistributed),
        "start_up_costs_recovered": y(o.startup_costs_recovered),
        "operating_fund_repaid": y(o.fund_repaid),
        "distributable": y(o.distributable),
        "undistributed_after": y(w.undistributed_after),
    }


def _uplift(w: Work, y, q: Quarter) -> dict:
    """The declared rate, who it reached, who it could not, and the money it left."""
    a, c = w.alloc, w.candidates
    raised = uplift.Raised.of(a.raised)
    return {
        "uplift_rate": rate_text(a.rate), "uplift_rate_percent": percent(a.rate),
        "uplift_rate_capped": raised.capped,
        "uplift_carried_in": y(a.carried_in), "uplift_carried": y(w.carried),
        "uplift_rules": [
            {"product": t.code, "min_uplift_days": t.min_days,
             "max_uplift_rate": str(Decimal(t.cap_units) / allocation.RATE_SCALE),
             "rate": rate_text(min(a.rate, Decimal(t.cap_units) / allocation.RATE_SCALE))}
            for t in c.products.values()],
        "members_in_force_next_quarter": c.members_in_force,
        "policies_in_force_next_quarter": c.policies_in_force,
        "policies_eligible": c.policies_eligible,
        "policies_too_few_days_left": c.too_few_days,
        "policies_uplifted": raised.policies,
        "members_uplifted": raised.members,
        "uplift_effective_from": str(q.next().start),
        "sum_insured_added": y(raised.sum_insured_added),
        "sum_insured_added_by_benefit": [
            {"benefit": code, "money": y(m), "sum_insured_added": y(s)}
            for code, (m, s) in sorted(raised.by_code.items()) if s],
    }


def reinsurance_to_date(last: Close | None) -> tuple[int, int]:
    """(recoveries, reinstatement premium) the closes up to ``last`` counted, in fen."""
    if last is None:
        return 0, 0
    return to_fen(last.reinsurance_recovered_to_date), to_fen(last.reinstatement_premium_to_date)


# ---------------------------------------------------------------- reading closes

def _project(db: Session, code: str) -> Project:
    project = db.scalar(select(Project).where(Project.code == code, is_pool()))
    if project is None:
        raise NotFound("unknown project %(code)s", code=f"{code!r}")
    return project


def project_statement(db: Session, *, project_code: str, quarter: str,
                      actor: Principal | None = None) -> dict:
    project = _project(db, project_code)
    q = Quarter.parse(quarter)
    row = db.scalar(select(Close).where(Close.project_id == project.id, Close.quarter == str(q)))
    if row is None:
        raise NotFound("%(project)s %(quarter)s has not been closed", project=project_code, quarter=q)
    return dict(row.statement, closed_at=row.closed_at.isoformat())


def list_closes(db: Session, *, project_code: str | None = None, limit: int = 100,
                offset: int = 0) -> tuple[list[dict], int]:
    """Closed quarters by project and quarter, each as it was: its result (a loss shows as
    one), loss ratio, reserve, deficit carried, what was shared and at what uplift rate."""
    stmt = select(Close, Project.code).join(Project, Project.id == Close.project_id)
    count = select(func.count(Close.id)).join(Project, Project.id == Close.project_id)
    if project_code:
        _project(db, project_code)
        stmt = stmt.where(Project.code == project_code)
        count = count.where(Project.code == project_code)
    rows = db.execute(stmt.order_by(Project.code, Close.quarter).limit(limit).offset(offset)).all()
    return [_close_item(c, code) for c, code in rows], int(db.scalar(count) or 0)


def _close_item(c: Close, code: str) -> dict:
    """One close as the list shows it, from its columns (its statement is only ever shown
    whole, as it was told)."""
    y = lambda amount: None if amount is None else fmt(amount)  # noqa: E731
    incurred = c.claims_incurred
    ratio = (None if incurred is None else
             loss_ratio(incurred, c.earned_premium + (c.uplift_premium_earned or ZERO)))
    return {
        "project": code, "quarter": c.quarter, "closed_at": c.closed_at.isoformat(),
        "closed_by": c.closed_by, "surplus": y(c.surplus),
        "distributable": fmt(c.distributable), "reserve_after": fmt(c.reserve_after),
        "deficit_after": fmt(c.deficit_after), "policies_uplifted": c.policies_uplifted,
        "sum_insured_added": fmt(c.sum_insured_added),
        "earned_premium": fmt(c.earned_premium), "claims_incurred": y(incurred),
        "result": y(c.result), "loss_ratio": ratio, "reserve_drawn": y(c.reserve_drawn),
        "uplift_rate": rate_text(c.uplift_rate),
        "uplift_rate_percent": percent(c.uplift_rate),
        "uplift_carried": fmt(c.uplift_carried),
        "claims_payable": y(c.claims_payable),
    }


# ---------------------------------------------------------------- a member's statement

def member_statement(db: Session, *, member_id: int, quarter: str | None = None,
                     actor: Principal) -> dict:
    """A member's share of each closed quarter in which they had cover (or were aided):
    the premium they paid for that cover and its part earned in the quarter, the declared
    uplift rate, each policy's own rise (or why it had none), and the aid paid to them."""
    if actor.is_member and actor.member_id != member_id:
        raise NotFound("member %(member)s not found", member=member_id)
    if member_id is None or db.get(Member, member_id) is None:
        raise NotFound("member %(member)s not found", member=member_id)
    closes = select(Close, Project.code).join(Project, Project.id == Close.project_id)
    if quarter:
        closes = closes.where(Close.quarter == str(Quarter.parse(quarter)))
    policies = db.execute(select(Policy).where(Policy.member_id == member_id)
                          .order_by(Policy.id)).scalars().all()
    aid = {cid: (u, a) for cid, u, a in db.execute(
        select(AidPayment.close_id, AidPayment.uncovered_loss, AidPayment.aid)
        .where(AidPayment.member_id == member_id)).all()}
    known = _MemberFacts.read(db, policies)
    quarters = []
    for close, code in db.execute(closes.order_by(Close.quarter, Project.code)).all():
        q = Quarter.parse(close.quarter)
        covered = [p for p in policies if p.project_id == close.project_id
                   and p.cover_start <= min(p.cover_end, q.end) and p.cover_end >= q.start]
        if covered or close.id in aid:
            quarters.append(_member_quarter(close, code, q, covered, known,
                                            aid.get(close.id, (ZERO, ZERO))))
    audit.record(db, actor=actor, action="settlement.member_statement.read", entity="member",
                 entity_id=member_id, detail={"quarter": quarter or "all"})
    return {"member_id": member_id, "quarters": quarters}


def policy_rises(db: Session, *, policy) -> list[dict]:
    """Each close of the policy's project that could have raised it (a quarter in which it
    had cover), newest first: the declared rate and the policy's own rise, or why none.
    The caller has checked that the reader may see the policy."""
    known = _MemberFacts.read(db, [policy])
    out = []
    for close in db.scalars(select(Close).where(Close.project_id == policy.project_id)
                            .order_by(Close.quarter.desc())):
        q = Quarter.parse(close.quarter)
        if not (policy.cover_start <= min(policy.cover_end, q.end)
                and policy.cover_end >= q.start):
            continue
        day = q.next().start
        rise = _policy_rise(policy, close, q, day, known)
        out.append({"quarter": close.quarter, "uplift_rate": rate_text(close.uplift_rate),
                    "uplift_rate_percent": percent(close.uplift_rate),
                    "uplift_effective_from": str(day), "rise": rise,
                    "not_uplifted": None if rise is not None or close.uplift_rate is None
                    else _why_not(policy, close, day, known)})
    return out


class _MemberFacts:
    """What a member's statement needs beyond the policies: their uplifts and products."""

    def __init__(self, uplifts: dict, benefits: dict, products: dict, returned: dict):
        self.uplifts = uplifts  # policy id -> [(quarter, benefit id, code, money, added, from)]
        self.returned = returned  # policy id -> uplift money its cancellation gave back
        self.benefits = benefits  # product id -> {benefit id: (base sum insured, raised)}
        self.products = products  # product id -> (min_uplift_days, max_uplift_rate)
        self.raisable = {pid for pid, by_id in benefits.items()
                         if any(raised for _base, raised in by_id.values())}

    @classmethod
    def read(cls, db: Session, policies: list) -> _MemberFacts:
        ids = [p.id for p in policies]
        product_ids = {p.product_id for p in policies}
        uplifts: dict[int, list] = defaultdict(list)
        for row in db.execute(
                select(SumInsuredUplift.policy_id, SumInsuredUplift.quarter,
                       SumInsuredUplift.benefit_id, Benefit.code, SumInsuredUplift.money,
                       SumInsuredUplift.sum_insured_added, SumInsuredUplift.effective_from)
                .join(Benefit, Benefit.id == SumInsuredUplift.benefit_id)
                .where(SumInsuredUplift.policy_id.in_(ids) if ids else False)
                .order_by(SumInsuredUplift.effective_from, Benefit.id)).all():
            uplifts[row[0]].append(tuple(row[1:]))
        benefits: dict[int, dict] = defaultdict(dict)
        for product_id, benefit_id, base, shares, daily, rate in db.execute(
                select(Benefit.product_id, Benefit.id, Benefit.base_sum_insured,
                       Benefit.shares_sum_insured_with, Benefit.daily_amount,
                       Benefit.pure_risk_rate)
                .where(Benefit.product_id.in_(product_ids) if product_ids else False)).all():
            benefits[product_id][benefit_id] = (base, allocation.raises(
                shares_sum_insured_with=shares, daily_amount=daily, pure_risk_rate=rate))
        products = {pid: (days, Decimal(cap)) for pid, days, cap in db.execute(
            select(Product.id, Product.min_uplift_days, Product.max_uplift_rate)
            .where(Product.id.in_(product_ids) if product_ids else False)).all()}

        returned = {pid: from_fen(int(fen)) for pid, fen in db.execute(
            select(SumInsuredUplift.policy_id, fen_sum(SumInsuredUplift.returned))
            .where(SumInsuredUplift.policy_id.in_(ids) if ids else False,
                   SumInsuredUplift.returned > 0)
            .group_by(SumInsuredUplift.policy_id)).all()}
        return cls(uplifts, benefits, products, returned)


def _member_quarter(close: Close, code: str, q: Quarter, covered: list, known: _MemberFacts,
                    aid: tuple[Decimal, Decimal]) -> dict:
    day = q.next().start
    paid = contribution = ZERO
    rows, not_uplifted = [], []
    for p in covered:
        net = p.premium - p.refund
        if net > 0:
            paid += net
            contribution += earned_between(net, p.cover_start, p.cover_end, q.start, q.end)
        row = _policy_rise(p, close, q, day, known)
        if row is not None:
            rows.append(row)
        elif close.uplift_rate is not None:
            not_uplifted.append(_why_not(p, close, day, known))
    uncovered, granted = aid
    return {"project": code, "quarter": str(q), "paid": fmt(paid),
            "uplift_returned": _uplift_returned(covered, q, known),
            "contribution": fmt(contribution),
            "uplift_rate": rate_text(close.uplift_rate),
            "uplift_rate_percent": percent(close.uplift_rate),
            "uplift_effective_from": str(day),
            "uplift": fmt(sum((Decimal(r["money"]) for r in rows), ZERO)),
            "sum_insured_added": fmt(sum((Decimal(r["sum_insured_added"]) for r in rows), ZERO)),
            "uplift_policies": rows, "not_uplifted": not_uplifted,
            "aid": fmt(granted), "uncovered_loss": fmt(uncovered)}


def _uplift_returned(covered: list, q: Quarter, known: _MemberFacts) -> list[dict]:
    """Policies cancelled in the quarter whose unused uplifted cover went back to the pool:
    the uplift money not yet earned on the day cover ended is returned, not refunded."""
    return [{"policy_id": p.id, "policy_number": p.policy_number,
             "cancelled_on": str(p.cancelled_on), "cover_end": str(p.cover_end),
             "returned_to_pool": fmt(known.returned[p.id])}
            for p in covered if p.id in known.returned and p.cancelled_on is not None
            and q.start <= p.cancelled_on <= q.end]


def _policy_rise(p, close: Close, q: Quarter, day: date, known: _MemberFacts) -> dict | None:
    """The policy's rise from this close: each benefit's sum insured before and added."""
    mine = [u for u in known.uplifts.get(p.id, []) if u[0] == str(q)]
    if not mine:
        return None
    earlier = defaultdict(lambda: ZERO)
    for _q, benefit_id, _code, _money, added, effective in known.uplifts[p.id]:
        if effective < day:
            earlier[benefit_id] += added
    benefits = []
    for _q, benefit_id, code, money, added, effective in mine:
        base, _raised = known.benefits.get(p.product_id, {}).get(benefit_id, (ZERO, True))
        _scaled, before = sums_insured(base, p.coefficient, earlier[benefit_id])
        benefits.append({"benefit": code, "money": fmt(money), "sum_insured_added": fmt(added),
                         "sum_insured_before": fmt(before),
                         "sum_insured_after": fmt(before + added), "effective_from": str(effective)})
    _days, cap = known.products.get(p.product_id, (0, Decimal(1)))
    rate = None if close.uplift_rate is None else min(Decimal(close.uplift_rate), cap)
    return {"policy_id": p.id, "policy_number": p.policy_number,
            "rate": rate_text(rate),
            "rate_percent": percent(rate),
            "money": fmt(sum((Decimal(b["money"]) for b in benefits), ZERO)),
            "sum_insured_added": fmt(sum((Decimal(b["sum_insured_added"]) for b in benefits),
                                         ZERO)),
            "benefits": benefits}


def _why_not(p, close: Close, day: date, known: _MemberFacts) -> dict:
    """Why the policy's cover did not rise: it ended or was cancelled before ``day``, it had
    fewer than the product's minimum days left, or the close raised no cover at all."""
    min_days, _cap = known.products.get(p.product_id, (allocation.MIN_UPLIFT_DAYS, ONE))
    reason = allocation.why_not_uplifted(
        cover_start=p.cover_start, cover_end=p.cover_end, cancelled=p.status == "cancelled",
        uplift_day=day, min_days=min_days) or (
        allocation.NO_UPLIFT if p.product_id in known.raisable else allocation.NOTHING_TO_RAISE)
    days_left = max(0, (p.cover_end - day).days + 1)
    return {"policy_id": p.id, "policy_number": p.policy_number, "reason": reason,
            "cover_end": str(p.cover_end), "days_left": days_left, "min_uplift_days": min_days}


ONE = Decimal(1)
