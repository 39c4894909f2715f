"""Recording a quarter's necessary costs (必要费用) and reading them back.

Costs are entered by category for a quarter not yet closed; the close charges them to the
pool up to the cap (the pure rule is in expenses.py).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.catalog.mutual import is_pool
from mutua.dates import Quarter
from mutua.errors import Conflict, ProblemCollector, ValidationFailed, Worded
from mutua.ledger import service as ledger_service
from mutua.money import from_fen, parse_yuan, round_fen
from mutua.settlement import expenses
from mutua.settlement.models import Close, Expense
from mutua.settlement.terms import project_by_code

EXPENSE_CATEGORY_RULE = Worded("must be one of staff, systems, claims_handling, member_services")


def record_expense(db: Session, *, project_code: str, quarter: str, amount: Decimal, memo: str,
                   actor: Principal, category: str = expenses.STAFF) -> Expense:
    """Necessary costs for a quarter not yet closed; the close charges them up to the cap."""
    project = project_by_code(db, project_code)
    q = Quarter.parse(quarter)
    if amount < 0:
        raise ValidationFailed("amount", "must not be negative")
    if category not in expenses.CATEGORIES:
        raise ValidationFailed("category", EXPENSE_CATEGORY_RULE)
    if db.scalar(select(Close.id).where(Close.project_id == project.id,
                                        Close.quarter == str(q))):
        raise Conflict("%(project_code)s %(q)s is closed; record the cost in a later quarter",
                       project_code=project_code, q=q)
    row = Expense(project_id=project.id, quarter=str(q), amount=amount, memo=memo[:200],
                  category=category)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="settlement.record_expense", entity="expense",
                 entity_id=row.id, project_id=project.id,
                 detail={"quarter": str(q), "amount": str(amount), "category": category})
    return row


def enter_expense(db: Session, *, project_code: str, quarter: str, amount: Decimal | str,
                  memo: str, actor: Principal, category: str = expenses.STAFF) -> Expense:
    """An expense as the staff page or the API enters it, one use case: every problem of the
    entry at once (check_expense), then the cost recorded (record_expense)."""
    value = check_expense(db, project_code=project_code, quarter=quarter, amount=amount,
                          memo=memo, category=category)
    return record_expense(db, project_code=project_code.strip(), quarter=quarter, amount=value,
                          memo=memo.strip(), actor=actor, category=category)


def check_expense(db: Session, *, project_code: str, quarter: str, amount: Decimal | str,
                  memo: str, category: str = expenses.STAFF) -> Decimal:
    """Every problem of an expense as a form enters it, at once; nothing is stored.

    The amount is yuan to the fen ("1234.50"), not negative; the quarter looks like 2026Q4
    and is not closed; the memo says what the cost was (1 to 200 characters); the category
    is one of staff, systems, claims_handling, member_services. Returns the amount as a
    Decimal for ``record_expense``.
    """
    problems = ProblemCollector()
    project = db.scalar(select(Project).where(Project.code == (project_code or "").strip(), is_pool()))
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
        problems.add("memo", "must be 1 to %(limit)s characters", limit=200)
    if category not in expenses.CATEGORIES:
        problems.add("category", EXPENSE_CATEGORY_RULE)
    problems.raise_if_any()
    return value


def _yuan(amount: Decimal | str, problems) -> Decimal | None:
    """An amount in yuan to the fen, or None with the problem noted."""
    try:
        value = parse_yuan(amount)
    except ValidationFailed:
        value = None
    if value is None:
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
        stmt = stmt.where(Expense.project_id == project_by_code(db, project_code).id)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.execute(stmt.order_by(Expense.quarter.desc(), Project.code)
                      .limit(limit).offset(offset)).all()
    return [{"project": code, "quarter": q, "count": int(n), "total": from_fen(fen or 0),
             "closed": bool(c)} for code, q, n, fen, c in rows], int(total)


def list_expenses(db: Session, *, project_code: str, quarter: str | None = None,
                  limit: int = 50, offset: int = 0) -> tuple[list[Expense], int]:
    """The expense lines of one project (of one quarter, if given), latest first."""
    stmt = select(Expense).where(Expense.project_id == project_by_code(db, project_code).id)
    if quarter:
        stmt = stmt.where(Expense.quarter == str(Quarter.parse(quarter)))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.scalars(stmt.order_by(Expense.quarter.desc(), Expense.id.desc())
                      .limit(limit).offset(offset))
    return list(rows), int(total)

