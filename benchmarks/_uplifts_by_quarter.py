"""An experiment for ``settle --uplifts-by-quarter``: ``sum_insured_uplifts`` as a table
partitioned by LIST of its ``quarter`` (one partition a quarter, and a default), to measure
whether the close gains from it. PostgreSQL only; not the schema the platform ships
(docs/operations.md "Partitioning" says why, with the figures)."""

from __future__ import annotations

from sqlalchemy import text

TABLE = "sum_insured_uplifts"
QUARTERS = [f"{year}Q{q}" for year in range(2024, 2027) for q in range(1, 5)]


def convert(url: str) -> None:
    """Rebuild the table partitioned, keeping its rows, its id sequence and its keys (each
    with ``quarter`` added, as PostgreSQL requires of a partitioned table's unique keys)."""
    from mutua.db import make_engine

    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            if conn.scalar(text(f"SELECT relkind = 'p' FROM pg_class WHERE relname = '{TABLE}'")):
                return
            conn.execute(text(f"ALTER TABLE {TABLE} RENAME TO {TABLE}_plain"))
            conn.execute(text(f"CREATE TABLE {TABLE} (LIKE {TABLE}_plain INCLUDING DEFAULTS) "
                              "PARTITION BY LIST (quarter)"))
            for quarter in QUARTERS:
                conn.execute(text(f"CREATE TABLE {TABLE}_{quarter.lower()} PARTITION OF {TABLE} "
                                  f"FOR VALUES IN ('{quarter}')"))
            conn.execute(text(f"CREATE TABLE {TABLE}_default PARTITION OF {TABLE} DEFAULT"))
            conn.execute(text(f"INSERT INTO {TABLE} SELECT * FROM {TABLE}_plain"))
            conn.execute(text(f"ALTER SEQUENCE {TABLE}_id_seq OWNED BY {TABLE}.id"))
            conn.execute(text(f"DROP TABLE {TABLE}_plain"))
            for statement in (
                f"ALTER TABLE {TABLE} ADD CONSTRAINT pk_{TABLE} PRIMARY KEY (id, quarter)",
                f"ALTER TABLE {TABLE} ADD CONSTRAINT uq_{TABLE}_project_id_id "
                "UNIQUE (project_id, id, quarter)",
                f"ALTER TABLE {TABLE} ADD CONSTRAINT fk_{TABLE}_policy_id_policies "
                "FOREIGN KEY (policy_id) REFERENCES policies (id)",
                f"CREATE INDEX ix_uplifts_policy ON {TABLE} (policy_id, effective_from)",
            ):
                conn.execute(text(statement))
    finally:
        engine.dispose()
