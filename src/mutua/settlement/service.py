"""The settlement use cases, gathered for the edges (routers, pages, CLI, jobs).

Each family lives in its own module, the way claims/ is split:

- terms.py: a project's close settings and allocation policy versions;
- expense_records.py: recording and listing the quarter's necessary costs;
- quarter_close.py: the quarterly close itself (compute, then write);
- statements.py: what a close tells (project, member, policy) and the list of closes.

The rules they apply are pure: close.py, allocation.py, expenses.py, solvency.py.
"""

from __future__ import annotations

from mutua.settlement.expense_records import (
    EXPENSE_CATEGORY_RULE,
    check_expense,
    enter_expense,
    expense_totals,
    list_expenses,
    record_expense,
)
from mutua.settlement.quarter_close import Work, bf_premiums, close_quarter
from mutua.settlement.statements import list_closes, member_statement, policy_rises, project_statement
from mutua.settlement.terms import (
    DEFAULT_SHARES,
    FIRST_QUARTER,
    adopt_allocation_policy,
    allocation_history,
    config_for,
    configure,
    policy_for,
)

__all__ = [
    "DEFAULT_SHARES", "EXPENSE_CATEGORY_RULE", "FIRST_QUARTER", "Work", "adopt_allocation_policy",
    "allocation_history", "bf_premiums", "check_expense", "close_quarter", "config_for",
    "configure", "enter_expense", "expense_totals", "list_closes", "list_expenses", "member_statement",
    "policy_for", "policy_rises", "project_statement", "record_expense",
]
