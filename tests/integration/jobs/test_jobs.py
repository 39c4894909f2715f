"""Jobs on both databases: asked for in the request's transaction, one close per project and
quarter, states, progress, errors, cancellation, a dead worker's job put back, CLI wait and
detach, pages and /metrics."""

from __future__ import annotations

import json
import threading
import time

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from mutua.audit.models import AuditEvent
from mutua.auth.roles import Role
from mutua.auth.security import SYSTEM
from mutua.jobs import executor, kinds, service, starts
from mutua.jobs.models import Job
from mutua.members import accounts
from mutua.settings import get_settings
from mutua.settlement.models import Close
from tests import factories as f
from tests.integration.settlement.conftest import CODE, build_pool
from tests.integration.web.conftest import PASSWORD, post_form, sign_in
from tests.jobs import finish_jobs, finished, result

QUARTER = "2025Q1"
CLOSE = {"project": CODE, "quarter": QUARTER}


def queue_rows(db) -> list[tuple]:
    """procrastinate's deliveries (PostgreSQL only)."""
    if db.get_bind().dialect.name != "postgresql":
        return []
    return db.execute(text("SELECT id, status, lock FROM procrastinate_jobs ORDER BY id")).all()


def jobs_count(db) -> int:
    return db.scalar(select(func.count()).select_from(Job))


# ---------------------------------------------------------------- asked for in a transaction

def test_a_job_asked_for_in_a_rolled_back_transaction_does_not_exist(db):
    build_pool(db)
    job = starts.close(db, project_code=CODE, quarter=QUARTER, actor=SYSTEM)
    assert job.id and jobs_count(db) == 1
    if db.get_bind().dialect.name == "postgresql":
        assert queue_rows(db) == [(job.queue_id, "todo", f"settlement:{CODE}")]
    db.rollback()
    assert jobs_count(db) == 0 and queue_rows(db) == []


def test_bad_input_is_refused_before_anything_is_queued(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    unknown = client.post("/api/v1/settlement/closes", json={"project": "NOPE", "quarter": QUARTER},
                          headers=finance)
    assert unknown.status_code == 404
    bad = client.post("/api/v1/settlement/closes", json={"project": CODE, "quarter": "2025Q5"},
                      headers=finance)
    assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "quarter"
    db.expire_all()
    assert jobs_count(db) == 0 and queue_rows(db) == []


# ---------------------------------------------------------------- states, progress, result

def test_a_close_runs_as_a_job_and_its_result_is_the_statement(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    asked = client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance)
    assert asked.status_code == 202, asked.text
    queued = asked.json()
    assert queued["state"] == "queued" and asked.headers["location"] == f"/api/v1/jobs/{queued['id']}"
    assert queued["key"] == f"{CODE}:{QUARTER}" and queued["created_by"].startswith("finance")
    job = finished(client, asked, finance)
    assert job["state"] == "succeeded", job
    assert job["rows_done"] == job["rows_total"] == 2 and job["percent"] == 100.0  # two steps
    assert job["started_at"] and job["finished_at"] and job["attempts"] == 1
    assert job["result"]["quarter"] == QUARTER and "distributable" in job["result"]
    assert db.scalar(select(func.count()).select_from(Close)) == 1
    again = result(client, client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance),
                   finance)
    assert again["rerun"] is True and db.scalar(select(func.count()).select_from(Close)) == 1
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "jobs.enqueue")) == 2


def test_one_close_per_project_and_quarter_at_a_time(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    first = client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance)
    second = client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance)
    assert first.status_code == 202
    assert second.status_code == 409, second.text
    assert second.json()["job_id"] == first.json()["id"]
    assert second.json()["job_url"] == first.headers["location"]
    db.expire_all()
    assert jobs_count(db) == 1 and len(queue_rows(db)) in (0, 1)
    with pytest.raises(service.JobAlreadyOpen):
        starts.close(db, project_code=CODE, quarter=QUARTER, actor=SYSTEM)
    db.rollback()
    finish_jobs(db.get_bind())
    later = client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance)
    assert later.status_code == 202  # once finished, the same close may be asked for again


def test_a_failed_job_records_its_error_and_stores_nothing(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    result(client, client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance), finance)
    # 2025Q3 cannot close before 2025Q2: the close itself refuses it, in the job
    job = finished(client, client.post("/api/v1/settlement/closes",
                                       json={"project": CODE, "quarter": "2025Q3"},
                                       headers=finance), finance)
    assert job["state"] == "failed" and job["result"] is None
    assert job["error"]["error"] == "conflict" and "close 2025Q2 first" in job["error"]["message"]
    assert db.scalar(select(func.count()).select_from(Close)) == 1
    future = client.post("/api/v1/settlement/closes", json={"project": CODE, "quarter": "2999Q1"},
                         headers=finance)
    assert future.status_code == 422 and future.json()["problems"][0]["field"] == "quarter"


