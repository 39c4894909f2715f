"""The close's reserves beyond the claims books: IBNR on the products' filed reporting
patterns, the premium deficiency test on unexpired cover, and the uplift premium that
cancelled policies return to the pool.

IBNR (DOMAIN.md section 3): Bornhuetter-Ferguson with the project's a priori loss ratio and
the products' filed reporting pattern (weighted by each product's expected claims in the
quarter) over the last origin quarters, blended toward the pool's own chain-ladder pattern
by credibility once the pool has history (mutua.actuarial.patterns). The chain ladder on
the pool's incurred triangle is always computed too; both figures are kept.

Premium deficiency (保费不足测试): at the quarter's end the unearned premium (policies'
and uplifts') must cover the expected claims of the cover still to run plus its costs.
Expected claims use each policy's own risk rate (catalog.domain.risk_rate: the benefit's
pure rate over the policy's coefficient) on its current sum insured, uplifts included,
for its remaining days; costs are the product's expense loading on its unearned premium.
A shortfall is held as an unexpired risk reserve; its change is charged to the result.

All reads are GROUP BYs over the policies (by product and coefficient) and uplifts (by
benefit and coefficient): a handful of rows whatever the number of policies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mutua.actuarial import patterns, reserving, triangle
from mutua.catalog.domain import risk_rate
from mutua.catalog.models import Benefit, Product, Project
from mutua.claims import service as claims_service
from mutua.claims.models import Claim
from mutua.dates import Quarter
from mutua.errors import worded_record
from mutua.ledger.service import fen_sum
from mutua.money import from_fen, round_fen, to_fen
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settlement import figures
from mutua.settlement.models import Close, CloseReserving

YEAR_DAYS = Decimal(365)


# ---------------------------------------------------------------- pure rules

def premium_deficiency(*, unearned_premium: int, expected_claims: int,
                       expected_costs: int) -> int:
    """The unexpired risk reserve (fen): what the unexpired cover is expected to cost
    beyond the premium still to be earned for it; never negative.

    >>> premium_deficiency(unearned_premium=1000_00, expected_claims=900_00,
    ...                    expected_costs=150_00)
    5000
    >>> premium_deficiency(unearned_premium=1000_00, expected_claims=600_00,
    ...                    expected_costs=150_00)
    0
    """
    return max(0, expected_claims + expected_costs - unearned_premium)


def unexpired_claims(policy_groups, uplift_groups) -> int:
    """Expected claims (fen) of the cover still to run, rounded half up once.

    ``policy_groups``: (benefits as [(base sum insured, pure risk rate)], coefficient,
    policy-days left) per product and coefficient: each benefit's sum insured is
    round_fen(base x coefficient) and its rate risk_rate(rate, coefficient).
    ``uplift_groups``: (pure risk rate, coefficient, sum insured added x days left, in
    fen-days) per benefit and coefficient.

    Two class-6 riders (coefficient 0.125) with 100,000 of death cover at 0.00008 and half a
    year (182.5 days) left each, and 1,000 yuan of uplifted cover on one of them for 73 days:

    >>> unexpired_claims([([(Decimal("100000"), Decimal("0.00008"))], Decimal("0.125"), 365)],
    ...                  [(Decimal("0.00008"), Decimal("0.125"), 1000_00 * 73)])
    813
    >>> # 12,500 x 0.00064 x 365/365 = 8.00 yuan and 1,000 x 0.00064 x 73/365 = 0.128: 8.13
    """
    fen = Decimal(0)
    for benefits, coefficient, days in policy_groups:
        per_day = sum((round_fen(base * coefficient) * 100 * risk_rate(rate, coefficient)
                       for base, rate in benefits), Decimal(0))
        fen += per_day * Decimal(days) / YEAR_DAYS
    for rate, coefficient, fen_days in uplift_groups:
        fen += risk_rate(rate, coefficient) * Decimal(fen_days) / YEAR_DAYS
    return int(fen.to_integral_value(rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------- what the close reads

@dataclass(frozen=True)
class Ibnr:
    basis: patterns.Basis
    filed: list[Decimal]
    development_quarters: int
    claims: int
    chainladder: int
    bf: int

    @property
    def booked(self) -> int:
        return self.chainladder if self.basis.method == patterns.CHAIN_LADDER else self.bf


@dataclass(frozen=True)
class Deficiency:
    unearned_premium: int
    expected_claims: int
    expected_costs: int

    @property
    def reserve(self) -> int:
        return premium_deficiency(unearned_premium=self.unearned_premium,
                                  expected_claims=self.expected_claims,
                                  expected_costs=self.expected_costs)


@dataclass(frozen=True)
class Reserving:
    ibnr: Ibnr
    deficiency: Deficiency
    unexpired_risk_before: int
    uplift_returned_to_date: int
    uplift_returned_before: int
    # The last close was made before this module (no reserving row): aid went by first
    # payment then, so claims approved before this quarter and unpaid are not aided yet.
    first_under_rule: bool

    @property
    def unexpired_risk_change(self) -> int:
        return self.deficiency.reserve - self.unexpired_risk_before

    @property
    def uplift_returned(self) -> int:
        return self.uplift_returned_to_date - self.uplift_returned_before


def assess(db: Session, *, project: Project, q: Quarter, last: Close | None,
           in_quarter: dict[int, int]) -> Reserving:
    """Everything this module reserves at the close of ``q``."""
    before = (db.scalar(select(CloseReserving).where(CloseReserving.close_id == last.id))
              if last is not None else None)
    returned = uplift_returned_to_date(db, project_id=project.id, as_of=q.end)
    return Reserving(
        ibnr=ibnr(db, project=project, q=q, in_quarter=in_quarter),
        deficiency=deficiency(db, project_id=project.id, as_of=q.end),
        unexpired_risk_before=to_fen(before.unexpired_risk_reserve) if before else 0,
        uplift_returned_to_date=returned,
        uplift_returned_before=to_fen(before.uplift_returned_to_date) if before else 0,
        first_under_rule=before is None)


def ibnr(db: Session, *, project: Project, q: Quarter, in_quarter: dict[int, int]) -> Ibnr:
    ratio = Decimal(project.a_priori_loss_ratio)
    products = db.execute(select(Product.id, Product.reporting_pattern,
                                 Product.expected_loss_ratio)
                          .where(Product.project_id == project.id)).all()
    filed = patterns.weighted_pattern([
        ([Decimal(str(s)) for s in pattern or ["0"]],
         int(Decimal(max(in_quarter.get(pid, 0), 0)) * Decimal(elr or ratio)))
        for pid, pattern, elr in products])
    cells = claims_service.triangle(db, project_id=project.id, basis="incurred", as_of=q.end)
    links, quarters, cl = [], 0, 0
    if cells:
        tri = triangle.from_cells(((str(o), int(k), float(v)) for o, k, v in cells),
                                  check_cumulative=False)
        links = reserving.link_ratios(tri)[0].tolist()
        quarters = len(tri.developments)
        cl = max(0, to_fen(Decimal(repr(reserving.chain_ladder(tri).total_ibnr))))
    claims = _claims_reported(db, project_id=project.id, as_of=q.end)
    basis = patterns.choose_basis(filed=filed, link_ratios=links, development_quarters=quarters,
                                  claims=claims, project_method=project.reserving_method)
    premiums = earned_by_origin(db, project_id=project.id, q=q, quarters=len(basis.pattern),
                                current=sum(in_quarter.values()))
    bf = patterns.bf_ibnr(premiums, ratio, basis.pattern)
    return Ibnr(basis, filed, quarters, claims, cl, bf)


def _claims_reported(db: Session, *, project_id: int, as_of: date) -> int:
    return int(db.scalar(select(func.count(Claim.id)).where(
        Claim.project_id == project_id, Claim.reported_on <= as_of,
        Claim.event_date <= as_of)) or 0)


def earned_by_origin(db: Session, *, project_id: int, q: Quarter, quarters: int,
                     current: int) -> list[int]:
    """Earned premium (fen) of ``q`` and the ``quarters - 1`` quarters before it, newest
    first: a closed quarter's from its close, the others computed in one pass."""
    origins = [q]
    for _ in range(quarters - 1):
        origins.append(origins[-1].previous())
    stored = dict(db.execute(select(Close.quarter, Close.earned_premium).where(
        Close.project_id == project_id, Close.quarter.in_([str(o) for o in origins[1:]]))).all())
    missing = [o for o in origins[1:] if str(o) not in stored]
    computed = figures.earned_in_quarters(db, project_id=project_id, quarters=missing)
    return [current] + [to_fen(stored[str(o)]) if str(o) in stored else computed[o]
                        for o in origins[1:]]


