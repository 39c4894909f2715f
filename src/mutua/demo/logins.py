"""The demo's member sign-ins: who shows which part of the article's story.

``story_members`` answers both the table `mutua demo` prints at its end and the list on
the sign-in page, so the two always name the same people. Each is found by asking the built
demo what it holds, never by an id, so the choice follows the data whatever the close rules
make of it:

- ``uplifts``: a member whose policy in force today had its sum insured raised at the most
  quarterly closes (in the largest pool first; riders and couriers first among equals);
- ``aid``: the member who received the most aid after a claim (the largest pool first);
- ``kidney``: a kidney patient with cover today, results and an alert in the care queue;
- ``voter``: the member who voted with a receipt the demo can print the secret of;
- ``policyholder``: only when none of those is there (a demo built without its domain
  steps, as the benchmarks build it), one member per project with a policy in force today,
  so that there is always someone to sign in as.

While the demo is built nobody has a member sign-in yet, so they are chosen among everyone;
once the demo has made their sign-ins, among the members who have one, so the sign-in page
keeps naming the people the build printed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mutua.auth.models import User
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.catalog.models import Project
from mutua.governance import demo as governance_demo
from mutua.health import demo as health_demo
from mutua.members import service as members_service
from mutua.policies import service as policies_service
from mutua.policies.models import Policy
from mutua.settlement import demo as settlement_demo

POLICYHOLDERS = 8  # sign-ins of a demo without stories (the HTTP benchmark signs them in)
STORIES = ("uplifts", "aid", "kidney", "voter")


@dataclass(frozen=True)
class StoryMember:
    """One demo sign-in: who, and the facts of what signing in as them shows."""

    story: str  # one of STORIES, or "policyholder"
    member_id: int
    member_number: str
    phone: str
    project: str  # project code
    facts: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"username": self.member_number, "phone": self.phone, "project": self.project,
                "story": self.story, "facts": {k: str(v) if isinstance(v, Decimal) else v
                                               for k, v in self.facts.items()}}


def story_members(db: Session, *, on: date) -> list[StoryMember]:
    """The demo's member sign-ins for the day ``on``, in the order of STORIES."""
    among = _with_sign_in(db)
    largest = _largest_project(db, on)
    found: list[StoryMember] = []
    for story in STORIES:
        hit = _find(db, story, on=on, prefer=largest, among=among,
                    exclude={m.member_id for m in found})
        if hit is not None:
            found.append(_member(db, story, hit))
    if not found:
        found = [_member(db, "policyholder", hit)
                 for hit in _policyholders(db, on=on, among=among, count=POLICYHOLDERS)]
    return found


def _find(db: Session, story: str, *, on: date, prefer: str | None, among, exclude):
    if story == "uplifts":
        return settlement_demo.uplifted_member(db, on=on, prefer=prefer, among=among,
                                               exclude=exclude)
    if story == "aid":
        return settlement_demo.aided_member(db, prefer=prefer, among=among, exclude=exclude)
    if story == "kidney":
        return health_demo.patient_to_show(db, on=on, among=among, exclude=exclude)
    hit = governance_demo.demo_voter(db, among=among, exclude=exclude)
    if hit is not None:
        hit["project"] = _project_of(db, hit["member_id"], on)
    return hit


def _member(db: Session, story: str, hit: dict) -> StoryMember:
    m = members_service.get(db, member_id=hit["member_id"], actor=SYSTEM)
    facts = {k: v for k, v in hit.items() if k not in ("member_id", "project")}
    return StoryMember(story, m.id, m.member_number, m.phone, hit.get("project") or "", facts)


def _with_sign_in(db: Session):
    """A select of the members who have a member sign-in, or None while nobody has."""
    q = select(User.member_id).where(User.role == Role.MEMBER.value,
                                     User.member_id.is_not(None))
    return q if db.scalar(q.limit(1)) is not None else None


def _largest_project(db: Session, on: date) -> str | None:
    counts = policies_service.in_force_counts(db, on=on)
    if not counts:
        return None
    biggest = max(sorted(counts), key=lambda pid: counts[pid][0])
    return db.scalar(select(Project.code).where(Project.id == biggest))


def _project_of(db: Session, member_id: int, on: date) -> str | None:
    """The project of the member's latest policy that started by ``on``."""
    return db.scalar(select(Project.code).join(Policy, Policy.project_id == Project.id)
                     .where(Policy.member_id == member_id, Policy.cover_start <= on)
                     .order_by(Policy.cover_start.desc(), Policy.id.desc()).limit(1))


def _policyholders(db: Session, *, on: date, among, count: int) -> list[dict]:
    """Up to ``count`` members with a policy in force on ``on``, from different projects."""
    q = (select(func.min(Policy.member_id), Project.code)
         .join(Project, Project.id == Policy.project_id)
         .where(Policy.status == "in_force", Policy.cover_start <= on, Policy.cover_end >= on)
         .group_by(Project.code).order_by(Project.code).limit(count))
    if among is not None:
        q = q.where(Policy.member_id.in_(among))
    return [{"member_id": m, "project": code} for m, code in db.execute(q)]
