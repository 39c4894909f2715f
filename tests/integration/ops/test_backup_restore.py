"""`mutua backup FILE` / `mutua restore FILE`: a round trip gives back every row of every table."""

import gzip
import json

import pytest
from sqlalchemy import select, text
from typer.testing import CliRunner

from mutua import numbering
from mutua.auth.security import SYSTEM
from mutua.cli import app
from mutua.dates import today as shanghai_today
from mutua.db import Base, make_engine, session_factory
from mutua.ledger import service as ledger_service
from mutua.ops import backup as ops_backup
from mutua.ops import hardening
from mutua.policies import cancellation
from mutua.settings import get_settings
from tests import factories as f

runner = CliRunner()


@pytest.fixture
def cli(engine, monkeypatch):
    def run(*args, url=None):
        monkeypatch.setenv("MUTUA_DATABASE_URL", url or engine.test_url)
        get_settings.cache_clear()
        return runner.invoke(app, list(args))

    yield run
    get_settings.cache_clear()


def refused(result, words: str) -> bool:
    """The command failed with a DomainError (main() prints it as one line and exits 2)."""
    return result.exit_code != 0 and words in str(result.exception)


def small_mutual(db):
    """Members, logins, policies, a cancellation, books and audit rows: most tables non-empty."""
    f.accident_project(db, code="RT-ACC")
    members = [f.member(db, login=(i % 2 == 0), name=f"会员{i}") for i in range(6)]
    policies = [f.policy(db, member=m, product_code="RT-ACC-1") for m in members]
    cancellation.cancel(db, policy_id=policies[0].id, actor=SYSTEM, on=shanghai_today())
    f.staff(db, f.Role.FINANCE)
    db.commit()


def snapshot(engine, *, skip_actions=("ops.backup", "ops.restore")) -> dict[str, list[tuple]]:
    """Every row of every table in primary-key order (audit rows of backup/restore left out)."""
    out = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            stmt = select(table).order_by(*order)
            if table.name == "counters":  # counters kept as sequences (PostgreSQL) included
                stmt = numbering.positions(conn)
            if table.name == "audit_events":
                stmt = stmt.where(table.c.action.not_in(skip_actions))
            out[table.name] = [tuple(r) for r in conn.execute(stmt)]
    return out


def test_round_trip_gives_back_every_table(cli, engine, db, tmp_path):
    hardening.install(engine)
    small_mutual(db)
    before = snapshot(engine)
    assert sum(1 for rows in before.values() if rows) >= 10, "the round trip should cover many tables"
    file = tmp_path / "mutua.jsonl.gz"

    r = cli("backup", str(file), "--json")
    assert r.exit_code == 0, r.output
    made = json.loads(r.stdout)
    assert made["rows"] == sum(len(v) for v in before.values())
    assert set(made["per_table"]) == {t.name for t in Base.metadata.sorted_tables}

    # Change the database after the backup, then restore over it.
    f.member(db, name="后来的会员")
    db.commit()
    assert refused(cli("restore", str(file)), "already holds data")  # needs --replace
    r = cli("restore", str(file), "--replace", "--json")
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["sha256"] == made["sha256"]

    after = snapshot(engine)
    for name, rows in before.items():
        assert after[name] == rows, name
    for tb in ledger_service.trial_balance(db):
        assert tb.total == 0
    assert hardening.is_installed(engine)  # --replace lifted the audit guard only to wipe

    # Ids continue after the restored ones (PostgreSQL sequences were moved on).
    newcomer = f.member(db, name="恢复后的会员")
    db.commit()
    assert newcomer.id > max(r[0] for r in before["members"])
    # Business numbers too: no member or policy number is issued twice.
    at = Base.metadata.tables["members"].c.keys().index("member_number")
    assert newcomer.member_number > max(r[at] for r in before["members"])


def test_restore_into_a_fresh_database_of_either_kind(cli, engine, db, tmp_path):
    small_mutual(db)
    file = tmp_path / "mutua.jsonl.gz"
    assert cli("backup", str(file)).exit_code == 0
    fresh_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    fresh = make_engine(fresh_url)
    Base.metadata.create_all(fresh)
    r = cli("restore", str(file), url=fresh_url)
    assert r.exit_code == 0, r.output
    assert snapshot(fresh) == snapshot(engine)  # PostgreSQL -> SQLite too when engine is postgres
    fresh.dispose()


def test_a_truncated_backup_restores_nothing(cli, engine, db, tmp_path):
    small_mutual(db)
    file = tmp_path / "mutua.jsonl.gz"
    assert cli("backup", str(file)).exit_code == 0
    lines = gzip.decompress(file.read_bytes()).decode("utf-8").splitlines()
    cut = tmp_path / "cut.jsonl.gz"
    with gzip.open(cut, "wt", encoding="utf-8") as out:
        out.write("\n".join(lines[: len(lines) // 2]) + "\n")
    before = snapshot(engine)
    r = cli("restore", str(cut), "--replace")
    assert refused(r, "truncated")
    assert snapshot(engine) == before


@pytest.mark.parametrize("content, rule", [
    (b"not gzip at all", "truncated or not a gzip"),
    # mtime=0: the same bytes, so the same test id, in every xdist worker (a worker that
    # collected in another second would name a different test and stop the run).
    (gzip.compress(b'{"format": "something-else"}\n', mtime=0), "is not a mutua backup"),
])
def test_files_that_are_not_backups_are_refused(cli, tmp_path, content, rule):
    file = tmp_path / "bad.gz"
    file.write_bytes(content)
    r = cli("restore", str(file))
    assert refused(r, rule)


def test_missing_file_is_refused(cli, tmp_path):
    r = cli("restore", str(tmp_path / "nope.gz"))
    assert refused(r, "does not exist")


def test_backup_is_audited(cli, engine, tmp_path):
    assert cli("backup", str(tmp_path / "b.gz")).exit_code == 0
    with engine.connect() as conn:
        assert conn.scalar(text("SELECT action FROM audit_events")) == "ops.backup"


def test_codec_keeps_money_dates_and_decimals(engine, db, tmp_path):
    small_mutual(db)
    file = tmp_path / "b.gz"
    with engine.connect() as conn:
        ops_backup.begin_snapshot(conn)
        summary = ops_backup.dump(conn, file)
        conn.rollback()
    assert summary.rows["policies"] == 6 and not (tmp_path / "b.gz.partial").exists()


def test_numbers_go_on_after_a_restore_into_a_fresh_postgresql(cli, engine, db, tmp_path):
    # PostgreSQL issues policy and member numbers from sequences, which no table holds: the
    # backup writes their positions as counters, and the restore moves them on, or the first
    # member registered after it would be given a restored member's number.
    from tests.conftest import PG_URL, scratch_postgres_database

    if not PG_URL:
        pytest.skip("needs MUTUA_TEST_POSTGRES_URL")
    small_mutual(db)
    file = tmp_path / "mutua.jsonl.gz"
    assert cli("backup", str(file)).exit_code == 0
    restored = [n for (n,) in db.execute(text("SELECT member_number FROM members"))]
    with scratch_postgres_database("numbers") as fresh_url:
        fresh = make_engine(fresh_url)
        Base.metadata.create_all(fresh)
        try:
            assert cli("restore", str(file), url=fresh_url).exit_code == 0
            with session_factory(fresh)() as other:
                newcomer = f.member(other, name="恢复后的会员")
                other.commit()
                assert newcomer.member_number not in restored
                assert newcomer.member_number > max(restored)
        finally:
            fresh.dispose()
