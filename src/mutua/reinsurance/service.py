"""Reinsurance use cases: file a treaty, book recoveries as claims are decided, receive
them, and tell the close what the quarter ceded and recovered.

Books (per project, mutua.ledger): a recovery is Dr reinsurance recoverable / Cr claims
recovered from reinsurers when a decision takes a loss above the retention; the reinsurer's
payment is Dr cash / Cr reinsurance recoverable; ceded premium (the close's, and the
reinstatement premium a recovery brings) is Dr reinsurance premium ceded / Cr reinsurance
premium payable. The close's result is net of reinsurance: less ceded, plus recovered.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.catalog.mutual import is_pool
from mutua.claims.models import Claim
from mutua.dates import Quarter
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Forbidden, NotFound, ProblemCollector, ValidationFailed, Worded
from mutua.hooks import Reader
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.money import from_fen, parse_yuan, to_fen, to_money
from mutua.reinsurance import treaty as maths
from mutua.reinsurance.models import CATASTROPHE, KINDS, PER_RISK, Recovery, Treaty

FILERS = frozenset({Role.FINANCE, Role.ADMIN})
MAX_YUAN = Decimal("10000000000")  # ten billion yuan: no layer of a pool is larger
MAX_REINSTATEMENTS = 10
MAX_TERM_DAYS = 3 * 366
# (db, project_id) -> the project's last closed quarter ("2026Q3") or None; a treaty term may
# not start inside it (settlement.terms.last_closed_quarter, joined in mutua/wiring.py).
last_closed_quarter = Reader("a project's last closed quarter")
CODE_MAX, REINSURER_MAX = 32, 100


# ---------------------------------------------------------------- filing a treaty

def _project(db: Session, code: str) -> Project:
    project = db.scalar(select(Project).where(Project.code == (code or "").strip(), is_pool()))
    if project is None:
        raise NotFound("unknown project %(code)s", code=f"{code!r}")
    return project


def _decimal(value: object, field: str, problems: ProblemCollector, *, low: Decimal,
             high: Decimal, places: int, rule: str) -> Decimal | None:
    try:
        d = parse_yuan(value, field=field)
    except ValidationFailed:
        d = None
    if d is None or not d.is_finite() or d.adjusted() > 12 or not (low <= d <= high) \
            or d != round(d, places):
        problems.add(field, rule)
        return None
    return d


def check_treaty(db: Session, *, project_code: str, code: str, kind: str, reinsurer: str,
                 retention: object, limit: object, rate: object, reinstatements: object,
                 reinstatement_rate: object, starts_on: date | None,
                 ends_on: date | None) -> dict:
    """Every problem of a treaty at once; nothing is stored. Returns the clean values.

    Retention and limit are yuan to the fen above zero (at most ten billion); the rate and
    the reinstatement rate shares from 0 to 1 (six decimals); reinstatements 0 to 10; the
    cover one day to three years, starting after the project's last closed quarter; one
    treaty of a kind in force on the project on any day.
    """
    p = ProblemCollector()
    project = db.scalar(select(Project).where(Project.code == (project_code or "").strip(),
                                            is_pool()))
    if project is None:
        p.add("project", "is not a project of the mutual")
    code, reinsurer = (code or "").strip(), (reinsurer or "").strip()
    if not 1 <= len(code) <= CODE_MAX:
        p.add("code", "must be 1 to %(limit)s characters", limit=32)
    if kind not in KINDS:
        p.add("kind", "must be per_risk or catastrophe")
    if not 1 <= len(reinsurer) <= REINSURER_MAX:
        p.add("reinsurer", "must be 1 to 100 characters")
    money_rule = Worded("must be an amount in yuan above zero, to the fen, at most 10,000,000,000")
    values = {
        "retention": _decimal(retention, "retention", p, low=Decimal("0.01"), high=MAX_YUAN,
                              places=2, rule=money_rule),
        "limit": _decimal(limit, "limit", p, low=Decimal("0.01"), high=MAX_YUAN, places=2,
                          rule=money_rule),
        "rate": _decimal(rate, "rate", p, low=Decimal(0), high=Decimal(1), places=6,
                         rule=Worded("must be a share from 0 to 1 with at most 6 decimals")),
        "reinstatement_rate": _decimal(
            reinstatement_rate, "reinstatement_rate", p, low=Decimal(0), high=Decimal(1),
            places=6, rule=Worded("must be a share from 0 to 1 with at most 6 decimals")),
    }
    try:
        count = int(str(reinstatements).strip())
    except ValueError:
        count = -1
    if not 0 <= count <= MAX_REINSTATEMENTS:
        p.add("reinstatements", "must be a whole number from 0 to 10")
    _check_term(db, p, project, kind, starts_on, ends_on)
    p.raise_if_any()
    return {"project": project, "code": code, "kind": kind, "reinsurer": reinsurer,
            "reinstatements": count, "starts_on": starts_on, "ends_on": ends_on, **values}


def _check_term(db: Session, p: ProblemCollector, project: Project | None, kind: str,
                starts_on: date | None, ends_on: date | None) -> None:
    if starts_on is None:
        p.add("starts_on", "must be a date")
    if ends_on is None:
        p.add("ends_on", "must be a date")
    if starts_on is None or ends_on is None:
        return
    if not 0 <= (ends_on - starts_on).days < MAX_TERM_DAYS:
        p.add("ends_on", "must be on or after starts_on, at most three years later")
        return
    if project is None:
        return
    last = last_closed_quarter(db, project.id)
    if last is not None and starts_on <= Quarter.parse(last).end:
        p.add("starts_on", "must be after the last closed quarter (%(quarter)s)", quarter=last)
    overlap = db.scalar(select(Treaty.code).where(
        Treaty.project_id == project.id, Treaty.kind == kind, Treaty.starts_on <= ends_on,
        Treaty.ends_on >= starts_on).limit(1))
    if overlap is not None:
        p.add("starts_on", "overlaps treaty %(code)s of the same kind", code=overlap)


def file_treaty(db: Session, *, actor: Principal, **fields) -> Treaty:
    """File a treaty (finance or an administrator); its terms are data from then on."""
    if actor.role not in FILERS:
        raise Forbidden("only finance or an administrator may file a reinsurance treaty")
    v = check_treaty(db, **fields)
    row = Treaty(project_id=v["project"].id, code=v["code"], kind=v["kind"],
                 reinsurer=v["reinsurer"], retention=v["retention"], limit=v["limit"],
                 rate=v["rate"], reinstatements=v["reinstatements"],
                 reinstatement_rate=v["reinstatement_rate"], starts_on=v["starts_on"],
                 ends_on=v["ends_on"], filed_by=actor.username)
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="reinsurance.file_treaty", entity="treaty",
                 entity_id=row.id, project_id=row.project_id,
                 detail={k: str(v[k]) for k in ("code", "kind", "reinsurer", "retention",
                                                 "limit", "rate", "reinstatements",
                                                 "reinstatement_rate", "starts_on",
                                                 "ends_on")})
    return row


def terms_of(t: Treaty) -> maths.Terms:
    return maths.Terms(retention=to_fen(t.retention), limit=to_fen(t.limit),
                       reinstatements=t.reinstatements,
                       reinstatement_rate=Decimal(t.reinstatement_rate))


# ---------------------------------------------------------------- recoveries

def event_key(event_date: date, place: str) -> str:
    """One catastrophe event: the claims of a day at one place (a bus crash, a fire)."""
    return f"event:{event_date}:{(place or '').strip()[:100]}"


def _treaty_on(db: Session, project_id: int, kind: str, day: date) -> Treaty | None:
    """The treaty of a kind covering losses occurring on ``day`` (losses-occurring basis)."""
    return db.scalar(select(Treaty).where(Treaty.project_id == project_id, Treaty.kind == kind,
                                          Treaty.starts_on <= day, Treaty.ends_on >= day))


def _booked(db: Session, treaty_id: int, loss_key: str | None = None) -> int:
    stmt = select(ledger_service.fen_sum(Recovery.amount)).where(Recovery.treaty_id == treaty_id)
    if loss_key is not None:
        stmt = stmt.where(Recovery.loss_key == loss_key)
    return int(db.scalar(stmt) or 0)


def on_decision(db: Session, *, claim, round_: int, on: date) -> list[Recovery]:
    """Book what the project's treaties owe after a claim's decision: the per-risk layer on
    the claim, then the catastrophe layer on its event net of per-risk recoveries. Called by
    the claims workflow in the decision's own transaction."""
    booked = []
    per_risk = _treaty_on(db, claim.project_id, PER_RISK, claim.event_date)
    if per_risk is not None:
        booked += _book(db, per_risk, claim=claim, round_=round_, on=on,
                        loss_key=f"claim:{claim.id}", loss=to_fen(claim.approved))
    cat = _treaty_on(db, claim.project_id, CATASTROPHE, claim.event_date)
    if cat is not None:
        key = event_key(claim.event_date, claim.place)
        same_day = db.execute(select(Claim.id, Claim.approved, Claim.place).where(
            Claim.project_id == claim.project_id, Claim.event_date == claim.event_date)).all()
        ids = [i for i, _a, place in same_day if event_key(claim.event_date, place) == key]
        gross = sum(to_fen(a) for i, a, place in same_day if i in ids)
        # the per-risk cover inures to the catastrophe layer: the event's loss is net of it
        recovered = int(db.scalar(
            select(ledger_service.fen_sum(Recovery.amount))
            .join(Treaty, Treaty.id == Recovery.treaty_id)
            .where(Treaty.kind == PER_RISK,
                   Recovery.loss_key.in_([f"claim:{i}" for i in ids]))) or 0)
        booked += _book(db, cat, claim=claim, round_=round_, on=on, loss_key=key,
                        loss=gross - recovered)
    return booked