# ---------------------------------------------------------------- cancellation

def test_a_queued_job_is_cancelled_and_never_runs(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    asked = client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance)
    cancelled = client.post(f"{asked.headers['location']}/cancel", headers=finance)
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    finish_jobs(db.get_bind())
    assert client.get(asked.headers["location"], headers=finance).json()["state"] == "cancelled"
    assert db.scalar(select(func.count()).select_from(Close)) == 0
    if db.get_bind().dialect.name == "postgresql":
        assert [r[1] for r in queue_rows(db)] == ["cancelled"]
    again = client.post(f"{asked.headers['location']}/cancel", headers=finance)
    assert again.status_code == 409


class Gate:
    """A job kind whose work writes, reports progress step by step, and waits to be let on."""

    STEPS = 10

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.go_on = threading.Event()

    def run(self, db, work: kinds.Work) -> dict:
        from mutua.audit import service as audit

        audit.record(db, actor=work.actor, action="test.written", entity="job",
                     entity_id=work.job_id)
        for step in range(self.STEPS):
            if step == 4:
                time.sleep(executor.REPORT_EVERY_SECONDS)  # past the throttle: this one shows
            work.progress(step, self.STEPS, "stepping")
            if step == 4:
                self.reached.set()
                assert self.go_on.wait(60)
                time.sleep(executor.REPORT_EVERY_SECONDS)  # the next report reaches the board
        work.progress(self.STEPS, self.STEPS, "stepping")
        return {"steps": self.STEPS}


@pytest.fixture
def gate(monkeypatch) -> Gate:
    g = Gate()
    monkeypatch.setitem(kinds.KINDS, "test.gate", kinds.Kind(
        "test.gate", frozenset({Role.FINANCE}), g.run))
    return g


def _start_gated(db, gate) -> tuple[int, threading.Thread]:
    job = service.enqueue(db, kind="test.gate", key="one", params={}, actor=SYSTEM)
    db.commit()
    states: list = []
    thread = threading.Thread(target=lambda: states.append(executor.execute(db.get_bind(), job.id)))
    thread.start()
    assert gate.reached.wait(60)
    return job.id, thread


def test_progress_shows_while_a_job_runs_and_a_cancel_rolls_its_work_back(client, db, gate):
    finance = f.staff_headers(client, db, Role.FINANCE)
    job_id, thread = _start_gated(db, gate)
    try:
        running = client.get(f"/api/v1/jobs/{job_id}", headers=finance).json()
        assert running["state"] == "running" and running["stage"] == "stepping"
        assert running["rows_done"] == 4 and running["rows_total"] == Gate.STEPS
        assert running["percent"] == 40.0 and running["eta_seconds"] is not None
        asked = client.post(f"/api/v1/jobs/{job_id}/cancel", headers=finance)
        assert asked.status_code == 200 and asked.json()["cancel_requested"] is True
    finally:
        gate.go_on.set()
        thread.join(60)
    job = client.get(f"/api/v1/jobs/{job_id}", headers=finance).json()
    assert job["state"] == "cancelled" and job["result"] is None
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "test.written")) == 0
    assert db.scalar(select(func.count()).select_from(AuditEvent)
                     .where(AuditEvent.action == "jobs.cancel")) == 1  # who asked is on record


def test_a_job_left_running_by_a_dead_worker_is_queued_again(db, gate):
    job = service.enqueue(db, kind="test.gate", key="dead", params={}, actor=SYSTEM)
    db.commit()
    dead = f"{executor.socket.gethostname()}:999999999"  # no such process on this machine
    assert executor.claim(db, job.id, dead) is not None
    db.commit()
    assert executor.recover(db.get_bind()) == [job.id]
    db.expire_all()
    assert db.get(Job, job.id).state == "queued"
    if db.get_bind().dialect.name == "postgresql":
        assert [r[1] for r in queue_rows(db)] == ["todo"]
    alive = executor.worker_name()
    assert executor.claim(db, job.id, alive) is not None
    db.commit()
    assert executor.recover(db.get_bind()) == []  # this process is alive and beating


def test_a_demo_build_cut_short_fails_instead_of_running_again(db):
    job = starts.demo_build(db, seed=1, members=10, actor=SYSTEM)
    db.commit()
    assert executor.claim(db, job.id, f"{executor.socket.gethostname()}:999999999")
    db.commit()
    executor.recover(db.get_bind())
    db.expire_all()
    failed = db.get(Job, job.id)
    assert failed.state == "failed" and failed.error["error"] == "interrupted"


# ---------------------------------------------------------------- the CLI

