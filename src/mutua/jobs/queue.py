"""PostgreSQL's queue: procrastinate delivers job ids to ``mutua worker`` processes.

Why procrastinate (a maintained queue, not a home-made one): its jobs live in the same
database, and a job is deferred on the request's own psycopg connection, so it commits or rolls
back with the request's writes; ``lock`` makes a project's closes (and its payment batches)
run one after another; failed runs are retried by its retry strategy; periodic tasks clear its
old rows and look for abandoned jobs; its workers beat a heartbeat and stop gracefully on
SIGTERM. It is PostgreSQL only: on SQLite (the embedded default) the same
:func:`mutua.jobs.executor.execute` is called by :mod:`mutua.jobs.worker`'s thread, which takes
queued rows from the jobs table itself.

Each procrastinate job carries only our job's id. Whoever claims the row in the jobs table
(``queued`` -> ``running``, one UPDATE) runs it; a delivery that finds the row already taken,
cancelled or finished does nothing.
"""

from __future__ import annotations

import logging

import procrastinate
from procrastinate import exceptions as queue_errors
from procrastinate import sql as queue_sql
from procrastinate.jobs import JobDeferrer, Status
from procrastinate.manager import JobManager
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ProgrammingError
from sqlalchemy.orm import Session

from mutua.audit import partitions
from mutua.dates import today, utcnow
from mutua.db import get_engine
from mutua.jobs import executor
from mutua.jobs.notices import notification_round
from mutua.settings import get_settings

log = logging.getLogger(__name__)

QUEUE = "mutua"
RUN_JOB = "mutua.run_job"
# The delay before a run that met a passing database error is tried again.
RETRY_WAIT_SECONDS = 10
NOT_THE_OWNER = "42501"  # PostgreSQL's insufficient_privilege


class TransientJobError(Exception):
    """A run met a passing error (lost connection, deadlock); the job is queued again."""


# The tasks' app; ``mutua worker`` gives it a connector to the configured database.
app = procrastinate.App(connector=procrastinate.PsycopgConnector())
# Everything this module does outside a worker's loop runs on the caller's own connection, in
# the caller's transaction, through a sync manager whose pool is never opened (inside a worker
# the app's connector is async, and would not take a sync connection).
_on_callers_connection = JobManager(connector=procrastinate.SyncPsycopgConnector())


@app.task(name=RUN_JOB, queue=QUEUE,
          retry=procrastinate.RetryStrategy(max_attempts=3, wait=RETRY_WAIT_SECONDS,
                                            retry_exceptions={TransientJobError}))
def run_job(job_id: int) -> str:
    """Run one of our jobs by id (the only task that carries work)."""
    state = executor.execute(get_engine(), job_id)
    return state or "taken elsewhere"


@app.periodic(cron="* * * * *", periodic_id="recover-abandoned")
@app.task(name="mutua.recover_abandoned", queue=QUEUE, queueing_lock="mutua.recover_abandoned")
def recover_abandoned(timestamp: int) -> int:
    """Every minute: put back jobs whose worker died (SIGKILL, a lost machine)."""
    return len(executor.recover(get_engine()))


@app.periodic(cron="40 3 * * *", periodic_id="remove-old-deliveries")
@app.task(name="mutua.remove_old_deliveries", queue=QUEUE, pass_context=True,
          queueing_lock="mutua.remove_old_deliveries")
async def remove_old_deliveries(context, timestamp: int) -> None:
    """Nightly: drop procrastinate's finished rows older than a week (the jobs table keeps
    the history; these rows only carried ids)."""
    await context.app.job_manager.delete_old_jobs(nb_hours=24 * 7, queue=QUEUE,
                                                  include_failed=True, include_cancelled=True,
                                                  include_aborted=True)


@app.periodic(cron="* * * * *", periodic_id="deliver-notifications")
@app.task(name="mutua.deliver_notifications", queue=QUEUE,
          queueing_lock="mutua.deliver_notifications")
def deliver_notifications(timestamp: int) -> dict:
    """Every minute: a round over the notifications outbox (notify/delivery.py)."""
    return notification_round(get_engine(), settings=get_settings()).to_dict()


@app.periodic(cron="20 3 * * *", periodic_id="audit-partitions")
@app.task(name="mutua.audit_partitions", queue=QUEUE, queueing_lock="mutua.audit_partitions")
def audit_partitions(timestamp: int) -> dict:
    """Nightly: the audit log's partitions for this month and the next three
    (audit/partitions.py); idempotent, so a missed or doubled night does no harm. Creating
    a partition takes the table's owner: where the workers connect as a role that is not
    (docs/operations.md "Database roles"), the owner runs ``mutua privacy audit-partitions``
    from a timer instead, and this task says so in the log rather than failing each night."""
    try:
        with get_engine().begin() as conn:
            return partitions.prepare_ahead(conn, today=today()).to_dict()
    except ProgrammingError as exc:
        if getattr(exc.orig, "sqlstate", None) != NOT_THE_OWNER:
            raise
        log.warning("audit partitions: this role does not own audit_events; run "
                    "`mutua privacy audit-partitions` as the owner (docs/operations.md)")
        return {"created": [], "in_default": [], "refused": "not the owner"}


