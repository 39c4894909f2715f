"""Dependants (家属): a child, parent or spouse a member pays cover for.

A dependant is insured under a member record of their own (so eligibility, cover and
claims read their own age and occupation), linked to the member who pays
(``Member.payer_id``) with the relation. They have no login: the payer buys, pays and sees
their policies, and may report claims on them.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.security import Principal
from mutua.dates import age_on
from mutua.dates import today as shanghai_today
from mutua.errors import NotFound, Problem, ValidationFailed
from mutua.members import service as members_service
from mutua.members.models import Member
from mutua.members.schemas import MemberIn

RELATIONS = ("child", "parent", "spouse")
MAX_DEPENDANTS = 8
# 民法典 art. 1047: the legal age of marriage is 22 for men and 20 for women.
MARRIAGE_AGE = {"M": 22, "F": 20}


def relation_problems(relation: str, *, payer_birth: date, birth: date, sex: str,
                      on: date) -> list[Problem]:
    """Why this person cannot be the payer's ``relation`` (empty when they can).

    >>> relation_problems("child", payer_birth=date(1985, 1, 1), birth=date(2015, 6, 1),
    ...                   sex="F", on=date(2026, 1, 1))
    []
    >>> relation_problems("parent", payer_birth=date(1985, 1, 1), birth=date(1990, 1, 1),
    ...                   sex="M", on=date(2026, 1, 1))[0].rule
    'a parent must be older than the member'
    >>> relation_problems("spouse", payer_birth=date(1985, 1, 1), birth=date(2007, 1, 1),
    ...                   sex="M", on=date(2026, 1, 1))[0].rule
    'a spouse must be at least 22 (the legal age of marriage)'
    """
    if relation not in RELATIONS:
        return [Problem("relation", "must be one of child, parent, spouse")]
    if relation == "child" and birth <= payer_birth:
        return [Problem("relation", "a child must be younger than the member")]
    if relation == "parent" and birth >= payer_birth:
        return [Problem("relation", "a parent must be older than the member")]
    if relation == "spouse" and age_on(birth, on) < MARRIAGE_AGE.get(sex, 22):
        return [Problem("relation", "a spouse must be at least %(age)s (the legal age of "
                                    "marriage)", age=MARRIAGE_AGE.get(sex, 22))]
    return []


def add(db: Session, *, payer_id: int, name: str, id_number: str, relation: str,
        occupation_code: str, actor: Principal) -> Member:
    """Register a dependant of ``payer_id`` (their ID number checked as GB 11643, as any
    member's), sharing the payer's phone and city; at most MAX_DEPENDANTS a payer."""
    payer = members_service.get(db, member_id=payer_id, actor=actor)
    if payer.payer_id is not None:
        raise ValidationFailed("relation", "a dependant cannot add dependants of their own")
    valid = members_service.validate({"name": name, "id_number": id_number,
                                      "phone": payer.phone, "occupation_code": occupation_code,
                                      "city": payer.city})
    problems = relation_problems(relation, payer_birth=payer.birth_date,
                                 birth=valid.birth_date, sex=valid.sex, on=shanghai_today())
    if len(of_payer(db, payer_id=payer_id)) >= MAX_DEPENDANTS:
        problems.append(Problem("dependants", "at most %(count)s dependants a member", count=MAX_DEPENDANTS))
    if problems:
        raise ValidationFailed(problems)
    dependant = members_service.register(db, data=MemberIn(
        name=valid.name, id_number=valid.id_number, phone=payer.phone,
        occupation_code=valid.occupation_code, city=payer.city), actor=actor)
    dependant.payer_id, dependant.relation = payer_id, relation
    audit.record(db, actor=actor, action="member.dependant.add", entity="member",
                 entity_id=dependant.id, detail={"payer": payer_id, "relation": relation})
    db.flush()
    return dependant


def of_payer(db: Session, *, payer_id: int) -> list[Member]:
    return list(db.scalars(select(Member).where(Member.payer_id == payer_id)
                           .order_by(Member.id)))


def get(db: Session, *, payer_id: int, dependant_id: int) -> Member:
    """The payer's own dependant; anyone else's (or no one) is not found."""
    found = db.get(Member, dependant_id)
    if found is None or found.payer_id != payer_id:
        raise NotFound("dependant %(dependant_id)s not found", dependant_id=dependant_id)
    return found


def pays_for(db: Session, *, payer_id: int, member_id: int) -> bool:
    """``payer_id`` pays for ``member_id`` (a dependant of theirs)."""
    return bool(db.scalar(select(func.count()).select_from(Member).where(
        Member.id == member_id, Member.payer_id == payer_id)))
