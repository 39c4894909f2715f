"""Member registration, look-up and the set-based bulk path used by imports and the demo."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.db import copy_rows, one_of, unique_or_conflict
from mutua.errors import Conflict, NotFound, ProblemCollector, ValidationFailed, shown
from mutua.members.idcard import (
    canonical_id_number,
    id_problem,
    mask_id_number,
    read_checked,
)
from mutua.members.identifiers import canonical_text, member_number_or_none
from mutua.members.models import Member
from mutua.members.occupations import occupations
from mutua.members.phones import mask_phone, normalise_phone
from mutua.members.schemas import MemberIn, MemberOut

# Staff roles that need to see a full ID number (to underwrite and to pay claims).
SEES_FULL_ID = frozenset({Role.ADMIN, Role.UNDERWRITER, Role.CLAIMS})


@dataclass(frozen=True)
class ValidMember:
    """A registration that passed every rule, ready to insert."""

    name: str
    id_number: str
    birth_date: date
    sex: str
    phone: str
    occupation_code: str
    occupation_class: int
    city: str


def validate(data: MemberIn | dict, *, today: date | None = None) -> ValidMember:
    """Check every field; raise one ValidationFailed listing each broken rule."""
    d = data.model_dump() if isinstance(data, MemberIn) else data
    problems = ProblemCollector()
    name = str(d.get("name") or "").strip()
    if not name or len(name) > 60:
        problems.add("name", "is required, at most 60 characters")
    id_number = canonical_id_number(d.get("id_number"))
    problem = id_problem(id_number, today=today or shanghai_today())
    if problem:
        problems.add("id_number", problem)
    phone = None
    try:
        phone = normalise_phone(str(d.get("phone") or ""))
    except ValidationFailed as exc:
        problems.problems.extend(exc.problems)
    occ = occupations().get(canonical_text(d.get("occupation_code")).upper())
    if occ is None:
        problems.add("occupation_code", f"unknown occupation code {shown(d.get('occupation_code'))}")
    city = str(d.get("city") or "").strip()
    if not city or len(city) > 40:
        problems.add("city", "is required, at most 40 characters")
    problems.raise_if_any()
    parsed = read_checked(id_number)  # checked above
    return ValidMember(name, parsed.number, parsed.birth_date, parsed.sex, phone,
                       occ.code, occ.occupation_class, city)


def member_numbers(db: Session, count: int) -> list[str]:
    return [f"M{n:09d}" for n in numbering.reserve(db, "member", count)]


def register(db: Session, *, data: MemberIn, actor: Principal) -> Member:
    valid = validate(data)
    if db.scalar(select(Member.id).where(Member.id_number == valid.id_number)) is not None:
        raise Conflict("a member with this ID number is already registered")
    member_number = f"M{numbering.reserve_now(db, 'member')[0]:09d}"  # not held until commit
    member = Member(member_number=member_number, **valid.__dict__)
    db.add(member)
    with unique_or_conflict("a member with this ID number is already registered"):
        db.flush()  # a registration of the same person that committed since the check above
    if data.password:
        from mutua.auth import service as auth_service

        auth_service.create_user(db, username=member.member_number, password=data.password,
                                 role=Role.MEMBER, display_name=member.name,
                                 member_id=member.id, actor=actor)
    audit.record(db, actor=actor, action="member.register", entity="member",
                 entity_id=member.id)
    return member


def register_many(db: Session, rows: list[ValidMember]) -> dict[str, int]:
    """Insert validated members in bulk; returns id_number -> member id for all of them.

    Members already registered (same ID number) are reused, not duplicated. New rows are
    written with COPY on PostgreSQL (executemany on SQLite) under the ORM.
    """
    ids = existing_ids(db, [r.id_number for r in rows])
    new = list({r.id_number: r for r in rows if r.id_number not in ids}.values())
    numbers = member_numbers(db, len(new))
    now = utcnow()
    copy_rows(db, "members", ["member_number", "name", "id_number", "birth_date", "sex", "phone",
                              "occupation_code", "occupation_class", "city", "status",
                              "joined_at"],
              ((num, r.name, r.id_number, r.birth_date, r.sex, r.phone, r.occupation_code,
                r.occupation_class, r.city, "active", now)
               for r, num in zip(new, numbers, strict=True)))
    ids.update(existing_ids(db, [r.id_number for r in new]))
    return ids


def existing_ids(db: Session, id_numbers: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for start in range(0, len(id_numbers), 5000):
        chunk = id_numbers[start:start + 5000]
        out.update(db.execute(
            select(Member.id_number, Member.id).where(one_of(db, Member.id_number, chunk))
        ).all())
    return out


def get(db: Session, *, member_id: int, actor: Principal) -> Member:
    if member_id is None:  # a staff login asking for "my" member record has none
        raise NotFound("this login has no member record")
    member = db.get(Member, member_id)
    if member is None or (actor.is_member and actor.member_id != member_id):
        raise NotFound(f"member {member_id} not found")
    return member


def search(db: Session, *, query: str | None, limit: int, offset: int,
           viewer: Principal) -> tuple[list[Member], int]:
    """Members by member number (however typed), part of the name, or part of the phone.

    Phones are searched only for roles that see them whole: a search by phone answered to a
    role that sees ``+86138****8000`` would confirm, digit by digit, what the mask hides.
    """
    stmt = select(Member)
    q = canonical_text(query)
    if q:
        found = [Member.name.like(f"%{_escape_like(q)}%", escape="\\")]
        number = member_number_or_none(q)
        if number is not None:
            found.append(Member.member_number == number)
        if viewer.role in SEES_FULL_ID and _PHONE_TYPED.fullmatch(q):
            found.append(Member.phone.like(f"%{re.sub(r'[^0-9]', '', q)}%"))
        stmt = stmt.where(or_(*found))
    total = db.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.scalars(stmt.order_by(Member.id).limit(limit).offset(offset)).all()
    return list(rows), total


_PHONE_TYPED = re.compile(r"\+?[0-9][0-9 ()\-]{2,}")  # part of a phone, as people type one


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_by_number(db: Session, number: str) -> Member | None:
    """The member with this member number ("ｍ000000012" is read as M000000012), or None."""
    canonical = member_number_or_none(number)
    if canonical is None:
        return None
    return db.scalar(select(Member).where(Member.member_number == canonical))


def to_out(member: Member, *, viewer: Principal) -> MemberOut:
    """The member as the viewer may see them: ID and phone masked unless the role needs them."""
    own = viewer.is_member and viewer.member_id == member.id
    full = own or viewer.role in SEES_FULL_ID
    return MemberOut(
        id=member.id, member_number=member.member_number, name=member.name,
        id_number=member.id_number if full else mask_id_number(member.id_number),
        birth_date=member.birth_date, sex=member.sex,
        phone=member.phone if full else mask_phone(member.phone),
        occupation_code=member.occupation_code, occupation_class=member.occupation_class,
        city=member.city, status=member.status,
    )