def uses_queue(bind) -> bool:
    return bind.dialect.name == "postgresql"


def _raw(db: Session):
    """The psycopg connection under the session, inside the session's transaction."""
    return db.connection().connection.dbapi_connection


def deliver(db: Session, job, *, delay_seconds: float = 0) -> None:
    """Defer the job's delivery in the caller's transaction (PostgreSQL; no-op on SQLite)."""
    if not uses_queue(db.get_bind()):
        return
    options: dict = {}
    if job.lock:
        options["lock"] = job.lock
    if delay_seconds:
        options["schedule_in"] = {"seconds": delay_seconds}
    template = run_job.configure(**options).job
    deferrer = JobDeferrer(job_manager=_on_callers_connection, job=template, connection=_raw(db))
    job.queue_id = deferrer.defer(job_id=job.id)


def withdraw(db: Session, job) -> None:
    """Take a queued job's delivery out of the queue, in the caller's transaction."""
    if job.queue_id is None or not uses_queue(db.get_bind()):
        return
    _on_callers_connection.cancel_job_by_id(job.queue_id, connection=_raw(db))


def redeliver(db: Session, job) -> None:
    """Make sure an abandoned job will be delivered again, in the caller's transaction.

    A delivery still waiting is enough; one a dead worker was running holds its lock, so it
    is retried (procrastinate's own retry); one already finished gets a fresh delivery.
    """
    if not uses_queue(db.get_bind()):
        return
    status = None
    if job.queue_id is not None:
        try:
            status = _on_callers_connection.get_job_status(job.queue_id, connection=_raw(db))
        except queue_errors.NoResult:
            status = None
    if status == Status.TODO:
        return
    if status == Status.DOING:
        _on_callers_connection.connector.execute_query_one_with_connection(
            _raw(db), query=queue_sql.queries["retry_job"], job_id=job.queue_id,
            retry_at=utcnow(), new_priority=None, new_queue_name=None, new_lock=None)
        return
    deliver(db, job)


def workers_alive(db: Session, *, stale_seconds: float) -> int:
    """How many ``mutua worker`` processes beat within ``stale_seconds`` (PostgreSQL)."""
    if not uses_queue(db.get_bind()):
        return 0
    return int(db.scalar(text(
        "SELECT count(*) FROM procrastinate_workers "
        "WHERE last_heartbeat > now() - make_interval(secs => :s)"), {"s": stale_seconds}) or 0)


def conninfo(url: str) -> str:
    """A libpq URI from the SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def run_worker(engine: Engine, *, concurrency: int, name: str, stale_seconds: float,
               wait: bool = True) -> None:
    """Run a procrastinate worker on ``mutua``'s queue until SIGINT or SIGTERM (or, without
    ``wait``, until the queue is empty)."""
    recovered = executor.recover(engine)  # jobs of a worker that died before this one started
    if recovered:
        log.info("put back %d abandoned jobs", len(recovered))
    connector = procrastinate.PsycopgConnector(
        conninfo=conninfo(engine.url.render_as_string(hide_password=False)),
        min_size=1, max_size=concurrency + 3)
    with app.replace_connector(connector) as worker_app:
        worker_app.run_worker(
            queues=[QUEUE], concurrency=concurrency, name=name, wait=wait,
            delete_jobs="successful", update_heartbeat_interval=max(stale_seconds / 4, 0.5),
            stalled_worker_timeout=stale_seconds, fetch_job_polling_interval=5.0,
            abort_job_polling_interval=5.0)


def drop_schema(conn) -> None:
    """Remove procrastinate's tables, functions and types from the connection's schema."""
    with conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(_DROP_SCHEMA)  # no parameters: the % signs are format()'s


_DROP_SCHEMA = """
        DO $$
        DECLARE r record;
        BEGIN
          FOR r IN SELECT tablename FROM pg_tables
                   WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate%' LOOP
            EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', r.tablename);
          END LOOP;
          FOR r IN SELECT p.oid::regprocedure AS f FROM pg_proc p
                   JOIN pg_namespace n ON n.oid = p.pronamespace
                   WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate%' LOOP
            EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', r.f);
          END LOOP;
          FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                   WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate%'
                     AND t.typtype IN ('e', 'c') LOOP
            EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', r.typname);
          END LOOP;
        END $$;
"""


def install_schema(engine: Engine) -> None:
    """procrastinate's whole current schema, for databases built from the models (the test
    suite); databases built by Alembic get it from migration 0007 instead."""
    from procrastinate.schema import SchemaManager

    with engine.begin() as conn, conn.connection.dbapi_connection.cursor() as cursor:
        cursor.execute(SchemaManager.get_schema())  # no parameters: its % signs stay as they are
