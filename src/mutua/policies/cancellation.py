"""Cancelling a policy: the refund of unearned premium, paid back through the provider, and
the sum-insured uplifts it no longer earns.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Product
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, ValidationFailed
from mutua.ledger import domain as L
from mutua.ledger import service as ledger_service
from mutua.money import from_fen, to_fen
from mutua.payments import provider
from mutua.policies import domain, dues
from mutua.policies.models import Policy, PremiumPayment, SumInsuredUplift
from mutua.policies.service import get


def cancel(db: Session, *, policy_id: int, actor: Principal, on: date | None = None,
           reason: str = "") -> Policy:
    """Cancel: full refund in the 15-day cooling-off period, else the unearned premium."""
    on = on or shanghai_today()
    if len(reason) > 64:  # it becomes the refund payment's reference
        raise ValidationFailed("reason", "must be at most %(limit)s characters", limit=64)
    policy = get(db, policy_id=policy_id, actor=actor)
    if policy.status == domain.UNPAID and dues.cancel_due(db, policy=policy, on=on):
        policy.status, policy.cancelled_on = domain.CANCELLED, on
        audit.record(db, actor=actor, action="policy.cancel", entity="policy",
                     entity_id=policy.id, project_id=policy.project_id,
                     detail={"refund": "0", "unpaid": True})
        db.flush()
        return policy
    refund = refund_quote(policy, on=on, product=db.get(Product, policy.product_id))
    _return_unearned_uplifts(db, policy, new_end=refund.cover_end)
    policy.status, policy.cancelled_on = "cancelled", on
    policy.cover_end, policy.refund = refund.cover_end, refund.amount
    if refund.amount > 0:
        db.add(PremiumPayment(project_id=policy.project_id, policy_id=policy.id,
                              amount=-refund.amount, paid_on=on, kind="refund", reference=reason))
        refund_id = _pay_refund(db, policy=policy, amount=refund.amount, on=on)
    audit.record(db, actor=actor, action="policy.cancel", entity="policy", entity_id=policy.id,
                 project_id=policy.project_id,
                 detail={"refund": str(refund.amount), "cooling_off": refund.cooling_off,
                         "refund_id": refund_id if refund.amount > 0 else None})
    db.flush()
    return policy


def _pay_refund(db: Session, *, policy: Policy, amount: Decimal, on: date) -> str:
    """The unearned premium becomes a refund owed (Dr unearned / Cr refunds payable), sent
    back through the payment provider (Dr refunds payable / Cr cash); the provider's refund
    id is the second entry's reference."""
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium_refund",
        memo=f"refund on cancelling {policy.policy_number}", reference=policy.policy_number,
        postings=L.transfer(L.UNEARNED_PREMIUM, L.PREMIUM_REFUNDS_PAYABLE, amount)))
    refund_id = provider.get("fake").refund(project_id=policy.project_id,
                                            reference=policy.policy_number, amount=amount)
    ledger_service.post(db, L.JournalEntry.of(
        project_id=policy.project_id, entry_date=on, kind="premium_refund_paid",
        memo=f"refund paid for {policy.policy_number}", reference=refund_id,
        postings=L.transfer(L.PREMIUM_REFUNDS_PAYABLE, L.CASH, amount)))
    return refund_id


def _return_unearned_uplifts(db: Session, policy: Policy, *, new_end: date) -> None:
    """The cover a cancelled policy will not use was bought with the pool's surplus: each
    uplift's unearned part goes back to the pool (the next close books it and says so)."""
    for u in db.scalars(select(SumInsuredUplift).where(SumInsuredUplift.policy_id == policy.id)):
        u.returned = from_fen(domain.returned_uplift(
            to_fen(u.money), u.effective_from, policy.cover_end, new_end))


def refund_quote(policy: Policy, *, on: date, product: Product) -> domain.Refund:
    """What cancelling ``policy`` on ``on`` would refund, without changing anything.

    Full premium inside the 15-day cooling-off period (犹豫期), else the unearned part less
    the product's cancellation fee (its terms: a fixed fee and a share of the unearned).
    Raises Conflict when the policy can no longer be cancelled (cancelled or ended), the
    same refusal :func:`cancel` gives.
    """
    if policy.status != "in_force":
        raise Conflict("policy %(policy_number)s is %(status)s, not in force",
                       policy_number=policy.policy_number, status=policy.status)
    if on > policy.cover_end:
        raise Conflict("policy %(policy_number)s has already expired", policy_number=policy.policy_number)
    return domain.refund_on_cancel(premium=policy.premium, enrolled_on=policy.enrolled_on,
                                   cover_start=policy.cover_start, cover_end=policy.cover_end,
                                   cancel_on=on, fee=product.cancellation_fee,
                                   fee_rate=product.cancellation_fee_rate)