def deficiency(db: Session, *, project_id: int, as_of: date) -> Deficiency:
    d = figures.date_param(db, "as_of")
    left = _days_left(db, "p.cover_start", d)
    net = "(p.premium - p.refund)"
    earned = figures.cum_earned(db, d, net, "p.cover_start", "p.cover_end")
    params = {"project_id": project_id, "as_of": as_of.isoformat()}
    rows = db.execute(text(
        f"SELECT p.product_id, p.coefficient, SUM({left}), SUM({net} - {earned}) "
        f"FROM policies p WHERE p.project_id = :project_id AND p.cover_end > {d} "
        "AND p.cover_end >= p.cover_start GROUP BY p.product_id, p.coefficient"), params).all()
    u_left = _days_left(db, "u.effective_from", d)
    u_net = "(u.money - u.returned)"
    u_earned = figures.cum_earned(db, d, u_net, "u.effective_from", "p.cover_end")
    uplifts = db.execute(text(
        f"SELECT u.benefit_id, p.coefficient, SUM(u.sum_insured_added * {u_left}), "
        f"SUM({u_net} - {u_earned}) FROM sum_insured_uplifts u "
        "JOIN policies p ON p.id = u.policy_id WHERE u.project_id = :project_id "
        f"AND p.cover_end > {d} AND p.cover_end >= u.effective_from "
        "GROUP BY u.benefit_id, p.coefficient"), params).all()
    benefits: dict[int, list] = {}
    rates: dict[int, Decimal] = {}
    for pid, bid, base, rate in db.execute(
            select(Benefit.product_id, Benefit.id, Benefit.base_sum_insured,
                   Benefit.pure_risk_rate).join(Product, Product.id == Benefit.product_id)
            .where(Product.project_id == project_id)).all():
        benefits.setdefault(pid, []).append((Decimal(base), Decimal(rate)))
        rates[bid] = Decimal(rate)
    loading = dict(db.execute(select(Product.id, Product.expense_loading)
                              .where(Product.project_id == project_id)).all())
    unearned = sum(int(r[3] or 0) for r in rows) + sum(int(r[3] or 0) for r in uplifts)
    costs = sum((Decimal(int(r[3] or 0)) * Decimal(loading.get(r[0], 0)) for r in rows),
                Decimal(0))
    claims = unexpired_claims(
        [(benefits.get(pid, []), Decimal(str(coef)), int(days or 0))
         for pid, coef, days, _ in rows],
        [(rates[bid], Decimal(str(coef)), int(fen_days or 0))
         for bid, coef, fen_days, _ in uplifts if bid in rates])
    return Deficiency(unearned, claims, int(costs.to_integral_value(rounding=ROUND_HALF_UP)))


