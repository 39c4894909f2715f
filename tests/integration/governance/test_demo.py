"""The governance demo builds every kind of record the issue asks for."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.governance import demo, service
from mutua.governance.models import Ballot, Elector, FeedbackItem, Proposal, ServiceRating
from tests.integration.governance.helpers import pool


def test_demo_builds_votes_meetings_and_ratings(db):
    pool(db, members=60)
    out = demo.build(db, rng=np.random.default_rng(3), today=date(2026, 7, 20), actor=SYSTEM)
    made = out["proposals"]
    assert set(made) == {"pricing", "allocation", "failed_quorum", "election", "open"}
    pricing = db.get(Proposal, made["pricing"])
    assert pricing.status == "closed" and pricing.passed and pricing.enactment_status == "enacted"
    failed = db.get(Proposal, made["failed_quorum"])
    assert failed.result["quorum_met"] is False and not failed.passed
    assert db.get(Proposal, made["open"]).status == "open"
    election = db.get(Proposal, made["election"])
    assert election.status == "closed" and election.seats == 3
    assert db.get(Proposal, made["allocation"]).passed
    # one ballot per elector who voted, on every proposal
    for pid in made.values():
        voted = db.scalar(select(func.count()).select_from(Elector).where(
            Elector.proposal_id == pid, Elector.has_voted.is_(True)))
        ballots = db.scalar(select(func.count()).select_from(Ballot).where(
            Ballot.proposal_id == pid))
        assert voted == ballots
        p = db.get(Proposal, pid)
        if p.status == "closed":
            assert p.result == service.count(db, proposal=p).as_published()
    statuses = set(db.scalars(select(FeedbackItem.status)))
    assert statuses == {"open", "in_progress", "answered", "done"}
    assert db.scalar(select(func.count()).select_from(ServiceRating)) == out["ratings"]["count"] > 0
    assert len(out["meetings"]) == 3
