"""Member service ratings (会员服务评价): 1 to 5 stars, once per service, with a comment.

A member may rate a service once it is complete: a claim that has closed, an enrolment
(a policy issued), or a care coordinator's contact. A rating of 1 or 2 opens a
follow-up feedback item owned by the team that gave the service. Staff read averages
and monthly trends per project, service and team.

>>> check_score(5), check_score("3")
(5, 3)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.claims.models import Claim
from mutua.dates import today as shanghai_today
from mutua.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mutua.governance.models import COMMENT_LIMIT, FeedbackItem, ServiceRating
from mutua.health.models import Alert, AlertNote
from mutua.policies.models import Policy

SERVICE_KINDS = ("claim", "enrolment", "care_contact")
FOLLOW_UP_AT_OR_BELOW = 2


@dataclass(frozen=True)
class ServiceFacts:
    member_id: int
    project_id: int | None
    team: str
    complete: bool
    why_not: str = ""


def check_score(score: object) -> int:
    if isinstance(score, bool | float):
        raise ValidationFailed("score", "must be a whole number from 1 to 5")
    try:
        value = int(str(score).strip())
    except ValueError:
        raise ValidationFailed("score", "must be a whole number from 1 to 5") from None
    if not 1 <= value <= 5:
        raise ValidationFailed("score", "must be a whole number from 1 to 5")
    return value


def service_facts(db: Session, *, kind: str, ref: int) -> ServiceFacts:
    """Who received the service, in which project, from which team, and whether it is done."""
    if kind == "claim":
        return _claim_facts(db, ref)
    if kind == "enrolment":
        return _enrolment_facts(db, ref)
    if kind == "care_contact":
        return _care_contact_facts(db, ref)
    raise ValidationFailed("service_kind", "must be one of %(choices)s", choices=", ".join(SERVICE_KINDS))


def _claim_facts(db: Session, ref: int) -> ServiceFacts:
    claim = db.get(Claim, ref)
    if claim is None:
        raise NotFound("claim %(ref)s not found", ref=ref)
    return ServiceFacts(claim.member_id, claim.project_id, "claims", claim.status == "closed",
                        "the claim has not closed yet")


def _enrolment_facts(db: Session, ref: int) -> ServiceFacts:
    policy = db.get(Policy, ref)
    if policy is None:
        raise NotFound("policy %(ref)s not found", ref=ref)
    return ServiceFacts(policy.member_id, policy.project_id, "enrolment", True)


def _care_contact_facts(db: Session, ref: int) -> ServiceFacts:
    """A care coordinator's contact is an alert step recorded as ``contacted``."""
    row = db.execute(select(AlertNote.status, Alert.member_id, Alert.project_id)
                     .join(Alert, Alert.id == AlertNote.alert_id)
                     .where(AlertNote.id == ref)).first()
    if row is None:
        raise NotFound("care contact %(ref)s not found", ref=ref)
    status, member_id, project_id = row
    return ServiceFacts(member_id, project_id or _any_project(db, member_id), "care",
                        status == "contacted", "that step was not a contact with you")


def _any_project(db: Session, member_id: int) -> int | None:
    return db.scalar(select(Policy.project_id).where(Policy.member_id == member_id)
                     .order_by(Policy.id.desc()).limit(1))


def rate(db: Session, *, service_kind: str, service_ref: int, score: object, actor: Principal,
         comment: str = "", on: date | None = None) -> ServiceRating:
    """The acting member rates one of their completed services, once."""
    value = check_score(score)
    if len(comment or "") > COMMENT_LIMIT:
        raise ValidationFailed("comment", "must be at most %(limit)s characters", limit=COMMENT_LIMIT)
    if not actor.is_member:
        raise Forbidden("members rate the services they received")
    facts = service_facts(db, kind=service_kind, ref=service_ref)
    if facts.member_id != actor.member_id:
        raise NotFound("%(service_kind)s %(service_ref)s not found",
                       service_kind=service_kind, service_ref=service_ref)
    if not facts.complete:
        raise Conflict("this service cannot be rated yet: %(why_not)s", why_not=facts.why_not)
    if facts.project_id is None:
        raise Conflict("this service belongs to no project")
    ref = str(service_ref)
    if db.scalar(select(exists().where(ServiceRating.service_kind == service_kind,
                                       ServiceRating.service_ref == ref))):
        raise Conflict("this service has already been rated")
    day = on or shanghai_today()
    rating = ServiceRating(project_id=facts.project_id, member_id=facts.member_id,
                           service_kind=service_kind, service_ref=ref, team=facts.team,
                           score=value, comment=(comment or "").strip(), rated_on=day,
                           month=day.strftime("%Y-%m"))
    db.add(rating)
    try:
        db.flush()
    except IntegrityError:  # a concurrent second rating lost the race on the unique key
        raise Conflict("this service has already been rated") from None
    audit.record(db, actor=actor, action="rating.create", entity="rating", entity_id=rating.id,
                 project_id=facts.project_id, detail={"service": service_kind, "score": value})
    if value <= FOLLOW_UP_AT_OR_BELOW:
        _follow_up(db, rating, actor)
    return rating


def _follow_up(db: Session, rating: ServiceRating, actor: Principal) -> FeedbackItem:
    text = f"Rating {rating.score}/5 of {rating.service_kind} {rating.service_ref}: " + (
        rating.comment or "(no comment)")
    item = FeedbackItem(project_id=rating.project_id, source="rating", rating_id=rating.id,
                        member_id=rating.member_id, text=text[:4000], owner=rating.team)
    db.add(item)
    db.flush()
    audit.record(db, actor=actor, action="feedback.raise", entity="feedback", entity_id=item.id,
                 project_id=rating.project_id, detail={"source": "rating"})
    return item


def my_ratings(db: Session, *, member_id: int, actor: Principal, limit: int = 50,
               offset: int = 0) -> tuple[list[ServiceRating], int]:
    actor.require_member_or_staff(member_id)
    stmt = select(ServiceRating).where(ServiceRating.member_id == member_id)
    total = db.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(db.scalars(stmt.order_by(ServiceRating.id.desc()).limit(limit)
                           .offset(offset))), total


def summary(db: Session, *, project_id: int | None = None, by_month: bool = False
            ) -> list[dict]:
    """Average score and count per project, service and team (and month, for the trend)."""
    keys = [ServiceRating.project_id, ServiceRating.service_kind, ServiceRating.team]
    if by_month:
        keys.append(ServiceRating.month)
    stmt = select(*keys, func.count(), func.avg(ServiceRating.score),
                  func.sum(case((ServiceRating.score <= FOLLOW_UP_AT_OR_BELOW, 1), else_=0))
                  ).group_by(*keys).order_by(*keys)
    if project_id is not None:
        stmt = stmt.where(ServiceRating.project_id == project_id)
    out = []
    for row in db.execute(stmt).all():
        item = {"project_id": row[0], "service": row[1], "team": row[2]}
        if by_month:
            item["month"] = row[3]
        n, avg, low = row[-3], row[-2], row[-1]
        item.update(count=int(n), average=round(float(avg), 2), low_scores=int(low or 0))
        out.append(item)
    return out
