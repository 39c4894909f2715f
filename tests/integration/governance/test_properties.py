"""Through the database: every accepted ballot is counted exactly once, refused ones never."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from mutua.db import session_factory
from mutua.errors import DomainError
from mutua.governance import ballots as governance_ballots
from mutua.governance import ratings, service
from mutua.governance.models import Ballot
from mutua.health.models import Alert, AlertNote
from tests.integration.governance.helpers import (
    AFTER,
    DURING,
    OPEN_AT,
    SECRETARY,
    as_member,
    motion,
    pool,
)

attempt = st.one_of(st.sampled_from([["yes"], ["no"], ["abstain"]]),
                    st.sampled_from([["maybe"], ["yes", "no"], ["abstain", "yes"], []]))


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 5), attempt), max_size=20))
def test_stored_tally_counts_each_accepted_ballot_once(db, attempts):
    product = _pool_once(db)
    people = _pool_once.people
    p = motion(db, product.project_id, quorum="0")
    service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=OPEN_AT)
    accepted: Counter = Counter()
    for who, choice in attempts:
        try:
            governance_ballots.cast_ballot(db, proposal_id=p.id, choice=choice,
                                           actor=as_member(people[who]), now=DURING)
        except DomainError:
            continue
        accepted[choice[0]] += 1
    service.close_proposal(db, proposal_id=p.id, actor=SECRETARY, now=AFTER)
    counts = {o["option"]: o["votes"] for o in p.result["options"]}
    assert counts == {o: accepted.get(o, 0) for o in ("yes", "no", "abstain")}
    assert p.result["turnout"] == sum(accepted.values()) <= len({w for w, _ in attempts})


def _pool_once(db):
    """One pool per database (hypothesis reuses the fixture across examples)."""
    key = id(db)
    if getattr(_pool_once, "key", None) != key:
        product, _, people = pool(db, members=6)
        _pool_once.key, _pool_once.product, _pool_once.people = key, product, people
    return _pool_once.product


def test_two_racing_ballots_of_one_member_store_one(engine):
    if engine.dialect.name == "sqlite":
        pytest.skip("row-level races are a PostgreSQL matter; SQLite serialises writers")
    make = session_factory(engine)
    with make() as db:
        product, _, people = pool(db, members=2)
        p = motion(db, product.project_id)
        service.open_proposal(db, proposal_id=p.id, actor=SECRETARY, now=OPEN_AT)
        db.commit()
        pid, me = p.id, as_member(people[0])
    outcomes, barrier = [], threading.Barrier(4)

    def vote(choice):
        with make() as s:
            barrier.wait()
            try:
                governance_ballots.cast_ballot(s, proposal_id=pid, choice=[choice], actor=me, now=DURING)
                s.commit()
                outcomes.append("ok")
            except DomainError:
                s.rollback()
                outcomes.append("refused")

    threads = [threading.Thread(target=vote, args=(c,)) for c in ("yes", "no", "yes", "no")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with make() as s:
        stored = s.scalar(select(func.count()).select_from(Ballot)
                          .where(Ballot.proposal_id == pid))
    assert sorted(outcomes) == ["ok", "refused", "refused", "refused"] and stored == 1


def test_a_care_contact_can_be_rated_once(db):
    _, _, people = pool(db, members=1)
    alert = Alert(member_id=people[0].id, rule="egfr_drop", severity="high", severity_rank=3,
                  effective_at=datetime(2026, 7, 1, tzinfo=UTC), status="contacted")
    db.add(alert)
    db.flush()
    note = AlertNote(alert_id=alert.id, user_id=5, username="care1", status="contacted",
                     note="called")
    db.add(note)
    db.flush()
    r = ratings.rate(db, service_kind="care_contact", service_ref=note.id, score=4,
                     actor=as_member(people[0]), on=date(2026, 7, 2))
    assert r.team == "care" and r.project_id is not None
