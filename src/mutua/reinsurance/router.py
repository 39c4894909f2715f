"""HTTP routes under /api/v1/reinsurance: file and list treaties, list and receive
recoveries. Finance (or an administrator) files and receives; actuaries read."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, Page, Paging, PathId, QueryCode, Router, allow
from mutua.reinsurance import service
from mutua.reinsurance.schemas import PremiumPaymentIn, ReceiveIn, TreatyIn

router = Router(prefix="/reinsurance", tags=["reinsurance"])
Finance = Annotated[Principal, Depends(allow(Role.FINANCE))]
Reader = Annotated[Principal, Depends(allow(Role.FINANCE, Role.ACTUARY))]


@router.get("/treaties", response_model=Page[dict])
def list_treaties(db: DbSession, actor: Reader, paging: Paging,
                  project: QueryCode = None) -> Page[dict]:
    """Treaties with what each has recovered and what reinsurers still owe."""
    items, total = service.list_treaties(db, project_code=project, limit=paging.limit,
                                         offset=paging.offset)
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("/treaties", status_code=201)
def file_treaty(body: TreatyIn, db: DbSession, actor: Finance) -> dict:
    """File an excess-of-loss treaty (per risk or per event); every problem at once (422)."""
    data = body.model_dump()
    row = service.file_treaty(db, actor=actor, project_code=data.pop("project"), **data)
    return service.treaty_out(row, body.project)


@router.get("/recoveries", response_model=Page[dict])
def list_recoveries(db: DbSession, actor: Reader, paging: Paging, project: QueryCode = None,
                    outstanding: Annotated[bool, Query()] = False) -> Page[dict]:
    """Recoveries booked on decisions, latest first; ``outstanding`` keeps those not received."""
    items, total = service.list_recoveries(db, project_code=project, outstanding=outstanding,
                                           limit=paging.limit, offset=paging.offset)
    return Page(items=items, total=total, limit=paging.limit, offset=paging.offset)


@router.post("/recoveries/{recovery_id}/receive")
def receive(recovery_id: PathId, db: DbSession, actor: Finance,
            body: ReceiveIn | None = None) -> dict:
    """Record the reinsurer's payment of a recovery (cash in, receivable settled)."""
    row = service.receive(db, recovery_id=recovery_id, actor=actor,
                          on=body.on if body else None)
    return {"id": row.id, "amount": f"{row.amount:.2f}", "received_on": str(row.received_on)}


@router.post("/premium-payments")
def pay_premium(body: PremiumPaymentIn, db: DbSession, actor: Finance) -> dict:
    """Pay reinsurers premium the project owes (at most what is owed, within its cash)."""
    owed = service.pay_premium(db, project_code=body.project, amount=body.amount,
                               actor=actor, on=body.on)
    return {"project": body.project, "paid": f"{body.amount:.2f}", "still_owed": f"{owed:.2f}"}
