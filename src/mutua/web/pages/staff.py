"""The staff console (/staff): each role sees only its part (admin sees all)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from mutua.audit import service as audit_service
from mutua.auth.security import Principal
from mutua.deps import DbSession, allow
from mutua.web.render import SECTIONS, render

router = APIRouter(prefix="/staff")
PAGE = 50


def open_to(key: str):
    """The dependency that admits the roles of one console section (and admin)."""
    return Depends(allow(*SECTIONS[key].roles))


@router.get("/audit")
def audit_log(
    request: Request,
    db: DbSession,
    principal: Principal = open_to("audit"),
    entity: str = Query("", max_length=40),
    entity_id: str = Query("", max_length=64),
    offset: int = Query(0, ge=0),
):
    events = audit_service.recent(db, limit=PAGE + 1, offset=offset, entity=entity or None,
                                  entity_id=entity_id or None)
    return render(request, "staff/audit.html", events=events[:PAGE], more=len(events) > PAGE,
                  offset=offset, page=PAGE, entity=entity, entity_id=entity_id)
