"""Where a running job's progress, heartbeat and cancel request live while its work is open.

The work of a job is one long transaction. Progress written inside it would be invisible until
it commits, so the runner reports from outside it:

- PostgreSQL: short autocommit UPDATEs of the job's own row (rows_done, rows_total,
  heartbeat_at) on a connection of their own; a cancel request is a column of that row.
- SQLite: a database file has one writer, and the job's work holds it for most of its run; an
  UPDATE from beside it would wait for the whole job. So progress and cancel requests are small
  files in a folder next to the database (``var/mutua.db-jobs/``): every process that opens
  the same SQLite file is on the same machine, and a file's mtime is its heartbeat.

When the job finishes, its final counts are written into its row in the same transaction as
its work, and the files are removed.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from mutua.dates import utcnow
from mutua.jobs.models import RUNNING, Job


@dataclass(frozen=True)
class Beat:
    """What a running job last said about itself."""

    rows_done: int
    rows_total: int | None
    stage: str
    at: datetime


class TableBoard:
    """PostgreSQL: the job's row, updated outside the job's own transaction."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def report(self, job_id: int, done: int, total: int | None, stage: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Job).where(Job.id == job_id, Job.state == RUNNING)
                         .values(rows_done=done, rows_total=total, stage=stage[:60],
                                 heartbeat_at=utcnow()))

    def read(self, ids: list[int]) -> dict[int, Beat]:
        return {}  # the rows themselves hold it

    def ask_cancel(self, job_id: int, *, by: str) -> None:
        """Nothing beside the row: the service sets ``cancel_requested`` in its transaction
        and audits who asked."""

    def cancel_asked_by(self, job_id: int) -> str | None:
        return None  # the request that asked has audited it

    def cancel_asked(self, job_id: int) -> bool:
        with self.engine.connect() as conn:
            return bool(conn.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

    def clear(self, job_id: int) -> None:
        """Nothing to remove."""


class FileBoard:
    """SQLite: one small JSON file per running job, and a marker file for a cancel request."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _progress(self, job_id: int) -> Path:
        return self.folder / f"{int(job_id)}.json"

    def _cancel(self, job_id: int) -> Path:
        return self.folder / f"{int(job_id)}.cancel"

    def report(self, job_id: int, done: int, total: int | None, stage: str) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        target = self._progress(job_id)
        fd, partial = tempfile.mkstemp(dir=self.folder, prefix=f".{job_id}.")
        with os.fdopen(fd, "w") as out:
            json.dump({"rows_done": int(done), "rows_total": total, "stage": stage[:60]}, out)
        os.replace(partial, target)  # readers never see half a file

    def read(self, ids: list[int]) -> dict[int, Beat]:
        out = {}
        for job_id in ids:
            path = self._progress(job_id)
            try:
                at = datetime.fromtimestamp(path.stat().st_mtime, UTC)
                data = json.loads(path.read_text())
            except (FileNotFoundError, ValueError):
                continue
            out[job_id] = Beat(int(data.get("rows_done") or 0), data.get("rows_total"),
                               str(data.get("stage") or ""), at)
        return out

    def ask_cancel(self, job_id: int, *, by: str) -> None:
        """The marker holds who asked: the job audits the cancel when it stops (the request
        could not write beside the running job)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._cancel(job_id).write_text(by[:80])

    def cancel_asked_by(self, job_id: int) -> str | None:
        try:
            return self._cancel(job_id).read_text() or None
        except FileNotFoundError:
            return None

    def cancel_asked(self, job_id: int) -> bool:
        return self._cancel(job_id).exists()

    def clear(self, job_id: int) -> None:
        for path in (self._progress(job_id), self._cancel(job_id)):
            path.unlink(missing_ok=True)


Board = TableBoard | FileBoard


def board_for(engine: Engine) -> Board:
    """The board of the database behind ``engine``."""
    return _board(engine.url.render_as_string(hide_password=False), engine)


@lru_cache(maxsize=64)
def _board(url: str, engine: Engine) -> Board:
    if engine.dialect.name != "sqlite":
        return TableBoard(engine)
    path = engine.url.database
    if not path or path == ":memory:":
        return FileBoard(Path(tempfile.mkdtemp(prefix="mutua-jobs-")))
    return FileBoard(Path(path + "-jobs"))