@pytest.fixture
def cli(engine, monkeypatch):
    from mutua.cli import app

    monkeypatch.setenv("MUTUA_DATABASE_URL", engine.test_url)
    get_settings.cache_clear()
    runner = CliRunner()
    yield lambda *args: runner.invoke(app, [str(a) for a in args])
    get_settings.cache_clear()


def test_cli_detaches_or_waits(cli, db):
    build_pool(db)
    detached = cli("settle", "run", "--project", CODE, "--quarter", QUARTER, "--detach", "--json")
    assert detached.exit_code == 0, detached.output
    job_id = json.loads(detached.stdout)["job_id"]
    db.expire_all()
    assert db.get(Job, job_id).state == "queued"
    waited = cli("jobs", "wait", job_id, "--json")
    assert waited.exit_code == 0, waited.output
    assert json.loads(waited.stdout)["state"] == "succeeded"
    statement = cli("settle", "run", "--project", CODE, "--quarter", QUARTER, "--json")
    assert statement.exit_code == 0, statement.output
    assert json.loads(statement.stdout)["rerun"] is True
    listed = json.loads(cli("jobs", "list", "--json").stdout)
    assert listed["total"] == 2 and {j["state"] for j in listed["items"]} == {"succeeded"}
    failed = cli("settle", "run", "--project", CODE, "--quarter", "2025Q3")
    assert failed.exit_code != 0 and "close 2025Q2 first" in str(failed.exception)


def test_cli_follows_the_same_work_already_queued(cli, db):
    build_pool(db)
    first = starts.close(db, project_code=CODE, quarter=QUARTER, actor=SYSTEM)
    db.commit()
    followed = cli("settle", "run", "--project", CODE, "--quarter", QUARTER, "--json")
    assert followed.exit_code == 0, followed.output
    assert f"job {first.id}" in followed.stderr
    db.expire_all()
    assert db.get(Job, first.id).state == "succeeded" and jobs_count(db) == 1


def test_a_postgresql_worker_runs_what_was_deferred(cli, db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("procrastinate's worker is PostgreSQL only")
    build_pool(db)
    job = starts.close(db, project_code=CODE, quarter=QUARTER, actor=SYSTEM)
    db.commit()
    ran = cli("worker", "--until-empty")
    assert ran.exit_code == 0, ran.output
    db.expire_all()
    assert db.get(Job, job.id).state == "succeeded"
    assert queue_rows(db) == [] or all(r[1] != "todo" for r in queue_rows(db))


# ---------------------------------------------------------------- pages and metrics

def test_job_pages_follow_a_close_to_its_statement(client, db):
    build_pool(db)
    accounts.create_user(db, username="closer", password=PASSWORD, role=Role.FINANCE)
    db.commit()
    sign_in(client, "closer")
    form = {"project": CODE, "quarter": QUARTER}
    asked = post_form(client, "/staff/close/run", form, from_page="/staff/close")
    assert asked.status_code == 303 and asked.headers["location"].startswith("/staff/jobs/")
    twice = post_form(client, "/staff/close/run", form, from_page="/staff/close")
    assert twice.headers["location"] == asked.headers["location"]  # the open job, followed
    waiting = client.get(asked.headers["location"])
    assert waiting.status_code == 200 and 'http-equiv="refresh"' in waiting.text
    finish_jobs(db.get_bind())
    done = client.get(asked.headers["location"])
    assert f"/staff/close?project={CODE}&amp;done={QUARTER}" in done.text
    assert 'http-equiv="refresh"' not in done.text
    listing = client.get("/staff/jobs")
    assert listing.status_code == 200 and f'href="{asked.headers["location"]}"' in listing.text


def test_metrics_count_jobs_by_state(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    finished(client, client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance), finance)
    client.post("/api/v1/settlement/closes", json={"project": CODE, "quarter": "2025Q2"},
                headers=finance)
    body = client.get("/metrics").text
    assert 'mutua_jobs{kind="settlement.close",state="succeeded"} 1.0' in body
    assert 'mutua_jobs{kind="settlement.close",state="queued"} 1.0' in body
    assert 'mutua_job_oldest_queued_seconds{kind="settlement.close"}' in body
    assert 'mutua_job_duration_seconds{kind="settlement.close",stat="mean",state="succeeded"}' in body


def test_roles_read_only_the_jobs_they_run(client, db):
    build_pool(db)
    finance = f.staff_headers(client, db, Role.FINANCE)
    care = f.staff_headers(client, db, Role.CARE)
    asked = client.post("/api/v1/settlement/closes", json=CLOSE, headers=finance)
    assert client.get(asked.headers["location"], headers=care).status_code == 404
    assert client.get("/api/v1/jobs", headers=care).json()["total"] == 0
    assert client.get("/api/v1/jobs", headers=finance).json()["total"] == 1
    assert client.post(f"{asked.headers['location']}/cancel", headers=care).status_code == 404
