"""Governance for the secretary (/staff/governance): proposals with live turnout and
published tallies, opening and closing votes, meetings, feedback items and ratings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

from fastapi import Depends, Form, Query, Request
from sqlalchemy import select

from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.catalog import service as catalog_service
from mutua.dates import SHANGHAI, utcnow
from mutua.deps import MAX_OFFSET, DbSession, PathId, Router, allow, refusal_undone
from mutua.errors import Conflict, ValidationFailed, shown
from mutua.governance import experience as governance_experience
from mutua.governance import meetings as governance_meetings
from mutua.governance import ratings as governance_ratings
from mutua.governance import service as governance_service
from mutua.governance.models import ServiceRating
from mutua.members import service as members_service
from mutua.web import i18n
from mutua.web.i18n import gettext as _
from mutua.web.pages.member_governance import KIND_LABELS, PROPOSAL_STATUS, option_labels
from mutua.web.pages.staff import open_to
from mutua.web.problems import describe_all
from mutua.web.render import N_, redirect, render

router = Router(prefix="/staff/governance")
PAGE = 50
FEEDBACK_STATUS = ("open", "in_progress", "answered", "done")
UNANSWERED = ("open", "in_progress")
FEEDBACK_PAGE = 20


def _page(request, db, principal, *, problems=None, status_code=200):
    proposals, _total = governance_service.list_proposals(db, actor=principal, limit=PAGE)
    turnout = governance_service.turnout(db, proposal_ids=[p.id for p in proposals])
    meetings, _n = governance_meetings.list_meetings(db, actor=principal, limit=20)
    registered = {m.id: governance_meetings.registrations(db, meeting_id=m.id) for m in meetings}
    projects = catalog_service.list_projects(db)
    return render(request, "staff/governance.html", status_code=status_code,
                  proposals=proposals, turnout=turnout, meetings=meetings,
                  registered=registered, open_feedback=_open_feedback(db, principal),
                  ratings=governance_ratings.summary(db), projects=projects,
                  project_names={p.id: i18n.pick(p.name_zh, p.name_en) for p in projects},
                  status_labels=PROPOSAL_STATUS, kind_labels=KIND_LABELS,
                  labels_of=option_labels, problems=problems or [],
                  now=utcnow().astimezone(SHANGHAI))


def _open_feedback(db, principal) -> int:
    """Feedback items not yet answered: what the link to the feedback queue announces."""
    return governance_meetings.list_feedback(db, actor=principal, statuses=UNANSWERED,
                                             limit=0)[1]


@router.get("")
def governance(request: Request, db: DbSession, principal: Principal = open_to("governance")):
    return _page(request, db, principal)


@router.get("/turnout")
def live_turnout(request: Request, db: DbSession, principal: Principal = open_to("governance")):
    """The turnout cells alone, polled by the page every few seconds (htmx)."""
    proposals, _total = governance_service.list_proposals(db, actor=principal, status="open",
                                                          limit=PAGE)
    turnout = governance_service.turnout(db, proposal_ids=[p.id for p in proposals])
    return render(request, "staff/_turnout.html", proposals=proposals, turnout=turnout)


# --- the fields every proposal form shares ------------------------------------------------

@dataclass(frozen=True)
class ProposalText:
    """What each proposal form asks first: titles and texts in both languages, the project
    (empty: the whole mutual), the quorum and how many days the vote stays open."""

    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    project: str
    quorum: str
    days: int


def proposal_text(title_zh: Annotated[str, Form(max_length=200)] = "",
                  title_en: Annotated[str, Form(max_length=300)] = "",
                  body_zh: Annotated[str, Form(max_length=4000)] = "",
                  body_en: Annotated[str, Form(max_length=4000)] = "",
                  project: Annotated[str, Form(max_length=32)] = "",
                  quorum: Annotated[str, Form(max_length=8)] = "0.1",
                  days: Annotated[int, Form(ge=1, le=60)] = 7) -> ProposalText:
    return ProposalText(title_zh=title_zh, title_en=title_en, body_zh=body_zh,
                        body_en=body_en, project=project, quorum=quorum, days=days)


Proposed = Depends(proposal_text)


def _window(days: int) -> tuple[datetime, datetime]:
    opens = utcnow()
    return opens, opens + timedelta(days=days)


def _project_id(db, text: ProposalText) -> int | None:
    return catalog_service.get_project(db, code=text.project).id if text.project else None


def _propose(db, principal, text: ProposalText, *, kind: str, project_id: int | None,
             payload: dict | None = None):
    """A draft proposal of ``kind`` from the shared fields, open for ``text.days`` once opened."""
    opens, closes = _window(text.days)
    return governance_service.create_proposal(
        db, kind=kind, project_id=project_id, title_zh=text.title_zh, title_en=text.title_en,
        body_zh=text.body_zh, body_en=text.body_en, quorum=text.quorum, opens_at=opens,
        closes_at=closes, payload=payload, actor=principal)


@router.post("/proposals")
def create_motion(request: Request, db: DbSession, principal: Principal = open_to("governance"),
                  text: ProposalText = Proposed):
    project_id = _project_id(db, text)
    try:
        with refusal_undone(db):
            _propose(db, principal, text, kind="motion", project_id=project_id)
    except ValidationFailed as exc:
        return _page(request, db, principal, status_code=422, problems=describe_all(exc))
    return redirect("/staff/governance")


@router.post("/proposals/{proposal_id}/open")
def open_vote(proposal_id: PathId, db: DbSession, principal: Principal = open_to("governance")):
    governance_service.open_proposal(db, proposal_id=proposal_id, actor=principal)
    return redirect("/staff/governance")


@router.post("/proposals/{proposal_id}/close")
def close_vote(proposal_id: PathId, request: Request, db: DbSession,
               principal: Principal = open_to("governance")):
    try:
        with refusal_undone(db):
            governance_service.close_proposal(db, proposal_id=proposal_id, actor=principal)
    except Conflict as exc:
        return _page(request, db, principal, status_code=409, problems=describe_all(exc))
    return redirect("/staff/governance")


@router.post("/meetings")
def schedule(request: Request, db: DbSession, principal: Principal = open_to("governance"),
             title_zh: Annotated[str, Form(max_length=200)] = "",
             title_en: Annotated[str, Form(max_length=300)] = "",
             mode: Annotated[str, Form(max_length=12)] = "in_person",
             place: Annotated[str, Form(max_length=300)] = "",
             starts_at: Annotated[str, Form(max_length=16)] = "",
             project: Annotated[str, Form(max_length=32)] = ""):
    project_id = catalog_service.get_project(db, code=project).id if project else None
    try:
        when = datetime.fromisoformat(starts_at).replace(tzinfo=SHANGHAI)
    except ValueError:
        return _page(request, db, principal, status_code=422,
                     problems=describe_all(ValidationFailed("starts_at", "must be a date and time")))
    try:
        with refusal_undone(db):
            governance_meetings.schedule_meeting(db, project_id=project_id, title_zh=title_zh,
                                                 title_en=title_en, mode=mode, place=place,
                                                 starts_at=when, actor=principal)
    except ValidationFailed as exc:
        return _page(request, db, principal, status_code=422, problems=describe_all(exc))
    return redirect("/staff/governance#meetings")


# --- the feedback queue: one form per item, so it has its own page, filtered and paged ------

def _feedback_page(request, db, principal, *, status: str, offset: int, problems=None,
                   status_code=200):
    if status not in FEEDBACK_STATUS + ("", "unanswered"):
        raise ValidationFailed("status",
                               "must be one of %(choices)s",
                               choices=f"unanswered, {', '.join(FEEDBACK_STATUS)}")
    page, total = governance_meetings.list_feedback(
        db, actor=principal, status=status if status in FEEDBACK_STATUS else None,
        statuses=UNANSWERED if status == "unanswered" else (), limit=FEEDBACK_PAGE,
        offset=offset)
    rated = [f.rating_id for f in page if f.rating_id]
    ratings_of = {r.id: r for r in db.scalars(select(ServiceRating).where(
        ServiceRating.id.in_(rated)))} if rated else {}
    return render(request, "staff/feedback.html", status_code=status_code, feedback=page,
                  total=total, status=status, feedback_status=FEEDBACK_STATUS,
                  ratings_of=ratings_of, problems=problems or [], offset=offset,
                  page=FEEDBACK_PAGE, more=offset + FEEDBACK_PAGE < total)


@router.get("/feedback")
def feedback_queue(request: Request, db: DbSession, principal: Principal = open_to("governance"),
                   status: Annotated[str, Query(max_length=12)] = "unanswered",
                   offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0):
    """Feedback from meetings, members and ratings, unanswered first, to be owned and answered."""
    return _feedback_page(request, db, principal, status=status, offset=offset)


@router.post("/feedback/{item_id}")
def answer(item_id: PathId, request: Request, db: DbSession,
           principal: Principal = open_to("governance"),
           owner: Annotated[str, Form(max_length=64)] = "",
           response: Annotated[str, Form(max_length=4000)] = "",
           status: Annotated[str, Form(max_length=12)] = "",
           shown_status: Annotated[str, Form(max_length=12)] = "unanswered"):
    try:
        with refusal_undone(db):
            governance_meetings.update_feedback(db, item_id=item_id, actor=principal,
                                                owner=owner or None, response=response or None,
                                                status=status or None)
    except (ValidationFailed, Conflict) as exc:
        return _feedback_page(request, db, principal, status=shown_status, offset=0,
                              status_code=exc.status_code, problems=describe_all(exc))
    return redirect(f"/staff/governance/feedback?status={shown_status}#item-{item_id}")


# --- proposals that carry a payload ---------------------------------------------------

NOT_STORED = N_("The proposal was not stored. Please correct:")


def _refused(request, db, principal, exc: ValidationFailed):
    """The governance page again, naming each field and its rule; nothing was stored."""
    return _page(request, db, principal, status_code=422,
                 problems=describe_all(exc, lead=_(NOT_STORED)))


def _percent_share(text: str, field: str) -> Decimal:
    """A share from a percentage typed on the form: "60" -> Decimal("0.6")."""
    try:
        value = Decimal(text.replace("%", "").strip())
    except InvalidOperation:
        raise ValidationFailed(field, "must be a percentage, e.g. 60") from None
    if not value.is_finite():
        raise ValidationFailed(field, "must be a percentage, e.g. 60")
    return value / 100


@router.post("/proposals/allocation")
def create_allocation(request: Request, db: DbSession,
                      principal: Principal = open_to("governance"),
                      text: ProposalText = Proposed,
                      uplift: Annotated[str, Form(max_length=12)] = "",
                      aid: Annotated[str, Form(max_length=12)] = "",
                      services: Annotated[str, Form(max_length=12)] = "",
                      effective_from: Annotated[str, Form(max_length=8)] = ""):
    """A change to how a project's surplus is shared from a quarter's close on (盈余分配)."""
    try:
        if not text.project:
            raise ValidationFailed("project", "an allocation change belongs to one project")
        project_id = _project_id(db, text)
        payload = {"uplift": _percent_share(uplift, "uplift"), "aid": _percent_share(aid, "aid"),
                   "services": _percent_share(services, "services"),
                   "effective_from": effective_from.strip()}
        with refusal_undone(db):
            _propose(db, principal, text, kind="allocation", project_id=project_id,
                     payload={k: str(v) for k, v in payload.items()})
    except ValidationFailed as exc:
        return _refused(request, db, principal, exc)
    return redirect("/staff/governance")


def _candidate_ids(db, text: str) -> list[int]:
    """Member ids for the member numbers typed one a line (or separated by commas)."""
    numbers = [n for n in re.split(r"[\s,，、]+", text) if n]
    if not numbers:
        raise ValidationFailed("candidates", "must list the candidates' member numbers")
    ids = []
    for number in numbers:
        member = members_service.find_by_number(db, number)
        if member is None:
            raise ValidationFailed("candidates", "%(number)s is not a member number", number=shown(number))
        ids.append(member.id)
    return ids


@router.post("/proposals/election")
def create_election(request: Request, db: DbSession,
                    principal: Principal = open_to("governance"),
                    text: ProposalText = Proposed,
                    seats: Annotated[str, Form(max_length=4)] = "",
                    candidates: Annotated[str, Form(max_length=4000)] = ""):
    """An election of member representatives (会员代表): members choose ``seats`` of the list."""
    try:
        project_id = _project_id(db, text)
        payload = {"seats": seats.strip(), "candidates": _candidate_ids(db, candidates)}
        with refusal_undone(db):
            _propose(db, principal, text, kind="election", project_id=project_id, payload=payload)
    except ValidationFailed as exc:
        return _refused(request, db, principal, exc)
    return redirect("/staff/governance")


# --- the actuary's pricing proposal from experience -------------------------------------

Actuary = Depends(allow(Role.ACTUARY))


def _pricing_page(request, db, *, problems=None, created=None, form=None, status_code=200):
    return render(request, "staff/pricing_proposal.html", status_code=status_code,
                  projects=catalog_service.list_projects(db), problems=problems or [],
                  created=created, form=form or {})


@router.get("/pricing")
def pricing_form(request: Request, db: DbSession, principal: Principal = Actuary,
                 created: int = Query(0, ge=0, le=MAX_OFFSET)):
    proposal = governance_service.get_proposal(db, proposal_id=created) if created else None
    return _pricing_page(request, db, created=proposal)


def _date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed(field, "must be a date, e.g. 2026-01-01") from None


@router.post("/pricing")
def generate_pricing(request: Request, db: DbSession, principal: Principal = Actuary,
                     product: Annotated[str, Form(max_length=32)] = "",
                     experience_from: Annotated[str, Form(max_length=10)] = "",
                     experience_to: Annotated[str, Form(max_length=10)] = "",
                     quorum: Annotated[str, Form(max_length=8)] = "0.1",
                     days: Annotated[int, Form(ge=1, le=60)] = 14):
    """A draft pricing proposal for the product's next unsold period, from claims experience."""
    form = {"product": product, "experience_from": experience_from,
            "experience_to": experience_to, "quorum": quorum, "days": days}
    try:
        with refusal_undone(db):
            start = _date(experience_from, "experience_from")
            end = _date(experience_to, "experience_to")
            if end < start:
                raise ValidationFailed("experience_to", "must not be before experience_from")
            if not product:
                raise ValidationFailed("product", "choose a product")
            product_id = catalog_service.get_product(db, code=product).id
            opens, closes = _window(days)
            proposal = governance_experience.generate_pricing_proposal(
                db, product_id=product_id, experience_from=start, experience_to=end,
                opens_at=opens, closes_at=closes, quorum=quorum, actor=principal)
    except ValidationFailed as exc:
        return _pricing_page(request, db, status_code=422, form=form,
                             problems=describe_all(exc, lead=_(NOT_STORED)))
    return redirect(f"/staff/governance/pricing?created={proposal.id}")
