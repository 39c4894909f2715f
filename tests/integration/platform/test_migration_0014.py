"""Migration 0014 copies what the list of closes and the next close read from each stored
close's statement into columns of its own, once (SQLite: the migrations run on a file)."""

from __future__ import annotations

import json

from alembic import command
from sqlalchemy import text

from mutua import schema
from mutua.db import make_engine

ZERO_COLUMNS = ("earned_to_date", "uplift_earned_to_date", "case_reserve", "ibnr",
                "reserve_after", "deficit_after", "undistributed_after",
                "startup_costs_recovered", "fund_repaid", "distributable", "policies_uplifted",
                "sum_insured_added")


def _close(conn, project_id: int, quarter: str, statement: dict) -> None:
    columns = ", ".join(ZERO_COLUMNS)
    conn.execute(text(
        "INSERT INTO settlement_closes (project_id, quarter, closed_at, closed_by, fingerprint, "
        f"statement, {columns}) VALUES (:p, :q, '2026-10-02 00:00:00', 'ops', 'f', :s, "
        + ", ".join("0" for _ in ZERO_COLUMNS) + ")"),
        {"p": project_id, "q": quarter, "s": json.dumps(statement)})


def test_stored_statements_become_columns(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_engine(url).dispose()
    command.upgrade(schema.alembic_config(url), "0010")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO projects (id, code, name_zh, name_en, target_group, status, "
            "reserving_method, a_priori_loss_ratio) VALUES "
            "(1, 'SZ-ACC', '意外', 'Accident', 'all', 'active', 'bf', 0.6)"))
        _close(conn, 1, "2026Q2", {"earned_premium": "100.00", "claims_incurred": "-12.34",
                                   "uplift_premium_earned": "3.00", "result": "80.66",
                                   "reserve_drawn": "0.00", "surplus": "64.53",
                                   "reinsurance_recovered_to_date": "500.01",
                                   "reinstatement_premium_to_date": "7.50"})
        _close(conn, 1, "2026Q1", {"earned_premium": "40.00"})  # an early statement
    engine.dispose()
    schema.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT quarter, uplift_premium_earned, claims_incurred, result, reserve_drawn, "
            "surplus, reinsurance_recovered_to_date, reinstatement_premium_to_date "
            "FROM settlement_closes ORDER BY quarter")).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [
        ("2026Q1", None, None, None, None, None, 0, 0),
        ("2026Q2", 300, -1234, 8066, 0, 6453, 50001, 750)]
