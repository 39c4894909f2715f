"""Reserve movement reports that tie to the ledger, by project and quarter.

Each reserve line is one ledger account: its opening balance (the day before the quarter),
its movements in the quarter by the kind of entry that moved it (premium written, earned,
claims reported, decided, paid, the close's IBNR ...), and its closing balance on the
quarter's last day; opening + movements = closing, to the fen. Where the platform knows the
same figure another way (the claims' own case reserves and approved-unpaid amounts, the
close's IBNR), the report shows it beside the books and says whether they agree.

A new reserve is one more entry in ``RESERVE_LINES`` (and, if the platform knows it
another way, one more entry in ``_sources``).

>>> line = roll_forward("ibnr", opening=-1_000_00, movements={"close:ibnr": -250_00},
...                     closing=-1_250_00)
>>> line.opening, line.movements, line.closing, line.balanced
(100000, (('close:ibnr', 25000),), 125000, True)
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, case, select
from sqlalchemy.orm import Session

from mutua.catalog.models import Project
from mutua.catalog.mutual import is_pool
from mutua.claims import service as claims_service
from mutua.dates import Quarter
from mutua.errors import NotFound
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.ledger.models import Account, Entry, Posting
from mutua.money import fmt, from_fen, to_fen
from mutua.settlement.models import Close, CloseReserving


@dataclass(frozen=True)
class ReserveLine:
    name: str
    account: str
    label: str  # English, with the Chinese term once


# The reserve lines, in the order a balance sheet shows them.
RESERVE_LINES: tuple[ReserveLine, ...] = (
    ReserveLine("unearned_premium", L.UNEARNED_PREMIUM, "Unearned premium 未到期责任准备金"),
    ReserveLine("unearned_uplift_premium", L.UNEARNED_UPLIFT_PREMIUM,
                "Unearned uplift premium 提升保额未到期准备金"),
    ReserveLine("case_reserve", L.CASE_RESERVE, "Case reserves 已发生已报案未决赔款准备金"),
    ReserveLine("claims_payable", L.CLAIMS_PAYABLE, "Claims payable 应付赔款"),
    ReserveLine("ibnr", L.IBNR_RESERVE, "IBNR 已发生未报案未决赔款准备金"),
    ReserveLine("unexpired_risk", L.UNEXPIRED_RISK_RESERVE,
                "Unexpired risk reserve 保费不足准备金"),
)


@dataclass(frozen=True)
class Movement:
    """One reserve line of a quarter, as a liability reads (credit balances positive)."""

    name: str
    opening: int
    movements: tuple[tuple[str, int], ...]  # (entry kind, change), largest first
    closing: int

    @property
    def balanced(self) -> bool:
        return self.opening + sum(m for _k, m in self.movements) == self.closing


def roll_forward(name: str, *, opening: int, movements: dict[str, int],
                 closing: int) -> Movement:
    """A line from ledger sums (debits positive), turned to read as a liability."""
    moved = tuple(sorted(((k, -v) for k, v in movements.items() if v),
                         key=lambda kv: (-abs(kv[1]), kv[0])))
    return Movement(name, -opening, moved, -closing)


def _sums(db: Session, project_id: int, q: Quarter) -> tuple[dict, dict, dict]:
    """(opening, closing, movements by kind) per account code, one query each."""
    codes = [line.account for line in RESERVE_LINES]
    base = (select(Account.code, ledger_service.fen_sum(Posting.amount))
            .join(Account, Account.id == Posting.account_id)
            .join(Entry, Entry.id == Posting.entry_id)
            .where(Posting.project_id == project_id, Account.code.in_(codes))
            .group_by(Account.code))
    opening = dict(db.execute(base.where(Entry.entry_date < q.start)).all())
    closing = dict(db.execute(base.where(Entry.entry_date <= q.end)).all())
    in_q = and_(Entry.entry_date >= q.start, Entry.entry_date <= q.end)
    kind = case((Entry.kind.like("reversal:%"), "reversal"), else_=Entry.kind)
    moved: dict[str, dict[str, int]] = {}
    for code, k, fen in db.execute(
            select(Account.code, kind, ledger_service.fen_sum(Posting.amount))
            .join(Account, Account.id == Posting.account_id)
            .join(Entry, Entry.id == Posting.entry_id)
            .where(Posting.project_id == project_id, Account.code.in_(codes), in_q)
            .group_by(Account.code, kind)).all():
        moved.setdefault(code, {})[k] = int(fen or 0)
    return opening, closing, moved


def _sources(db: Session, project_id: int, q: Quarter) -> dict[str, int | None]:
    """The same figures known another way: the claims' own state, and the close's IBNR and
    premium deficiency test."""
    closed = db.execute(select(Close.ibnr, CloseReserving.unexpired_risk_reserve)
                        .outerjoin(CloseReserving, CloseReserving.close_id == Close.id)
                        .where(Close.project_id == project_id, Close.quarter == str(q))).first()
    ibnr, unexpired = closed if closed is not None else (None, None)
    return {
        "case_reserve": to_fen(claims_service.case_reserve_at(db, project_id=project_id,
                                                              as_of=q.end)),
        "claims_payable": to_fen(claims_service.claims_payable_at(db, project_id=project_id,
                                                                  as_of=q.end)),
        "ibnr": None if ibnr is None else to_fen(ibnr),
        "unexpired_risk": None if unexpired is None else to_fen(unexpired),
    }


def movement_report(db: Session, *, project_code: str, quarter: str) -> dict:
    """Every reserve line of the project's quarter: opening, movements, closing, and the
    figure it ties to. Amounts are strings with two decimals, as statements print them."""
    project = db.scalar(select(Project).where(Project.code == project_code, is_pool()))
    if project is None:
        raise NotFound("unknown project %(code)s", code=f"{project_code!r}")
    q = Quarter.parse(quarter)
    opening, closing, moved = _sums(db, project.id, q)
    sources = _sources(db, project.id, q)
    lines = []
    for spec in RESERVE_LINES:
        m = roll_forward(spec.name, opening=int(opening.get(spec.account) or 0),
                         movements=moved.get(spec.account, {}),
                         closing=int(closing.get(spec.account) or 0))
        source = sources.get(spec.name)
        lines.append({
            "line": spec.name, "account": spec.account, "label": spec.label,
            "opening": fmt(from_fen(m.opening)),
            "movements": [{"kind": k, "amount": fmt(from_fen(v))} for k, v in m.movements],
            "closing": fmt(from_fen(m.closing)), "balanced": m.balanced,
            "source": None if source is None else fmt(from_fen(source)),
            "ties": None if source is None else source == m.closing})
    return {"project": project.code, "quarter": str(q), "opening_on": str(q.start),
            "closing_on": str(q.end), "lines": lines}
