"""GET /api/v1/audit: the audit log, for admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from mutua.audit import service
from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.deps import DbSession, Page, Paging, Router, allow

router = Router(prefix="/audit", tags=["audit"])


class AuditOut(BaseModel):
    id: int
    at: datetime
    actor_username: str
    actor_role: str
    action: str
    entity: str
    entity_id: str
    project_id: int | None
    detail: dict


@router.get("", response_model=Page[AuditOut])
def events(db: DbSession, actor: Annotated[Principal, Depends(allow(Role.ADMIN))],
           paging: Paging, entity: Annotated[str | None, Query(max_length=40)] = None,
           entity_id: Annotated[str | None, Query(max_length=64)] = None) -> Page[AuditOut]:
    """Newest first; filter by entity (and id)."""
    rows = service.recent(db, limit=paging.limit, offset=paging.offset, entity=entity,
                          entity_id=entity_id)
    total = db.scalar(select(func.count()).select_from(AuditEvent))
    return Page(items=[AuditOut.model_validate(r, from_attributes=True) for r in rows],
                total=total, limit=paging.limit, offset=paging.offset)
