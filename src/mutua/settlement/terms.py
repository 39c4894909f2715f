"""A project's close settings and its allocation policy (分配方案): the terms a close runs on.

The settings (reserve ratios, expense share, start-up costs, the operating fund) apply to
closes still to come; each allocation policy version takes effect from a quarter not yet
closed, so a closed quarter keeps the terms it was closed on.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.catalog.models import Project
from mutua.catalog.mutual import is_pool
from mutua.dates import Quarter
from mutua.dates import today as shanghai_today
from mutua.errors import NotFound, ValidationFailed
from mutua.settlement import allocation
from mutua.settlement.models import AllocationPolicy, Close, SettlementConfig

DEFAULT_SHARES = allocation.Shares(Decimal("0.70"), Decimal("0.20"), Decimal("0.10"))
FIRST_QUARTER = allocation.FIRST_QUARTER


def project_by_code(db: Session, code: str) -> Project:
    project = db.scalar(select(Project).where(Project.code == code, is_pool()))
    if project is None:
        raise NotFound("unknown project %(code)s", code=f"{code!r}")
    return project


def config_for(db: Session, *, project_id: int, create: bool) -> SettlementConfig:
    """The project's close settings; with ``create`` the defaults are stored on first use."""
    cfg = db.scalar(select(SettlementConfig).where(SettlementConfig.project_id == project_id))
    if cfg is None:
        cfg = SettlementConfig(
            project_id=project_id, reserve_target_ratio=Decimal("0.15"),
            reserve_minimum_ratio=Decimal("0.05"), reserve_contribution_rate=Decimal("0.20"),
            default_expense_share=Decimal("1"), startup_costs=Decimal("0"),
            operating_fund=Decimal("0"), operating_fund_borrowed=False,
            operating_fund_instalment=Decimal("0"), operating_fund_repayment_approved=False)
        if create:
            db.add(cfg)
            db.flush()
    return cfg


def configure(db: Session, *, project_code: str, actor: Principal, **settings) -> SettlementConfig:
    """Change a project's close settings (applies to closes still to come)."""
    project = project_by_code(db, project_code)
    cfg = config_for(db, project_id=project.id, create=True)
    for name, value in settings.items():
        if not hasattr(SettlementConfig, name) or name in ("id", "project_id"):
            raise ValidationFailed(name, "is not a close setting")
        if isinstance(value, Decimal) and value < 0:
            raise ValidationFailed(name, "must not be negative")
        setattr(cfg, name, value)
    db.flush()
    audit.record(db, actor=actor, action="settlement.configure", entity="settlement_config",
                 entity_id=cfg.id, project_id=project.id,
                 detail={k: str(v) for k, v in settings.items()})
    return cfg


def policy_for(db: Session, *, project_id: int, quarter: Quarter) -> AllocationPolicy | None:
    """The allocation policy version in force for a quarter (None: the default applies)."""
    return db.scalar(
        select(AllocationPolicy)
        .where(AllocationPolicy.project_id == project_id,
               AllocationPolicy.effective_from <= str(quarter))
        .order_by(AllocationPolicy.effective_from.desc(), AllocationPolicy.version.desc())
        .limit(1))


def default_policy(db: Session, project_id: int) -> AllocationPolicy:
    row = AllocationPolicy(project_id=project_id, version=1, effective_from=FIRST_QUARTER,
                           uplift=DEFAULT_SHARES.uplift, aid=DEFAULT_SHARES.aid,
                           services=DEFAULT_SHARES.services, source="default")
    db.add(row)
    db.flush()
    return row


