"""Care coordinators (/staff/care): the alert queue, acting on an alert, the patient view.

The health service decides who sees which patient and audits every read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request

from mutua.auth.security import Principal
from mutua.deps import DbSession
from mutua.errors import Conflict, ValidationFailed
from mutua.health import service as health_service
from mutua.web import labels
from mutua.web.pages.member_health import health_context
from mutua.web.pages.staff import open_to
from mutua.web.render import redirect, render

router = APIRouter(prefix="/staff/care")
PAGE = 50
ACTIONS = ("acknowledge", "contact", "resolve")


@router.get("")
def alert_queue(request: Request, db: DbSession, principal: Principal = open_to("care"),
                status: str = Query("", max_length=14), offset: int = Query(0, ge=0)):
    status = status if status in labels.ALERT_STATUS else ""
    alerts, total = health_service.alert_queue(db, actor=principal, status=status or None,
                                               limit=PAGE, offset=offset)
    return render(request, "staff/care.html", alerts=alerts, total=total, status=status,
                  offset=offset, page=PAGE, more=offset + PAGE < total,
                  status_labels=labels.ALERT_STATUS, severity_labels=labels.SEVERITY,
                  done=request.query_params.get("done"))


@router.post("/alerts/{alert_id}")
def act(alert_id: int, request: Request, db: DbSession, principal: Principal = open_to("care"),
        action: Annotated[str, Form(max_length=16)] = "",
        note: Annotated[str, Form(max_length=2000)] = "",
        member_id: Annotated[int | None, Form()] = None):
    back = f"/staff/care/patients/{member_id}" if member_id else "/staff/care"
    try:
        health_service.act_on_alert(db, actor=principal, alert_id=alert_id, action=action,
                                    note=note)
    except (ValidationFailed, Conflict) as exc:
        db.rollback()
        problems = [f"{p.field}: {p.rule}" for p in getattr(exc, "problems", [])]
        return _patient(request, db, principal, member_id, problems or [exc.message],
                        exc.status_code) if member_id else redirect(back)
    return redirect(f"{back}?done={action}")


@router.get("/patients/{member_id}")
def patient(member_id: int, request: Request, db: DbSession,
            principal: Principal = open_to("care")):
    return _patient(request, db, principal, member_id, [], 200)


def _patient(request, db, principal, member_id, problems, status_code):
    view = health_service.patient_view(db, actor=principal, member_id=member_id)
    return render(request, "staff/patient.html", status_code=status_code, problems=problems,
                  status_labels=labels.ALERT_STATUS, severity_labels=labels.SEVERITY,
                  actions=ACTIONS, done=request.query_params.get("done"),
                  **health_context(view))
