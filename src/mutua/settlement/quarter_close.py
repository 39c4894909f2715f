"""The quarterly close and surplus sharing (结余共享).

``close_quarter`` is one unit of work: its first write is the (project, quarter) row whose
unique key makes a second, concurrent close fail fast; a re-run answers with the stored
result; ``dry_run`` computes everything and writes nothing. A closed quarter is never
edited: late claims, cancellations and corrections flow into the next close because every
running figure (earned premium, uplift premium earned, claims payable, case reserve, IBNR)
is booked as the difference between its value now and what earlier closes booked. The
rules are pure (close.py, allocation.py, expenses.py); what a close tells is built in
statements.py; the uplift's columns are read in uplift.py.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal

import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Product, Project
from mutua.claims import service as claims_service
from mutua.dates import Quarter
from mutua.dates import today as shanghai_today
from mutua.db import batched, is_sqlite
from mutua.errors import Conflict, Forbidden, ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.money import from_fen, to_fen
from mutua.policies import cover as policy_cover
from mutua.reinsurance import service as reinsurance_service
from mutua.settlement import (
    allocation,
    books,
    capital,
    expenses,
    figures,
    notices,
    reserving,
    statements,
    uplift,
)
from mutua.settlement import close as rules
from mutua.settlement.models import AidPayment, Close, Expense, SettlementConfig
from mutua.settlement.terms import (
    DEFAULT_SHARES,
    config_for,
    default_policy,
    last_close,
    policy_for,
    project_by_code,
    shares_of,
)
from mutua.settlement.work import Work

SQLITE_CACHE_KIB = 262_144  # 256 MiB while a close runs


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
    project = project_by_code(db, project_code)
    q = Quarter.parse(quarter)
    today = today or shanghai_today()
    if q.end >= today:
        raise ValidationFailed("quarter", "%(quarter)s has not ended (it ends %(end)s)", quarter=q, end=q.end)
    existing = db.scalar(select(Close).where(Close.project_id == project.id,
                                             Close.quarter == str(q)))
    cfg = config_for(db, project_id=project.id, create=False)
    policy = policy_for(db, project_id=project.id, quarter=q)
    shares = shares_of(policy)
    fingerprint = _fingerprint(project, shares, policy.version if policy else None, cfg)
    if existing is not None:
        return _answer_existing(existing, fingerprint)
    last = last_close(db, project.id)
    if last is not None and last.quarter > str(q):
        raise Conflict("%(project)s: a later quarter (%(later)s) is already closed",
                       project=project_code, later=last.quarter)
    if last is not None and last.quarter != str(q.previous()):
        raise Conflict("%(project)s: close %(previous)s first (last close %(last)s)",
                       project=project_code, previous=q.previous(), last=last.quarter)
    if not actor.is_staff:
        raise Forbidden("only staff close a quarter")
    row = None
    if not dry_run:
        row = _claim_the_quarter(db, project, q, actor, fingerprint)
        if isinstance(row, dict):
            return row
        cfg = config_for(db, project_id=project.id, create=True)
        policy = policy or default_policy(db, project.id)
        row.allocation_policy_id = policy.id
    with _large_cache(db):
        progress(0, 2, "computing")
        work = _compute(db, project=project, q=q, last=last, cfg=cfg, shares=shares)
        statement = statements.close_statement(project, q, work, policy, actor,
                                                 dry_run=dry_run, defaults=DEFAULT_SHARES)
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


def _answer_existing(existing: Close, fingerprint: str) -> dict:
    if existing.fingerprint != fingerprint:
        raise Conflict(
            "%(quarter)s is already closed with different inputs (allocation policy, "
            "settings or reserving method changed); a closed quarter is never edited, so the "
            "change applies from the next close", quarter=existing.quarter)
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


def _compute(db: Session, *, project: Project, q: Quarter, last: Close | None,
             cfg: SettlementConfig, shares: allocation.Shares) -> Work:
    by_product = figures.earned_by_product(db, project_id=project.id, quarter=q)
    earned_to_date = sum(e.to_date for e in by_product)
    earned = earned_to_date - (to_fen(last.earned_to_date) if last else 0)
    uplift_to_date = figures.uplift_earned_to_date(db, project_id=project.id, as_of=q.end)
    uplift_earned = uplift_to_date - (to_fen(last.uplift_earned_to_date) if last else 0)

    paid = to_fen(claims_service.paid_in(db, project_id=project.id, start=q.start, end=q.end))
    payable = to_fen(claims_service.claims_payable_at(db, project_id=project.id, as_of=q.end))
    payable_before = (to_fen(last.claims_payable)
                      if last is not None and last.claims_payable is not None else None)
    case_reserve = to_fen(claims_service.case_reserve_at(db, project_id=project.id, as_of=q.end))
    case_before = to_fen(last.case_reserve) if last else 0
    in_quarter = {e.product_id: e.in_quarter for e in by_product}
    reserves = reserving.assess(db, project=project, q=q, last=last, in_quarter=in_quarter)
    ibnr_cl, ibnr_bf, ibnr = (reserves.ibnr.chainladder, reserves.ibnr.bf,
                              reserves.ibnr.booked)
    ibnr_before = to_fen(last.ibnr) if last else 0

    costs = _expenses(db, project_id=project.id, q=q, in_quarter=in_quarter, cfg=cfg)
    reins = reinsurance_service.quarter_figures(
        db, project_id=project.id, q=q, earned_in_quarter=earned + uplift_earned,
        booked_before=statements.reinsurance_to_date(last))
    terms = rules.QuarterFigures(
        earned_premium=earned, uplift_premium_earned=uplift_earned, claims_paid=paid,
        case_reserve_change=case_reserve - case_before, ibnr_change=ibnr - ibnr_before,
        expenses=costs.charged, claims_payable_change=payable - (payable_before or 0),
        unexpired_risk_change=reserves.unexpired_risk_change,
        uplift_premium_returned=reserves.uplift_returned,
        reinsurance_ceded=reins.ceded, reinsurance_recovered=reins.recovered)
    before = rules.Position(
        reserve=to_fen(last.reserve_after) if last else 0,
        deficit=to_fen(last.deficit_after) if last else 0,
        undistributed=to_fen(last.undistributed_after) if last else 0)
    close_rules = _rules(db, project_id=project.id, cfg=cfg, earned_q=sum(in_quarter.values()))
    assessment, solvency_detail = capital.assess_close(
        db, project_id=project.id, q=q, cfg=cfg, inputs=capital.Inputs(
            earned_to_date=earned_to_date + uplift_to_date,
            close_effect=(earned + uplift_earned + terms.uplift_premium_returned
                          - terms.ibnr_change - terms.unexpired_risk_change - terms.expenses
                          - reins.close_ceded),
            close_ceded=reins.close_ceded, claims_reserves=case_reserve + ibnr,
            earned_by_product=in_quarter))
    close_rules = replace(close_rules, solvency=assessment)
    outcome = rules.settle(terms, before, close_rules)

    found = uplift.candidates(db, project_id=project.id, day=q.next().start)
    # Aid follows the quarter a claim was approved in; the first close under that rule
    # also takes claims approved earlier and unpaid, which the closes before it (aid by
    # first payment) had not reached yet.
    claimants = [(int(m), to_fen(loss)) for m, loss in claims_service.claimants_approved_in(
        db, project_id=project.id, start=q.start, end=q.end,
        unpaid_before=last is not None and reserves.first_under_rule) if loss > 0]
    uncovered = np.array([c[1] for c in claimants], dtype=np.int64)
    carried_in = to_fen(last.uplift_carried) if last else 0
    alloc = allocation.allocate(outcome.distributable, shares, uncovered, found.basis,
                                carried_in=carried_in)
    # Held back by a gate, the carried money waits in the undistributed surplus, still
    # meant for uplift.
    carried = (alloc.carried if outcome.distributable
               else min(carried_in, outcome.undistributed_after))
    return Work(
        earned_to_date, in_quarter, uplift_to_date, terms, payable, payable_before,
        case_reserve, case_before, ibnr_cl, ibnr_bf, ibnr, ibnr_before, costs, reins,
        solvency_detail, before,
        close_rules, outcome, alloc, found, claimants, carried_in, carried,
        last.quarter if last else None, reserves)


def bf_premiums(db: Session, *, project_id: int, origins: list[str],
                current: Quarter | None = None,
                by_product: list[figures.EarnedByProduct] | None = None) -> dict[str, float]:
    """Each origin quarter's earned premium (已赚保费) in yuan, as Bornhuetter-Ferguson is
    given it at the close: from the quarter's close when closed, else computed; at least
    one fen, so a quarter that earned nothing still has a premium."""
    return {o: float(from_fen(max(_earned_in(db, project_id, Quarter.parse(o), current,
                                             by_product or []), 1)))
            for o in origins}


def _earned_in(db: Session, project_id: int, origin: Quarter, current: Quarter | None,
               by_product: list[figures.EarnedByProduct]) -> int:
    """Earned premium of an origin quarter: from its close if closed, else computed."""
    if origin == current:
        return sum(e.in_quarter for e in by_product)
    stored = db.scalar(select(Close.earned_premium).where(Close.project_id == project_id,
                                                          Close.quarter == str(origin)))
    if stored is not None:
        return to_fen(stored)
    return sum(e.in_quarter for e in figures.earned_by_product(db, project_id=project_id,
                                                                quarter=origin))


def _expenses(db: Session, *, project_id: int, q: Quarter, in_quarter: dict[int, int],
              cfg: SettlementConfig) -> expenses.ExpenseCharge:
    """The quarter's costs by category against the cap (each product's earned premium times
    its expense loading); with none recorded, the configured share of the cap, assumed."""
    loadings = dict(db.execute(select(Product.id, Product.expense_loading)
                               .where(Product.project_id == project_id)).all())
    cap = expenses.cap(in_quarter, loadings)
    actual = {c: int(fen or 0) for c, fen in db.execute(
        select(Expense.category, ledger_service.fen_sum(Expense.amount))
        .where(Expense.project_id == project_id, Expense.quarter == str(q))
        .group_by(Expense.category)).all()}
    if not actual:
        actual = expenses.assumed(cap, Decimal(cfg.default_expense_share))
    return expenses.charge(cap=cap, actual=actual)


def _rules(db: Session, *, project_id: int, cfg: SettlementConfig, earned_q: int) -> rules.Rules:
    done = db.execute(select(ledger_service.fen_sum(Close.startup_costs_recovered),
                             ledger_service.fen_sum(Close.fund_repaid))
                      .where(Close.project_id == project_id)).one()
    recovered, repaid = int(done[0] or 0), int(done[1] or 0)
    target, minimum = rules.reserve_bounds(earned_q, Decimal(cfg.reserve_target_ratio),
                                           Decimal(cfg.reserve_minimum_ratio))
    return rules.Rules(
        reserve_target=target, reserve_minimum=minimum,
        reserve_contribution_rate=Decimal(cfg.reserve_contribution_rate),
        startup_costs_outstanding=rules.still_owed(to_fen(cfg.startup_costs), recovered),
        fund_outstanding=(rules.still_owed(to_fen(cfg.operating_fund), repaid)
                          if cfg.operating_fund_borrowed else 0),
        fund_instalment=to_fen(cfg.operating_fund_instalment),
        fund_repayment_approved=bool(cfg.operating_fund_repayment_approved))


# ---------------------------------------------------------------- writing

def _write(db: Session, *, project: Project, q: Quarter, row: Close, work: Work,
           statement: dict, actor: Principal) -> None:
    o, t = work.outcome, work.figures
    ledger_service.open_books(db, project_id=project.id)
    ledger_service.post_many(db, books.close_entries(
        project_id=project.id, quarter=str(q), on=q.end, earned=t.earned_premium,
        uplift_earned=t.uplift_premium_earned, ibnr_change=t.ibnr_change,
        expenses=t.expenses, startup_recovered=o.startup_costs_recovered,
        reserve_contribution=o.reserve_contribution,
        deficit_change=o.deficit_after - work.before.deficit, fund_repaid=o.fund_repaid,
        uplift=work.alloc.uplift, aid=int(work.alloc.aid.sum()), services=work.alloc.services,
        unexpired_risk_change=t.unexpired_risk_change,
        uplift_returned=t.uplift_premium_returned,
        ceded=work.reinsurance.close_ceded))
    reserving.write(db, close=row, r=work.reserving)
    for policy_ids, benefit_ids, money, si in work.uplift_rows():
        policy_cover.record_uplifts(
            db, project_id=project.id, quarter=str(q), effective_from=q.next().start,
            policy_ids=policy_ids, benefit_ids=benefit_ids, money_fen=money,
            sum_insured_fen=si)
    aid_rows = [{"close_id": row.id, "project_id": project.id, "member_id": m,
                 "uncovered_loss": from_fen(loss), "aid": from_fen(int(a))}
                for (m, loss), a in zip(work.claimants, work.alloc.aid, strict=True) if a > 0]
    for batch in batched(aid_rows, 5000):
        db.execute(insert(AidPayment), batch)
    for name, fen in (("earned_to_date", work.earned_to_date),
                      ("earned_premium", t.earned_premium),
                      ("uplift_earned_to_date", work.uplift_earned_to_date),
                      ("uplift_premium_earned", t.uplift_premium_earned),
                      ("claims_incurred", t.claims_incurred), ("result", t.result),
                      ("reserve_drawn", o.reserve_drawn), ("surplus", o.surplus),
                      ("reinsurance_recovered_to_date", work.reinsurance.recovered_to_date),
                      ("reinstatement_premium_to_date",
                       work.reinsurance.reinstatement_premium_to_date),
                      ("case_reserve", work.case_reserve), ("claims_payable", work.claims_payable),
                      ("ibnr", work.ibnr), ("reserve_after", o.reserve_after),
                      ("deficit_after", o.deficit_after),
                      ("undistributed_after", work.undistributed_after),
                      ("startup_costs_recovered", o.startup_costs_recovered),
                      ("fund_repaid", o.fund_repaid), ("distributable", o.distributable),
                      ("uplift_carried", work.carried),
                      ("sum_insured_added", uplift.Raised.of(work.alloc.raised).sum_insured_added)):
        setattr(row, name, from_fen(fen))
    row.uplift_rate = work.alloc.rate
    row.policies_uplifted = statement["policies_uplifted"]
    row.statement = statement
    db.flush()
    audit.record(db, actor=actor, action="settlement.close", entity="settlement_close",
                 entity_id=row.id, project_id=project.id,
                 detail={"quarter": str(q), "surplus": statement["surplus"],
                         "distributable": statement["distributable"],
                         "uplift_rate": statement["uplift_rate"]})
    notices.tell_statement_published(db, project_id=project.id, close_id=row.id, quarter=str(q),
                                     quarter_end=q.end)  # every member of the pool, in one INSERT
