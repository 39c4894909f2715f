"""The claims part of the demo mutual: a year of claims across every project's policies.

Who claims is drawn over whole columns of policies with numpy, benefit by benefit. Each
benefit's annual frequency comes from the pure risk rate it is priced at (the rate is
expected cost per yuan of sum insured, so frequency = rate x sum insured / typical
payout), for the product's reference class (the one whose coefficient is 1), times
EXPERIENCE (the year runs a little better than priced, so pools share a surplus), times
the occupation class relativity (1 : 1.5 : 2 : 3 : 5 : 8, DOMAIN.md section 4) for
accident benefits, times each policy's exposure so far. With the demo catalogue that
gives about 1 accidental death per 10,000 office workers a year and 4-6 among class 5-6
riders and builders, sudden death rarer, medical claims by far the most common. Each
claim then gets a size (log-normal invoices, disability grades skewed to the light end),
dates (report lag, handling time, weekly payment batches on Fridays) and is decided by
the same pure rules the service uses. Everything is written in bulk, and
the books get one entry per project, day and kind, so every project's ledger balances.

Kidney benefits are left to the health demo; here claims are accident and illness cash.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Product, Project
from mutua.claims import adjudication as rules
from mutua.claims import books
from mutua.claims.models import (
    CLOSED,
    DECIDED,
    PAID,
    REOPENED,
    REPORTED,
    UNDER_REVIEW,
    CaseReserveMovement,
    Claim,
    ClaimDecision,
    ClaimItem,
    ClaimPayment,
    PaymentBatch,
)
from mutua.dates import SHANGHAI
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.money import ZERO, round_fen
from mutua.policies import domain as policies_domain
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.settings import get_settings

CLASS_RELATIVITY = np.array([0, 1, 1.5, 2, 3, 5, 8], dtype=float)
KINDS = ("accidental_medical", "hospital_allowance", "disability", "sudden_death",
         "accidental_death")
# Claims cost this share of the pure premium the catalogue prices for: a decent year.
EXPERIENCE = 0.8
# Disability grades 10 (lightest) .. 1: most injuries grade 9-10.
GRADE_WEIGHTS = np.array([0.36, 0.24, 0.14, 0.09, 0.06, 0.04, 0.03, 0.02, 0.01, 0.01])
# Grade g pays (11 - g) x 10% of the sum insured: 0.272 of it on average.
MEAN_GRADE_SHARE = float(GRADE_WEIGHTS @ (np.arange(1, 11) / 10))
MEDICAL_MEDIAN_INVOICE = 1000.0  # yuan; log-normal with sigma 1, mean about 1,650
MEDICAL_TYPICAL_PAYOUT = 950.0  # yuan after social insurance, deductible and coinsurance
MEAN_HOSPITAL_DAYS = 9.0  # 1 + geometric(1/8)
EXCLUSION_FOUND = 0.02  # accident claims where review finds drunk driving (where excluded)
APPEAL_RATE = 0.4  # share of denied claims whose member appeals
CHUNK = 5000


@dataclass
class Drawn:
    """One demo claim before it is written."""

    policy: int  # row index into the policy columns
    kind: str
    event_type: str
    event_date: date
    reported_on: date
    items: list[rules.ItemFacts]
    kinds: list[str]
    circumstances: frozenset[str] = frozenset()
    report_engine: rules.Decision | None = None
    final: rules.Decision | None = None
    decided_on: date | None = None
    paid_on: date | None = None
    status: str = REPORTED
    extra: dict = field(default_factory=dict)


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal) -> dict:
    cols = _policies(db, today)
    if len(cols["id"]) == 0:
        return {"claims": 0}
    products = _products(db)
    chosen = _claimants(rng, cols, products, today)
    terms_of = _terms(db, cols, np.unique([i for i, _ in chosen]), products)
    limit = Decimal(get_settings().auto_decide_limit_yuan)
    drawn = []
    for i, kind in chosen:
        claim = _draw(rng, cols, i, kind, products, today)
        _decide(claim, terms_of(i, claim.event_date), rng, today, limit)
        drawn.append(claim)
    if not drawn:
        return {"claims": 0}
    _write(db, drawn, cols, actor=actor, today=today)
    return _summary(drawn)


# --- drawing ---------------------------------------------------------------------------------

def _policies(db: Session, today: date) -> dict[str, np.ndarray]:
    rows = db.execute(select(Policy.id, Policy.project_id, Policy.product_id, Policy.member_id,
                             Policy.occupation_class, Policy.cover_start, Policy.cover_end,
                             Policy.coefficient, Policy.status)
                      .where(Policy.cover_start < today).order_by(Policy.id)).all()
    names = ["id", "project_id", "product_id", "member_id", "occupation_class", "cover_start",
             "cover_end", "coefficient", "status"]
    return {n: np.array([r[k] for r in rows], dtype=object if k >= 5 else np.int64)
            for k, n in enumerate(names)}


@dataclass(frozen=True)
class ProductInfo:
    line: str
    waiting_days: int
    exclusions: frozenset[str]
    allowed: frozenset[int]
    benefits: tuple[Benefit, ...]
    project_code: str

    def benefit_of(self, kind: str) -> Benefit | None:
        return next((b for b in self.benefits if b.kind == kind), None)

    @property
    def reference_class(self) -> int:
        """The class the pure risk rates are priced for: the lowest covered (coefficient 1)."""
        return min(self.allowed) if self.allowed else 1

    def frequency(self, kind: str) -> float:
        """Claims of ``kind`` per policy-year in the reference class (0 without the benefit).

        >>> b = Benefit(kind="accidental_death", base_sum_insured=Decimal(100000),
        ...             pure_risk_rate=Decimal("0.00008"))
        >>> round(ProductInfo("accident", 0, frozenset(), frozenset(), (b,), "X")
        ...       .frequency("accidental_death") * 10000, 2)  # per 10,000 a year
        0.64
        """
        b = self.benefit_of(kind)
        if b is None or not b.pure_risk_rate:
            return 0.0
        cost = float(b.pure_risk_rate) * float(b.base_sum_insured) * EXPERIENCE
        if kind == "accidental_medical":
            return cost / MEDICAL_TYPICAL_PAYOUT
        if kind == "hospital_allowance":
            daily = float(b.daily_amount or b.base_sum_insured / 30)
            return cost / (daily * MEAN_HOSPITAL_DAYS)
        if kind == "disability":
            return cost / float(b.base_sum_insured) / MEAN_GRADE_SHARE
        return cost / float(b.base_sum_insured)  # deaths pay the whole sum insured


def _products(db: Session) -> dict[int, ProductInfo]:
    codes = dict(db.execute(select(Project.id, Project.code)).all())
    out = {}
    for p in db.scalars(select(Product)):
        out[p.id] = ProductInfo(p.line, p.waiting_days, frozenset(p.exclusions or ()),
                                frozenset(p.allowed_classes or ()), tuple(p.benefits),
                                codes[p.project_id])
    return out


def _claimants(rng, cols, products: dict[int, ProductInfo], today: date) -> list[tuple[int, str]]:
    """(policy row, benefit kind) of every claim, ordered by policy: per benefit,
    P(claim) = 1 - exp(-frequency x class relativity x exposure). Kidney benefits have no
    frequency here (their claims come from the health records)."""
    start = np.array([d.toordinal() for d in cols["cover_start"]])
    end = np.array([min(d, today - timedelta(days=1)).toordinal() for d in cols["cover_end"]])
    exposure = np.clip(end - start + 1, 0, None) / 365.0
    relativity = CLASS_RELATIVITY[np.clip(cols["occupation_class"], 1, 6)]
    chosen = []
    for kind in KINDS:
        rate = np.zeros(len(exposure))
        for product_id, info in products.items():
            f = info.frequency(kind)
            if f == 0:
                continue
            mask = cols["product_id"] == product_id
            # Accidents follow the job; sudden death and illness do not.
            by_class = info.line == "accident" and kind != "sudden_death"
            rate[mask] = f * (relativity[mask] / CLASS_RELATIVITY[info.reference_class]
                              if by_class else 1.0)
        hit = np.flatnonzero(rng.random(len(rate)) < 1 - np.exp(-rate * exposure))
        chosen += [(int(i), kind) for i in hit]
    return sorted(chosen, key=lambda c: (c[0], KINDS.index(c[1])))


def _draw(rng, cols, i: int, kind: str, products: dict[int, ProductInfo], today: date) -> Drawn:
    info = products[int(cols["product_id"][i])]
    start, end = cols["cover_start"][i], min(cols["cover_end"][i], today - timedelta(days=1))
    event = start + timedelta(days=int(rng.integers(0, (end - start).days + 1)))
    lag = 1 + int(rng.geometric(1 / 6))
    reported = min(event + timedelta(days=lag), today)
    code = info.benefit_of(kind).code
    event_type = ("sudden_death" if kind == "sudden_death"
                  else "illness" if info.line != "accident" else "accident")
    items, kinds = [_item(rng, kind, code, event)], [kind]
    medical = info.benefit_of("accidental_medical")
    if kind == "disability" and medical is not None and rng.random() < 0.5:
        items.append(_item(rng, "accidental_medical", medical.code, event, scale=3.0))
        kinds.append("accidental_medical")
    found = frozenset()
    if event_type == "accident" and "drunk_driving" in info.exclusions \
            and rng.random() < EXCLUSION_FOUND:
        found = frozenset({"drunk_driving"})
    return Drawn(policy=i, kind=kind, event_type=event_type, event_date=event,
                 reported_on=reported, items=items, kinds=kinds, circumstances=found)


def _item(rng, kind: str, code: str, event: date, scale: float = 1.0) -> rules.ItemFacts:
    if kind == "accidental_medical":
        drawn = float(rng.lognormal(math.log(MEDICAL_MEDIAN_INVOICE * scale), 1.0))
        invoice = round_fen(Decimal(str(round(drawn, 2))))
        insured = bool(rng.random() < 0.6)
        social = round_fen(invoice * Decimal(str(round(float(rng.uniform(0.2, 0.5)), 2)))) \
            if insured else ZERO
        return rules.ItemFacts(benefit_code=code, invoice_amount=invoice,
                               social_insurance_paid=social, has_social_insurance=insured)
    if kind == "hospital_allowance":
        return rules.ItemFacts(benefit_code=code, hospital_days=1 + int(rng.geometric(1 / 8)))
    if kind == "disability":
        grade = 10 - int(rng.choice(10, p=GRADE_WEIGHTS))
        return rules.ItemFacts(benefit_code=code, disability_grade=grade)
    if kind == "sudden_death":
        onset = datetime.combine(event, time(int(rng.integers(0, 20)), 0), SHANGHAI)
        hours = rng.exponential(4) if rng.random() < 0.85 else rng.uniform(25, 72)
        return rules.ItemFacts(benefit_code=code, symptoms_began_at=onset,
                               died_at=onset + timedelta(hours=float(round(hours, 2))))
    return rules.ItemFacts(benefit_code=code)


def _terms(db: Session, cols, chosen: np.ndarray, products: dict[int, ProductInfo]):
    """A function giving a claimant policy's terms on a date, from columns loaded in bulk."""
    ids = [int(cols["id"][i]) for i in chosen]
    uplifts: dict[int, list[tuple[int, date, Decimal]]] = defaultdict(list)
    for s in range(0, len(ids), CHUNK):
        for pid, bid, eff, added in db.execute(
                select(SumInsuredUplift.policy_id, SumInsuredUplift.benefit_id,
                       SumInsuredUplift.effective_from, SumInsuredUplift.sum_insured_added)
                .where(SumInsuredUplift.policy_id.in_(ids[s:s + CHUNK]))):
            uplifts[pid].append((bid, eff, added))

    def terms(i: int, on: date) -> rules.PolicyTerms:
        info = products[int(cols["product_id"][i])]
        coefficient = cols["coefficient"][i]
        extra = defaultdict(lambda: ZERO)
        for bid, eff, added in uplifts.get(int(cols["id"][i]), ()):
            if eff <= on:
                extra[bid] += added
        return rules.PolicyTerms(
            policy_id=int(cols["id"][i]), status=cols["status"][i],
            cover_start=cols["cover_start"][i], cover_end=cols["cover_end"][i],
            occupation_class=int(cols["occupation_class"][i]), exclusions=info.exclusions,
            covered_classes=info.allowed or None, waiting_days=info.waiting_days,
            benefits=tuple(rules.BenefitTerms(
                benefit_id=b.id, code=b.code, kind=b.kind,
                sum_insured=policies_domain.scaled_sum_insured(b.base_sum_insured, coefficient)
                + extra[b.id],
                deductible=b.deductible or ZERO,
                coinsurance_with_social=b.coinsurance_with_social,
                coinsurance_without_social=b.coinsurance_without_social,
                daily_amount=None if b.daily_amount is None
                else policies_domain.scaled_sum_insured(b.daily_amount, coefficient),
                max_days=b.max_days, shares_sum_insured_with=b.shares_sum_insured_with,
                waiting_days=b.waiting_days) for b in info.benefits))
    return terms


