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
