"""Migration 0006 rewrites ID numbers and phones stored in other scripts' digits, or stops.

Before every path folded identity numbers, a member could be stored with full-width or
Arabic-Indic digits. The upgrade stores them in ASCII; when that shows one person registered
twice, it refuses and names both records (SQLite: the migrations run on a file).
"""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from sqlalchemy import text

from mutua import schema
from mutua.db import make_engine
from mutua.members.idcard import make_id_number

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def _at_0003(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_engine(url).dispose()
    command.upgrade(schema.alembic_config(url), "0003")
    return url


def _insert(url, rows):
    engine = make_engine(url)
    with engine.begin() as conn:
        for n, (id_number, phone) in enumerate(rows, start=1):
            conn.execute(text(
                "INSERT INTO members (member_number, name, id_number, birth_date, sex, phone, "
                "occupation_code, occupation_class, city, status, joined_at) VALUES "
                "(:num, 'x', :id, '1990-05-17', 'F', :phone, 'A0103', 1, 'SZ', 'active', "
                "'2026-01-01 00:00:00')"), {"num": f"M{n:09d}", "id": id_number, "phone": phone})
    engine.dispose()


def test_ids_and_phones_in_other_digits_are_stored_in_ascii(tmp_path):
    url = _at_0003(tmp_path)
    one = make_id_number("440305", date(1990, 5, 17), 2)
    two = make_id_number("440305", date(1990, 5, 17), 4)
    _insert(url, [(one.translate(FULL_WIDTH), "+86١٣٨٠٠١٣٨٠٠٠"), (two, "+8613900000001")])
    schema.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        stored = conn.execute(text("SELECT id_number, phone FROM members ORDER BY id")).all()
    engine.dispose()
    assert [tuple(r) for r in stored] == [(one, "+8613800138000"), (two, "+8613900000001")]


def test_one_person_registered_twice_stops_the_upgrade_and_names_both(tmp_path):
    url = _at_0003(tmp_path)
    one = make_id_number("440305", date(1990, 5, 17), 2)
    _insert(url, [(one, "+8613800138000"), (one.translate(ARABIC_INDIC), "+8613800138000")])
    with pytest.raises(RuntimeError, match=r"member ids \[\[1, 2\]\]"):
        schema.upgrade(url)