def _book(db: Session, t: Treaty, *, claim, round_: int, on: date, loss_key: str,
          loss: int) -> list[Recovery]:
    m = maths.movement(loss=loss, booked_for_loss=_booked(db, t.id, loss_key),
                       booked_on_treaty=_booked(db, t.id), terms=terms_of(t))
    if m.amount == 0 and m.reinstatement_premium == 0:
        return []
    source = f"claim:{claim.id}:round:{round_}"
    row = Recovery(project_id=t.project_id, treaty_id=t.id, claim_id=claim.id,
                   loss_key=loss_key, source=source, loss=from_fen(loss),
                   amount=from_fen(m.amount), reinstatement_premium=from_fen(
                       m.reinstatement_premium), recorded_on=on)
    db.add(row)
    db.flush()
    ledger_service.open_books(db, project_id=t.project_id)
    ledger_service.post_many(db, [e for e in (
        _entry(t, f"{source}:recovery", on, claim.claim_number,
               f"recovery from {t.code} on {loss_key}", L.REINSURANCE_RECOVERABLE,
               L.REINSURANCE_RECOVERIES, m.amount),
        _entry(t, f"{source}:reinstatement", on, claim.claim_number,
               f"reinstatement premium to {t.code}", L.CEDED_PREMIUM, L.REINSURANCE_PAYABLE,
               m.reinstatement_premium)) if e is not None])
    return [row]


