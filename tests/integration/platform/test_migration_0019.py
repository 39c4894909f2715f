"""Migration 0019 gives the last four large tables a project on a populated database.

Rows written before it have no project where none was known: a patient's labs before any
kidney policy, a mutual-wide proposal's ballots, account notices and their deliveries. The
upgrade gives each its project (the patient's latest kidney policy's, the proposal's, the
notification's) or the mutual-wide project it creates, makes project_id NOT NULL and keys
it; the downgrade puts NULL back and removes that project. Both backends: a SQLite file,
and a database of its own on the test PostgreSQL server.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from alembic import command
from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError

from mutua import schema
from mutua.catalog.mutual import MUTUAL_CODE
from mutua.db import make_engine
from mutua.governance.models import Ballot, Proposal
from mutua.health.models import Observation
from mutua.notify.models import Delivery, Notification
from tests.conftest import BACKENDS, database_for_migrations

AT = datetime(2026, 3, 1, tzinfo=UTC)
KIDNEY_PATIENT, OTHER_PATIENT = 7, 8
ACCIDENT, KIDNEY, OLD_KIDNEY = 1, 2, 3

CATALOGUE_AND_PEOPLE = [
    "INSERT INTO projects (id, code, name_zh, name_en, target_group, status, reserving_method,"
    " a_priori_loss_ratio) VALUES (1, 'ACC', '意外', 'Accident', 'all', 'active', 'bf', 0.6), "
    "(2, 'KID', '肾病', 'Kidney', 'ckd', 'active', 'bf', 0.6), "
    "(3, 'KID-OLD', '肾病旧', 'Kidney old', 'ckd', 'active', 'bf', 0.6)",
    "INSERT INTO products (id, project_id, code, name_zh, name_en, line, uniform_premium, "
    "term_days, min_age, max_age, allowed_classes, waiting_days, expense_loading, exclusions, "
    "underwriting, status, reporting_pattern) VALUES "
    "(31, 3, 'KID-OLD-1', '肾', 'Kidney', 'ckd', 10000, 365, 16, 65, '[1]', 0, 0.1, '[]', "
    "'{}', 'on_sale', '[]'), "
    "(21, 2, 'KID-1', '肾', 'Kidney', 'ckd', 10000, 365, 16, 65, '[1]', 0, 0.1, '[]', '{}', "
    "'on_sale', '[]')",
    "INSERT INTO coefficient_tables (id, product_id, version, source) VALUES "
    "(1, 31, 1, 'catalogue'), (2, 21, 1, 'catalogue')",
    "INSERT INTO sale_periods (id, product_id, project_id, code, sale_start, sale_end, "
    "cover_start, coefficient_table_id) VALUES "
    "(5, 31, 3, 'O1', '2025-01-01', '2025-12-31', '2025-01-01', 1), "
    "(6, 21, 2, 'K1', '2026-01-01', '2026-12-31', '2026-01-01', 2)",
    "INSERT INTO members (id, member_number, name, id_number, birth_date, sex, phone, "
    "occupation_code, occupation_class, city, status, joined_at) VALUES "
    "(7, 'M7', '甲', '440305199005170027', '1990-05-17', 'F', '+8613900000000', 'A0103', 1, "
    "'深圳', 'active', '2025-01-01 00:00:00'), "
    "(8, 'M8', '乙', '440305199005170043', '1990-05-17', 'F', '+8613900000001', 'A0103', 1, "
    "'深圳', 'active', '2025-01-01 00:00:00')",
    # The kidney patient held an older kidney policy, then a later one: the later one's
    # project is the one their labs belong to (health.patients.ckd_projects).
    "INSERT INTO policies (id, policy_number, project_id, product_id, period_id, member_id, "
    "status, enrolled_on, cover_start, cover_end, premium, age_at_start, occupation_class, "
    "coefficient, refund, created_at, auto_renew) VALUES "
    "(11, 'N11', 3, 31, 5, 7, 'expired', '2025-01-01', '2025-01-02', '2026-01-01', 10000, 34, "
    "1, 1, 0, '2025-01-01 00:00:00', FALSE), "
    "(12, 'N12', 2, 21, 6, 7, 'in_force', '2026-01-01', '2026-01-02', '2027-01-01', 10000, "
    "35, 1, 1, 0, '2026-01-01 00:00:00', FALSE)",
]


def _observation(oid: int, member_id: int) -> dict:
    return {"id": oid, "project_id": None, "member_id": member_id, "kind": "egfr",
            "loinc": "33914-3", "value": 50.0, "original_value": "50", "original_unit":
            "mL/min/1.73m2", "effective_at": AT, "source": "csv", "received_at": AT}


def _proposal(pid: int, project_id: int | None) -> dict:
    return {"id": pid, "kind": "motion", "project_id": project_id, "title_zh": "议案",
            "title_en": "Motion", "body_zh": "", "body_en": "", "options": [], "seats": 0,
            "quorum": Decimal("0.1"), "threshold": "simple", "allow_change": False,
            "opens_at": AT, "closes_at": AT, "status": "closed", "payload": {},
            "enactment_status": "none", "enactment": {}, "created_by": "ops", "created_at": AT}


def _populate(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        for sql in CATALOGUE_AND_PEOPLE:
            conn.execute(text(sql))
        conn.execute(insert(Observation.__table__), [
            _observation(101, KIDNEY_PATIENT), _observation(102, OTHER_PATIENT)])
        conn.execute(insert(Proposal.__table__), [_proposal(41, None), _proposal(42, ACCIDENT)])
        conn.execute(insert(Ballot.__table__), [
            {"proposal_id": 41, "receipt": "a" * 64, "choice": "yes", "project_id": None},
            {"proposal_id": 42, "receipt": "b" * 64, "choice": "no", "project_id": None}])
        conn.execute(insert(Notification.__table__), [
            {"id": 51, "project_id": None, "member_id": 8, "event": "account.ready",
             "ref_text": "", "created_at": AT},
            {"id": 52, "project_id": KIDNEY, "member_id": 7, "event": "claim.paid",
             "ref_text": "", "created_at": AT}])
        conn.execute(insert(Delivery.__table__), [
            {"id": 61, "notification_id": 51, "project_id": None, "member_id": 8,
             "channel": "sms", "next_attempt_at": AT},
            {"id": 62, "notification_id": 52, "project_id": None, "member_id": 7,
             "channel": "sms", "next_attempt_at": AT}])
        if engine.dialect.name == "postgresql":  # the ids above were given, not drawn
            conn.execute(text("SELECT setval('projects_id_seq', 3)"))
    engine.dispose()


def _projects(conn, table: str) -> dict:
    key = {"governance_ballots": "proposal_id", "notification_deliveries": "id"}.get(table, "id")
    return dict(conn.execute(text(f"SELECT {key}, project_id FROM {table}")).all())


@pytest.fixture(params=BACKENDS)
def old_database(request, tmp_path):
    """An empty database for the migrations to build, and its URL (PostgreSQL: one named
    after this worker's test database, dropped afterwards)."""
    with database_for_migrations(request.param, tmp_path, "m0019") as url:
        yield url


def test_the_upgrade_gives_every_row_a_project_and_the_downgrade_takes_it_back(old_database):
    url = old_database
    command.upgrade(schema.alembic_config(url), "0018")
    _populate(url)
    schema.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        mutual = conn.execute(text("SELECT id FROM projects WHERE code = :c"),
                              {"c": MUTUAL_CODE}).scalar_one()
        assert mutual not in (ACCIDENT, KIDNEY, OLD_KIDNEY)
        assert _projects(conn, "health_observations") == {101: KIDNEY, 102: mutual}
        assert _projects(conn, "governance_ballots") == {41: mutual, 42: ACCIDENT}
        assert _projects(conn, "notifications") == {51: mutual, 52: KIDNEY}
        assert _projects(conn, "notification_deliveries") == {61: mutual, 62: KIDNEY}
        with pytest.raises(IntegrityError):  # NOT NULL now
            conn.execute(text("UPDATE notifications SET project_id = NULL WHERE id = 51"))
        conn.rollback()
        if engine.dialect.name == "sqlite":  # the rebuilt tables kept every parent
            assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
            assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
    engine.dispose()
    assert schema.pending_changes(url) == []

    command.downgrade(schema.alembic_config(url), "0018")
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects WHERE code = :c"),
                            {"c": MUTUAL_CODE}).scalar_one() == 0
        assert _projects(conn, "health_observations") == {101: KIDNEY, 102: None}
        assert _projects(conn, "governance_ballots") == {41: None, 42: ACCIDENT}
        assert _projects(conn, "notification_deliveries") == {61: None, 62: KIDNEY}
    engine.dispose()
    schema.upgrade(url)  # and up again, on the downgraded rows
    assert schema.pending_changes(url) == []
