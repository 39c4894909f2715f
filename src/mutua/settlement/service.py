"""The quarterly close and surplus sharing (结余共享), and what members and staff read.

``close_quarter`` is one unit of work: its first write is the (project, quarter) row whose
unique key makes a second, concurrent close fail fast; a re-run answers with the stored
result; ``dry_run`` computes everything and writes nothing. A closed quarter is never
edited: late claims, cancellations and corrections flow into the next close because every
running figure (earned premium, uplift premium earned, case reserve, IBNR) is booked as
the difference between its value now and what earlier closes booked.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Product, Project
from mutua.dates import Quarter
from mutua.dates import today as shanghai_today
from mutua.db import is_sqlite
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.money import fmt, from_fen, to_fen
from mutua.settlement import allocation, books, figures
from mutua.settlement import close as rules
from mutua.settlement.models import AidPayment, AllocationPolicy, Close, Expense, SettlementConfig

SQLITE_CACHE_KIB = 262_144  # 256 MiB while a close runs
DEFAULT_SHARES = allocation.Shares(Decimal("0.70"), Decimal("0.20"), Decimal("0.10"))
FIRST_QUARTER = "0000Q1"


# ---------------------------------------------------------------- settings and policies

def _project(db: Session, code: str) -> Project:
    project = db.scalar(select(Project).where(Project.code == code))
    if project is None:
        raise NotFound(f"unknown project {code!r}")
    return project


def config_for(db: Session, *, project_id: int, create: bool) -> SettlementConfig:
    """The project's close settings; with ``create`` the defaults are stored on first use."""
    cfg = db.scalar(select(SettlementConfig).where(SettlementConfig.project_id == project_id))
    if cfg is None:
        cfg = SettlementConfig(
            project_id=project_id, reserve_target_ratio=Decimal("0.15"),
            reserve_minimum_ratio=Decimal("0.05"), reserve_contribution_rate=Decimal("0.20"),
            default_expense_share=Decimal("1"), startup_costs=Decimal("0"),
            operating_fund=Decimal("0"), operating_fund_borrowed=False,
            operating_fund_instalment=Decimal("0"), operating_fund_repayment_approved=False)
        if create:
            db.add(cfg)
            db.flush()
    return cfg


def configure(db: Session, *, project_code: str, actor: Principal, **settings) -> SettlementConfig:
    """Change a project's close settings (applies to closes still to come)."""
    project = _project(db, project_code)
    cfg = config_for(db, project_id=project.id, create=True)
    for name, value in settings.items():
        if not hasattr(SettlementConfig, name) or name in ("id", "project_id"):
            raise ValidationFailed(name, "is not a close setting")
        if isinstance(value, Decimal) and value < 0:
            raise ValidationFailed(name, "must not be negative")
        setattr(cfg, name, value)
    db.flush()
    audit.record(db, actor=actor, action="settlement.configure", entity="settlement_config",
                 entity_id=cfg.id, project_id=project.id,
                 detail={k: str(v) for k, v in settings.items()})
    return cfg


def policy_for(db: Session, *, project_id: int, quarter: Quarter) -> AllocationPolicy | None:
    """The allocation policy version in force for a quarter (None: the default applies)."""
    return db.scalar(
        select(AllocationPolicy)
        .where(AllocationPolicy.project_id == project_id,
               AllocationPolicy.effective_from <= str(quarter))
        .order_by(AllocationPolicy.effective_from.desc(), AllocationPolicy.version.desc())
        .limit(1))


def _default_policy(db: Session, project_id: int) -> AllocationPolicy:
    row = AllocationPolicy(project_id=project_id, version=1, effective_from=FIRST_QUARTER,
                           uplift=DEFAULT_SHARES.uplift, aid=DEFAULT_SHARES.aid,
                           services=DEFAULT_SHARES.services, source="default")
    db.add(row)
    db.flush()
    return row


def adopt_allocation_policy(db: Session, *, project_id: int, uplift: Decimal, aid: Decimal,
                            services: Decimal, effective_from: str, source: str,
                            actor: Principal) -> AllocationPolicy:
    """Add a new version of a project's allocation policy from ``effective_from`` on.

    Refuses shares that do not add to 100% and quarters already closed (a closed quarter is
    never edited).
    """
    shares = allocation.Shares(Decimal(uplift), Decimal(aid), Decimal(services))
    q = Quarter.parse(effective_from, field="effective_from")
    if db.get(Project, project_id) is None:
        raise NotFound(f"project {project_id} not found")
    last = _last_close(db, project_id)
    if last is not None and last.quarter >= str(q):
        raise ValidationFailed("effective_from", f"{q} is already closed (last close "
                                                 f"{last.quarter}); choose a later quarter")
    version = (db.scalar(select(func.max(AllocationPolicy.version))
                         .where(AllocationPolicy.project_id == project_id)) or 0) + 1
    row = AllocationPolicy(project_id=project_id, version=version, effective_from=str(q),
                           uplift=shares.uplift, aid=shares.aid, services=shares.services,
                           source=source[:60])
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="settlement.adopt_allocation_policy",
                 entity="allocation_policy", entity_id=row.id, project_id=project_id,
                 detail={"version": version, "effective_from": str(q), "uplift": str(uplift),
                         "aid": str(aid), "services": str(services), "source": source})
    return row


