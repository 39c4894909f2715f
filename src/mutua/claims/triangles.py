"""Claims development triangles (赔款进展三角形) by accident quarter and development quarter.

Development quarter 0 is the accident quarter itself. A cell is cumulative: everything
that happened to the origin's claims up to the end of that development quarter (or up to
the as-of date on the last diagonal).

- paid: payments made;
- incurred: paid + outstanding, computed as approved amounts (claims expense, which is
  paid + payable) plus the case reserve on open claims.

>>> from mutua.dates import Quarter
>>> cumulate([(Quarter(2026, 1), 0, Decimal("100")), (Quarter(2026, 1), 2, Decimal("50"))],
...          last=Quarter(2026, 3))
[('2026Q1', 0, Decimal('100.00')), ('2026Q1', 1, Decimal('100.00')), \
('2026Q1', 2, Decimal('150.00')), ('2026Q2', 0, Decimal('0.00')), ('2026Q2', 1, Decimal('0.00')), \
('2026Q3', 0, Decimal('0.00'))]
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session

from mutua.catalog import service as catalog_service
from mutua.claims.models import CaseReserveMovement, Claim, ClaimDecision, ClaimPayment
from mutua.dates import Quarter
from mutua.errors import ValidationFailed
from mutua.ledger.service import fen_sum
from mutua.money import ZERO, from_fen

BASES = ("paid", "incurred")
# Origins times developments grow with the square of the quarters a triangle spans: 9999-12-31
# as the valuation day made one of 32,000 quarters (half a billion cells) and the server
# was killed at 24 GB. Fifty years of quarters is 20,100 cells, more than any reserving
# needs; the span is worked out (one MIN over the claims) before any cell is.
MAX_QUARTERS = 200


def quarter_index(q: Quarter) -> int:
    return q.year * 4 + q.q - 1


def cumulate(increments: Iterable[tuple[Quarter, int, Decimal]], *,
             last: Quarter) -> list[tuple[str, int, Decimal]]:
    """Turn (origin, development, increment) into cumulative long-format cells.

    Every origin from the first one seen to ``last`` appears, each with developments 0 up
    to ``last``; an origin with no claims shows zeros so the triangle has no holes.
    """
    by_cell: dict[tuple[int, int], Decimal] = defaultdict(lambda: ZERO)
    for origin, dev, amount in increments:
        by_cell[(quarter_index(origin), max(0, dev))] += amount
    if not by_cell:
        return []
    first = min(o for o, _ in by_cell)
    end = quarter_index(last)
    cells = []
    for o in range(first, end + 1):
        running = ZERO
        label = str(Quarter(o // 4, o % 4 + 1))
        for dev in range(0, end - o + 1):
            running += by_cell.get((o, dev), ZERO)
            cells.append((label, dev, running))
    return cells


def _quarter_of(year, month) -> Quarter:
    return Quarter(int(year), (int(month) - 1) // 3 + 1)


def _grouped(db: Session, *, amount, moved_on, join_on, project_id: int, as_of: date,
             table) -> list[tuple[Quarter, int, Decimal]]:
    """Sum ``amount`` by (accident year-month, movement year-month) in one query."""
    ey, em = extract("year", Claim.event_date), extract("month", Claim.event_date)
    my, mm = extract("year", moved_on), extract("month", moved_on)
    rows = db.execute(
        select(ey, em, my, mm, fen_sum(amount))
        .select_from(table).join(Claim, join_on)
        .where(table.project_id == project_id, moved_on <= as_of)
        .group_by(ey, em, my, mm)
    ).all()
    out = []
    for y1, m1, y2, m2, fen in rows:
        origin, moved = _quarter_of(y1, m1), _quarter_of(y2, m2)
        out.append((origin, quarter_index(moved) - quarter_index(origin), from_fen(fen or 0)))
    return out


def increments(db: Session, *, project_id: int, basis: str, as_of: date):
    if basis not in BASES:
        raise ValidationFailed("basis", "must be one of %(choices)s", choices=", ".join(BASES))
    if basis == "paid":
        return _grouped(db, amount=ClaimPayment.amount, moved_on=ClaimPayment.paid_on,
                        join_on=Claim.id == ClaimPayment.claim_id, project_id=project_id,
                        as_of=as_of, table=ClaimPayment)
    approved = _grouped(db, amount=ClaimDecision.approved_change,
                        moved_on=ClaimDecision.decided_on,
                        join_on=Claim.id == ClaimDecision.claim_id, project_id=project_id,
                        as_of=as_of, table=ClaimDecision)
    reserve = _grouped(db, amount=CaseReserveMovement.amount,
                       moved_on=CaseReserveMovement.moved_on,
                       join_on=Claim.id == CaseReserveMovement.claim_id, project_id=project_id,
                       as_of=as_of, table=CaseReserveMovement)
    return approved + reserve


def check_as_of(db: Session, *, project_id: int, as_of: date, today: date) -> None:
    """A valuation day a caller gives: not after today, not before the project's first cover."""
    if as_of > today:
        raise ValidationFailed("as_of", "must not be after today (%(day)s)", day=today.isoformat())
    started = catalog_service.project_started_on(db, project_id=project_id)
    if started is not None and as_of < started:
        raise ValidationFailed("as_of", "must not be before the project's first cover (%(day)s)",
                               day=started.isoformat())


def check_span(db: Session, *, project_id: int, as_of: date) -> None:
    """Refuse a triangle of more than MAX_QUARTERS quarters, before building it."""
    first = db.scalar(select(func.min(Claim.event_date)).where(Claim.project_id == project_id,
                                                               Claim.event_date <= as_of))
    if first is None:
        return
    span = quarter_index(Quarter.of(as_of)) - quarter_index(Quarter.of(first)) + 1
    if span > MAX_QUARTERS:
        raise ValidationFailed("as_of", "the triangle would span %(span)s quarters; at most "
                                        "%(limit)s can be built", span=span, limit=MAX_QUARTERS)


def triangle(db: Session, *, project_id: int, basis: str,
             as_of: date) -> list[tuple[str, int, Decimal]]:
    check_span(db, project_id=project_id, as_of=as_of)
    cells = cumulate(increments(db, project_id=project_id, basis=basis, as_of=as_of),
                     last=Quarter.of(as_of))
    if cells:
        return cells
    # No movement yet: start the triangle at the first accident quarter reported, if any.
    first = db.scalar(select(func.min(Claim.event_date)).where(Claim.project_id == project_id,
                                                               Claim.event_date <= as_of))
    if first is None:
        return []
    return cumulate([(Quarter.of(first), 0, ZERO)], last=Quarter.of(as_of))
