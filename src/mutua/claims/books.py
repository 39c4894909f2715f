"""The journal entries claims post to their project's books, as plain values.

Three movements, each balanced on its own:

- case reserve set or changed (提取未决赔款准备金): Dr case-reserve change, Cr case reserve;
  a release is the same with the sign turned;
- a claim approved (赔付支出): Dr claims expense, Cr claims payable;
- a payment batch (支付赔款): Dr claims payable, Cr cash.

>>> e = reserve_entry(project_id=1, claim_id=7, claim_number="CL000000007", movement_id=3,
...     on=date(2026, 3, 2), change=Decimal("500.00"), why="reported")
>>> [(p.account, p.amount) for p in e.postings]
[('case_reserve_change', Decimal('500.00')), ('case_reserve', Decimal('-500.00'))]
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from mutua.ledger.domain import (
    CASE_RESERVE,
    CASE_RESERVE_CHANGE,
    CASH,
    CLAIMS_PAID_EXPENSE,
    CLAIMS_PAYABLE,
    JournalEntry,
    transfer,
)


def reserve_entry(*, project_id: int, claim_id: int, claim_number: str, movement_id: int,
                  on: date, change: Decimal, why: str) -> JournalEntry:
    return JournalEntry.of(
        project_id=project_id, entry_date=on, kind="claim_reserve",
        memo=f"case reserve {why} on {claim_number}", reference=claim_number,
        idempotency_key=f"claim:{claim_id}:reserve:{movement_id}",
        postings=transfer(CASE_RESERVE_CHANGE, CASE_RESERVE, change))


def decision_entry(*, project_id: int, claim_id: int, claim_number: str, round_: int, on: date,
                   change: Decimal) -> JournalEntry:
    return JournalEntry.of(
        project_id=project_id, entry_date=on, kind="claim_approved",
        memo=f"claim {claim_number} decided (round {round_})", reference=claim_number,
        idempotency_key=f"claim:{claim_id}:decision:{round_}",
        postings=transfer(CLAIMS_PAID_EXPENSE, CLAIMS_PAYABLE, change))


def payment_entry(*, project_id: int, batch_key: str, on: date, total: Decimal,
                  claims: int) -> JournalEntry:
    return JournalEntry.of(
        project_id=project_id, entry_date=on, kind="claims_paid",
        memo=f"claims payment batch {batch_key}: {claims} claims", reference=batch_key,
        idempotency_key=f"claims-batch:{batch_key}",
        postings=transfer(CLAIMS_PAYABLE, CASH, total))