def allocation_history(db: Session, *, project_code: str,
                       today: date | None = None) -> dict:
    """A project's allocation policy (分配方案) for its next close and every version so far.

    The next close is the quarter after the last one closed or, before any close, the
    current quarter. A project never given a policy runs on the default shares, shown as
    version 1 from the first quarter (the first close stores that row)::

        {"project": "SZ-NEWCITIZEN", "last_closed": "2026Q2", "next_close": "2026Q3",
         "in_force": {"version": 2, "effective_from": "2026Q3", "uplift": Decimal("0.6"),
                      "aid": ..., "services": ..., "source": "proposal:7", ...},
         "versions": [newest first ...]}
    """
    project = _project(db, project_code)
    last = _last_close(db, project.id)
    next_close = (Quarter.parse(last.quarter).next() if last is not None
                  else Quarter.of(today or shanghai_today()))
    rows = db.scalars(select(AllocationPolicy).where(AllocationPolicy.project_id == project.id)
                      .order_by(AllocationPolicy.version.desc())).all()
    versions = [{"id": r.id, "version": r.version, "effective_from": r.effective_from,
                 "uplift": Decimal(r.uplift), "aid": Decimal(r.aid),
                 "services": Decimal(r.services), "source": r.source,
                 "adopted_at": r.adopted_at, "stored": True} for r in rows]
    if not any(v["effective_from"] == FIRST_QUARTER for v in versions):
        # Not stored until the first close; no version number of its own yet.
        versions.append({"id": None, "version": None,
                         "effective_from": FIRST_QUARTER, "uplift": DEFAULT_SHARES.uplift,
                         "aid": DEFAULT_SHARES.aid, "services": DEFAULT_SHARES.services,
                         "source": "default", "adopted_at": None, "stored": False})
    policy = policy_for(db, project_id=project.id, quarter=next_close)
    in_force = next((v for v in versions if policy is not None and v["id"] == policy.id),
                    versions[-1] if policy is None else None)
    return {"project": project.code, "last_closed": last.quarter if last else None,
            "next_close": str(next_close), "in_force": in_force, "versions": versions}


def record_expense(db: Session, *, project_code: str, quarter: str, amount: Decimal, memo: str,
                   actor: Principal) -> Expense:
    """Necessary costs for a quarter not yet closed; the close charges them up to the cap."""
    project = _project(db, project_code)
    q = Quarter.parse(quarter)
    if amount < 0:
        raise ValidationFailed("amount", "must not be negative")
    if db.scalar(select(Close.id).where(Close.project_id == project.id,
                                        Close.quarter == str(q))):
        raise Conflict(f"{project_code} {q} is closed; record the cost in a later quarter")
    row = Expense(project_id=project.id, quarter=str(q), amount=amount, memo=memo[:200])
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="settlement.record_expense", entity="expense",
                 entity_id=row.id, project_id=project.id,
                 detail={"quarter": str(q), "amount": str(amount)})
    return row


def check_expense(db: Session, *, project_code: str, quarter: str, amount: Decimal | str,
                  memo: str) -> Decimal:
    """Every problem of an expense as a form enters it, at once; nothing is stored.

    The amount is yuan to the fen ("1234.50"), not negative; the quarter looks like 2026Q4
    and is not closed; the memo says what the cost was (1 to 200 characters). Returns the
    amount as a Decimal for ``record_expense``.
    """
    from mutua.errors import ProblemCollector

    problems = ProblemCollector()
    project = db.scalar(select(Project).where(Project.code == (project_code or "").strip()))
    if project is None:
        problems.add("project", "is not a project of the mutual")
    q = None
    try:
        q = Quarter.parse(quarter)
    except ValidationFailed:
        problems.add("quarter", "must look like 2026Q4")
    if project is not None and q is not None and db.scalar(
            select(Close.id).where(Close.project_id == project.id, Close.quarter == str(q))):
        problems.add("quarter", "is closed; record the cost in a later quarter")
    value = _yuan(amount, problems)
    if not (memo or "").strip() or len(memo.strip()) > 200:
        problems.add("memo", "must be 1 to 200 characters")
    problems.raise_if_any()
    return value


