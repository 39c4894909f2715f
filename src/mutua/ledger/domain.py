"""Journal entries as immutable values that balance when they are built.

>>> e = JournalEntry.of(project_id=1, entry_date=date(2026, 1, 5), kind="premium",
...     memo="premium received", postings=[(CASH, Decimal("30.00")), (UNEARNED_PREMIUM, Decimal("-30.00"))])
>>> e.total
Decimal('0.00')
>>> JournalEntry.of(project_id=1, entry_date=date(2026, 1, 5), kind="x", memo="x",
...     postings=[(CASH, Decimal("1"))])
Traceback (most recent call last):
...
mutua.ledger.domain.Unbalanced: entry 'x' does not balance: postings sum to 1.00
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from mutua.money import ZERO, round_fen

# The chart of accounts every project gets: code -> (name, kind).
CASH = "cash"
PREMIUM_RECEIVABLE = "premium_receivable"
UNEARNED_PREMIUM = "unearned_premium"
PREMIUM_REFUNDS_PAYABLE = "refunds_payable"
# Money received that no due could take yet (a partial, over, duplicate or unknown payment
# in the reconciliation queue) until finance matches, refunds or keeps holding it.
PREMIUM_SUSPENSE = "premium_suspense"
CLAIMS_PAYABLE = "claims_payable"
CASE_RESERVE = "case_reserve"
IBNR_RESERVE = "ibnr_reserve"
MEMBER_AID_PAYABLE = "member_aid_payable"
SERVICES_FUND = "services_fund"
EXPENSES_PAYABLE = "expenses_payable"
STABILISATION_RESERVE = "stabilisation_reserve"
UNDISTRIBUTED_SURPLUS = "undistributed_surplus"
DEFICIT_CARRIED_FORWARD = "deficit_carried_forward"
PREMIUM_EARNED = "premium_earned"
UPLIFT_PREMIUM_EARNED = "uplift_premium_earned"
UNEARNED_UPLIFT_PREMIUM = "unearned_uplift_premium"
CLAIMS_PAID_EXPENSE = "claims_expense"
CASE_RESERVE_CHANGE = "case_reserve_change"
IBNR_CHANGE = "ibnr_change"
OPERATING_EXPENSES = "operating_expenses"
UPLIFT_EXPENSE = "uplift_expense"
MEMBER_AID_EXPENSE = "member_aid_expense"
SERVICES_EXPENSE = "services_expense"
RESERVE_CONTRIBUTION = "reserve_contribution"
UNEXPIRED_RISK_RESERVE = "unexpired_risk_reserve"
UNEXPIRED_RISK_CHANGE = "unexpired_risk_change"
UPLIFT_PREMIUM_RETURNED = "uplift_premium_returned"
# Reinsurance (mutua.reinsurance): what reinsurers owe and are owed, and the two lines of
# the result that make it net of reinsurance.
REINSURANCE_RECOVERABLE = "reinsurance_recoverable"
REINSURANCE_PAYABLE = "reinsurance_payable"
CEDED_PREMIUM = "ceded_premium"
REINSURANCE_RECOVERIES = "reinsurance_recoveries"

CHART: dict[str, tuple[str, str]] = {
    CASH: ("Cash at bank 银行存款", "asset"),
    PREMIUM_RECEIVABLE: ("Premium receivable 应收保费", "asset"),
    REINSURANCE_RECOVERABLE: ("Reinsurance recoverable 应收分保账款", "asset"),
    UNEARNED_PREMIUM: ("Unearned premium reserve 未到期责任准备金", "liability"),
    UNEARNED_UPLIFT_PREMIUM: ("Unearned uplift premium 提升保额未到期准备金", "liability"),
    PREMIUM_REFUNDS_PAYABLE: ("Premium refunds payable 应付退保金", "liability"),
    PREMIUM_SUSPENSE: ("Premiums received unallocated 暂收保费", "liability"),
    CLAIMS_PAYABLE: ("Claims payable 应付赔款", "liability"),
    CASE_RESERVE: ("Case reserve 未决赔款准备金(已报案)", "liability"),
    IBNR_RESERVE: ("IBNR reserve 已发生未报案准备金", "liability"),
    UNEXPIRED_RISK_RESERVE: ("Unexpired risk reserve 保费不足准备金", "liability"),
    MEMBER_AID_PAYABLE: ("Member aid payable 应付出险会员救助金", "liability"),
    SERVICES_FUND: ("Services fund 增值服务基金", "liability"),
    EXPENSES_PAYABLE: ("Expenses payable 应付费用", "liability"),
    REINSURANCE_PAYABLE: ("Reinsurance premium payable 应付分保账款", "liability"),
    STABILISATION_RESERVE: ("Stabilisation reserve 风险平准准备金", "equity"),
    UNDISTRIBUTED_SURPLUS: ("Undistributed surplus 未分配结余", "equity"),
    DEFICIT_CARRIED_FORWARD: ("Deficit carried forward 待弥补亏损", "equity"),
    PREMIUM_EARNED: ("Earned premium 已赚保费", "income"),
    UPLIFT_PREMIUM_EARNED: ("Earned uplift premium 提升保额已赚保费", "income"),
    UPLIFT_PREMIUM_RETURNED: ("Uplift premium returned on cancellation 退保返还提升保额保费",
                              "income"),
    REINSURANCE_RECOVERIES: ("Claims recovered from reinsurers 摊回赔付支出", "income"),
    CEDED_PREMIUM: ("Reinsurance premium ceded 分出保费", "expense"),
    CLAIMS_PAID_EXPENSE: ("Claims expense 赔付支出", "expense"),
    CASE_RESERVE_CHANGE: ("Change in case reserve 提取未决赔款准备金", "expense"),
    IBNR_CHANGE: ("Change in IBNR 提取IBNR准备金", "expense"),
    UNEXPIRED_RISK_CHANGE: ("Change in unexpired risk reserve 提取保费不足准备金", "expense"),
    OPERATING_EXPENSES: ("Necessary costs 必要运营成本", "expense"),
    UPLIFT_EXPENSE: ("Surplus spent on uplift 结余提升保额", "expense"),
    MEMBER_AID_EXPENSE: ("Surplus spent on member aid 出险会员救助", "expense"),
    SERVICES_EXPENSE: ("Surplus spent on services 增值服务", "expense"),
    RESERVE_CONTRIBUTION: ("Contribution to stabilisation reserve 提取平准准备金", "expense"),
}


class Unbalanced(ValueError):
    """An entry whose postings do not sum to zero."""


@dataclass(frozen=True)
class Posting:
    account: str
    amount: Decimal  # debit positive, credit negative


@dataclass(frozen=True)
class JournalEntry:
    project_id: int
    entry_date: date
    kind: str
    memo: str
    postings: tuple[Posting, ...]
    reference: str = ""
    idempotency_key: str | None = None
    reverses_entry_id: int | None = None

    def __post_init__(self) -> None:
        if not self.postings:
            raise Unbalanced(f"entry {self.kind!r} has no postings")
        for p in self.postings:
            if p.account not in CHART:
                raise ValueError(f"unknown account {p.account!r}")
            if round_fen(p.amount) != p.amount:
                raise ValueError(f"posting to {p.account} is not in whole fen: {p.amount}")
        if self.total != ZERO:
            raise Unbalanced(f"entry {self.kind!r} does not balance: postings sum to {self.total}")

    @property
    def total(self) -> Decimal:
        return round_fen(sum((p.amount for p in self.postings), ZERO))

    @classmethod
    def of(cls, *, postings: list[tuple[str, Decimal]], **fields) -> JournalEntry:
        """Build from (account, amount) pairs, dropping zero lines."""
        lines = tuple(Posting(a, round_fen(Decimal(x))) for a, x in postings if Decimal(x) != 0)
        return cls(postings=lines, **fields)

    def reversed(self, *, entry_id: int, entry_date: date, memo: str) -> JournalEntry:
        """The correcting entry: every posting negated, pointing at the original."""
        return JournalEntry(
            project_id=self.project_id,
            entry_date=entry_date,
            kind=f"reversal:{self.kind}",
            memo=memo,
            postings=tuple(Posting(p.account, -p.amount) for p in self.postings),
            reference=self.reference,
            reverses_entry_id=entry_id,
        )


def transfer(debit: str, credit: str, amount: Decimal) -> list[tuple[str, Decimal]]:
    """Two postings moving ``amount`` from ``credit`` to ``debit``."""
    return [(debit, amount), (credit, -amount)]
