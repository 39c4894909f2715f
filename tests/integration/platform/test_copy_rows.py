"""copy_rows writes each value as the ORM would: text with tabs, newlines and backslashes,
NULLs, dates, aware timestamps (COPY's text format on PostgreSQL, executemany on SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select

from mutua.db import copy_rows, reserve_ids
from mutua.members.models import Member


def test_awkward_text_and_every_kind_of_value_come_back_as_written(db):
    names = ["tab\there", "new\nline", "back\\slash \\N", "\\.", "carriage\rreturn", "深圳 李雷"]
    joined = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    ids = reserve_ids(db, "members", len(names))
    copy_rows(db, "members", ["id", "member_number", "name", "id_number", "birth_date", "sex",
                              "phone", "occupation_code", "occupation_class", "city", "status",
                              "joined_at"],
              ((mid, f"M{mid:09d}", name, f"ID{mid}", date(1990, 1, 2), "F", "+8613800138000",
                "E0501", 2, "深圳", "active", joined) for mid, name in zip(ids, names, strict=True)))
    got = db.execute(select(Member.name, Member.birth_date, Member.joined_at, Member.city)
                     .where(Member.id.in_(ids)).order_by(Member.id)).all()
    assert [g.name for g in got] == names
    assert {(g.birth_date, g.city) for g in got} == {(date(1990, 1, 2), "深圳")}
    assert all(g.joined_at.replace(tzinfo=g.joined_at.tzinfo or UTC) == joined for g in got)


def test_columns_are_written_as_the_rows_are_by_the_same_writer(db):
    import numpy as np

    from mutua.db import copy_columns

    names = np.array(["tab\there", "back\\slash \\N", "深圳 李雷"], dtype=object)
    ids = np.array(reserve_ids(db, "members", len(names)), dtype=np.int64)
    n = len(ids)
    joined = np.array(["2026-03-04T05:06:07.891011"] * n, dtype="datetime64[us]")
    written = copy_columns(db, "members", {
        "id": ids, "member_number": np.array([f"M{i:09d}" for i in ids], dtype=object),
        "name": names, "id_number": np.array([f"ID{i}" for i in ids], dtype=object),
        "birth_date": np.array(["1990-01-02"] * n, dtype=object),
        "sex": np.full(n, "F", dtype=object), "phone": np.full(n, "+8613800138000", dtype=object),
        "occupation_code": np.full(n, "E0501", dtype=object),
        "occupation_class": np.full(n, 2, dtype=np.int64),
        "city": np.array(["深圳", "SZ\tx", "深圳"], dtype=object),
        "status": np.full(n, "active", dtype=object), "joined_at": joined})
    assert written == n
    got = db.execute(select(Member.name, Member.joined_at, Member.city)
                     .where(Member.id.in_(ids.tolist())).order_by(Member.id)).all()
    assert [g.name for g in got] == names.tolist()
    assert [g.city for g in got] == ["深圳", "SZ\tx", "深圳"]
    when = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    assert all(g.joined_at.replace(tzinfo=g.joined_at.tzinfo or UTC) == when for g in got)


def test_reserved_ids_are_distinct_and_later_ones_come_after_them_once_written(db):
    first = reserve_ids(db, "members", 1000)
    assert len(set(first)) == 1000
    copy_rows(db, "members", ["id", "member_number", "name", "id_number", "birth_date", "sex",
                              "phone", "occupation_code", "occupation_class", "city"],
              ((mid, f"M{mid:09d}", "Li Lei", f"ID{mid}", date(1990, 1, 2), "F",
                "+8613800138000", "E0501", 2, "SZ") for mid in first),
              same={"status": "active", "joined_at": datetime(2026, 3, 4, tzinfo=UTC)})
    second = reserve_ids(db, "members", 10)
    assert len(set(second)) == 10 and min(second) > max(first)
    assert reserve_ids(db, "members", 0) == []


def test_lookups_by_index_take_the_index_whatever_the_table_is_believed_to_hold(db):
    """A bulk import looks members up while it grows the table in one transaction; a plan
    kept from when the table was empty scanned every row at each lookup (17 s a lookup at
    200,000 rows). Inside ``by_index`` the plan is the index's, and outside it nothing
    of the session's planning is changed."""
    from sqlalchemy import text

    from mutua.db import by_index
    from mutua.members.service import existing_ids

    if db.get_bind().dialect.name != "postgresql":
        with by_index(db):  # nothing to steer on SQLite; the lookups still answer
            assert existing_ids(db, ["11010519491231002X"]) == {}
        return
    explain = text("EXPLAIN SELECT id FROM members WHERE id_number = ANY(CAST(:numbers AS varchar[]))")
    with by_index(db):
        plan = "\n".join(db.scalars(explain, {"numbers": ["11010519491231002X"] * 5000}))
        assert db.scalar(text("SELECT current_setting('plan_cache_mode')")) == "force_generic_plan"
    assert "Seq Scan" not in plan and "members" in plan
    assert db.scalar(text("SELECT current_setting('enable_seqscan')")) == "on"
    assert db.scalar(text("SELECT current_setting('plan_cache_mode')")) == "auto"
