"""HTTP routes under /api/v1/ledger."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel, Field

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.bounds import Day, Yuan
from mutua.catalog import service as catalog_service
from mutua.dates import today
from mutua.deps import DbSession, PathId, QueryCode, QueryDay, ReadDbSession, Router, allow
from mutua.ledger import service

router = Router(prefix="/ledger", tags=["ledger"])

Finance = Annotated[Principal, Depends(allow(Role.FINANCE, Role.ACTUARY))]
# Overdraft facilities are approved by finance (or an administrator) only.
Treasurer = Annotated[Principal, Depends(allow(Role.FINANCE))]
CashReader = Annotated[Principal, Depends(allow(Role.FINANCE, Role.ACTUARY, Role.CLAIMS))]


class AccountBalance(BaseModel):
    code: str
    name: str
    kind: str
    balance: Decimal


class ProjectTrialBalance(BaseModel):
    project: str
    accounts: list[AccountBalance]
    total: Decimal


@router.get("/trial-balance", response_model=list[ProjectTrialBalance])
def trial_balance(db: ReadDbSession, actor: Finance,
                  project: QueryCode = None) -> list[ProjectTrialBalance]:
    """Each project's account balances (debit positive); every total is zero."""
    return [ProjectTrialBalance(project=tb.project_code, total=tb.total,
                                accounts=[AccountBalance(**a.__dict__) for a in tb.accounts])
            for tb in service.trial_balance(db, project_code=project)]


class OverdraftIn(BaseModel):
    project: str = Field(max_length=32)
    limit: Yuan
    reason: str = Field(max_length=500)
    starts_on: Day | None = None
    ends_on: Day | None = None


class OverdraftOut(BaseModel):
    id: int
    project_id: int
    limit: Decimal
    reason: str
    starts_on: date
    ends_on: date | None
    approved_by_name: str
    approved_at: datetime
    withdrawn_at: datetime | None


class CashOut(BaseModel):
    project: str
    on: date
    balance: Decimal
    overdraft: Decimal
    available: Decimal


@router.get("/cash", response_model=CashOut)
def cash(db: DbSession, actor: CashReader, project: Annotated[str, Query(max_length=40)],
         on: QueryDay = None) -> CashOut:
    """What the project may pay out on a date: its cash and any approved overdraft."""
    on = on or today()
    p = catalog_service.get_project(db, code=project)
    position = service.cash_position(db, project_id=p.id, on=on)
    return CashOut(project=p.code, on=on, balance=position.balance,
                   overdraft=position.overdraft, available=position.available)


@router.get("/overdrafts", response_model=list[OverdraftOut])
def overdrafts(db: DbSession, actor: Finance, project: QueryCode = None) -> list[OverdraftOut]:
    """Overdraft facilities, newest first, withdrawn ones included."""
    project_id = catalog_service.get_project(db, code=project).id if project else None
    return [OverdraftOut.model_validate(o, from_attributes=True)
            for o in service.overdrafts(db, project_id=project_id)]


@router.post("/overdrafts", response_model=OverdraftOut, status_code=201)
def grant_overdraft(body: OverdraftIn, db: DbSession, actor: Treasurer) -> OverdraftOut:
    """Approve an overdraft facility: how far below zero the project's cash may go, and why."""
    p = catalog_service.get_project(db, code=body.project)
    row = service.grant_overdraft(db, project_id=p.id, limit=body.limit, reason=body.reason,
                                  actor=actor, starts_on=body.starts_on, ends_on=body.ends_on)
    return OverdraftOut.model_validate(row, from_attributes=True)


@router.post("/overdrafts/{overdraft_id}/withdraw", response_model=OverdraftOut)
def withdraw_overdraft(overdraft_id: PathId, db: DbSession, actor: Treasurer) -> OverdraftOut:
    row = service.withdraw_overdraft(db, overdraft_id=overdraft_id, actor=actor)
    return OverdraftOut.model_validate(row, from_attributes=True)
