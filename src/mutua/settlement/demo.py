"""The settlement part of the demo mutual: every complete quarter of every project closed.

Quarters are closed oldest first, every project's in turn, so the served demo shows
surpluses shared as uplifts, aid and services. ``before_close`` lets the builder draw each
quarter's claims just before that quarter closes, so claims are paid on the cover earlier
closes raised. So that the demo always shows the stabilisation reserve at work, when no
quarter has drawn on a reserve by itself, one project whose reserve has grown (the largest
pool only if it is the only one) gets a large open claim in its last complete quarter: a
case reserve sized to turn that quarter into a deficit the reserve covers (a hard quarter,
as pools have).

The largest pool files a per-risk excess-of-loss treaty before its first close, and the
quarter before the last complete one brings a death above its retention, recovered from
the reinsurer (reinsurance/demo.py).

Each quarter, just before its close, every project records what running it cost, by
category (staff, systems, claims handling, member services): shares of the quarter's earned
premium and a fee per claim reported, varied a little from quarter to quarter, so a young
pool's costs sometimes run above the loading cap and its statement shows the excess.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.security import Principal
from mutua.catalog.models import Benefit, Project
from mutua.claims import first_notice, workflow
from mutua.claims.models import Claim
from mutua.claims.schemas import ClaimIn
from mutua.dates import Quarter
from mutua.ledger.service import fen_sum
from mutua.money import from_fen, to_fen
from mutua.policies.models import Policy, SumInsuredUplift
from mutua.reinsurance import demo as reinsurance_demo
from mutua.settlement import figures, service
from mutua.settlement.models import AidPayment, Close, SettlementConfig


def build(db: Session, *, rng: np.random.Generator, today: date, actor: Principal,
          before_close: Callable[[Quarter], object] | None = None) -> dict:
    last = Quarter.of(today).previous()
    plans = _plans(db, last)
    closes: list[dict] = []
    hard = None
    q = min((first for _, first in plans), default=last.next())
    costs_rng = rng.spawn(1)[0]  # its own stream: the costs leave the other draws as they were
    _fund_the_projects(db, plans, actor)
    reinsured = _largest_project(db, last)
    firsts = dict(plans)
    treaty = (reinsurance_demo.file_treaty(db, code=reinsured, first=firsts[reinsured],
                                           actor=actor) if reinsured in firsts else None)
    loss_quarter = max(last.previous(), firsts.get(reinsured, last))
    large_loss = None
    while q <= last:
        if before_close is not None:
            before_close(q)
        if treaty is not None and q == loss_quarter:
            large_loss = reinsurance_demo.large_loss(db, code=reinsured, q=q, today=today,
                                                     actor=actor)
        for code, first in plans:
            if first <= q:
                _record_costs(db, rng=costs_rng, code=code, q=q, actor=actor)
        if q == last:
            hard = _hard_quarter(db, rng=rng, plans=plans, closes=closes, last=last,
                                 today=today, actor=actor)
        closes += [service.close_quarter(db, project_code=code, quarter=str(q), actor=actor,
                                         today=today)
                   for code, first in plans if first <= q]
        q = q.next()
    return {**_summary(closes, hard), "reinsurance": {"treaty": treaty,
                                                       "large_loss": large_loss}}


# The initial operating fund (初始运营资金) of a specialised mutual, 10 million yuan at least
# (相互保险组织监管试行办法), contributed by its founders and shared over its projects as
# their solvency capital.
OPERATING_FUND = Decimal("10000000")


def _fund_the_projects(db: Session, plans, actor: Principal) -> None:
    share = (OPERATING_FUND / max(len(plans), 1)).quantize(Decimal("0.01"))
    for code, _first in plans:
        project_id = db.scalar(select(Project.id).where(Project.code == code))
        if db.scalar(select(SettlementConfig.operating_fund)
                     .where(SettlementConfig.project_id == project_id)):
            continue
        service.configure(db, project_code=code, actor=actor, operating_fund=share)


# What running a pool costs in the demo: a share of the quarter's earned premium per
# category, and claims handling per claim reported (demo values, not a filed budget).
COST_SHARES = {"staff": Decimal("0.07"), "systems": Decimal("0.025"),
               "member_services": Decimal("0.02")}
CLAIM_HANDLING_FEE = Decimal("60")


# What a finance clerk of a Shenzhen mutual writes on each cost (the memo is shown as typed).
COST_MEMOS = {"staff": "人员薪酬", "systems": "信息系统", "claims_handling": "理赔处理",
              "member_services": "会员服务"}


def _record_costs(db: Session, *, rng, code: str, q: Quarter, actor: Principal) -> None:
    project_id = db.scalar(select(Project.id).where(Project.code == code))
    earned = from_fen(sum(e.in_quarter for e in figures.earned_by_product(
        db, project_id=project_id, quarter=q)))
    reported = db.scalar(select(func.count(Claim.id)).where(
        Claim.project_id == project_id, Claim.reported_on.between(q.start, q.end))) or 0
    costs = {c: earned * share for c, share in COST_SHARES.items()}
    costs["claims_handling"] = CLAIM_HANDLING_FEE * reported
    for category, base in costs.items():
        amount = (base * Decimal(str(round(float(rng.uniform(0.8, 1.25)), 4)))).quantize(
            Decimal("0.01"))
        if amount > 0:
            service.record_expense(db, project_code=code, quarter=str(q), amount=amount,
                                   memo=f"{q} {COST_MEMOS[category]}",
                                   category=category, actor=actor)


def _plans(db: Session, last: Quarter) -> list[tuple[str, Quarter]]:
    """(project code, first quarter with cover) for projects with cover before ``last`` ends."""
    rows = db.execute(select(Project.code, func.min(Policy.cover_start))
                      .join(Policy, Policy.project_id == Project.id)
                      .group_by(Project.code).order_by(Project.code)).all()
    return [(code, Quarter.of(first)) for code, first in rows
            if first is not None and first <= last.end]


def _hard_quarter(db: Session, *, rng, plans, closes, last: Quarter, today: date,
                  actor: Principal) -> dict | None:
    """Give one project with a reserve a deficit its reserve covers, in ``last``, unless
    some quarter has drawn on a reserve already."""
    if any(Decimal(c["reserve_drawn"]) > 0 for c in closes):
        return None
    reserves = {c["project"]: to_fen(Decimal(c["reserve_after"])) for c in closes
                if c["quarter"] == str(last.previous())}
    largest = _largest_project(db, last)
    # The largest pool last; among the others, the one with the largest reserve first.
    candidates = sorted(((code != largest, r, code) for code, r in reserves.items() if r > 0),
                        reverse=True)
    for _, reserve, code in candidates:
        preview = service.close_quarter(db, project_code=code, quarter=str(last), actor=actor,
                                        today=today, dry_run=True)
        result = to_fen(Decimal(preview["result"]))
        if result < 0:
            return None  # a deficit already: nothing to stage
        target = result + reserve // 2  # claims enough for a deficit of half the reserve
        found = _open_claim_target(db, code, last)
        if found is None:
            continue
        policy_id, benefit_code = found
        day = last.start + timedelta(days=int(rng.integers(10, 60)))
        claim = first_notice.report(db, data=ClaimIn(
            policy_id=policy_id, event_type="accident", event_date=day, place="深圳",
            description="serious road accident, disability assessment pending",
            items=[{"benefit_code": benefit_code, "disability_grade": 3}]),
            actor=actor, on=day + timedelta(days=1))
        workflow.set_reserve(db, claim_id=claim.id, amount=from_fen(target), actor=actor,
                             reason="long treatment expected", on=day + timedelta(days=2))
        return {"project": code, "quarter": str(last), "claim": claim.claim_number,
                "case_reserve": str(from_fen(target))}
    return None


def _largest_project(db: Session, q: Quarter) -> str | None:
    """The project with the most policies in force on the quarter's last day."""
    return db.scalar(select(Project.code).join(Policy, Policy.project_id == Project.id)
                     .where(Policy.cover_start <= q.end, Policy.cover_end >= q.end)
                     .group_by(Project.code).order_by(func.count().desc(), Project.code)
                     .limit(1))


