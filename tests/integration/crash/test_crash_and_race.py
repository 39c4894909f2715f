"""Killed mid-write and raced: the books still balance, nothing is half-written, re-runs do not double.

Each trial starts from a fresh copy of a demo mutual, runs the real ``mutua`` command in a
child process, SIGKILLs it while it holds an open write transaction (seen from outside: the
SQLite write lock, or a PostgreSQL backend with a transaction id), then checks the database.
"""

from __future__ import annotations

import csv
import json
import threading
from datetime import date

import pytest

from mutua.members.idcard import make_id_number
from tests.integration.crash.conftest import (
    assert_books_balance,
    counts,
    job_state,
    kill_while_writing,
    kill_worker_while_running,
    run,
    scalar,
    start,
)

# Under workers (--dist loadfile) this file runs on one worker: the demo template is built
# once, and the write probe looks for the trial's application_name on the whole server, so
# trials must not overlap.
pytestmark = pytest.mark.slow

PROJECT, QUARTER = "SZ-NEWCITIZEN", "2026Q3"
PRODUCT, PERIOD = "SZNC-BASIC", "2026Q4"
IMPORT_ROWS = 4000

# Tables a sign-in or a failed command may touch without changing the books; a killed command
# has already queued its job (the job and its uploaded file) before its work began.
VOLATILE = {"login_attempts", "jobs", "job_inputs"}


def steady(c: dict[str, int]) -> dict[str, int]:
    return {k: v for k, v in c.items() if k not in VOLATILE}


def closes_of(url) -> int:
    return scalar(url, "SELECT count(*) FROM settlement_closes c JOIN projects p ON p.id = c.project_id "
                       "WHERE p.code = :p AND c.quarter = :q", p=PROJECT, q=QUARTER)


def unpaid_approved(url) -> int:
    return scalar(url, "SELECT count(*) FROM claims c JOIN projects p ON p.id = c.project_id "
                       "WHERE p.code = :p AND c.status = 'decided'", p=PROJECT)


def paid_twice(url) -> int:
    return scalar(url, "SELECT count(*) FROM (SELECT claim_id, round FROM claim_payments "
                       "GROUP BY claim_id, round HAVING count(*) > 1) x")


# ------------------------------------------------------------------------------ SIGKILL


def test_killed_quarterly_close(world):
    url = world.fresh()
    before = steady(counts(url))
    assert kill_while_writing(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER), \
        "the close finished before it could be killed"
    assert steady(counts(url)) == before, "a killed close left rows behind"
    assert closes_of(url) == 0
    assert_books_balance(url)

    done = run(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER, "--json")
    assert done.returncode == 0, done.stderr
    after_close = steady(counts(url))
    assert closes_of(url) == 1
    again = run(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER, "--json")
    assert again.returncode in (0, 2), again.stderr  # idempotent answer, or refused: closed
    assert steady(counts(url)) == after_close, "a second close wrote again"
    assert_books_balance(url)