def _yuan(amount: Decimal | str, problems) -> Decimal | None:
    """An amount in yuan to the fen, or None with the problem noted."""
    from mutua.money import round_fen

    try:
        value = Decimal(str(amount).replace(",", "").replace("¥", "").strip())
    except ArithmeticError:
        value = None
    if value is None or not value.is_finite():
        problems.add("amount", "must be an amount in yuan, like 1234.50")
        return None
    if value.adjusted() >= 12:  # at least 10^12 yuan; compared by exponent, never overflows
        problems.add("amount", "must be below 1,000,000,000,000 yuan in size")
        return None
    if value < 0:
        problems.add("amount", "must not be negative")
    elif value != round_fen(value):
        problems.add("amount", "must be in whole fen: at most 2 decimals")
    return round_fen(value)


def expense_totals(db: Session, *, project_code: str | None = None, limit: int = 50,
                   offset: int = 0) -> tuple[list[dict], int]:
    """Necessary costs recorded per project and quarter, latest quarter first: how many,
    their total, and whether the quarter is closed. One GROUP BY. A row reads like
    ``{"project": "SZ-ACC", "quarter": "2026Q4", "count": 2, "total": Decimal("1200.50"),
    "closed": False}``; the second value is the number of rows in all.
    """
    closed = (select(Close.id).where(Close.project_id == Expense.project_id,
                                     Close.quarter == Expense.quarter).exists())
    stmt = (select(Project.code, Expense.quarter, func.count(Expense.id),
                   ledger_service.fen_sum(Expense.amount), closed)
            .join(Project, Project.id == Expense.project_id)
            .group_by(Project.code, Expense.project_id, Expense.quarter))
    if project_code:
        stmt = stmt.where(Expense.project_id == _project(db, project_code).id)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.execute(stmt.order_by(Expense.quarter.desc(), Project.code)
                      .limit(limit).offset(offset)).all()
    return [{"project": code, "quarter": q, "count": int(n), "total": from_fen(fen or 0),
             "closed": bool(c)} for code, q, n, fen, c in rows], int(total)


def list_expenses(db: Session, *, project_code: str, quarter: str | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[Expense], int]:
    """The expense lines of one project (of one quarter, if given), latest first."""
    stmt = select(Expense).where(Expense.project_id == _project(db, project_code).id)
    if quarter:
        stmt = stmt.where(Expense.quarter == str(Quarter.parse(quarter)))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Expense.quarter.desc(), Expense.id.desc())
                      .limit(limit).offset(offset))
    return list(rows), int(total)


# ---------------------------------------------------------------- the close

def _last_close(db: Session, project_id: int) -> Close | None:
    return db.scalar(select(Close).where(Close.project_id == project_id)
                     .order_by(Close.quarter.desc()).limit(1))