def _open_claim_target(db: Session, code: str, q: Quarter) -> tuple[int, str] | None:
    """A policy in force all quarter long with a disability benefit, and that benefit's code
    (disability claims are never decided automatically, so the claim stays open)."""
    row = db.execute(
        select(Policy.id, Benefit.code)
        .join(Project, Project.id == Policy.project_id)
        .join(Benefit, Benefit.product_id == Policy.product_id)
        .where(Project.code == code, Benefit.kind == "disability",
               Policy.status == "in_force", Policy.cover_start <= q.start,
               Policy.cover_end >= q.end)
        .order_by(Policy.id).limit(1)).first()
    return None if row is None else (int(row[0]), str(row[1]))


def _summary(closes: list[dict], hard: dict | None) -> dict:
    def total(key: str) -> str:
        return str(sum((Decimal(c[key]) for c in closes), Decimal(0)))

    return {
        "closes": len(closes),
        "surplus_quarters": sum(Decimal(c["surplus"]) > 0 for c in closes),
        "deficit_quarters": sum(Decimal(c["result"]) < 0 for c in closes),
        "deficits_covered_by_reserve": [
            {"project": c["project"], "quarter": c["quarter"], "drawn": c["reserve_drawn"]}
            for c in closes if Decimal(c["reserve_drawn"]) > 0],
        "policies_uplifted": sum(c["policies_uplifted"] for c in closes),
        "sum_insured_added": total("sum_insured_added"),
        "aid": str(sum((Decimal(c["allocations"]["aid"]) for c in closes), Decimal(0))),
        "claimants_aided": sum(c["claimants_aided"] for c in closes),
        "services": str(sum((Decimal(c["allocations"]["services"]) for c in closes),
                            Decimal(0))),
        "hard_quarter": hard,
    }