def _entry(t: Treaty, key: str, on: date, reference: str, memo: str, debit: str, credit: str,
           fen: int) -> L.JournalEntry | None:
    if fen == 0:
        return None
    return L.JournalEntry.of(
        project_id=t.project_id, entry_date=on, kind="reinsurance", memo=memo[:200],
        reference=reference[:64], idempotency_key=f"reins:{t.id}:{key}"[:80],
        postings=L.transfer(debit, credit, from_fen(fen)))


def receive(db: Session, *, recovery_id: int, actor: Principal,
            on: date | None = None) -> Recovery:
    """Record the reinsurer's payment of a recovery: Dr cash / Cr reinsurance recoverable
    (a negative recovery is money returned to the reinsurer)."""
    if actor.role not in FILERS:
        raise Forbidden("only finance or an administrator may record a reinsurer's payment")
    row = db.scalar(select(Recovery).where(Recovery.id == recovery_id).with_for_update())
    if row is None:
        raise NotFound("recovery %(recovery_id)s not found", recovery_id=recovery_id)
    if row.received_on is not None:
        raise Conflict("recovery %(recovery_id)s was received on %(received_on)s",
                       recovery_id=recovery_id, received_on=row.received_on)
    on = on or shanghai_today()
    if on < row.recorded_on:
        raise ValidationFailed("on", "must not be before the recovery was recorded")
    t = db.get(Treaty, row.treaty_id)
    entry = _entry(t, f"{row.source}:received", on, str(row.id),
                   f"recovery {row.id} received from {t.reinsurer}", L.CASH,
                   L.REINSURANCE_RECOVERABLE, to_fen(row.amount))
    if entry is not None:
        ledger_service.post(db, entry)
    row.received_on, row.received_by = on, actor.username
    db.flush()
    audit.record(db, actor=actor, action="reinsurance.receive", entity="recovery",
                 entity_id=row.id, project_id=row.project_id,
                 detail={"amount": str(row.amount), "on": str(on)})
    return row


