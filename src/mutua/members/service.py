"""Member registration, look-up and the set-based bulk path used by imports and the demo."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import NamedTuple

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from mutua import numbering
from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.dates import today as shanghai_today
from mutua.dates import utcnow
from mutua.db import by_index, copy_rows, one_of, reserve_ids, unique_or_conflict
from mutua.errors import Conflict, NotFound, Problem, ProblemCollector, ValidationFailed, shown
from mutua.members import accounts
from mutua.members.idcard import check_id_numbers, mask_id_number
from mutua.members.identifiers import canonical_text, member_number_or_none
from mutua.members.models import Member
from mutua.members.occupations import occupations
from mutua.members.phones import normalise_phone
from mutua.members.schemas import MemberIn, MemberOut
from mutua.messaging.sms import mask_phone

# Staff roles that need to see a full ID number (to underwrite and to pay claims).
SEES_FULL_ID = frozenset({Role.ADMIN, Role.UNDERWRITER, Role.CLAIMS})


class ValidMember(NamedTuple):
    """A registration that passed every rule, ready to insert (a tuple: an import makes a
    million of them)."""

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
    valid, bad = validate_many([d], today=today or shanghai_today())
    if bad:
        raise ValidationFailed(bad[0])
    return valid[0][1]


def validate_many(records: Sequence[dict], *, today: date
                  ) -> tuple[list[tuple[int, ValidMember]], dict[int, list[Problem]]]:
    """The registration rules over many records at once, column by column (a bulk import
    checks a million): (position, member) for each valid record, and position -> its
    problems, in the order of the fields, for each bad one.

    >>> ok, bad = validate_many([{"name": "Li Lei", "id_number": "11010519491231002X",
    ...     "phone": "138 0013 8000", "occupation_code": "e0501", "city": "Shenzhen"},
    ...     {"name": "", "id_number": "1234", "phone": "12345", "occupation_code": "E0501",
    ...      "city": "Shenzhen"}], today=date(2026, 1, 1))
    >>> ok[0][1].phone, ok[0][1].occupation_code, [p.field for p in bad[1]]
    ('+8613800138000', 'E0501', ['name', 'id_number', 'phone'])
    """
    names = [str(r.get("name") or "").strip() for r in records]
    ids = check_id_numbers([r.get("id_number") for r in records], today=today)
    phones = [_phone_or_problems(r.get("phone")) for r in records]
    known = occupations()
    jobs = [known.get(canonical_text(r.get("occupation_code")).upper()) for r in records]
    cities = [str(r.get("city") or "").strip() for r in records]
    valid, bad = [], {}
    for i, (name, id_rule, phone, job, city) in enumerate(
            zip(names, ids.problems, phones, jobs, cities, strict=True)):
        if (0 < len(name) <= 60 and id_rule is None and isinstance(phone, str)
                and job is not None and 0 < len(city) <= 40):
            valid.append((i, ValidMember(name, ids.numbers[i], ids.birth_dates[i], ids.sexes[i],
                                         phone, job.code, job.occupation_class, city)))
            continue
        problems = ProblemCollector()
        if not 0 < len(name) <= 60:
            problems.add("name", "is required, at most 60 characters")
        if id_rule is not None:
            problems.add("id_number", id_rule)
        if not isinstance(phone, str):
            problems.problems.extend(phone)
        if job is None:
            code = records[i].get("occupation_code")
            problems.add("occupation_code", "unknown occupation code %(code)s", code=shown(code))
        if not 0 < len(city) <= 40:
            problems.add("city", "is required, at most 40 characters")
        bad[i] = problems.problems
    return valid, bad


def _phone_or_problems(text: object) -> str | list[Problem]:
    try:
        return normalise_phone(str(text or ""))
    except ValidationFailed as exc:
        return list(exc.problems)


def member_numbers(db: Session, count: int) -> list[str]:
    return [f"M{n:09d}" for n in numbering.reserve(db, "member", count)]


def register(db: Session, *, data: MemberIn, actor: Principal) -> Member:
    valid = validate(data)
    if db.scalar(select(Member.id).where(Member.id_number == valid.id_number)) is not None:
        raise Conflict("a member with this ID number is already registered")
    member_number = f"M{numbering.reserve_now(db, 'member')[0]:09d}"  # not held until commit
    member = Member(member_number=member_number, **valid._asdict())
    db.add(member)
    with unique_or_conflict("a member with this ID number is already registered"):
        db.flush()  # a registration of the same person that committed since the check above
    if data.password:
        accounts.create_user(db, username=member.member_number, password=data.password,
                                 role=Role.MEMBER, display_name=member.name,
                                 member_id=member.id, actor=actor)
    audit.record(db, actor=actor, action="member.register", entity="member",
                 entity_id=member.id)
    return member


def register_many(db: Session, rows: list[ValidMember],
                  registered: set[int] | None = None) -> dict[str, int]:
    """Insert validated members in bulk; returns id_number -> member id for all of them.

    Members already registered (same ID number) are reused, not duplicated. New rows are
    written with COPY on PostgreSQL (executemany on SQLite) under the ORM, with ids reserved
    first so they need not be looked up again; ``registered``, when given, receives the ids
    of the members new to the mutual.
    """
    ids = existing_ids(db, [r.id_number for r in rows])
    first: dict[str, ValidMember] = {}
    for r in rows:  # a person on two rows is registered as their first row says
        if r.id_number not in ids:
            first.setdefault(r.id_number, r)
    new = list(first.values())
    numbers = member_numbers(db, len(new))
    new_ids = reserve_ids(db, "members", len(new))
    now = utcnow()
    copy_rows(db, "members", ["id", "member_number", "name", "id_number", "birth_date", "sex",
                              "phone", "occupation_code", "occupation_class", "city"],
              ((mid, num, r.name, r.id_number, r.birth_date, r.sex, r.phone, r.occupation_code,
                r.occupation_class, r.city) for r, num, mid in zip(new, numbers, new_ids,
                                                                   strict=True)),
              same={"status": "active", "joined_at": now})
    ids.update(zip((r.id_number for r in new), new_ids, strict=True))
    if registered is not None:
        registered.update(new_ids)
    return ids


def existing_ids(db: Session, id_numbers: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    # One array parameter on PostgreSQL takes 50,000 numbers a statement (each round trip of
    # an import's writing thread can wait for the checking thread); SQLite's IN list, 5,000.
    step = 50_000 if db.get_bind().dialect.name == "postgresql" else 5000
    with by_index(db):  # a bulk import grows members between these lookups
        for start in range(0, len(id_numbers), step):
            chunk = id_numbers[start:start + step]
            out.update(db.execute(
                select(Member.id_number, Member.id).where(one_of(db, Member.id_number, chunk))
            ).all())
    return out


def get(db: Session, *, member_id: int, actor: Principal) -> Member:
    if member_id is None:  # a staff login asking for "my" member record has none
        raise NotFound("this login has no member record")
    member = db.get(Member, member_id)
    if member is None or (actor.is_member and actor.member_id != member_id):
        raise NotFound("member %(member)s not found", member=member_id)
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
