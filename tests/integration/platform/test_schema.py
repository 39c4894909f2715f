"""The Alembic migrations build exactly the schema the models describe, on both backends."""

import pytest
from sqlalchemy import text

from mutua import schema
from mutua.db import make_engine
from tests.conftest import PG_URL, scratch_postgres


def test_sqlite_migrations_match_models(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    schema.upgrade(url)
    schema.upgrade(url)  # a second run is a no-op
    assert schema.pending_changes(url) == []


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL not configured")
def test_postgres_migrations_match_models():
    with scratch_postgres("migrations") as url:
        schema.upgrade(url)
        assert schema.pending_changes(url) == []


def test_migrated_audit_log_refuses_updates(tmp_path):
    import pytest as _pytest
    from sqlalchemy.exc import DatabaseError

    from mutua.ops import hardening

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    schema.upgrade(url)
    engine = make_engine(url)
    assert hardening.is_installed(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (at, actor_user_id, actor_username, actor_role,"
                          " action, entity, entity_id, detail) VALUES ('2026-01-01 00:00:00', 0,"
                          " 's', 'admin', 'a', 'e', '1', '{}')"))
    with _pytest.raises(DatabaseError, match="append-only"), engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET action = 'forged'"))
    engine.dispose()


def test_closes_stored_before_0004_keep_their_history(tmp_path):
    """Migration 0004 restates nothing: a stored close keeps its statement, counted no claims
    payable and declared no rate (NULL), carried nothing, and its earned premium is copied
    from its statement for the next close's Bornhuetter-Ferguson."""
    from alembic import command

    url = f"sqlite:///{tmp_path / 'history.db'}"
    make_engine(url).dispose()
    command.upgrade(schema.alembic_config(url), "0003")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO projects (id, code, name_zh, name_en, target_group, status,"
                          " reserving_method, a_priori_loss_ratio) VALUES (1, 'OLD', '旧', 'Old',"
                          " 'all', 'active', 'bf', 0.6)"))
        money = ", ".join(["0"] * 10)
        conn.execute(text(
            "INSERT INTO settlement_closes (project_id, quarter, closed_at, closed_by, "
            "fingerprint, earned_to_date, uplift_earned_to_date, case_reserve, ibnr, "
            "reserve_after, deficit_after, undistributed_after, startup_costs_recovered, "
            "fund_repaid, distributable, policies_uplifted, sum_insured_added, statement) "
            f"VALUES (1, '2026Q1', '2026-04-10 00:00:00', 'finance', 'x', {money}, 0, 0, "
            "'{\"earned_premium\": \"12345.67\", \"result\": \"10.00\"}')"))
    engine.dispose()
    schema.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        row = conn.execute(text("SELECT earned_premium, claims_payable, uplift_rate, "
                                "uplift_carried, statement FROM settlement_closes")).one()
    engine.dispose()
    assert row[0] == 1234567 and row[1] is None and row[2] is None and row[3] == 0
    assert '"result": "10.00"' in row[4]
