"""Claim adjudication rules (理赔核定) as one pure function.

Given a policy's terms as they stood on the event date, a claim with its items, and what
was already paid or approved on the policy, :func:`adjudicate` decides every item: the
amount approved, the reason codes behind it, and the member's uncovered loss. Nothing
here touches a database or the web; the service feeds plain frozen values in.

The rules, in the order an item meets them:

1. cover in force on the event date (NOT_IN_FORCE), occupation class covered
   (CLASS_EXCLUDED), no listed exclusion in the circumstances (EXCLUSION);
2. the benefit exists on the policy (NO_SUCH_BENEFIT) and answers the event type
   (EVENT_NOT_COVERED); waiting period for events other than accidents (WAITING_PERIOD,
   accidents are covered from the first day as is usual for 意外险); not a duplicate of
   an earlier item (DUPLICATE);
3. the benefit's own rule: death pays its sum insured; disability its grade's share
   (DISABILITY_GRADE_SHARE, JR/T 0083-2013: grade 1 = 100% ... grade 10 = 10%); sudden
   death only within 24 hours of the onset of symptoms (SUDDEN_DEATH_OVER_24H);
   medical expenses: out-of-pocket = invoice - social insurance - other insurers,
   less the deductible (DEDUCTIBLE), times the co-insurance share (COINSURANCE, with or
   without social insurance), never above the out-of-pocket amount
   (OUT_OF_POCKET_CAP); daily allowances up to the day cap (ALLOWANCE_DAYS_CAP); a
   CKD progression benefit only when progression is verified (PROGRESSION_NOT_VERIFIED);
4. limits: the benefit's remaining sum insured (LIMIT) and, for benefits that share a sum
   insured (disability with death), the shared pool's remainder
   (SHARED_SUM_INSURED_REDUCED).

:func:`mutua.claims.ceilings.ceilings` is the hard cap every approved amount meets, the
engine's or a handler's override: what the benefit can still pay on the policy in its term.

>>> from datetime import date
>>> policy = PolicyTerms(policy_id=1, status="in_force", cover_start=date(2026, 1, 1),
...     cover_end=date(2026, 12, 31), occupation_class=5, benefits=(
...     BenefitTerms(benefit_id=1, code="DEATH", kind="accidental_death",
...                  sum_insured=Decimal("100000")),
...     BenefitTerms(benefit_id=2, code="DIS", kind="disability",
...                  sum_insured=Decimal("100000"), shares_sum_insured_with="DEATH"),))
>>> claim = ClaimFacts(event_date=date(2026, 3, 1), event_type="accident",
...     items=(ItemFacts(benefit_code="DIS", disability_grade=7),))
>>> d = adjudicate(policy, claim)
>>> d.outcome, d.approved, d.items[0].reasons
('approve', Decimal('40000.00'), ('DISABILITY_GRADE_SHARE',))
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from mutua.catalog.benefit_kinds import DAILY_KINDS
from mutua.claims.facts import BenefitTerms, ClaimFacts, ItemFacts, PolicyTerms, PriorItem
from mutua.errors import Worded
from mutua.money import ZERO, round_fen


class Reason(StrEnum):
    """Why an item was paid as it was. Stored and shown to the member."""

    COVERED = "COVERED"
    NOT_IN_FORCE = "NOT_IN_FORCE"
    WAITING_PERIOD = "WAITING_PERIOD"
    CLASS_EXCLUDED = "CLASS_EXCLUDED"
    EXCLUSION = "EXCLUSION"
    NO_SUCH_BENEFIT = "NO_SUCH_BENEFIT"
    EVENT_NOT_COVERED = "EVENT_NOT_COVERED"
    DUPLICATE = "DUPLICATE"
    DISABILITY_GRADE_SHARE = "DISABILITY_GRADE_SHARE"
    DEDUCTIBLE = "DEDUCTIBLE"
    COINSURANCE = "COINSURANCE"
    OUT_OF_POCKET_CAP = "OUT_OF_POCKET_CAP"
    LIMIT = "LIMIT"
    SHARED_SUM_INSURED_REDUCED = "SHARED_SUM_INSURED_REDUCED"
    SUDDEN_DEATH_OVER_24H = "SUDDEN_DEATH_OVER_24H"
    ALLOWANCE_DAYS_CAP = "ALLOWANCE_DAYS_CAP"
    PROGRESSION_NOT_VERIFIED = "PROGRESSION_NOT_VERIFIED"


# Reasons that pay nothing at all for the item.
DENIALS = frozenset({
    Reason.NOT_IN_FORCE, Reason.WAITING_PERIOD, Reason.CLASS_EXCLUDED, Reason.EXCLUSION,
    Reason.NO_SUCH_BENEFIT, Reason.EVENT_NOT_COVERED, Reason.DUPLICATE,
    Reason.SUDDEN_DEATH_OVER_24H, Reason.PROGRESSION_NOT_VERIFIED,
})
# Reasons that cut an amount below what the terms would otherwise pay.
REDUCTIONS = frozenset({
    Reason.OUT_OF_POCKET_CAP, Reason.LIMIT, Reason.SHARED_SUM_INSURED_REDUCED,
    Reason.ALLOWANCE_DAYS_CAP,
})

APPROVE, PARTLY_APPROVE, DENY = "approve", "partly_approve", "deny"

EVENT_TYPES = ("accident", "sudden_death", "illness")

# Which benefit kinds answer which event type.
KINDS_BY_EVENT: dict[str, frozenset[str]] = {
    "accident": frozenset({"accidental_death", "disability", "accidental_medical",
                           "hospital_allowance"}),
    "sudden_death": frozenset({"sudden_death"}),
    "illness": frozenset({"ckd_progression", "dialysis_start", "transplant",
                          "ckd_hospital_cash", "dialysis_allowance", "hospital_allowance"}),
}
LUMP_SUM_KINDS = frozenset({"accidental_death", "sudden_death", "dialysis_start", "transplant",
                            "ckd_progression"})
MEDICAL_KINDS = frozenset({"accidental_medical"})
DISABILITY_KINDS = frozenset({"disability"})
# Benefits a handler must look at (documents, grading) even when the rules pass.
SIMPLE_KINDS = MEDICAL_KINDS | DAILY_KINDS

# A policy whose status is one of these never pays, whatever the dates say.
VOID_STATUSES = frozenset({"void", "rescinded", "pending"})

SUDDEN_DEATH_WINDOW = timedelta(hours=24)


def disability_share(grade: int) -> Decimal:
    """Share of the disability sum insured a grade pays (JR/T 0083-2013).

    >>> disability_share(3), disability_share(10)
    (Decimal('0.8'), Decimal('0.1'))
    """
    if not 1 <= grade <= 10:
        raise ValueError(f"disability grade must be 1-10, got {grade}")
    return Decimal(11 - grade) / Decimal(10)


@dataclass(frozen=True)
class ItemDecision:
    benefit_code: str
    approved: Decimal
    reasons: tuple[str, ...]
    loss: Decimal  # the covered loss the item measured (0 for a denied item)
    remaining_before: Decimal  # what was left of the limit that applied, before this item
    out_of_pocket: Decimal | None = None
    days_paid: int = 0

    @property
    def denied(self) -> bool:
        return any(r in DENIALS for r in self.reasons) or self.approved == ZERO

    @property
    def reduced(self) -> bool:
        return any(r in REDUCTIONS for r in self.reasons)

    @property
    def uncovered_loss(self) -> Decimal:
        return max(ZERO, self.loss - self.approved)


@dataclass(frozen=True)
class Decision:
    items: tuple[ItemDecision, ...]

    @property
    def approved(self) -> Decimal:
        return sum((i.approved for i in self.items), ZERO)

    @property
    def uncovered_loss(self) -> Decimal:
        """What the member lost on covered items beyond what the policy pays (for aid)."""
        return sum((i.uncovered_loss for i in self.items), ZERO)

    @property
    def outcome(self) -> str:
        """The engine's outcome: :func:`outcome` of its own amounts."""
        return outcome([i.approved for i in self.items], self.items)

    @property
    def reasons(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for i in self.items:
            seen.update(dict.fromkeys(i.reasons))
        return tuple(seen)


def outcome(approved: Sequence[Decimal], items: Sequence[ItemDecision]) -> str:
    """The outcome of a decision paying ``approved`` on the engine's ``items``, one each.

    An item pays nothing when it is paid 0, or the engine denied it and the decision keeps
    the engine's amount; it falls short when it also pays less than the engine, or exactly
    the engine's reduced amount. Deny when no item pays; partly approve when one falls
    short; approve otherwise (a handler who pays more than a reduced amount, or pays an
    item the engine denied, approves it).

    >>> paid = ItemDecision("MED", Decimal("100"), ("COVERED",), Decimal("100"), Decimal("100"))
    >>> cut = ItemDecision("MED", Decimal("80"), ("LIMIT",), Decimal("100"), Decimal("80"))
    >>> outcome([Decimal("100"), Decimal("80")], [paid, cut])
    'partly_approve'
    >>> outcome([Decimal("100"), Decimal("100")], [paid, cut])
    'approve'
    >>> outcome([Decimal("0"), Decimal("0")], [paid, cut])
    'deny'
    """
    def pays_nothing(a: Decimal, e: ItemDecision) -> bool:
        return a == 0 or (a == e.approved and e.denied)

    def short(a: Decimal, e: ItemDecision) -> bool:
        return pays_nothing(a, e) or a < e.approved or (a == e.approved and e.reduced)

    pairs = list(zip(approved, items, strict=True))
    if all(pays_nothing(a, e) for a, e in pairs):
        return DENY
    return PARTLY_APPROVE if any(short(a, e) for a, e in pairs) else APPROVE


def check_claim(policy: PolicyTerms, claim: ClaimFacts) -> list[tuple[str, str]]:
    """Input problems as (field, rule) pairs; empty when the claim can be filed.

    These are errors in what was reported (a grade of 12, reversed times), not reasons to
    deny: a claim that fails them is refused at the door and nothing is stored.
    """
    problems: list[tuple[str, str]] = []
    if claim.event_type not in EVENT_TYPES:
        problems.append(("event_type", Worded("must be one of %(choices)s",
                                              choices=", ".join(EVENT_TYPES))))
    if not claim.items:
        problems.append(("items", Worded("at least one claimed item is required")))
    for n, item in enumerate(claim.items):
        problems.extend((f"items[{n}].{f}", rule) for f, rule in _check_item(policy, item))
    return problems


def _check_item(policy: PolicyTerms, item: ItemFacts) -> Iterable[tuple[str, str]]:
    benefit = policy.benefit(item.benefit_code)
    if benefit is None:
        yield "benefit_code", Worded("%(code)s is not a benefit of this policy",
                                     code=repr(item.benefit_code))
        return
    kind = benefit.kind
    if item.claimed_amount is not None and item.claimed_amount < 0:
        yield "claimed_amount", Worded("must not be negative")
    if kind in DISABILITY_KINDS and (item.disability_grade is None
                                     or not 1 <= item.disability_grade <= 10):
        yield "disability_grade", Worded("must be a grade from 1 to 10 (JR/T 0083-2013)")
    if kind in MEDICAL_KINDS:
        yield from _check_invoice(item)
    if kind in DAILY_KINDS and (item.hospital_days is None or item.hospital_days < 1):
        yield "hospital_days", Worded("must be a whole number of days, at least 1")
    if kind == "sudden_death":
        if item.symptoms_began_at is None or item.died_at is None:
            yield "died_at", Worded("sudden death needs the time symptoms began and the time of death")
        elif item.died_at < item.symptoms_began_at:
            yield "died_at", Worded("must not be before symptoms_began_at")


def _check_invoice(item: ItemFacts) -> Iterable[tuple[str, str]]:
    if item.invoice_amount is None:
        yield "invoice_amount", Worded("is required for medical expenses")
        return
    if item.invoice_amount < 0:
        yield "invoice_amount", Worded("must not be negative")
    if item.social_insurance_paid < 0:
        yield "social_insurance_paid", Worded("must not be negative")
    if item.other_insurance_paid < 0:
        yield "other_insurance_paid", Worded("must not be negative")
    if item.invoice_amount < item.social_insurance_paid + item.other_insurance_paid:
        yield "invoice_amount", Worded("must not be below what social and other insurance paid")


def adjudicate(policy: PolicyTerms, claim: ClaimFacts,
               prior: Iterable[PriorItem] = ()) -> Decision:
    """Decide every item of a claim. The claim must have passed :func:`check_claim`.

    Items are decided in order, each one seeing what the earlier ones approved, so two
    items of one claim cannot both spend the same sum insured.
    """
    ledger = PaidSoFar(list(prior))
    blanket = _policy_denial(policy, claim)
    decisions = []
    for item in claim.items:
        decision = _decide_item(policy, claim, item, ledger, blanket)
        decisions.append(decision)
        if decision.approved > 0 or decision.days_paid:
            ledger.add(PriorItem(
                benefit_code=item.benefit_code, event_date=claim.event_date,
                approved=decision.approved, invoice_amount=item.invoice_amount,
                disability_grade=item.disability_grade, days_paid=decision.days_paid,
                hospital_days=item.hospital_days,
            ))
    return Decision(tuple(decisions))


def _policy_denial(policy: PolicyTerms, claim: ClaimFacts) -> Reason | None:
    """A reason that denies every item of the claim, or None."""
    in_force = (policy.status not in VOID_STATUSES
                and policy.cover_start <= claim.event_date <= policy.cover_end)
    if not in_force:
        return Reason.NOT_IN_FORCE
    occupation = claim.occupation_class_at_event or policy.occupation_class
    if policy.covered_classes is not None and occupation not in policy.covered_classes:
        return Reason.CLASS_EXCLUDED
    if policy.exclusions & claim.circumstances:
        return Reason.EXCLUSION
    return None


@dataclass
class PaidSoFar:
    """What has been paid on the policy so far, updated as items are decided."""

    items: list[PriorItem] = field(default_factory=list)

    def add(self, item: PriorItem) -> None:
        self.items.append(item)

    def on(self, codes: Iterable[str]) -> Decimal:
        codes = set(codes)
        return sum((p.approved for p in self.items if p.benefit_code in codes), ZERO)

    def days_on(self, code: str) -> int:
        return sum(p.days_paid for p in self.items if p.benefit_code == code)

    def duplicates(self, benefit: BenefitTerms, event_date: date, item: ItemFacts) -> bool:
        for p in self.items:
            if p.benefit_code != benefit.code or p.event_date != event_date:
                continue
            if benefit.kind in MEDICAL_KINDS:
                if p.invoice_amount == item.invoice_amount:
                    return True
            elif benefit.kind in DISABILITY_KINDS:
                if p.disability_grade == item.disability_grade:
                    return True
            elif benefit.kind in DAILY_KINDS:
                if p.hospital_days == item.hospital_days:
                    return True
            else:  # a lump sum pays once per event
                return True
        return False


def _denied(code: str, reason: Reason) -> ItemDecision:
    return ItemDecision(benefit_code=code, approved=ZERO, reasons=(reason.value,), loss=ZERO,
                        remaining_before=ZERO)


def _codes(reasons: Iterable[Reason]) -> tuple[str, ...]:
    return tuple(r.value for r in reasons)


def _decide_item(policy: PolicyTerms, claim: ClaimFacts, item: ItemFacts, paid: PaidSoFar,
                 blanket: Reason | None) -> ItemDecision:
    code = item.benefit_code
    if blanket is not None:
        return _denied(code, blanket)
    benefit = policy.benefit(code)
    if benefit is None:
        return _denied(code, Reason.NO_SUCH_BENEFIT)
    if benefit.kind not in KINDS_BY_EVENT.get(claim.event_type, frozenset()):
        return _denied(code, Reason.EVENT_NOT_COVERED)
    if claim.event_type != "accident" and _in_waiting_period(policy, benefit, claim.event_date):
        return _denied(code, Reason.WAITING_PERIOD)
    if paid.duplicates(benefit, claim.event_date, item):
        return _denied(code, Reason.DUPLICATE)
    if benefit.kind in MEDICAL_KINDS:
        return _medical(policy, benefit, item, paid)
    if benefit.kind in DAILY_KINDS:
        return _daily(policy, benefit, item, paid)
    if benefit.kind in DISABILITY_KINDS:
        gross = round_fen(benefit.sum_insured * disability_share(item.disability_grade or 10))
        return _capped(policy, benefit, item, paid, gross, (Reason.DISABILITY_GRADE_SHARE,))
    if benefit.kind == "sudden_death" and not _within_24h(item):
        return _denied(code, Reason.SUDDEN_DEATH_OVER_24H)
    if benefit.kind == "ckd_progression" and not item.progression_verified:
        return _denied(code, Reason.PROGRESSION_NOT_VERIFIED)
    return _capped(policy, benefit, item, paid, benefit.sum_insured, (Reason.COVERED,))


def _in_waiting_period(policy: PolicyTerms, benefit: BenefitTerms, on: date) -> bool:
    days = benefit.waiting_days if benefit.waiting_days is not None else policy.waiting_days
    return on < policy.cover_start + timedelta(days=days)


def _within_24h(item: ItemFacts) -> bool:
    if item.symptoms_began_at is None or item.died_at is None:
        return False
    return timedelta(0) <= item.died_at - item.symptoms_began_at <= SUDDEN_DEATH_WINDOW


def limits(policy: PolicyTerms, benefit: BenefitTerms, paid: PaidSoFar) -> tuple[Decimal, Decimal]:
    """(own remaining sum insured, shared pool remaining) before this item.

    The pool is the root benefit named by ``shares_sum_insured_with`` plus every benefit
    that shares it: disability already paid reduces a later death benefit and vice versa.
    """
    own = max(ZERO, benefit.sum_insured - paid.on([benefit.code]))
    root_code = benefit.shares_sum_insured_with or benefit.code
    members = [b.code for b in policy.benefits
               if b.code == root_code or b.shares_sum_insured_with == root_code]
    if len(members) < 2:
        return own, own
    root = policy.benefit(root_code)
    pool_size = root.sum_insured if root is not None else benefit.sum_insured
    return own, max(ZERO, pool_size - paid.on(members))


def _capped(policy: PolicyTerms, benefit: BenefitTerms, item: ItemFacts, paid: PaidSoFar,
            gross: Decimal, reasons: tuple[Reason, ...]) -> ItemDecision:
    """Pay ``gross`` within the benefit's remaining sum insured and its shared pool."""
    own, pool = limits(policy, benefit, paid)
    amount, why = gross, list(reasons)
    if amount > own:
        amount = own
        why.append(Reason.LIMIT)
    if amount > pool:
        amount = pool
        why.append(Reason.SHARED_SUM_INSURED_REDUCED)
    loss = item.claimed_amount if item.claimed_amount is not None else gross
    return ItemDecision(benefit_code=benefit.code, approved=amount, reasons=_codes(why),
                        loss=loss, remaining_before=min(own, pool))


@dataclass(frozen=True)
class MedicalSteps:
    """How a medical item's amount is worked out before the benefit's limits, step by step
    (the member's claim page shows them): what social insurance left, less the deductible,
    times the share paid, never above what the member paid themselves."""

    invoice: Decimal
    social_insurance_paid: Decimal
    other_insurance_paid: Decimal
    deductible: Decimal  # the part of the benefit's deductible this claim used
    base: Decimal  # what social insurance left, less the deductible
    share: Decimal  # share paid (赔付比例), 1 = all
    shared: Decimal  # base x share, to the fen
    out_of_pocket: Decimal  # what the member paid themselves: the indemnity cap

    @property
    def amount(self) -> Decimal:
        """What the steps pay before the benefit's limits."""
        return min(self.shared, self.out_of_pocket)


def medical_steps(benefit: BenefitTerms, item: ItemFacts) -> MedicalSteps:
    """The steps of a medical item (indemnity, 补偿原则).

    >>> b = BenefitTerms(benefit_id=1, code="medical", kind="accidental_medical",
    ...                  sum_insured=Decimal("50000"), deductible=Decimal("100"),
    ...                  coinsurance_with_social=Decimal("0.9"))
    >>> i = ItemFacts(benefit_code="medical", invoice_amount=Decimal("1000"),
    ...               social_insurance_paid=Decimal("400"), has_social_insurance=True)
    >>> s = medical_steps(b, i)
    >>> (s.deductible, s.base, s.shared, s.out_of_pocket, s.amount)
    (Decimal('100'), Decimal('500'), Decimal('450.00'), Decimal('600.00'), Decimal('450.00'))
    """
    invoice = item.invoice_amount or ZERO
    out_of_pocket = max(ZERO, invoice - item.social_insurance_paid - item.other_insurance_paid)
    # The deductible (免赔额) applies to what social insurance left, per accident.
    after_social = max(ZERO, invoice - item.social_insurance_paid)
    base = max(ZERO, after_social - benefit.deductible)
    share = (benefit.coinsurance_with_social if item.has_social_insurance
             else benefit.coinsurance_without_social)
    share = Decimal(1) if share is None else share
    return MedicalSteps(invoice, item.social_insurance_paid, item.other_insurance_paid,
                        after_social - base, base, share, round_fen(base * share),
                        out_of_pocket)


def _medical(policy: PolicyTerms, benefit: BenefitTerms, item: ItemFacts,
             paid: PaidSoFar) -> ItemDecision:
    """Medical expenses are indemnity (补偿原则): never more than the member paid."""
    steps = medical_steps(benefit, item)
    why: list[Reason] = []
    if benefit.deductible > 0 and steps.base + steps.deductible > 0:
        why.append(Reason.DEDUCTIBLE)
    amount = steps.shared
    if steps.share != 1:
        why.append(Reason.COINSURANCE)
    if amount > steps.out_of_pocket:
        amount = steps.out_of_pocket
        why.append(Reason.OUT_OF_POCKET_CAP)
    own, pool = limits(policy, benefit, paid)
    limit = min(own, pool)
    if amount > limit:
        amount = limit
        why.append(Reason.LIMIT if own <= pool else Reason.SHARED_SUM_INSURED_REDUCED)
    if not why or (amount > 0 and why == [Reason.DEDUCTIBLE]):
        why.insert(0, Reason.COVERED)
    return ItemDecision(benefit_code=benefit.code, approved=amount, reasons=_codes(why),
                        loss=steps.out_of_pocket, remaining_before=limit,
                        out_of_pocket=steps.out_of_pocket)


def _daily(policy: PolicyTerms, benefit: BenefitTerms, item: ItemFacts,
           paid: PaidSoFar) -> ItemDecision:
    """A daily allowance (住院津贴): so much a day, up to the benefit's day cap."""
    days = item.hospital_days or 0
    daily = benefit.daily_amount or ZERO
    why: list[Reason] = [Reason.COVERED]
    payable_days = days
    if benefit.max_days is not None:
        left = max(0, benefit.max_days - paid.days_on(benefit.code))
        if days > left:
            payable_days = left
            why.append(Reason.ALLOWANCE_DAYS_CAP)
    amount = round_fen(daily * payable_days)
    loss = round_fen(daily * days)
    own, pool = limits(policy, benefit, paid)
    limit = min(own, pool) if benefit.sum_insured > 0 else amount
    if amount > limit:
        amount = limit
        why.append(Reason.LIMIT if own <= pool else Reason.SHARED_SUM_INSURED_REDUCED)
    return ItemDecision(benefit_code=benefit.code, approved=amount, reasons=_codes(why),
                        loss=loss, remaining_before=limit, days_paid=payable_days)