def _norm(value: object) -> str:
    """One spelling per value, whether it came from the database or from the defaults."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (Decimal, int, float)):
        return str(Decimal(str(value)).normalize())
    return str(value)


def _fingerprint(project: Project, shares: allocation.Shares, policy_version: int | None,
                 cfg: SettlementConfig) -> str:
    data = {
        "policy": policy_version or 1,  # no stored policy: the default, stored as version 1
        "shares": [_norm(shares.uplift), _norm(shares.aid), _norm(shares.services)],
        "method": project.reserving_method, "loss_ratio": _norm(project.a_priori_loss_ratio),
        "config": [_norm(getattr(cfg, c)) for c in (
            "reserve_target_ratio", "reserve_minimum_ratio", "reserve_contribution_rate",
            "default_expense_share", "startup_costs", "operating_fund",
            "operating_fund_borrowed", "operating_fund_instalment",
            "operating_fund_repayment_approved")],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def close_quarter(db: Session, *, project_code: str, quarter: str, actor: Principal,
                  dry_run: bool = False, today: date | None = None, progress=None) -> dict:
    """Close one project's quarter and share its surplus; returns the project statement.

    ``progress(done, total, stage)``, when given, hears the close's steps (a job's progress).
    """
    progress = progress or (lambda done, total, stage: None)
    project = _project(db, project_code)
    q = Quarter.parse(quarter)
    today = today or shanghai_today()
    if q.end >= today:
        raise ValidationFailed("quarter", f"{q} has not ended (it ends {q.end})")
    existing = db.scalar(select(Close).where(Close.project_id == project.id,
                                             Close.quarter == str(q)))
    cfg = config_for(db, project_id=project.id, create=False)
    policy = policy_for(db, project_id=project.id, quarter=q)
    shares = _shares(policy)
    fingerprint = _fingerprint(project, shares, policy.version if policy else None, cfg)
    if existing is not None:
        return _answer_existing(existing, fingerprint)
    last = _last_close(db, project.id)
    if last is not None and last.quarter > str(q):
        raise Conflict(f"{project_code}: a later quarter ({last.quarter}) is already closed")
    if last is not None and last.quarter != str(q.previous()):
        raise Conflict(f"{project_code}: close {q.previous()} first (last close {last.quarter})")
    if not actor.is_staff:
        raise Forbidden("only staff close a quarter")
    row = None
    if not dry_run:
        row = _claim_the_quarter(db, project, q, actor, fingerprint)
        if isinstance(row, dict):
            return row
        cfg = config_for(db, project_id=project.id, create=True)
        policy = policy or _default_policy(db, project.id)
        row.allocation_policy_id = policy.id
    with _large_cache(db):
        progress(0, 2, "computing")
        work = _compute(db, project=project, q=q, last=last, cfg=cfg, shares=shares)
        statement = _statement(project, q, work, policy, actor, dry_run=dry_run)
        if dry_run:
            return statement
        progress(1, 2, "writing")
        _write(db, project=project, q=q, row=row, work=work, statement=statement, actor=actor)
    progress(2, 2, "writing")
    return statement


@contextmanager
def _large_cache(db: Session):
    """SQLite's default page cache (2 MB) makes writing millions of indexed uplift rows
    thrash; the close borrows a larger one for its own duration."""
    if not is_sqlite(db.get_bind()):
        yield
        return
    before = db.execute(text("PRAGMA cache_size")).scalar()
    db.execute(text(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}"))
    try:
        yield
    finally:
        db.execute(text(f"PRAGMA cache_size = {int(before)}"))


def _shares(policy: AllocationPolicy | None) -> allocation.Shares:
    if policy is None:
        return DEFAULT_SHARES
    return allocation.Shares(Decimal(policy.uplift), Decimal(policy.aid), Decimal(policy.services))


def _answer_existing(existing: Close, fingerprint: str) -> dict:
    if existing.fingerprint != fingerprint:
        raise Conflict(
            f"{existing.quarter} is already closed with different inputs (allocation policy, "
            "settings or reserving method changed); a closed quarter is never edited, so the "
            "change applies from the next close")
    return dict(existing.statement, rerun=True)


def _claim_the_quarter(db: Session, project: Project, q: Quarter, actor: Principal,
                       fingerprint: str) -> Close | dict:
    """Insert the close row first: a concurrent close of the same quarter waits on its key
    and then fails here, and answers with the winner's result. Nothing else has been
    written in this unit of work yet, so rolling it back loses nothing."""
    row = Close(project_id=project.id, quarter=str(q), closed_by=actor.username,
                fingerprint=fingerprint, statement={})
    db.add(row)
    try:
        db.flush()
    except IntegrityError:
        db.rollback()
        winner = db.scalar(select(Close).where(Close.project_id == project.id,
                                               Close.quarter == str(q)))
        if winner is None:
            raise
        return _answer_existing(winner, fingerprint)
    return row


@dataclass
class Work:
    """Everything the close computed, in fen, before it is written."""

    earned_to_date: int
    earned: int
    earned_in_quarter_by_product: dict[int, int]
    uplift_earned_to_date: int
    uplift_earned: int
    paid: int
    case_reserve: int
    case_change: int
    ibnr_cl: int
    ibnr_bf: int
    ibnr: int
    ibnr_change: int
    expense_cap: int
    expenses: int
    before: rules.Position
    rules: rules.Rules
    outcome: rules.Outcome
    alloc: allocation.Allocation
    contributors: figures.Contributors
    claimants: list[tuple[int, int]]
    uplift_rows: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    members_in_force: int
    si_by_benefit: dict[str, tuple[int, int]]


def _compute(db: Session, *, project: Project, q: Quarter, last: Close | None,
             cfg: SettlementConfig, shares: allocation.Shares) -> Work:
    from mutua.claims import service as claims_service

    by_product = figures.earned_by_product(db, project_id=project.id, quarter=q)
    earned_to_date = sum(e.to_date for e in by_product)
    prev_earned = to_fen(last.earned_to_date) if last else 0
    earned = earned_to_date - prev_earned
    uplift_to_date = figures.uplift_earned_to_date(db, project_id=project.id, as_of=q.end)
    uplift_earned = uplift_to_date - (to_fen(last.uplift_earned_to_date) if last else 0)

    paid = to_fen(claims_service.paid_in(db, project_id=project.id, start=q.start, end=q.end))
    case_reserve = to_fen(claims_service.case_reserve_at(db, project_id=project.id, as_of=q.end))
    case_change = case_reserve - (to_fen(last.case_reserve) if last else 0)
    ibnr_cl, ibnr_bf = _ibnr(db, project=project, q=q, by_product=by_product)
    ibnr = ibnr_cl if project.reserving_method == "chainladder" else ibnr_bf
    ibnr_change = ibnr - (to_fen(last.ibnr) if last else 0)

    in_quarter = {e.product_id: e.in_quarter for e in by_product}
    cap, expenses = _expenses(db, project_id=project.id, q=q, in_quarter=in_quarter, cfg=cfg)
    quarter_figures = rules.QuarterFigures(earned, uplift_earned, paid, case_change,
                                           ibnr_change, expenses)
    before = rules.Position(
        reserve=to_fen(last.reserve_after) if last else 0,
        deficit=to_fen(last.deficit_after) if last else 0,
        undistributed=to_fen(last.undistributed_after) if last else 0)
    close_rules = _rules(db, project_id=project.id, cfg=cfg, earned_q=sum(in_quarter.values()))
    outcome = rules.settle(quarter_figures, before, close_rules)

    contrib = figures.contributors(db, project_id=project.id, quarter=q)
    claimants = [(int(m), to_fen(loss)) for m, loss in claims_service.claimants_paid_in(
        db, project_id=project.id, start=q.start, end=q.end) if loss > 0]
    uncovered = np.array([c[1] for c in claimants], dtype=np.int64)
    alloc = allocation.allocate(outcome.distributable, shares, contrib.weight, uncovered)
    rows, si_by_benefit = _uplift_rows(db, contrib, alloc.uplift_shares)
    return Work(
        earned_to_date, earned, in_quarter, uplift_to_date, uplift_earned, paid, case_reserve,
        case_change, ibnr_cl, ibnr_bf, ibnr, ibnr_change, cap, expenses, before, close_rules,
        outcome, alloc, contrib, claimants, rows, int(len(np.unique(contrib.member_id))),
        si_by_benefit)


def _ibnr(db: Session, *, project: Project, q: Quarter,
          by_product: list[figures.EarnedByProduct]) -> tuple[int, int]:
    """IBNR by chain ladder and by Bornhuetter-Ferguson on the incurred triangle."""
    from mutua.actuarial import reserving, triangle
    from mutua.claims import service as claims_service

    cells = claims_service.triangle(db, project_id=project.id, basis="incurred", as_of=q.end)
    if not cells:
        return 0, 0
    # Incurred amounts may fall when a case reserve is released: no incremental check here.
    tri = triangle.from_cells(((str(o), int(k), float(v)) for o, k, v in cells),
                              check_cumulative=False)
    cl = reserving.chain_ladder(tri)
    premiums = bf_premiums(db, project_id=project.id, origins=tri.origins, current=q,
                           by_product=by_product)
    bf = reserving.bornhuetter_ferguson(tri, premiums, float(project.a_priori_loss_ratio))
    return _fen_estimate(cl.total_ibnr), _fen_estimate(bf.total_ibnr)


def bf_premiums(db: Session, *, project_id: int, origins: list[str],
                current: Quarter | None = None,
                by_product: list[figures.EarnedByProduct] | None = None) -> dict[str, float]:
    """Each origin quarter's earned premium (已赚保费) in yuan, as Bornhuetter-Ferguson is
    given it at the close: from the quarter's close when closed, else computed; at least
    one fen, so a quarter that earned nothing still has a premium."""
    return {o: float(from_fen(max(_earned_in(db, project_id, Quarter.parse(o), current,
                                             by_product or []), 1)))
            for o in origins}


def _fen_estimate(x: float) -> int:
    return max(0, to_fen(Decimal(repr(x))))


def _earned_in(db: Session, project_id: int, origin: Quarter, current: Quarter | None,
               by_product: list[figures.EarnedByProduct]) -> int:
    """Earned premium of an origin quarter: from its close if closed, else computed."""
    if origin == current:
        return sum(e.in_quarter for e in by_product)
    row = db.scalar(select(Close).where(Close.project_id == project_id,
                                        Close.quarter == str(origin)))
    if row is not None and row.statement:
        return to_fen(Decimal(row.statement["earned_premium"]))
    return sum(e.in_quarter for e in figures.earned_by_product(db, project_id=project_id,
                                                                quarter=origin))


def _expenses(db: Session, *, project_id: int, q: Quarter, in_quarter: dict[int, int],
              cfg: SettlementConfig) -> tuple[int, int]:
    """(cap, charged): the cap is each product's earned premium times its expense loading."""
    loadings = dict(db.execute(select(Product.id, Product.expense_loading)
                               .where(Product.project_id == project_id)).all())
    cap = sum(int((Decimal(max(e, 0)) * Decimal(loadings.get(p, 0))).to_integral_value())
              for p, e in in_quarter.items())
    recorded = db.scalar(select(func.count(Expense.id)).where(
        Expense.project_id == project_id, Expense.quarter == str(q)))
    if recorded:
        actual = db.scalar(select(ledger_service.fen_sum(Expense.amount)).where(
            Expense.project_id == project_id, Expense.quarter == str(q))) or 0
    else:
        actual = int((Decimal(cap) * Decimal(cfg.default_expense_share)).to_integral_value())
    return cap, min(int(actual), cap)