def _next_friday(after: date) -> date:
    return after + timedelta(days=(4 - after.weekday()) % 7 or 7)


def _decide(c: Drawn, terms: rules.PolicyTerms, rng, today: date, limit: Decimal) -> None:
    """Run the rules at report (the reserve) and at decision; place the claim in time."""
    facts = rules.ClaimFacts(event_date=c.event_date, event_type=c.event_type,
                             items=tuple(c.items))
    c.report_engine = rules.adjudicate(terms, facts)
    simple = (c.report_engine.outcome == rules.APPROVE and c.report_engine.approved <= limit
              and c.kind in rules.SIMPLE_KINDS and len(c.items) == 1)
    decided = c.reported_on if simple else (
        c.reported_on + timedelta(days=7 + int(rng.geometric(1 / 20))))
    if decided > today:
        c.status = REPORTED if (today - c.reported_on).days < 7 else UNDER_REVIEW
        return
    c.decided_on = decided
    c.final = rules.adjudicate(terms, rules.ClaimFacts(
        event_date=c.event_date, event_type=c.event_type, items=tuple(c.items),
        circumstances=c.circumstances))
    c.extra["auto"] = simple
    c.status = DECIDED
    if c.final.approved > 0:
        pay_day = _next_friday(decided)
        if pay_day <= today:
            c.paid_on, c.status = pay_day, PAID
    settled = c.paid_on or (decided if c.final.approved == 0 else None)
    if c.final.outcome == rules.DENY and rng.random() < APPEAL_RATE:
        settled = _appeal(c, rng, today)
    if settled is not None and (today - settled).days > 30:
        c.status = CLOSED


