"""Who a kidney patient is and who may see their data: member references resolved to patients,
the project a patient's data belongs to, and the access check every read of health data passes.

Who may see a patient's health data: the patient (a member sees only their own), admin,
and care coordinators for patients assigned to them or not yet assigned to anyone. Every
read of health data is written to the audit log.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from mutua.audit import service as audit
from mutua.auth.roles import Role
from mutua.auth.security import Principal
from mutua.db import batched
from mutua.errors import Forbidden, NotFound
from mutua.health import columns, ingest
from mutua.health.models import CoordinatorAssignment
from mutua.members.identifiers import member_number_or_none
from mutua.members.models import Member
from mutua.policies import membership
from mutua.policies.models import Policy

EPOCH = date(1970, 1, 1)


def resolve_patients(db: Session, refs: list[str]) -> dict[str, ingest.Patient]:
    """Member references ("M000000123" member numbers, however typed, or "#<id>") -> patients."""
    ids = [int(r[1:]) for r in refs if r.startswith("#") and r[1:].isascii() and r[1:].isdigit()]
    typed = {r: member_number_or_none(r) for r in refs if not r.startswith("#")}
    numbers = sorted({n for n in typed.values() if n is not None})
    patient = select(Member.id, Member.member_number, Member.birth_date, Member.sex)
    rows = []
    for chunk in batched(ids, columns.CHUNK):
        rows += db.execute(patient.where(Member.id.in_(chunk))).all()
    for chunk in batched(numbers, columns.CHUNK):
        rows += db.execute(patient.where(Member.member_number.in_(chunk))).all()
    projects = ckd_projects(db, [r[0] for r in rows])
    out: dict[str, ingest.Patient] = {}
    for mid, number, birth, sex in rows:
        p = ingest.Patient(mid, (birth - EPOCH).days, sex == "F", projects.get(mid))
        out[number] = p
        out[f"#{mid}"] = p
    out.update({ref: out[number] for ref, number in typed.items() if number in out})
    return out


def ckd_projects(db: Session, member_ids: list[int]) -> dict[int, int]:
    """The project of each member's latest CKD policy (the project their data belongs to)."""
    out: dict[int, int] = {}
    for chunk in batched(member_ids, columns.CHUNK):
        for mid, pid in db.execute(
            membership.kidney_policies(Policy.member_id, Policy.project_id)
            .where(Policy.member_id.in_(chunk)).order_by(Policy.cover_start)
        ):
            out[mid] = pid
    return out


def visible_members(db: Session, actor: Principal, member_ids: list[int]) -> set[int]:
    """Which of these patients the caller may see."""
    if actor.role is Role.ADMIN:
        return set(member_ids)
    if actor.is_member:
        return {actor.member_id} & set(member_ids)
    if actor.role is not Role.CARE:
        return set()
    others: set[int] = set()
    for start in range(0, len(member_ids), columns.CHUNK):
        chunk = member_ids[start:start + columns.CHUNK]
        others.update(db.scalars(select(CoordinatorAssignment.member_id).where(
            CoordinatorAssignment.member_id.in_(chunk),
            CoordinatorAssignment.coordinator_user_id != actor.user_id)))
    return set(member_ids) - others


def check_can_see(db: Session, actor: Principal, member_id: int | None) -> Member:
    # None: a staff login on a member's own page (admin may open them) has no patient record.
    member = db.get(Member, member_id) if member_id is not None else None
    if member is None:
        raise NotFound("patient %(member_id)s not found", member_id=member_id)
    if member_id not in visible_members(db, actor, [member_id]):
        raise Forbidden("you may not see this patient's health data")
    return member


def audit_read(db: Session, actor: Principal, what: str, member_id: int | None,
                detail: dict | None = None) -> None:
    audit.record(db, actor=actor, action=f"health.read.{what}", entity="patient",
                 entity_id=member_id if member_id is not None else "-", detail=detail or {})