def _rules(db: Session, *, project_id: int, cfg: SettlementConfig, earned_q: int) -> rules.Rules:
    annual = Decimal(max(earned_q, 0) * 4)
    done = db.execute(select(ledger_service.fen_sum(Close.startup_costs_recovered),
                             ledger_service.fen_sum(Close.fund_repaid))
                      .where(Close.project_id == project_id)).one()
    recovered, repaid = int(done[0] or 0), int(done[1] or 0)
    fund = to_fen(cfg.operating_fund) - repaid if cfg.operating_fund_borrowed else 0
    return rules.Rules(
        reserve_target=int(annual * Decimal(cfg.reserve_target_ratio)),
        reserve_minimum=int(annual * Decimal(cfg.reserve_minimum_ratio)),
        reserve_contribution_rate=Decimal(cfg.reserve_contribution_rate),
        startup_costs_outstanding=max(0, to_fen(cfg.startup_costs) - recovered),
        fund_outstanding=max(0, fund), fund_instalment=to_fen(cfg.operating_fund_instalment),
        fund_repayment_approved=bool(cfg.operating_fund_repayment_approved))


def _uplift_rows(db: Session, contrib: figures.Contributors, shares: np.ndarray):
    """Per (policy, benefit): money and sum insured added. Benefits that share another's
    sum insured, or pay a daily amount, are raised through the benefit they follow."""
    empty = np.zeros(0, dtype=np.int64)
    si_by_benefit: dict[str, tuple[int, int]] = {}
    paying = shares > 0
    if not paying.any():
        return (empty, empty, empty, empty), si_by_benefit
    out = []
    for product_id in np.unique(contrib.product_id[paying]):
        benefits = db.execute(
            select(Benefit.id, Benefit.code, Benefit.base_sum_insured, Benefit.pure_risk_rate)
            .where(Benefit.product_id == int(product_id),
                   Benefit.shares_sum_insured_with.is_(None), Benefit.daily_amount.is_(None),
                   Benefit.pure_risk_rate > 0)
            .order_by(Benefit.id)).all()
        mask = paying & (contrib.product_id == product_id)
        ids = contrib.policy_id[mask]
        weights = allocation.benefit_weights([to_fen(b.base_sum_insured) for b in benefits],
                                             [Decimal(b.pure_risk_rate) for b in benefits])
        money = allocation.split_over_benefits(shares[mask], weights)  # policies x benefits
        si = np.column_stack([
            allocation.sum_insured_added(money[:, j], allocation.rate_units(
                Decimal(b.pure_risk_rate)), contrib.remaining_days[mask])
            for j, b in enumerate(benefits)])
        for j, b in enumerate(benefits):
            had = si_by_benefit.get(b.code, (0, 0))
            si_by_benefit[b.code] = (had[0] + int(money[:, j].sum()), had[1] + int(si[:, j].sum()))
        # Row-major: a policy's benefits side by side, so rows arrive in index order.
        keep = money.ravel() > 0
        out.append((np.repeat(ids, len(benefits))[keep],
                    np.tile(np.array([b.id for b in benefits], dtype=np.int64), len(ids))[keep],
                    money.ravel()[keep], si.ravel()[keep]))
    cols = tuple(np.concatenate([o[i] for o in out]) for i in range(4))
    if len(out) > 1:
        order = np.argsort(cols[0], kind="stable")
        cols = tuple(c[order] for c in cols)
    return cols, si_by_benefit