def test_a_worker_killed_mid_close_leaves_nothing_and_the_job_runs_again(world, monkeypatch):
    # The killed worker's last heartbeat stays fresh for job_stale_seconds (60 s by default),
    # and `jobs wait` leaves the job to a worker it believes alive until then: the processes
    # this test starts take 5 s, so the wait below is seconds, not a minute.
    monkeypatch.setenv("MUTUA_JOB_STALE_SECONDS", "5")
    url = world.fresh()
    queued = run(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER, "--detach",
                 "--json")
    assert queued.returncode == 0, queued.stderr
    job_id = json.loads(queued.stdout)["job_id"]
    before = steady(counts(url))
    assert kill_worker_while_running(url, job_id), "the worker finished before it could be killed"
    assert steady(counts(url)) == before, "a killed worker left part of the close behind"
    assert closes_of(url) == 0 and job_state(url, job_id) == "running"
    assert_books_balance(url)

    # The worker's process is gone: waiting for the job puts it back and runs it here.
    done = run(url, "jobs", "wait", str(job_id), "--json")
    assert done.returncode == 0, done.stderr
    job = json.loads(done.stdout)
    assert job["state"] == "succeeded" and job["attempts"] == 2
    assert closes_of(url) == 1
    closed = steady(counts(url))
    again = run(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["rerun"] is True
    assert steady(counts(url)) == closed, "running the close again wrote again"
    assert_books_balance(url)


def test_killed_payment_batch(world):
    url = world.fresh()
    approved = unpaid_approved(url)
    assert approved > 0, "the demo has approved claims waiting for payment"
    before = steady(counts(url))
    assert kill_while_writing(url, "claims", "pay", "--project", PROJECT), \
        "the batch finished before it could be killed"
    assert steady(counts(url)) == before, "a killed batch left rows behind"
    assert unpaid_approved(url) == approved
    assert_books_balance(url)

    done = run(url, "claims", "pay", "--project", PROJECT, "--json")
    assert done.returncode == 0, done.stderr
    assert 0 < json.loads(done.stdout)["claims"] <= approved  # denied claims are decided, not paid
    paid = steady(counts(url))
    again = run(url, "claims", "pay", "--project", PROJECT, "--json")
    assert again.returncode == 0 and json.loads(again.stdout)["claims"] == 0
    assert steady(counts(url)) == paid and paid_twice(url) == 0
    assert_books_balance(url)


def _people_csv(path, n: int) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        w = csv.writer(out)
        w.writerow(["name", "id_number", "phone", "occupation_code", "city"])
        for i in range(n):
            birth = date(1970 + i % 30, 1 + i % 12, 1 + i % 28)
            w.writerow([f"导入会员{i}", make_id_number("110105", birth, 500 + (i % 400)),
                        f"+8618{i:09d}", "A0103", "深圳"])


def test_killed_bulk_import(world, tmp_path):
    url = world.fresh()
    file = tmp_path / "group.csv"
    _people_csv(file, IMPORT_ROWS)
    args = ("members", "import", str(file), "--product", PRODUCT, "--period", PERIOD, "--json")
    before = steady(counts(url))
    assert kill_while_writing(url, *args), "the import finished before it could be killed"
    assert steady(counts(url)) == before, "a killed import left rows behind"
    assert_books_balance(url)

    done = run(url, *args)
    assert done.returncode in (0, 1), done.stderr
    imported = steady(counts(url))
    grown = imported["members"] - before["members"]
    assert 0 < grown <= IMPORT_ROWS
    assert imported["policies"] - before["policies"] == grown
    again = run(url, *args)
    assert again.returncode in (0, 1, 2), again.stderr
    after = steady(counts(url))
    assert after["members"] == imported["members"] and after["policies"] == imported["policies"]
    assert_books_balance(url)


# ------------------------------------------------------------------------------ races


def _race(url, *args):
    procs = [start(url, *args) for _ in range(2)]
    return [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]


def test_two_closes_race_and_one_wins(world):
    url = world.fresh()
    results = _race(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER, "--json")
    assert any(rc == 0 for rc, _, _ in results), results
    assert all(rc in (0, 2) for rc, _, _ in results), results
    assert closes_of(url) == 1
    raced = steady(counts(url))
    assert run(url, "settle", "run", "--project", PROJECT, "--quarter", QUARTER).returncode in (0, 2)
    assert steady(counts(url)) == raced, "the race left a half close that a re-run completed"
    assert_books_balance(url)


def test_two_payment_batches_race_and_each_claim_is_paid_once(world):
    url = world.fresh()
    results = _race(url, "claims", "pay", "--project", PROJECT, "--json")
    assert all(rc in (0, 2) for rc, _, _ in results), results
    batches = [json.loads(out) for rc, out, _ in results if rc == 0]
    # one batch paid them all: the second command followed that job, or ran after it and
    # found nothing left to pay
    assert len({b["batch_key"] for b in batches if b["claims"]}) == 1, batches
    assert paid_twice(url) == 0
    assert json.loads(run(url, "claims", "pay", "--project", PROJECT, "--json").stdout)["claims"] == 0
    assert_books_balance(url)


def test_two_ballots_from_one_member_race_and_one_counts(world):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import func, select

    from mutua.auth.roles import Role
    from mutua.auth.security import SYSTEM, Principal
    from mutua.catalog.models import Project
    from mutua.db import make_engine, unit_of_work
    from mutua.errors import DomainError
    from mutua.governance import ballots as governance_ballots
    from mutua.governance import service as governance
    from mutua.governance.models import Ballot, Elector

    url = world.fresh()
    engine = make_engine(url)
    now = datetime.now(UTC)
    with unit_of_work(engine) as db:
        project_id = db.scalar(select(Project.id).where(Project.code == PROJECT))
        p = governance.create_proposal(db, kind="motion", project_id=project_id, title_zh="竞态表决",
                                       title_en="Race vote", quorum="0.01", opens_at=now,
                                       closes_at=now + timedelta(days=7), actor=SYSTEM)
        db.flush()
        governance.open_proposal(db, proposal_id=p.id, actor=SYSTEM, now=now + timedelta(seconds=1))
        proposal_id = p.id
    with unit_of_work(engine) as db:
        member_id = db.scalar(select(Elector.member_id).where(Elector.proposal_id == proposal_id))
    voter = Principal(user_id=0, username="voter", role=Role.MEMBER, member_id=member_id)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def vote(choice: str) -> None:
        barrier.wait()
        try:
            with unit_of_work(engine) as db:
                governance_ballots.cast_ballot(db, proposal_id=proposal_id, choice=[choice], actor=voter,
                                               now=now + timedelta(minutes=1))
            outcomes.append("counted")
        except DomainError as exc:
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=vote, args=(c,)) for c in ("yes", "no")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["Conflict", "counted"], outcomes
    with unit_of_work(engine) as db:
        ballots = db.scalar(select(func.count()).select_from(Ballot)
                            .where(Ballot.proposal_id == proposal_id))
        voted = db.scalar(select(Elector.has_voted).where(Elector.proposal_id == proposal_id,
                                                          Elector.member_id == member_id))
    assert ballots == 1 and voted is True
    engine.dispose()
