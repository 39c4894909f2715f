"""Ledger and expenses for finance (/staff/finance): record a project's necessary costs for a
quarter not yet closed, see what was recorded per project and quarter, read each
project's trial balance (试算平衡表) as of a date, and set how a project's distributable
surplus is shared (结余分配方案): sum-insured uplift 保额提升, aid to members who had claims
互助金, member services.

The books are per project and double-entry, so every project's balances add up to zero;
the page says so plainly, or shows the difference if they ever do not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Form, Query, Request

from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import Quarter, today
from mutua.deps import MAX_OFFSET, DbSession, Router, refusal_undone
from mutua.errors import Conflict, NotFound, ProblemCollector, ValidationFailed
from mutua.ledger import service as ledger_service
from mutua.money import ZERO
from mutua.settlement import service as settlement_service
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe_all, message_words
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/finance")
PAGE = 50

ACCOUNT_KINDS = {"asset": N_("Asset"), "liability": N_("Liability"), "equity": N_("Equity"),
                 "income": N_("Income"), "expense": N_("Expense")}
# The rules the settlement service may name, so the catalogs carry their translations.
RULES = (N_("is not a project of the mutual"), N_("must look like 2026Q4"),
         N_("is closed; record the cost in a later quarter"),
         N_("must be an amount in yuan, like 1234.50"), N_("must not be negative"),
         N_("must be in whole fen: at most 2 decimals"),
         N_("must be below 1,000,000,000,000 yuan in size"),
         N_("must be 1 to 200 characters"), N_("must be a date"),
         N_("must be a percentage from 0 to 100 with at most 2 decimals"),
         N_("must be 1 to 50 characters"),
         N_("must be one of staff, systems, claims_handling, member_services"))
# Cost categories (expenses.CATEGORIES) with their labels, in the form's order.
EXPENSE_CATEGORIES = {"staff": N_("Staff"), "systems": N_("Systems"),
                      "claims_handling": N_("Claims handling"),
                      "member_services": N_("Member services"),
                      "unclassified": N_("Unclassified")}
HUNDRED = Decimal(100)
REASON_MAX = 50
# What the page adds before the reason, so the history tells a finance adoption from a vote
# ("proposal:<id>", written by governance) and from the default shares ("default").
STAFF_SOURCE = "staff: "
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Line:
    """One account of the trial balance: a debit balance in the debit column, a credit
    balance in the credit column (its size), and the signed balance (debit positive)."""

    code: str
    name_zh: str
    name_en: str
    kind: str
    balance: Decimal

    @property
    def debit(self) -> Decimal:
        return self.balance if self.balance > 0 else ZERO

    @property
    def credit(self) -> Decimal:
        return -self.balance if self.balance < 0 else ZERO


def account_names(name: str) -> tuple[str, str]:
    """The chart names an account in both languages; split it at the first Chinese character.

    >>> account_names("Cash at bank 银行存款")
    ('银行存款', 'Cash at bank')
    """
    match = _CJK.search(name)
    if match is None:
        return name, name
    return name[match.start():].strip(), name[:match.start()].strip() or name


def trial_balance(db, *, project_id: int, as_of: date | None) -> dict:
    """The accounts with debit and credit columns, their totals, and the zero check."""
    lines = [Line(b.code, *account_names(b.name), b.kind, b.balance)
             for b in ledger_service.balances(db, project_id=project_id, as_of=as_of)]
    debits = sum((line.debit for line in lines), ZERO)
    credits = sum((line.credit for line in lines), ZERO)
    return {"lines": lines, "debits": debits, "credits": credits,
            "difference": debits - credits, "balanced": debits == credits}


def _as_of(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed("as_of", "must be a date") from None


# --- surplus allocation ---------------------------------------------------------------------

def percent(share: Decimal) -> str:
    """A share as the page writes it: ``Decimal("0.7")`` -> ``"70"``, ``0.125`` -> ``"12.5"``."""
    value = (Decimal(share) * HUNDRED).normalize()
    return f"{value:f}"


def source_of(source: str) -> dict:
    """Who set a version: finance on this page (with its reason), a members' vote, the default.

    >>> source_of("proposal:7")
    {'kind': 'vote', 'proposal': '7', 'reason': ''}
    >>> source_of("staff: members asked for more aid")
    {'kind': 'finance', 'proposal': '', 'reason': 'members asked for more aid'}
    """
    if source.startswith("proposal:"):
        return {"kind": "vote", "proposal": source.removeprefix("proposal:"), "reason": ""}
    if source == "default":
        return {"kind": "default", "proposal": "", "reason": ""}
    reason = source.removeprefix(STAFF_SOURCE.strip()).strip() if source.startswith("staff") \
        else source
    return {"kind": "finance", "proposal": "", "reason": reason}


def _percent_share(text: str, field: str, problems: ProblemCollector) -> Decimal | None:
    """A share from the percentage typed: "62.5" -> Decimal("0.625"); None when refused."""
    try:
        value = Decimal(text.replace("%", "").replace("％", "").strip())
    except InvalidOperation:
        value = None
    if (value is None or not value.is_finite() or not 0 <= value <= HUNDRED
            or value.as_tuple().exponent < -2):
        problems.add(field, "must be a percentage from 0 to 100 with at most 2 decimals")
        return None
    return value / HUNDRED


def check_allocation(db, *, project: str, uplift: str, aid: str, services: str,
                     effective_from: str, reason: str) -> dict:
    """Every problem of a new allocation policy as the form enters it, at once.

    Shares are typed in per cent (70 / 20 / 10) and must add up to 100; the policy starts
    with a quarter not yet closed. Returns the arguments for ``adopt_allocation_policy``.
    """
    problems = ProblemCollector()
    found = next((p for p in catalog_service.list_projects(db) if p.code == project.strip()),
                 None)
    if found is None:
        problems.add("project", "is not a project of the mutual")
    shares = [_percent_share(text, name, problems)
              for name, text in (("uplift", uplift), ("aid", aid), ("services", services))]
    if None not in shares and sum(shares) != 1:
        total = percent(sum(shares, Decimal(0)))
        problems.add("shares", "must add up to 100%%, got %(total)s%%", total=total)
    quarter = None
    try:
        quarter = Quarter.parse(effective_from, field="effective_from")
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    if found is not None and quarter is not None:
        last = settlement_service.allocation_history(db, project_code=found.code)["last_closed"]
        if last is not None and last >= str(quarter):
            problems.add("effective_from", "%(quarter)s is already closed (last close "
                                           "%(last)s); choose a later quarter", quarter=quarter, last=last)
    reason = " ".join(reason.split())
    if not 1 <= len(reason) <= REASON_MAX:
        problems.add("reason", "must be 1 to 50 characters")
    problems.raise_if_any()
    return {"project_id": found.id, "uplift": shares[0], "aid": shares[1],
            "services": shares[2], "effective_from": str(quarter),
            "source": STAFF_SOURCE + reason}


def _page(request, db, *, project: str = "", as_of: str = "", quarter: str = "",
          offset: int = 0, lines_offset: int = 0, form: dict | None = None,
          problems: list[str] | None = None, alloc_form: dict | None = None,
          alloc_problems: list[str] | None = None, status_code: int = 200):
    projects = catalog_service.list_projects(db)
    current = next((p for p in projects if p.code == project), projects[0] if projects else None)
    report_problems: list[str] = []
    try:
        as_of_day = _as_of(as_of)
    except ValidationFailed as exc:
        as_of_day, report_problems = None, describe_all(exc)
        status_code = 422 if status_code == 200 else status_code
    totals, totals_count = settlement_service.expense_totals(db, limit=PAGE, offset=offset)
    lines, lines_count = [], 0
    if current is not None:
        try:
            lines, lines_count = settlement_service.list_expenses(
                db, project_code=current.code, quarter=quarter or None, limit=PAGE,
                offset=lines_offset)
        except ValidationFailed:
            quarter = ""
            lines, lines_count = settlement_service.list_expenses(
                db, project_code=current.code, limit=PAGE, offset=lines_offset)
    tb = (trial_balance(db, project_id=current.id, as_of=as_of_day)
          if current is not None else None)
    done = request.query_params.get("done") == "expense"
    policies = (settlement_service.allocation_history(db, project_code=current.code)
                if current is not None else None)
    return render(request, "staff/finance.html", status_code=status_code, projects=projects,
                  current=current, as_of=as_of_day, as_of_text=as_of, quarter=quarter,
                  totals=totals, totals_count=totals_count, offset=offset, page=PAGE,
                  more=offset + PAGE < totals_count, lines=lines, lines_count=lines_count,
                  lines_offset=lines_offset, tb=tb, kinds=ACCOUNT_KINDS,
                  form=form or {"project": current.code if current else "",
                                "quarter": str(Quarter.of(today()))},
                  problems=problems or [], report_problems=report_problems, done=done,
                  policies=policies, percent=percent, source_of=source_of,
                  categories=EXPENSE_CATEGORIES,
                  alloc_form=alloc_form or {
                      "project": current.code if current else "",
                      "effective_from": policies["next_close"] if policies else ""},
                  alloc_problems=alloc_problems or [],
                  alloc_done=request.query_params.get("done") == "allocation")


@router.get("")
def finance(request: Request, db: DbSession, principal: Principal = open_to("finance"),
            project: str = Query("", max_length=32), as_of: str = Query("", max_length=10),
            quarter: str = Query("", max_length=7), offset: int = Query(0, ge=0, le=MAX_OFFSET),
            lines_offset: int = Query(0, ge=0, le=MAX_OFFSET)):
    return _page(request, db, project=project, as_of=as_of, quarter=quarter, offset=offset,
                 lines_offset=lines_offset)


@router.post("/expenses")
def record_expense(request: Request, db: DbSession, principal: Principal = open_to("finance"),
                   project: Annotated[str, Form(max_length=32)] = "",
                   quarter: Annotated[str, Form(max_length=16)] = "",
                   amount: Annotated[str, Form(max_length=40)] = "",
                   memo: Annotated[str, Form(max_length=400)] = "",
                   category: Annotated[str, Form(max_length=20)] = "staff"):
    form = {"project": project, "quarter": quarter, "amount": amount, "memo": memo,
            "category": category}
    try:
        with refusal_undone(db):
            row = settlement_service.enter_expense(db, project_code=project, quarter=quarter,
                                                   amount=amount, memo=memo, actor=principal,
                                                   category=category)
    except (ValidationFailed, Conflict, NotFound) as exc:
        # Conflict: the quarter was closed between the check and the write.
        problems = (describe_all(exc) if getattr(exc, "problems", None)
                    else [message_words(exc)])
        return _page(request, db, project=project, form=form, problems=problems,
                     status_code=422)
    query = urlencode({"project": project.strip(), "quarter": row.quarter, "done": "expense"})
    return redirect(f"/staff/finance?{query}#expenses")


@router.post("/allocation")
def adopt_allocation(request: Request, db: DbSession, principal: Principal = open_to("finance"),
                     project: Annotated[str, Form(max_length=32)] = "",
                     uplift: Annotated[str, Form(max_length=12)] = "",
                     aid: Annotated[str, Form(max_length=12)] = "",
                     services: Annotated[str, Form(max_length=12)] = "",
                     effective_from: Annotated[str, Form(max_length=16)] = "",
                     reason: Annotated[str, Form(max_length=200)] = ""):
    """Adopt a new version of a project's allocation policy (the API's allocation-policies)."""
    form = {"project": project, "uplift": uplift, "aid": aid, "services": services,
            "effective_from": effective_from, "reason": reason}
    try:
        with refusal_undone(db):
            args = check_allocation(db, project=project, uplift=uplift, aid=aid,
                                    services=services, effective_from=effective_from,
                                    reason=reason)
            settlement_service.adopt_allocation_policy(db, actor=principal, **args)
    except (ValidationFailed, NotFound) as exc:
        return _page(request, db, project=project, alloc_form=form,
                     alloc_problems=describe_all(exc), status_code=422)
    query = urlencode({"project": project.strip(), "done": "allocation"})
    return redirect(f"/staff/finance?{query}#allocation")