def pay_premium(db: Session, *, project_code: str, amount: object, actor: Principal,
                on: date | None = None) -> Decimal:
    """Pay reinsurers the premium the project owes them: Dr reinsurance premium payable /
    Cr cash, never more than is owed, and only what the cash (and any approved overdraft)
    covers. Returns what is still owed."""
    if actor.role not in FILERS:
        raise Forbidden("only finance or an administrator may pay reinsurance premium")
    project = _project(db, project_code)
    value = to_money(amount, field="amount")
    on = on or shanghai_today()
    owed = -ledger_service.balance_of(db, project_id=project.id, account=L.REINSURANCE_PAYABLE)
    if value <= 0 or value > owed:
        raise ValidationFailed("amount", "must be above zero and at most the %(owed)s owed", owed=owed)
    ledger_service.spend_cash(db, project_id=project.id, amount=value, on=on)
    ledger_service.post(db, L.JournalEntry.of(
        project_id=project.id, entry_date=on, kind="reinsurance", reference=project.code,
        memo=f"reinsurance premium paid: {value}",
        postings=L.transfer(L.REINSURANCE_PAYABLE, L.CASH, value)))
    audit.record(db, actor=actor, action="reinsurance.pay_premium", entity="project",
                 entity_id=project.id, project_id=project.id,
                 detail={"amount": str(value), "on": str(on)})
    return owed - value


# ---------------------------------------------------------------- what the close reads

@dataclass(frozen=True)
class QuarterReinsurance:
    """A quarter's reinsurance in fen: premium the close cedes, reinstatement premium and
    recoveries booked by decisions in the quarter, and each treaty's part."""

    close_ceded: int
    reinstatement_premium: int
    recovered: int
    treaties: tuple[dict, ...]
    recovered_to_date: int = 0  # every recovery dated by the quarter's end
    reinstatement_premium_to_date: int = 0

    @property
    def ceded(self) -> int:
        return self.close_ceded + self.reinstatement_premium


def quarter_figures(db: Session, *, project_id: int, q: Quarter, earned_in_quarter: int,
                    booked_before: tuple[int, int] = (0, 0)) -> QuarterReinsurance:
    """What the close books and shows for reinsurance.

    Recoveries and reinstatement premium count as what is dated by the quarter's end less
    what earlier closes counted (``booked_before``), so one dated in a quarter already
    closed (a decision recorded late) counts in the next close, shown as its own row."""
    treaties = db.scalars(select(Treaty).where(
        Treaty.project_id == project_id, Treaty.starts_on <= q.end, Treaty.ends_on >= q.start)
        .order_by(Treaty.code)).all()
    moved = {tid: (int(a or 0), int(r or 0)) for tid, a, r in db.execute(
        select(Recovery.treaty_id, ledger_service.fen_sum(Recovery.amount),
               ledger_service.fen_sum(Recovery.reinstatement_premium))
        .where(Recovery.project_id == project_id,
               Recovery.recorded_on.between(q.start, q.end))
        .group_by(Recovery.treaty_id)).all()}
    quarter_days = (q.end - q.start).days + 1
    rows = []
    for t in treaties:
        covered = (min(t.ends_on, q.end) - max(t.starts_on, q.start)).days + 1
        ceded = maths.ceded_premium(earned=earned_in_quarter, rate=Decimal(t.rate),
                                    covered_days=covered, quarter_days=quarter_days)
        recovered, reinstatement = moved.pop(t.id, (0, 0))
        rows.append({"treaty": t.code, "kind": t.kind, "ceded": ceded,
                     "reinstatement_premium": reinstatement, "recovered": recovered})
    for tid, (recovered, reinstatement) in moved.items():  # a treaty whose term has ended
        code = db.scalar(select(Treaty.code).where(Treaty.id == tid))
        rows.append({"treaty": code, "kind": None, "ceded": 0,
                     "reinstatement_premium": reinstatement, "recovered": recovered})
    cum_recovered, cum_premium = (int(x or 0) for x in db.execute(
        select(ledger_service.fen_sum(Recovery.amount),
               ledger_service.fen_sum(Recovery.reinstatement_premium))
        .where(Recovery.project_id == project_id, Recovery.recorded_on <= q.end)).one())
    recovered = cum_recovered - booked_before[0]
    premium = cum_premium - booked_before[1]
    late = (recovered - sum(r["recovered"] for r in rows),
            premium - sum(r["reinstatement_premium"] for r in rows))
    if any(late):
        rows.append({"treaty": None, "kind": "dated_in_closed_quarters", "ceded": 0,
                     "reinstatement_premium": late[1], "recovered": late[0]})
    return QuarterReinsurance(sum(r["ceded"] for r in rows), premium, recovered, tuple(rows),
                              cum_recovered, cum_premium)


