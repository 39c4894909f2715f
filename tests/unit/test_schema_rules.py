"""The schema stays ready to shard by project (docs/operations.md "Beyond one server").

Citus distributes a table by one column and requires every primary and unique key of it to
hold that column; small tables every node needs become reference tables, copied whole. So:
every large table carries project_id, not null, inside its primary key or a unique key; the
tables the issue names are large; catalogue tables are not, and point at no large table.
These tests read the models' metadata only (no database).
"""

import pytest
from sqlalchemy import Table, UniqueConstraint

from mutua.db import NOT_YET_SHARDABLE, Base, load_all_models

load_all_models()
TABLES = Base.metadata.tables

# The tables issue 17 names as growing with the pool; a new one opts in with large_table().
MUST_BE_LARGE = {"policies", "sum_insured_uplifts", "premium_payments", "claims", "claim_items",
                 "ledger_entries", "ledger_postings", "health_observations",
                 "governance_ballots"}
CATALOGUE = {"projects", "products", "benefits", "sale_periods", "coefficient_tables",
             "coefficient_cells"}


def large() -> list[Table]:
    return [t for t in TABLES.values() if t.info.get("large")]


def shard_key_problems(table: Table) -> list[str]:
    """What keeps ``table`` from being distributed by project_id (empty: nothing)."""
    column = table.c.get("project_id")
    if column is None:
        return ["has no project_id"]
    problems = ["project_id may be null"] if column.nullable else []
    keys = [{c.name for c in table.primary_key.columns}]
    keys += [{c.name for c in k.columns} for k in table.constraints
             if isinstance(k, UniqueConstraint)]
    keys += [{c.name for c in i.columns} for i in table.indexes if i.unique]
    if not any("project_id" in k for k in keys):
        problems.append("project_id is in neither its primary key nor a unique key")
    return problems


def test_the_tables_that_grow_with_the_pool_are_marked_large():
    assert {t.name for t in large()} >= MUST_BE_LARGE


@pytest.mark.parametrize("table", sorted(t.name for t in large()))
def test_a_large_table_carries_project_id_in_a_key(table):
    problems = shard_key_problems(TABLES[table])
    if table in NOT_YET_SHARDABLE:
        assert problems, f"{table} meets the rules now: take it off NOT_YET_SHARDABLE"
    else:
        assert not problems, f"{table}: {'; '.join(problems)}"


@pytest.mark.parametrize("table", sorted(CATALOGUE))
def test_a_catalogue_table_is_a_small_reference_table(table):
    t = TABLES[table]
    assert t.info.get("catalogue") and not t.info.get("large")
    pointing_at_large = sorted({fk.column.table.name for fk in t.foreign_keys
                                if fk.column.table.info.get("large")})
    assert not pointing_at_large, f"{table} refers to large tables {pointing_at_large}"


def test_the_rules_catch_a_table_that_breaks_them():
    """The check itself: a large table keyed by id alone, or with a nullable project_id."""
    from sqlalchemy import BigInteger, Column, Integer, MetaData

    md = MetaData()
    by_id = Table("t1", md, Column("id", BigInteger, primary_key=True),
                  Column("project_id", Integer, nullable=False))
    nullable = Table("t2", md, Column("id", BigInteger, primary_key=True),
                     Column("project_id", Integer), UniqueConstraint("project_id", "id"))
    keyed = Table("t3", md, Column("id", BigInteger, primary_key=True),
                  Column("project_id", Integer, nullable=False),
                  UniqueConstraint("project_id", "id"))
    assert shard_key_problems(by_id) == ["project_id is in neither its primary key nor a "
                                         "unique key"]
    assert shard_key_problems(nullable) == ["project_id may be null"]
    assert shard_key_problems(keyed) == []
    assert shard_key_problems(Table("t4", md, Column("id", Integer, primary_key=True))) == [
        "has no project_id"]


def test_a_listed_table_that_meets_the_rules_must_leave_the_list(monkeypatch):
    """NOT_YET_SHARDABLE is empty today; the mechanism stays for the next large table."""
    monkeypatch.setitem(NOT_YET_SHARDABLE, "notifications", "listed for the test")
    with pytest.raises(AssertionError, match="take it off NOT_YET_SHARDABLE"):
        test_a_large_table_carries_project_id_in_a_key("notifications")