# --- who shows it (the demo's sign-ins, demo/logins.py) -------------------------------------

def uplifted_member(db: Session, *, on: date, prefer: str | None = None, among=None,
                    exclude=()) -> dict | None:
    """The member whose policy in force on ``on`` had its sum insured raised at the most
    closes, in project ``prefer`` first, riders and couriers (the higher occupation
    classes) first among equals: ``{"member_id", "project", "closes"}``, or None."""
    closes = func.count(SumInsuredUplift.quarter.distinct())
    q = (select(Policy.member_id, Project.code, closes)
         .join(SumInsuredUplift, SumInsuredUplift.policy_id == Policy.id)
         .join(Project, Project.id == Policy.project_id)
         .where(Policy.status == "in_force", Policy.cover_start <= on, Policy.cover_end >= on,
                Policy.member_id.not_in(list(exclude)))
         .group_by(Policy.id, Policy.member_id, Project.code, Policy.occupation_class)
         .order_by((Project.code != (prefer or "")), closes.desc(),
                   Policy.occupation_class.desc(), Policy.member_id).limit(1))
    if among is not None:
        q = q.where(Policy.member_id.in_(among))
    row = db.execute(q).first()
    return None if row is None else {"member_id": row[0], "project": row[1], "closes": row[2]}


def aided_member(db: Session, *, prefer: str | None = None, among=None,
                 exclude=()) -> dict | None:
    """The member who received the most aid after a claim, in project ``prefer`` first:
    ``{"member_id", "project", "aid", "quarter"}`` (the last quarter that aided them)."""
    aid = fen_sum(AidPayment.aid)
    q = (select(AidPayment.member_id, Project.code, aid, func.max(Close.quarter))
         .join(Close, Close.id == AidPayment.close_id)
         .join(Project, Project.id == AidPayment.project_id)
         .where(AidPayment.member_id.not_in(list(exclude)))
         .group_by(AidPayment.member_id, Project.code)
         .order_by((Project.code != (prefer or "")), aid.desc(), AidPayment.member_id)
         .limit(1))
    if among is not None:
        q = q.where(AidPayment.member_id.in_(among))
    row = db.execute(q).first()
    return None if row is None else {"member_id": row[0], "project": row[1],
                                     "aid": from_fen(int(row[2] or 0)), "quarter": row[3]}