def _days_left(db: Session, start: str, d: str) -> str:
    """SQL for days of cover after day ``d`` up to p.cover_end, from ``start`` if later."""
    whole = figures.days_between(db, "p.cover_end", start)
    rest = figures.days_between(db, "p.cover_end", d)
    return f"(CASE WHEN {start} > {d} THEN {whole} + 1 ELSE {rest} END)"


def uplift_returned_to_date(db: Session, *, project_id: int, as_of: date) -> int:
    """Unearned uplift premium returned by policies cancelled on or before ``as_of``."""
    fen = db.scalar(
        select(fen_sum(SumInsuredUplift.returned))
        .join(Policy, Policy.id == SumInsuredUplift.policy_id)
        .where(SumInsuredUplift.project_id == project_id, Policy.cancelled_on <= as_of))
    return int(fen or 0)


# ---------------------------------------------------------------- writing

def write(db: Session, *, close: Close, r: Reserving) -> None:
    b, i, d = r.ibnr.basis, r.ibnr, r.deficiency
    db.add(CloseReserving(
        close_id=close.id, project_id=close.project_id, ibnr_method=b.method,
        ibnr_reason=b.reason[:300], development_quarters=i.development_quarters,
        claims_reported=i.claims, credibility=b.credibility,
        filed_pattern=[str(s) for s in i.filed], pattern_used=[str(s) for s in b.pattern],
        ibnr_chainladder=from_fen(i.chainladder), ibnr_bf=from_fen(i.bf),
        unearned_premium=from_fen(d.unearned_premium),
        unexpired_claims=from_fen(d.expected_claims),
        unexpired_costs=from_fen(d.expected_costs),
        unexpired_risk_reserve=from_fen(d.reserve),
        uplift_returned_to_date=from_fen(r.uplift_returned_to_date)))


def statement_terms(r: Reserving, y) -> dict:
    """What the project statement shows of this module's figures."""
    b, i, d = r.ibnr.basis, r.ibnr, r.deficiency
    return {
        "ibnr_basis": {
            "method": b.method, "reason": b.reason, **worded_record(b.reason, "reason_"),
            "credibility": str(b.credibility),
            "development_quarters": i.development_quarters, "claims_reported": i.claims,
            "filed_pattern": [str(s) for s in i.filed],
            "pattern_used": [str(s) for s in b.pattern],
            "chainladder": y(i.chainladder), "bornhuetter_ferguson": y(i.bf)},
        "premium_deficiency": {
            "unearned_premium": y(d.unearned_premium),
            "expected_claims": y(d.expected_claims), "expected_costs": y(d.expected_costs),
            "shortfall": y(d.reserve)},
        "unexpired_risk_reserve": y(d.reserve),
        "unexpired_risk_reserve_before": y(r.unexpired_risk_before),
        "unexpired_risk_change": y(r.unexpired_risk_change),
        "uplift_premium_returned": y(r.uplift_returned),
    }