def _appeal(c: Drawn, rng, today: date) -> date | None:
    """Some denied members appeal (申诉); a handler answers a week or two later, upholding."""
    appeal_on = c.decided_on + timedelta(days=int(rng.integers(3, 15)))
    if appeal_on > today:
        return c.decided_on
    c.extra["appeal_on"] = appeal_on
    answer_on = appeal_on + timedelta(days=int(rng.integers(7, 21)))
    if answer_on > today:
        c.status = REOPENED
        return None
    c.extra["answer_on"] = answer_on
    return answer_on


# --- writing ---------------------------------------------------------------------------------

def _write(db: Session, drawn: list[Drawn], cols, *, actor: Principal, today: date) -> None:
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
            "reported_on": c.reported_on,
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
    _write_money(db, drawn, ids, claim_rows, actor=actor, today=today)
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
                 actor: Principal, today: date) -> None:
    """Reserve movements, decisions, batches and payments, and the entries they post."""
    moves, decisions, payments = [], [], []
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
    batches = _write_payments(db, payments, actor=actor)
    _post(db, moves, decisions, batches)


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


def _post(db: Session, moves: list[dict], decisions: list[dict], batches: list[dict]) -> None:
    """One entry per project, day and kind: the books match the claim rows to the fen."""
    reserve, approved = defaultdict(lambda: ZERO), defaultdict(lambda: ZERO)
    for m in moves:
        reserve[(m["project_id"], m["moved_on"])] += m["amount"]
    for d in decisions:
        approved[(d["project_id"], d["decided_on"])] += d["approved_change"]
    entries = [L.JournalEntry.of(
        project_id=pid, entry_date=on, kind="claim_reserve", memo=f"case reserves on {on}",
        reference="demo", idempotency_key=f"demo-claims:{pid}:{on}:reserve",
        postings=L.transfer(L.CASE_RESERVE_CHANGE, L.CASE_RESERVE, amount))
        for (pid, on), amount in sorted(reserve.items()) if amount != 0]
    entries += [L.JournalEntry.of(
        project_id=pid, entry_date=on, kind="claim_approved", memo=f"claims decided on {on}",
        reference="demo", idempotency_key=f"demo-claims:{pid}:{on}:approved",
        postings=L.transfer(L.CLAIMS_PAID_EXPENSE, L.CLAIMS_PAYABLE, amount))
        for (pid, on), amount in sorted(approved.items()) if amount != 0]
    entries += [books.payment_entry(project_id=b["project_id"], batch_key=b["batch_key"],
                                    on=b["paid_on"], total=b["total"], claims=b["claims"])
                for b in batches]
    for s in range(0, len(entries), 500):
        ledger_service.post_many(db, entries[s:s + 500])


def _summary(drawn: list[Drawn]) -> dict:
    by_status, by_kind, reasons = defaultdict(int), defaultdict(int), defaultdict(int)
    for c in drawn:
        by_status[c.status] += 1
        by_kind[c.kind] += 1
        for r in (c.final or c.report_engine).reasons:
            reasons[r] += 1
    paid = sum((c.final.approved for c in drawn if c.paid_on), ZERO)
    denied = sum(1 for c in drawn if c.final is not None and c.final.outcome == rules.DENY)
    appealed = sum(1 for c in drawn if "appeal_on" in c.extra)
    return {"claims": len(drawn), "by_status": dict(by_status), "by_kind": dict(by_kind),
            "denied": denied, "appealed": appealed, "reasons": dict(sorted(reasons.items())),
            "paid_total": f"{paid:.2f}"}
