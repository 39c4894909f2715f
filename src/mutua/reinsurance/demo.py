"""The reinsurance part of the demo mutual: the largest pool files a per-risk excess-of-loss
treaty before its first close, and one quarter brings a death above the retention, which
the treaty recovers and the reinsurer pays three weeks later.

Treaty terms are demo values (retention 10% of the pool's largest death cover, limit twice
that cover, 2% of earned premium, one reinstatement at 5% of the amount reinstated), not a
market quotation. The loss comes only to a pool whose quarter earns at least twice the
retention (a pool that small would not buy a treaty at that retention).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Product, Project
from mutua.claims import first_notice, workflow
from mutua.claims.models import Claim
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.dates import Quarter
from mutua.money import from_fen
from mutua.policies.models import Policy
from mutua.reinsurance import service
from mutua.reinsurance.models import Recovery, Treaty
from mutua.settlement import figures

TREATY_CODE = "XL-DEMO"
RETENTION_SHARE = Decimal("0.1")


def file_treaty(db: Session, *, code: str, first: Quarter, actor: Principal) -> dict | None:
    """File the demo treaty on project ``code`` from its first quarter, for three years."""
    project_id = db.scalar(select(Project.id).where(Project.code == code))
    top = db.scalar(select(func.max(Benefit.base_sum_insured))
                    .join(Product, Product.id == Benefit.product_id)
                    .where(Product.project_id == project_id,
                           Benefit.kind == "accidental_death"))
    if top is None:
        return None
    retention = (Decimal(top) * RETENTION_SHARE).quantize(Decimal("0.01"))
    row = service.file_treaty(
        db, actor=actor, project_code=code, code=TREATY_CODE, kind="per_risk",
        reinsurer="中国再保险（集团）股份有限公司（演示）", retention=retention,
        limit=Decimal(top) * 2, rate="0.02", reinstatements=1, reinstatement_rate="0.05",
        starts_on=first.start, ends_on=first.start + timedelta(days=3 * 365))
    return {"project": code, "treaty": row.code, "retention": f"{row.retention:.2f}",
            "limit": f"{row.limit:.2f}"}


def large_loss(db: Session, *, code: str, q: Quarter, today: date,
               actor: Principal) -> dict | None:
    """A road death in ``q`` on the pool's policy with the most death cover and no claim
    yet, decided at once; its recovery is received three weeks later when that day has come."""
    project_id = db.scalar(select(Project.id).where(Project.code == code))
    earned = from_fen(sum(e.in_quarter for e in figures.earned_by_product(
        db, project_id=project_id, quarter=q)))
    retention = db.scalar(select(Treaty.retention).where(Treaty.project_id == project_id,
                                                         Treaty.code == TREATY_CODE))
    if retention is None or earned < 2 * retention:
        return None
    day = q.start + timedelta(days=40)
    policy_id = db.scalar(
        select(Policy.id).join(Project, Project.id == Policy.project_id)
        .join(Benefit, Benefit.product_id == Policy.product_id)
        .where(Project.code == code, Benefit.kind == "accidental_death",
               Policy.status == "in_force", Policy.cover_start <= day, Policy.cover_end >= day,
               ~select(Claim.id).where(Claim.policy_id == Policy.id).exists())
        .order_by((Benefit.base_sum_insured * Policy.coefficient).desc(), Policy.id).limit(1))
    if policy_id is None:
        return None
    claim = first_notice.report(db, data=ClaimIn(
        policy_id=policy_id, event_type="accident", event_date=day, place="深圳宝安 高速公路",
        description="road traffic accident, death on the scene",
        items=[{"benefit_code": _death_code(db, policy_id)}]), actor=actor, on=day)
    workflow.decide(db, claim_id=claim.id, actor=actor, on=day + timedelta(days=5),
                    data=DecisionIn(reason="death certificate and police report checked",
                                    documents_reason="death certificate and police report "
                                                     "seen on paper at the service desk"))
    recovered = db.scalars(select(Recovery).where(Recovery.claim_id == claim.id)).all()
    paid_on = day + timedelta(days=26)
    for r in recovered:
        if paid_on <= today:
            service.receive(db, recovery_id=r.id, actor=actor, on=paid_on)
    return {"project": code, "quarter": str(q), "claim": claim.claim_number,
            "loss": f"{claim.approved:.2f}",
            "recovered": f"{sum((r.amount for r in recovered), Decimal(0)):.2f}",
            "received_on": str(paid_on) if recovered and paid_on <= today else None}


def _death_code(db: Session, policy_id: int) -> str:
    return db.scalar(select(Benefit.code).join(Policy, Policy.product_id == Benefit.product_id)
                     .where(Policy.id == policy_id, Benefit.kind == "accidental_death"))
