"""Writing the demo's drawn claims in bulk: the claims and their items, decisions, case
reserve movements, payments in weekly batches, and the books, one entry per project, day and
kind, so every project's ledger balances.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Project
from mutua.claims import books
from mutua.claims.demo_experience import Drawn
from mutua.claims.models import (
    CLOSED,
    CaseReserveMovement,
    Claim,
    ClaimDecision,
    ClaimItem,
    ClaimPayment,
    PaymentBatch,
)
from mutua.claims.workflow import due_on
from mutua.dates import SHANGHAI
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.money import ZERO
from mutua.policies.models import Policy

CHUNK = 5000  # rows in one statement


def write_claims(db: Session, drawn: list[Drawn], cols, *, actor: Principal,
           pay_through: date | None, later: list[tuple]) -> None:
    """Write the claims; payments dated after ``pay_through`` (if given) go to ``later``."""
    if not drawn:
        _write_money(db, [], [], [], actor=actor, pay_through=pay_through, later=later)
        return
    numbers = numbering.reserve(db, "claim", len(drawn))
    claim_rows = []
    for c, n in zip(drawn, numbers, strict=True):
        final = c.final
        reserve = ZERO if final is not None else c.report_engine.approved
        claim_rows.append({
            "claim_number": f"CL{n:09d}", "project_id": int(cols["project_id"][c.policy]),
            "policy_id": int(cols["id"][c.policy]), "member_id": int(cols["member_id"][c.policy]),
            "event_type": c.event_type, "event_date": c.event_date, "place": "",
            "description": "", "circumstances": sorted(c.circumstances), "status": c.status,
            "reported_on": c.reported_on, "decision_due_on": due_on(c.reported_on),
            "reported_at": datetime.combine(c.reported_on, time(10), SHANGHAI),
            "reported_by": actor.user_id,
            "outcome": final.outcome if final else None, "decision_round": 1 if final else 0,
            "decided_on": c.decided_on, "approved": final.approved if final else ZERO,
            "paid": final.approved if c.paid_on else ZERO,
            "uncovered_loss": final.uncovered_loss if final else ZERO,
            "case_reserve": reserve, "appeals": 1 if "appeal_on" in c.extra else 0,
            "appeal_reason": "the member asks for the decision to be reviewed"
            if "appeal_on" in c.extra else None,
            "closed_on": (c.paid_on or c.extra.get("answer_on") or c.decided_on)
            if c.status == CLOSED else None,
        })
        if "answer_on" in c.extra:
            claim_rows[-1].update(decision_round=2, decided_on=c.extra["answer_on"])
    ids = []
    for s in range(0, len(claim_rows), CHUNK):
        ids += list(db.scalars(insert(Claim).returning(Claim.id, sort_by_parameter_order=True),
                               claim_rows[s:s + CHUNK]))
    _write_items(db, drawn, ids, claim_rows)
    _write_money(db, drawn, ids, claim_rows, actor=actor, pay_through=pay_through, later=later)
    audit.record_many(db, actor=actor, action="claim.report", entity="claim", rows=[
        (cid, row["project_id"], {"event_type": row["event_type"], "demo": True})
        for cid, row in zip(ids, claim_rows, strict=True)])


def _write_items(db: Session, drawn: list[Drawn], ids: list[int], claim_rows: list[dict]) -> None:
    rows = []
    for c, cid, crow in zip(drawn, ids, claim_rows, strict=True):
        engine = c.final or c.report_engine
        decided = c.final is not None
        for n, (item, kind, d) in enumerate(zip(c.items, c.kinds, engine.items, strict=True)):
            rows.append({
                "claim_id": cid, "project_id": crow["project_id"], "position": n,
                "benefit_id": 0, "benefit_code": item.benefit_code, "kind": kind,
                "claimed_amount": None,
                "disability_grade": item.disability_grade, "invoice_amount": item.invoice_amount,
                "social_insurance_paid": item.social_insurance_paid,
                "other_insurance_paid": ZERO, "has_social_insurance": item.has_social_insurance,
                "hospital_days": item.hospital_days, "symptoms_began_at": item.symptoms_began_at,
                "died_at": item.died_at, "engine_amount": d.approved,
                "engine_reasons": list(d.reasons), "approved": d.approved if decided else ZERO,
                "reasons": list(d.reasons) if decided else [],
                "uncovered_loss": d.uncovered_loss if decided else ZERO,
                "days_paid": d.days_paid if decided else 0})
    _fill_benefit_ids(db, rows, claim_rows, ids)
    for s in range(0, len(rows), CHUNK):
        db.execute(insert(ClaimItem), rows[s:s + CHUNK])


def _fill_benefit_ids(db: Session, rows: list[dict], claim_rows: list[dict],
                      ids: list[int]) -> None:
    """Benefit ids by (product, code): one query for the whole catalogue."""
    product_of_policy = {}
    policy_ids = sorted({r["policy_id"] for r in claim_rows})
    for s in range(0, len(policy_ids), CHUNK):
        product_of_policy.update(db.execute(select(Policy.id, Policy.product_id)
                                            .where(Policy.id.in_(policy_ids[s:s + CHUNK]))).all())
    by_code = {(p, c): b for b, p, c in db.execute(
        select(Benefit.id, Benefit.product_id, Benefit.code))}
    policy_of_claim = {cid: r["policy_id"] for cid, r in zip(ids, claim_rows, strict=True)}
    for r in rows:
        product = product_of_policy[policy_of_claim[r["claim_id"]]]
        r["benefit_id"] = by_code[(product, r["benefit_code"])]


def _write_money(db: Session, drawn: list[Drawn], ids: list[int], claim_rows: list[dict], *,
                 actor: Principal, pay_through: date | None, later: list[tuple]) -> None:
    """Reserve movements, decisions, batches and payments, and the entries they post."""
    moves, decisions, payments = [], [], later[:]
    later.clear()
    for c, cid, row in zip(drawn, ids, claim_rows, strict=True):
        pid = row["project_id"]
        estimate = c.report_engine.approved
        if estimate > 0:
            moves.append({"claim_id": cid, "project_id": pid, "moved_on": c.reported_on,
                          "amount": estimate, "reason": "reported"})
            if c.final is not None:
                moves.append({"claim_id": cid, "project_id": pid, "moved_on": c.decided_on,
                              "amount": -estimate, "reason": "decided"})
        if c.final is None:
            continue
        decisions.append({
            "claim_id": cid, "project_id": pid, "round": 1, "decided_on": c.decided_on,
            "decided_at": datetime.combine(c.decided_on, time(15), SHANGHAI),
            "decided_by": actor.user_id, "outcome": c.final.outcome,
            "engine_outcome": c.final.outcome, "engine_amount": c.final.approved,
            "approved": c.final.approved, "approved_change": c.final.approved,
            "uncovered_loss": c.final.uncovered_loss, "auto": c.extra.get("auto", False),
            "overridden": False,
            "reason": "review found drunk driving" if c.circumstances else ""})
        if "answer_on" in c.extra:
            decisions.append(decisions[-1] | {
                "round": 2, "decided_on": c.extra["answer_on"],
                "decided_at": datetime.combine(c.extra["answer_on"], time(15), SHANGHAI),
                "approved_change": ZERO,
                "reason": "appeal reviewed with the new documents: the decision stands"})
        if c.paid_on is not None:
            payments.append((cid, pid, row["member_id"], c.paid_on, c.final.approved))
    for table, rows in ((CaseReserveMovement, moves), (ClaimDecision, decisions)):
        for s in range(0, len(rows), CHUNK):
            db.execute(insert(table), rows[s:s + CHUNK])
    if pay_through is not None:
        later.extend(p for p in payments if p[3] > pay_through)
        payments = [p for p in payments if p[3] <= pay_through]
    batches = _write_payments(db, payments, actor=actor)
    _post(db, moves, decisions, batches, window=f"{ids[0]}" if ids else "")


def _write_payments(db: Session, payments: list[tuple], *, actor: Principal) -> list[dict]:
    codes = dict(db.execute(select(Project.id, Project.code)).all())
    grouped: dict[tuple[int, date], list[tuple]] = defaultdict(list)
    for p in payments:
        grouped[(p[1], p[3])].append(p)
    batch_rows = [{"batch_key": f"{codes[pid]}:{on:%Y%m%d}:1", "project_id": pid, "paid_on": on,
                   "claims": len(group), "total": sum((g[4] for g in group), ZERO),
                   "created_by": actor.user_id}
                  for (pid, on), group in sorted(grouped.items())]
    if not batch_rows:
        return []
    batch_ids = list(db.scalars(insert(PaymentBatch).returning(
        PaymentBatch.id, sort_by_parameter_order=True), batch_rows))
    rows = [{"claim_id": cid, "project_id": pid, "member_id": mid, "batch_id": bid, "round": 1,
             "amount": amount, "paid_on": on}
            for bid, key in zip(batch_ids, sorted(grouped), strict=True)
            for cid, pid, mid, on, amount in grouped[key]]
    for s in range(0, len(rows), CHUNK):
        db.execute(insert(ClaimPayment), rows[s:s + CHUNK])
    return batch_rows


def _post(db: Session, moves: list[dict], decisions: list[dict], batches: list[dict], *,
          window: str) -> None:
    """One entry per project, day and kind for the claims drawn together (``window``: their
    first claim id, in the keys): the books match the claim rows to the fen."""
    reserve, approved = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for m in moves:
        reserve[(m["project_id"], m["moved_on"])] += m["amount"]
    for d in decisions:
        approved[(d["project_id"], d["decided_on"])] += d["approved_change"]
    entries = [L.JournalEntry.of(
        project_id=pid, entry_date=on, kind="claim_reserve", memo=f"case reserves on {on}",
        reference="demo", idempotency_key=f"demo-claims:{window}:{pid}:{on}:reserve",
        postings=L.transfer(L.CASE_RESERVE_CHANGE, L.CASE_RESERVE, amount))
        for (pid, on), amount in sorted(reserve.items()) if amount != 0]
    entries += [L.JournalEntry.of(
        project_id=pid, entry_date=on, kind="claim_approved", memo=f"claims decided on {on}",
        reference="demo", idempotency_key=f"demo-claims:{window}:{pid}:{on}:approved",
        postings=L.transfer(L.CLAIMS_PAID_EXPENSE, L.CLAIMS_PAYABLE, amount))
        for (pid, on), amount in sorted(approved.items()) if amount != 0]
    entries += [books.payment_entry(project_id=b["project_id"], batch_key=b["batch_key"],
                                    on=b["paid_on"], total=b["total"], claims=b["claims"])
                for b in batches]
    for s in range(0, len(entries), 500):
        ledger_service.post_many(db, entries[s:s + 500])
