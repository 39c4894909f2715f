"""What the C-ROSS solvency assessment reads at a close: capital from the books, exposures
from the closes, risk factors from their table (the rules are in solvency.py).

Capital is assessed as the close leaves it before any distribution: the books' net assets
(assets less liabilities, claims and recoveries already posted by the quarter's end) plus
what the close itself books before sharing (premium earned, IBNR, costs, ceded premium).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.catalog.models import Product, Project
from mutua.catalog.mutual import is_pool
from mutua.dates import Quarter
from mutua.errors import Conflict, Forbidden, ProblemCollector, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.ledger.models import Account, Entry, Posting
from mutua.money import fmt, from_fen, to_fen
from mutua.settlement import solvency
from mutua.settlement.models import Close, SettlementConfig, SolvencyFactor
from mutua.settlement.models import Close as CloseRow

QUARTERS_A_YEAR = 4
LINES = ("accident", "health", "ckd")  # Product.line


def _summed(db: Session, project_id: int, as_of, accounts) -> int:
    """Postings to the chosen accounts dated up to ``as_of``, in fen (one aggregate)."""
    return int(db.scalar(
        select(ledger_service.fen_sum(Posting.amount))
        .join(Entry, Entry.id == Posting.entry_id)
        .join(Account, Account.id == Posting.account_id)
        .where(Posting.project_id == project_id, Entry.entry_date <= as_of, accounts)) or 0)


def net_assets(db: Session, *, project_id: int, as_of) -> int:
    """Assets less liabilities in the project's books on ``as_of`` (fen): the sum of the
    asset and liability balances, debits positive."""
    return _summed(db, project_id, as_of, Account.kind.in_(("asset", "liability")))


def _account(db: Session, project_id: int, code: str, as_of) -> int:
    return _summed(db, project_id, as_of, Account.code == code)


@dataclass(frozen=True)
class Inputs:
    """The close's own figures the assessment needs (fen)."""

    earned_to_date: int  # premium and uplift premium earned since the first cover
    close_effect: int  # what the close books before sharing, on assets less liabilities
    close_ceded: int
    claims_reserves: int  # case reserves and IBNR after the close
    earned_by_product: dict[int, int]  # the quarter's earned premium per product


def factors(db: Session, q: Quarter, lines: set[str]) -> dict[str, tuple[Decimal, Decimal,
                                                                         str, bool]]:
    """line -> (premium factor, reserve factor, source, demo): the row in force for the
    quarter, else the demo defaults (marked)."""
    rows = db.scalars(select(SolvencyFactor).where(SolvencyFactor.effective_from <= str(q))
                      .order_by(SolvencyFactor.effective_from)).all()
    out = {r.line: (Decimal(r.premium_factor), Decimal(r.reserve_factor), r.source, r.demo)
           for r in rows}
    for line in lines - set(out):
        p, r = solvency.DEMO_FACTORS.get(line, solvency.DEMO_FACTORS["accident"])
        out[line] = (p, r, solvency.DEMO_SOURCE, True)
    return out


def assess_close(db: Session, *, project_id: int, q: Quarter, cfg: SettlementConfig,
                 inputs: Inputs) -> tuple[solvency.Assessment, dict]:
    """The assessment before distribution and its detail for the statement."""
    net = net_assets(db, project_id=project_id, as_of=q.end) + inputs.close_effect
    repaid = sum(to_fen(c) for c in db.scalars(select(Close.fund_repaid)
                                               .where(Close.project_id == project_id)))
    fund = max(0, to_fen(cfg.operating_fund) - repaid)
    core, supplementary = solvency.capital_tiers(net, fund,
                                                 borrowed=bool(cfg.operating_fund_borrowed))
    premium = _net_premium_a_year(db, project_id=project_id, q=q, inputs=inputs)
    lines = _lines(db, inputs.earned_by_product)
    table = factors(db, q, set(lines))
    share_total = sum(lines.values()) or 1
    risks = [solvency.LineRisk(
        line, premium=premium * w // share_total, reserve=inputs.claims_reserves * w // share_total,
        premium_factor=table[line][0], reserve_factor=table[line][1])
        for line, w in sorted(lines.items())]
    minimum = solvency.minimum_capital(risks)
    a = solvency.assess(actual=core + supplementary, core=core, minimum=minimum.total)
    return a, _detail(a, minimum, risks, table)


