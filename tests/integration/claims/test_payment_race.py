"""Payment batches raced in threads, on SQLite and PostgreSQL: exactly one pays.

Eight batches for one project start together. One pays every approved claim; each of the
others either ran beside it and is refused with a Conflict (409) that names the project,
or started after it had committed and finds nothing left to pay. No batch fails any
other way (a 500), nothing is paid twice, and the books balance.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import event, func, select

from mutua.auth.security import SYSTEM
from mutua.claims import service
from mutua.claims.models import Claim, ClaimPayment, PaymentBatch
from mutua.claims.schemas import ClaimIn, DecisionIn
from mutua.db import session_factory
from mutua.errors import Conflict
from tests import factories as f

from .conftest import accident, assert_books_balance

RIVALS = 8


def approved_claims(db, world, n: int) -> list[int]:
    """``n`` decided claims on fresh policies of the world's product, unpaid."""
    ids = []
    for k in range(n):
        m = f.member(db, name=f"会员{k}")
        p = f.policy(db, member=m, on=world.policy.enrolled_on)
        claim = service.report(db, data=ClaimIn.model_validate(accident(
            p.id, {"benefit_code": "disability", "disability_grade": 10})), actor=SYSTEM)
        service.decide(db, claim_id=claim.id, actor=SYSTEM, data=DecisionIn(**f.ON_PAPER))
        ids.append(claim.id)
    return ids


def race(engine, n: int = RIVALS) -> list[object]:
    """Run ``n`` payment batches at once; each outcome is a BatchResult or an exception."""
    outcomes: list[object] = []
    start = threading.Barrier(n)

    def pay() -> None:
        session = session_factory(engine)()
        try:
            start.wait()
            result = service.pay(session, project_code="TEST-ACC", actor=SYSTEM)
            session.commit()
            outcomes.append(result)
        except Exception as exc:  # every failure is kept and judged below
            session.rollback()
            outcomes.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=pay) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return outcomes


def test_eight_racing_batches_one_pays_the_others_conflict_or_find_nothing(engine, db, world):
    ids = approved_claims(db, world, 5)
    db.commit()
    outcomes = race(engine)

    assert len(outcomes) == RIVALS
    unexpected = [o for o in outcomes if isinstance(o, Exception) and not isinstance(o, Conflict)]
    assert not unexpected, unexpected
    paying = [o for o in outcomes if not isinstance(o, Exception) and o.claims > 0]
    assert len(paying) == 1, outcomes
    assert paying[0].claims == len(ids)
    for o in outcomes:
        if isinstance(o, Conflict):
            assert "TEST-ACC" in o.message
        elif o is not paying[0]:
            assert o.claims == 0 and o.batch_key is None

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ClaimPayment)) == len(ids)
    assert db.scalar(select(func.count()).select_from(PaymentBatch)) == 1
    assert set(db.scalars(select(Claim.status).where(Claim.id.in_(ids)))) == {"paid"}
    assert_books_balance(db)


def test_a_batch_whose_claims_are_paid_under_it_is_refused_cleanly(engine, db, world):
    """The 500 of issue 15: a rival batch commits after this one has counted the payable
    claims and before it inserts their payments. It must end in a 409 or in paying them
    itself, never in an entry with no postings."""
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite lets one writer in at a time: no rival commits inside that gap")
    ids = approved_claims(db, world, 3)
    db.commit()
    rival: list[object] = []

    def run_rival() -> None:
        session = session_factory(engine)()
        try:
            rival.append(service.pay(session, project_code="TEST-ACC", actor=SYSTEM))
            session.commit()
        except Exception as exc:  # judged below
            session.rollback()
            rival.append(exc)
        finally:
            session.close()

    me = threading.current_thread()

    def after_reading_claims(conn, cursor, statement, *args) -> None:
        # once this batch has read the payable claims, the rival runs whole
        words = statement.upper().split()
        reads_claims = words[:1] == ["SELECT"] and "FROM" in words and (
            words[words.index("FROM") + 1] == "CLAIMS")
        if reads_claims and threading.current_thread() is me and not rival:
            t = threading.Thread(target=run_rival)
            t.start()
            t.join(timeout=10)

    session = session_factory(engine)()
    event.listen(engine, "after_cursor_execute", after_reading_claims)
    try:
        mine = service.pay(session, project_code="TEST-ACC", actor=SYSTEM)
        session.commit()
    except Conflict as exc:
        session.rollback()
        mine = exc
    finally:
        event.remove(engine, "after_cursor_execute", after_reading_claims)
        session.close()
    outcomes = [mine, *rival]
    paying = [o for o in outcomes if not isinstance(o, Exception) and o.claims > 0]
    assert len(paying) == 1 and paying[0].claims == len(ids), outcomes
    assert all(isinstance(o, Conflict) or o is paying[0] or o.claims == 0 for o in outcomes)
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ClaimPayment)) == len(ids)
    assert_books_balance(db)
