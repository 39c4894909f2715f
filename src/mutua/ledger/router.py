"""HTTP routes under /api/v1/ledger."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from fastapi import Depends
from pydantic import BaseModel

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, QueryCode, Router, allow
from mutua.ledger import service

router = Router(prefix="/ledger", tags=["ledger"])

Finance = Annotated[Principal, Depends(allow(Role.FINANCE, Role.ACTUARY))]


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
def trial_balance(db: DbSession, actor: Finance,
                  project: QueryCode = None) -> list[ProjectTrialBalance]:
    """Each project's account balances (debit positive); every total is zero."""
    return [ProjectTrialBalance(project=tb.project_code, total=tb.total,
                                accounts=[AccountBalance(**a.__dict__) for a in tb.accounts])
            for tb in service.trial_balance(db, project_code=project)]