# ---------------------------------------------------------------- writing and reading

def _write(db: Session, *, project: Project, q: Quarter, row: Close, work: Work,
           statement: dict, actor: Principal) -> None:
    from mutua.policies import service as policies_service

    o = work.outcome
    ledger_service.open_books(db, project_id=project.id)
    ledger_service.post_many(db, books.close_entries(
        project_id=project.id, quarter=str(q), on=q.end, earned=work.earned,
        uplift_earned=work.uplift_earned, ibnr_change=work.ibnr_change, expenses=work.expenses,
        startup_recovered=o.startup_costs_recovered, reserve_contribution=o.reserve_contribution,
        deficit_change=o.deficit_after - work.before.deficit, fund_repaid=o.fund_repaid,
        uplift=work.alloc.uplift, aid=int(work.alloc.aid.sum()), services=work.alloc.services))
    policy_ids, benefit_ids, money, si = work.uplift_rows
    if len(policy_ids):
        policies_service.record_uplifts(
            db, project_id=project.id, quarter=str(q), effective_from=q.next().start,
            policy_ids=policy_ids, benefit_ids=benefit_ids, money_fen=money,
            sum_insured_fen=si)
    aid_rows = [{"close_id": row.id, "project_id": project.id, "member_id": m,
                 "uncovered_loss": from_fen(loss), "aid": from_fen(int(a))}
                for (m, loss), a in zip(work.claimants, work.alloc.aid, strict=True) if a > 0]
    for start in range(0, len(aid_rows), 5000):
        db.execute(insert(AidPayment), aid_rows[start:start + 5000])
    row.earned_to_date = from_fen(work.earned_to_date)
    row.uplift_earned_to_date = from_fen(work.uplift_earned_to_date)
    row.case_reserve = from_fen(work.case_reserve)
    row.ibnr = from_fen(work.ibnr)
    row.reserve_after = from_fen(o.reserve_after)
    row.deficit_after = from_fen(o.deficit_after)
    row.undistributed_after = from_fen(o.undistributed_after)
    row.startup_costs_recovered = from_fen(o.startup_costs_recovered)
    row.fund_repaid = from_fen(o.fund_repaid)
    row.distributable = from_fen(o.distributable)
    row.policies_uplifted = int(np.count_nonzero(work.alloc.uplift_shares))
    row.sum_insured_added = from_fen(int(si.sum()))
    row.statement = statement
    db.flush()
    audit.record(db, actor=actor, action="settlement.close", entity="settlement_close",
                 entity_id=row.id, project_id=project.id,
                 detail={"quarter": str(q), "surplus": statement["surplus"],
                         "distributable": statement["distributable"]})