def _net_premium_a_year(db: Session, *, project_id: int, q: Quarter, inputs: Inputs) -> int:
    """Earned premium less ceded premium over the last four quarters, this one included;
    a younger pool's is scaled up to a year."""
    closes = db.execute(select(Close.quarter, Close.earned_to_date, Close.uplift_earned_to_date)
                        .where(Close.project_id == project_id, Close.quarter < str(q))
                        .order_by(Close.quarter.desc()).limit(QUARTERS_A_YEAR)).all()
    quarters = min(len(closes) + 1, QUARTERS_A_YEAR)
    start = None
    if len(closes) >= QUARTERS_A_YEAR:
        start = closes[QUARTERS_A_YEAR - 1]
    earned_before = to_fen(start[1]) + to_fen(start[2]) if start else 0
    ceded_before = (_account(db, project_id, L.CEDED_PREMIUM, Quarter.parse(start[0]).end)
                    if start else 0)
    ceded = _account(db, project_id, L.CEDED_PREMIUM, q.end) + inputs.close_ceded - ceded_before
    net = inputs.earned_to_date - earned_before - ceded
    return max(0, net * QUARTERS_A_YEAR // quarters)


def _lines(db: Session, earned_by_product: dict[int, int]) -> dict[str, int]:
    """Line of business -> the quarter's earned premium (weights for splitting)."""
    line_of = dict(db.execute(select(Product.id, Product.line)
                              .where(Product.id.in_(list(earned_by_product) or [0]))).all())
    out: dict[str, int] = {}
    for pid, earned in earned_by_product.items():
        out[line_of.get(pid, "accident")] = out.get(line_of.get(pid, "accident"), 0) + max(
            earned, 0)
    return out or {"accident": 0}


def _detail(a: solvency.Assessment, m: solvency.MinimumCapital, risks: list,
            table: dict) -> dict:
    y = lambda fen: fmt(from_fen(fen))  # noqa: E731
    by_line = {line: (p, r, t) for line, p, r, t in m.lines}
    return {
        "basis": "before distribution",
        "actual_capital": y(a.actual), "core_capital": y(a.core),
        "supplementary_capital": y(a.actual - a.core),
        "minimum_capital": y(a.minimum), "premium_risk": y(m.premium_risk),
        "reserve_risk": y(m.reserve_risk),
        "correlation": str(solvency.PREMIUM_RESERVE_CORRELATION),
        "comprehensive_ratio_percent": solvency.percent_text(a.comprehensive_ratio),
        "core_ratio_percent": solvency.percent_text(a.core_ratio),
        "comprehensive_threshold_percent": "100.00", "core_threshold_percent": "50.00",
        "passed": a.passed, "headroom": y(a.headroom),
        "factors_demo": any(table[r.line][3] for r in risks),
        "lines": [{"line": r.line, "premium_exposure": y(r.premium),
                   "reserve_exposure": y(r.reserve), "premium_factor": str(r.premium_factor),
                   "reserve_factor": str(r.reserve_factor), "source": table[r.line][2],
                   "demo": table[r.line][3], "premium_risk": y(by_line[r.line][0]),
                   "reserve_risk": y(by_line[r.line][1]), "minimum_capital": y(by_line[r.line][2])}
                  for r in risks],
    }


# ---------------------------------------------------------------- the mutual's report

def solvency_report(db: Session, *, quarter: str) -> dict:
    """The mutual's quarterly solvency report (偿付能力报告): each project's assessment as its
    close made it, and the mutual's, whose capital and minimum capital are the projects'
    sums. A project with cover but no close for the quarter is listed as not yet closed."""
    q = Quarter.parse(quarter)
    rows = db.execute(select(Project.code, CloseRow.statement)
                      .join(CloseRow, CloseRow.project_id == Project.id)
                      .where(CloseRow.quarter == str(q)).order_by(Project.code)).all()
    projects = [{"project": code, **s["solvency"]} for code, s in rows
                if (s or {}).get("solvency")]
    assessed = {p["project"] for p in projects}
    pending = [c for c in db.scalars(select(Project.code).where(is_pool())
                                             .order_by(Project.code))
               if c not in assessed]
    total = {k: sum(to_fen(Decimal(p[k])) for p in projects)
             for k in ("actual_capital", "core_capital", "minimum_capital")}
    a = solvency.assess(actual=total["actual_capital"], core=total["core_capital"],
                        minimum=total["minimum_capital"])
    return {
        "quarter": str(q), "basis": "each project's close, before distribution",
        "actual_capital": fmt(from_fen(a.actual)), "core_capital": fmt(from_fen(a.core)),
        "supplementary_capital": fmt(from_fen(a.actual - a.core)),
        "minimum_capital": fmt(from_fen(a.minimum)),
        "comprehensive_ratio_percent": solvency.percent_text(a.comprehensive_ratio),
        "core_ratio_percent": solvency.percent_text(a.core_ratio),
        "comprehensive_threshold_percent": "100.00", "core_threshold_percent": "50.00",
        "passed": a.passed, "factors_demo": any(p.get("factors_demo") for p in projects),
        "projects": projects, "not_closed": pending,
    }


def file_factor(db: Session, *, line: str, premium_factor: object, reserve_factor: object,
                effective_from: str, source: str, demo: bool, actor) -> SolvencyFactor:
    """File a line's risk factors from a quarter on (an actuary or an administrator); a
    closed quarter keeps the factors it was assessed with."""
    if actor.role not in (Role.ACTUARY, Role.ADMIN):
        raise Forbidden("only an actuary or an administrator may file solvency factors")
    p = ProblemCollector()
    if line not in LINES:
        p.add("line", "must be accident, health or ckd")
    values = {}
    for name, raw in (("premium_factor", premium_factor), ("reserve_factor", reserve_factor)):
        try:
            d = Decimal(str(raw).strip())
        except ArithmeticError:
            d = None
        if d is None or not d.is_finite() or not Decimal(0) < d <= Decimal(1) \
                or d != round(d, 4):
            p.add(name, "must be a share above 0 and at most 1 with at most 4 decimals")
        values[name] = d
    q = None
    try:
        q = Quarter.parse(effective_from, field="effective_from")
    except ValidationFailed:
        p.add("effective_from", "must look like 2026Q4")
    source = (source or "").strip()
    if not 5 <= len(source) <= 200:
        p.add("source", "must say where the factors come from in 5 to 200 characters")
    p.raise_if_any()
    last = db.scalar(select(func.max(CloseRow.quarter)))
    if last is not None and str(q) <= last:
        raise Conflict("%(q)s is already closed (last close %(last)s); file from a later "
                       "quarter", q=q, last=last)
    row = SolvencyFactor(line=line, effective_from=str(q), source=source, demo=bool(demo),
                         **values)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="settlement.file_solvency_factor",
                 entity="solvency_factor", entity_id=row.id,
                 detail={"line": line, "effective_from": str(q), "source": source,
                         "demo": bool(demo), **{k: str(v) for k, v in values.items()}})
    return row


def list_factors(db: Session) -> list[dict]:
    """Filed factors, newest first, then the demo defaults a line falls back to."""
    rows = db.scalars(select(SolvencyFactor).order_by(SolvencyFactor.effective_from.desc(),
                                                      SolvencyFactor.line)).all()
    filed = [{"line": r.line, "effective_from": r.effective_from,
              "premium_factor": str(r.premium_factor), "reserve_factor": str(r.reserve_factor),
              "source": r.source, "demo": r.demo, "filed": True} for r in rows]
    defaults = [{"line": line, "effective_from": None, "premium_factor": str(pf),
                 "reserve_factor": str(rf), "source": solvency.DEMO_SOURCE, "demo": True,
                 "filed": False} for line, (pf, rf) in solvency.DEMO_FACTORS.items()]
    return filed + defaults
