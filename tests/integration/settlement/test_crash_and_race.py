"""A close killed half-way leaves nothing behind; concurrent closes yield one close."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

from sqlalchemy import func, select

from mutua.auth.security import SYSTEM
from mutua.db import session_factory
from mutua.ledger.models import Entry
from mutua.policies.models import SumInsuredUplift
from mutua.settlement import service
from mutua.settlement.models import AidPayment, Close
from tests.integration.settlement.conftest import AFTER_Q1, CODE, assert_books_balance, build_pool

ROOT = Path(__file__).resolve().parents[3]

KILLED_CLOSE = textwrap.dedent("""
    import sys, time
    from datetime import date
    from mutua.auth.security import SYSTEM
    from mutua.db import make_engine, unit_of_work
    from mutua.policies import service as policies_service
    from mutua.policies import cover as policy_cover
    from mutua.settlement import service

    written = policy_cover.record_uplifts

    def record_then_stall(*args, **kwargs):
        n = written(*args, **kwargs)
        print("HALFWAY", flush=True)  # uplift rows written, the transaction still open
        time.sleep(120)
        return n

    policy_cover.record_uplifts = record_then_stall
    with unit_of_work(make_engine(sys.argv[1])) as db:
        service.close_quarter(db, project_code=sys.argv[2], quarter="2025Q1", actor=SYSTEM,
                              today=date(2025, 4, 15))
""")


def _counts(db):
    return (db.scalar(select(func.count(Close.id))), db.scalar(select(func.count(Entry.id))),
            db.scalar(select(func.count(SumInsuredUplift.id))),
            db.scalar(select(func.count(AidPayment.id))))


def test_sigkill_half_way_leaves_nothing_and_the_rerun_completes(engine, db, tmp_path):
    build_pool(db)
    before = _counts(db)
    script = tmp_path / "close.py"
    script.write_text(KILLED_CLOSE)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + str(ROOT))
    proc = subprocess.Popen([sys.executable, str(script), engine.test_url, CODE],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "HALFWAY", proc.stderr.read()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    db.rollback()
    assert _counts(db) == before  # nothing of the killed close survived

    s = service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                              today=AFTER_Q1)
    db.commit()
    closes, entries, uplifts, aid = _counts(db)
    assert closes == 1 and aid == 1 and uplifts == 6 * 3
    money = db.scalar(select(func.sum(SumInsuredUplift.money)))
    assert f"{money:.2f}" == s["allocations"]["uplift"]
    again = service.close_quarter(db, project_code=CODE, quarter="2025Q1", actor=SYSTEM,
                                  today=AFTER_Q1)
    db.commit()
    assert again["rerun"] is True and _counts(db) == (closes, entries, uplifts, aid)
    assert_books_balance(db)


def test_concurrent_closes_yield_one_close(engine, db):
    build_pool(db)
    results, errors = [], []
    start = threading.Barrier(2)

    def run():
        session = session_factory(engine)()
        try:
            start.wait()
            out = service.close_quarter(session, project_code=CODE, quarter="2025Q1",
                                        actor=SYSTEM, today=AFTER_Q1)
            session.commit()
            results.append(out)
        except Exception as exc:  # pragma: no cover - reported below
            session.rollback()
            errors.append(exc)
        finally:
            session.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    assert len(results) == 2
    assert sorted(bool(r.get("rerun")) for r in results) == [False, True]
    assert results[0]["distributable"] == results[1]["distributable"]
    db.rollback()
    closes, _, uplifts, aid = _counts(db)
    assert (closes, uplifts, aid) == (1, 18, 1)
    assert_books_balance(db)