def _statement(project: Project, q: Quarter, w: Work, policy: AllocationPolicy | None,
               actor: Principal, *, dry_run: bool) -> dict:
    o, f = w.outcome, fmt
    y = from_fen
    uplifted = w.alloc.uplift_shares > 0
    return {
        "project": project.code, "quarter": str(q), "dry_run": dry_run,
        "closed_by": actor.username, "period": {"start": str(q.start), "end": str(q.end)},
        "earned_premium": f(y(w.earned)), "uplift_premium_earned": f(y(w.uplift_earned)),
        "claims_paid": f(y(w.paid)), "case_reserve": f(y(w.case_reserve)),
        "case_reserve_change": f(y(w.case_change)), "ibnr": f(y(w.ibnr)),
        "ibnr_change": f(y(w.ibnr_change)), "ibnr_method": project.reserving_method,
        "ibnr_chainladder": f(y(w.ibnr_cl)), "ibnr_bf": f(y(w.ibnr_bf)),
        "claims_incurred": f(y(w.paid + w.case_change + w.ibnr_change)),
        "expense_cap": f(y(w.expense_cap)), "expenses": f(y(w.expenses)),
        "result": f(y(o.result)),
        "reserve_before": f(y(w.before.reserve)), "reserve_drawn": f(y(o.reserve_drawn)),
        "reserve_contribution": f(y(o.reserve_contribution)),
        "reserve_after": f(y(o.reserve_after)), "reserve_target": f(y(w.rules.reserve_target)),
        "reserve_minimum": f(y(w.rules.reserve_minimum)),
        "deficit_before": f(y(w.before.deficit)), "deficit_made_good": f(y(o.deficit_made_good)),
        "deficit_after": f(y(o.deficit_after)), "surplus": f(y(o.surplus)),
        "undistributed_before": f(y(w.before.undistributed)),
        "start_up_costs_recovered": f(y(o.startup_costs_recovered)),
        "operating_fund_repaid": f(y(o.fund_repaid)),
        "distributable": f(y(o.distributable)),
        "undistributed_after": f(y(o.undistributed_after)),
        "gates": [{"name": g.name, "passed": g.passed, "reason": g.reason} for g in o.gates],
        "allocation_policy": {
            "version": policy.version if policy else 1,
            "effective_from": policy.effective_from if policy else FIRST_QUARTER,
            "uplift": str(policy.uplift if policy else DEFAULT_SHARES.uplift),
            "aid": str(policy.aid if policy else DEFAULT_SHARES.aid),
            "services": str(policy.services if policy else DEFAULT_SHARES.services)},
        "allocations": {
            "uplift": f(y(w.alloc.uplift)), "aid": f(y(int(w.alloc.aid.sum()))),
            "services": f(y(w.alloc.services)),
            "aid_returned_to_uplift": f(y(w.alloc.aid_returned_to_uplift)),
            "uplift_to_services": f(y(w.alloc.uplift_to_services))},
        "members_in_force_next_quarter": w.members_in_force,
        "policies_in_force_next_quarter": int(len(w.contributors.policy_id)),
        "policies_uplifted": int(uplifted.sum()),
        "members_uplifted": int(len(np.unique(w.contributors.member_id[uplifted]))),
        "uplift_effective_from": str(q.next().start),
        "sum_insured_added": f(y(int(w.uplift_rows[3].sum()))),
        "sum_insured_added_by_benefit": [
            {"benefit": code, "money": f(y(m)), "sum_insured_added": f(y(s))}
            for code, (m, s) in sorted(w.si_by_benefit.items())],
        "claimants": len(w.claimants),
        "claimants_aided": int(np.count_nonzero(w.alloc.aid)),
    }


def project_statement(db: Session, *, project_code: str, quarter: str,
                      actor: Principal | None = None) -> dict:
    project = _project(db, project_code)
    q = Quarter.parse(quarter)
    row = db.scalar(select(Close).where(Close.project_id == project.id, Close.quarter == str(q)))
    if row is None:
        raise NotFound(f"{project_code} {q} has not been closed")
    return dict(row.statement, closed_at=row.closed_at.isoformat())