# ---------------------------------------------------------------- reading

def list_treaties(db: Session, *, project_code: str | None = None, limit: int = 50,
                  offset: int = 0) -> tuple[list[dict], int]:
    """Treaties, newest cover first, each with what it has recovered and what is still owed."""
    stmt = select(Treaty, Project.code).join(Project, Project.id == Treaty.project_id)
    if project_code:
        stmt = stmt.where(Treaty.project_id == _project(db, project_code).id)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.execute(stmt.order_by(Treaty.starts_on.desc(), Treaty.id.desc())
                      .limit(limit).offset(offset)).all()
    ids = [t.id for t, _ in rows]
    sums = {tid: (int(a or 0), int(o or 0)) for tid, a, o in db.execute(
        select(Recovery.treaty_id, ledger_service.fen_sum(Recovery.amount),
               ledger_service.fen_sum(Recovery.amount).filter(Recovery.received_on.is_(None)))
        .where(Recovery.treaty_id.in_(ids) if ids else False)
        .group_by(Recovery.treaty_id)).all()}
    return [treaty_out(t, code, *sums.get(t.id, (0, 0))) for t, code in rows], int(total)


def treaty_out(t: Treaty, project: str, recovered: int = 0, outstanding: int = 0) -> dict:
    return {"id": t.id, "project": project, "code": t.code, "kind": t.kind,
            "reinsurer": t.reinsurer, "retention": f"{t.retention:.2f}",
            "limit": f"{t.limit:.2f}", "rate": f"{Decimal(t.rate):f}",
            "reinstatements": t.reinstatements,
            "reinstatement_rate": f"{Decimal(t.reinstatement_rate):f}",
            "aggregate_limit": f"{t.limit * (1 + t.reinstatements):.2f}",
            "starts_on": str(t.starts_on), "ends_on": str(t.ends_on),
            "recovered": f"{from_fen(recovered):.2f}",
            "outstanding": f"{from_fen(outstanding):.2f}", "filed_by": t.filed_by}


def list_recoveries(db: Session, *, project_code: str | None = None,
                    outstanding: bool = False, limit: int = 50,
                    offset: int = 0) -> tuple[list[dict], int]:
    """Recoveries, latest first: the claim, the loss the layer saw, the amount, received."""
    stmt = (select(Recovery, Treaty.code, Claim.claim_number, Project.code)
            .join(Treaty, Treaty.id == Recovery.treaty_id)
            .join(Claim, Claim.id == Recovery.claim_id)
            .join(Project, Project.id == Recovery.project_id))
    if project_code:
        stmt = stmt.where(Recovery.project_id == _project(db, project_code).id)
    if outstanding:
        stmt = stmt.where(Recovery.received_on.is_(None))
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = db.execute(stmt.order_by(Recovery.recorded_on.desc(), Recovery.id.desc())
                      .limit(limit).offset(offset)).all()
    return [{"id": r.id, "project": project, "treaty": code, "claim": number,
             "loss_key": r.loss_key, "loss": f"{r.loss:.2f}", "amount": f"{r.amount:.2f}",
             "reinstatement_premium": f"{r.reinstatement_premium:.2f}",
             "recorded_on": str(r.recorded_on),
             "received_on": str(r.received_on) if r.received_on else None,
             "received_by": r.received_by}
            for r, code, number, project in rows], int(total)
