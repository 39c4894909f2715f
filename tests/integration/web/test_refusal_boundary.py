"""The transaction boundary of a page: a refused POST stores nothing, and the page that
re-renders the form reads the state from before the refused write.

deps owns it in one place: the route's unit of work commits an answer and rolls back a
refusal (status 400 and above, even when the page rendered it without raising), and
``refusal_undone`` rolls back a page's use case that refuses before the page re-renders.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from mutua.audit import service as audit
from mutua.audit.models import AuditEvent
from mutua.auth.security import SYSTEM
from mutua.deps import DbSession, Router, refusal_undone
from mutua.errors import Conflict, ValidationFailed


def _written(db, action: str) -> int:
    return db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == action)) or 0


def _install_pages(app) -> None:
    """A form page on a project Router, as the real pages are written."""
    router = Router(prefix="/test-pages")

    def use_case(db, action: str, refuse: str) -> None:
        audit.record(db, actor=SYSTEM, action=action, entity="test", entity_id=1)
        db.flush()  # written before the refusal, as a service that checks late would
        if refuse == "invalid":
            raise ValidationFailed("amount", "was asked to refuse after writing")
        if refuse == "conflict":
            raise Conflict("was asked to conflict after writing")

    @router.post("/form/{action}")
    def form(action: str, request: Request, db: DbSession, refuse: str = ""):
        try:
            with refusal_undone(db):
                use_case(db, action, refuse)
        except (ValidationFailed, Conflict) as exc:
            # The form again: what it reads is the state from before the refused write.
            return HTMLResponse(f"seen {_written(db, action)}", status_code=exc.status_code)
        return RedirectResponse(f"/test-pages/done/{action}", status_code=303)

    @router.post("/checked-late/{action}")
    def checked_late(action: str, db: DbSession):
        """A page that writes, then finds a problem and answers 422 without raising."""
        use_case(db, action, "")
        return HTMLResponse("the form again", status_code=422)

    app.include_router(router)


def test_a_refused_page_post_stores_nothing_and_the_form_reads_the_state_before(app, client, db):
    _install_pages(app)
    for refuse, status in (("invalid", 422), ("conflict", 409)):
        action = f"page.{refuse}"
        answer = client.post(f"/test-pages/form/{action}", params={"refuse": refuse},
                             follow_redirects=False)
        assert (answer.status_code, answer.text) == (status, "seen 0")
        db.rollback()  # a fresh snapshot of what the requests committed
        assert _written(db, action) == 0


def test_a_page_that_answers_a_refusal_without_raising_stores_nothing(app, client, db):
    _install_pages(app)
    assert client.post("/test-pages/checked-late/page.late").status_code == 422
    db.rollback()
    assert _written(db, "page.late") == 0


def test_an_accepted_page_post_is_committed(app, client, db):
    _install_pages(app)
    answer = client.post("/test-pages/form/page.kept", follow_redirects=False)
    assert answer.status_code == 303
    db.rollback()
    assert _written(db, "page.kept") == 1