def list_closes(db: Session, *, project_code: str | None = None, limit: int = 100,
                offset: int = 0) -> tuple[list[dict], int]:
    stmt = select(Close, Project.code).join(Project, Project.id == Close.project_id)
    count = select(func.count(Close.id)).join(Project, Project.id == Close.project_id)
    if project_code:
        _project(db, project_code)
        stmt = stmt.where(Project.code == project_code)
        count = count.where(Project.code == project_code)
    rows = db.execute(stmt.order_by(Project.code, Close.quarter).limit(limit).offset(offset)).all()
    items = [{
        "project": code, "quarter": c.quarter, "closed_at": c.closed_at.isoformat(),
        "closed_by": c.closed_by, "surplus": c.statement.get("surplus"),
        "distributable": fmt(c.distributable), "reserve_after": fmt(c.reserve_after),
        "deficit_after": fmt(c.deficit_after), "policies_uplifted": c.policies_uplifted,
        "sum_insured_added": fmt(c.sum_insured_added),
    } for c, code in rows]
    return items, int(db.scalar(count) or 0)


def member_statement(db: Session, *, member_id: int, quarter: str | None = None,
                     actor: Principal) -> dict:
    """A member's share of each closed quarter: contribution, uplift per policy, aid."""
    from mutua.members.models import Member
    from mutua.policies.models import Policy, SumInsuredUplift

    if actor.is_member and actor.member_id != member_id:
        raise NotFound(f"member {member_id} not found")
    if member_id is None or db.get(Member, member_id) is None:
        raise NotFound(f"member {member_id} not found")
    closes = select(Close.id, Close.project_id, Close.quarter, Project.code).join(
        Project, Project.id == Close.project_id)
    if quarter:
        closes = closes.where(Close.quarter == str(Quarter.parse(quarter)))
    policies = db.execute(select(Policy).where(Policy.member_id == member_id)).scalars().all()
    projects = {p.project_id for p in policies}
    aid = {cid: (u, a) for cid, u, a in db.execute(
        select(AidPayment.close_id, AidPayment.uncovered_loss, AidPayment.aid)
        .where(AidPayment.member_id == member_id)).all()}
    uplifts = db.execute(
        select(SumInsuredUplift.policy_id, SumInsuredUplift.quarter, Benefit.code,
               SumInsuredUplift.money, SumInsuredUplift.sum_insured_added,
               SumInsuredUplift.effective_from)
        .join(Benefit, Benefit.id == SumInsuredUplift.benefit_id)
        .where(SumInsuredUplift.policy_id.in_([p.id for p in policies]) if policies else False)
        .order_by(SumInsuredUplift.policy_id, Benefit.id)).all()
    quarters = []
    for cid, pid, qtext, code in db.execute(closes.order_by(Close.quarter)).all():
        if pid not in projects and cid not in aid:
            continue
        quarters.append(_member_quarter(cid, pid, Quarter.parse(qtext), code, policies,
                                        uplifts, aid))
    audit.record(db, actor=actor, action="settlement.member_statement.read", entity="member",
                 entity_id=member_id, detail={"quarter": quarter or "all"})
    return {"member_id": member_id, "quarters": quarters}


def _member_quarter(close_id, project_id, q, code, policies, uplifts, aid) -> dict:
    from mutua.actuarial.earned import earned_between

    mine = [p for p in policies if p.project_id == project_id]
    contribution = Decimal(0)
    rows = []
    for p in mine:
        if p.cover_end >= p.cover_start and p.cover_start <= q.end and p.cover_end >= q.start:
            net = p.premium - p.refund
            paid = earned_between(net, p.cover_start, p.cover_end, q.start, q.end) if net > 0 \
                else Decimal(0)
            contribution += paid
        benefits = [{"benefit": b, "money": fmt(m), "sum_insured_added": fmt(s),
                     "effective_from": str(e)}
                    for pol, qq, b, m, s, e in uplifts if pol == p.id and qq == str(q)]
        if benefits:
            rows.append({"policy_id": p.id, "policy_number": p.policy_number,
                         "money": fmt(sum((Decimal(b["money"]) for b in benefits), Decimal(0))),
                         "sum_insured_added": fmt(sum((Decimal(b["sum_insured_added"])
                                                      for b in benefits), Decimal(0))),
                         "benefits": benefits})
    uncovered, granted = aid.get(close_id, (Decimal(0), Decimal(0)))
    return {"project": code, "quarter": str(q), "contribution": fmt(contribution),
            "uplift": fmt(sum((Decimal(r["money"]) for r in rows), Decimal(0))),
            "uplift_policies": rows, "aid": fmt(granted), "uncovered_loss": fmt(uncovered)}