def adopt_allocation_policy(db: Session, *, project_id: int, uplift: Decimal, aid: Decimal,
                            services: Decimal, effective_from: str, source: str,
                            actor: Principal) -> AllocationPolicy:
    """Add a new version of a project's allocation policy from ``effective_from`` on.

    Refuses shares that do not add to 100% and quarters already closed (a closed quarter is
    never edited).
    """
    shares = allocation.Shares(Decimal(uplift), Decimal(aid), Decimal(services))
    q = Quarter.parse(effective_from, field="effective_from")
    if db.get(Project, project_id) is None:
        raise NotFound("project %(project_id)s not found", project_id=project_id)
    last = last_close(db, project_id)
    if last is not None and last.quarter >= str(q):
        raise ValidationFailed("effective_from", "%(quarter)s is already closed (last close "
                                                 "%(last)s); choose a later quarter",
                                                 quarter=q, last=last.quarter)
    version = (db.scalar(select(func.max(AllocationPolicy.version))
                         .where(AllocationPolicy.project_id == project_id)) or 0) + 1
    row = AllocationPolicy(project_id=project_id, version=version, effective_from=str(q),
                           uplift=shares.uplift, aid=shares.aid, services=shares.services,
                           source=source[:60])
    db.add(row)
    db.flush()
    audit.record(db, actor=actor, action="settlement.adopt_allocation_policy",
                 entity="allocation_policy", entity_id=row.id, project_id=project_id,
                 detail={"version": version, "effective_from": str(q), "uplift": str(uplift),
                         "aid": str(aid), "services": str(services), "source": source})
    return row


def allocation_history(db: Session, *, project_code: str,
                       today: date | None = None) -> dict:
    """A project's allocation policy (分配方案) for its next close and every version so far.

    The next close is the quarter after the last one closed or, before any close, the
    current quarter. A project never given a policy runs on the default shares, shown as
    version 1 from the first quarter (the first close stores that row)::

        {"project": "SZ-NEWCITIZEN", "last_closed": "2026Q2", "next_close": "2026Q3",
         "in_force": {"version": 2, "effective_from": "2026Q3", "uplift": Decimal("0.6"),
                      "aid": ..., "services": ..., "source": "proposal:7", ...},
         "versions": [newest first ...]}
    """
    project = project_by_code(db, project_code)
    last = last_close(db, project.id)
    next_close = (Quarter.parse(last.quarter).next() if last is not None
                  else Quarter.of(today or shanghai_today()))
    rows = db.scalars(select(AllocationPolicy).where(AllocationPolicy.project_id == project.id)
                      .order_by(AllocationPolicy.version.desc())).all()
    versions = [{"id": r.id, "version": r.version, "effective_from": r.effective_from,
                 "uplift": Decimal(r.uplift), "aid": Decimal(r.aid),
                 "services": Decimal(r.services), "source": r.source,
                 "adopted_at": r.adopted_at, "stored": True} for r in rows]
    if not any(v["effective_from"] == FIRST_QUARTER for v in versions):
        # Not stored until the first close; no version number of its own yet.
        versions.append({"id": None, "version": None,
                         "effective_from": FIRST_QUARTER, "uplift": DEFAULT_SHARES.uplift,
                         "aid": DEFAULT_SHARES.aid, "services": DEFAULT_SHARES.services,
                         "source": "default", "adopted_at": None, "stored": False})
    policy = policy_for(db, project_id=project.id, quarter=next_close)
    in_force = next((v for v in versions if policy is not None and v["id"] == policy.id),
                    versions[-1] if policy is None else None)
    return {"project": project.code, "last_closed": last.quarter if last else None,
            "next_close": str(next_close), "in_force": in_force, "versions": versions}


def last_close(db: Session, project_id: int) -> Close | None:
    """The project's latest closed quarter, or None before its first close."""
    return db.scalar(select(Close).where(Close.project_id == project_id)
                     .order_by(Close.quarter.desc()).limit(1))


def last_closed_quarter(db: Session, project_id: int) -> str | None:
    """The code of the project's latest closed quarter ("2026Q3"), or None before its first."""
    last = last_close(db, project_id)
    return last.quarter if last else None


def shares_of(policy: AllocationPolicy | None) -> allocation.Shares:
    """The shares a policy version gives (the default shares without one)."""
    if policy is None:
        return DEFAULT_SHARES
    return allocation.Shares(Decimal(policy.uplift), Decimal(policy.aid), Decimal(policy.services))
