"""A policy's period, product and project are held together by one key (migration 0018).

One composite foreign key to ``sale_periods (id, product_id, project_id)`` replaced three
single ones, so a bulk enrolment's database checks one key a row instead of three; the
database must still refuse a policy whose product or project is not its period's.
"""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from mutua import schema
from mutua.catalog.models import SalePeriod
from mutua.db import make_engine
from mutua.policies.models import Policy
from tests import factories


@pytest.fixture
def two_projects(db):
    first = factories.accident_project(db, code="KEY-A")
    second = factories.accident_project(db, code="KEY-B")
    holder = factories.member(db)
    return first, second, factories.policy(db, member=holder, product_code="KEY-A-1")


def test_a_period_names_its_products_project(db, two_projects):
    first, second, _ = two_projects
    periods = db.execute(select(SalePeriod.product_id, SalePeriod.project_id)).all()
    assert {(p.product_id, p.project_id) for p in periods} == {
        (first.id, first.project_id), (second.id, second.project_id)}


@pytest.mark.parametrize("column", ["project_id", "product_id"])
def test_a_policy_cannot_leave_its_periods_product_or_project(db, two_projects, column):
    _, second, policy = two_projects
    with pytest.raises(IntegrityError):
        db.execute(update(Policy).where(Policy.id == policy.id)
                   .values({column: getattr(second, "id" if column == "product_id" else column)}))
        db.flush()
    db.rollback()


def test_a_period_cannot_leave_its_products_project(db, two_projects):
    first, second, _ = two_projects
    with pytest.raises(IntegrityError):
        db.execute(update(SalePeriod).where(SalePeriod.product_id == first.id)
                   .values(project_id=second.project_id))
        db.flush()
    db.rollback()


def test_the_upgrade_keeps_every_row_of_a_populated_sqlite_file(tmp_path):
    """SQLite rebuilds policies and sale_periods with foreign keys off; claims and dues that
    point at the rebuilt tables must still find their rows, and the keys be on again."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    make_engine(url).dispose()
    command.upgrade(schema.alembic_config(url), "0017")
    engine = make_engine(url)
    with engine.begin() as conn:
        for sql in (
            "INSERT INTO projects (id, code, name_zh, name_en, target_group, status, "
            "reserving_method, a_priori_loss_ratio) VALUES (1, 'P', '意外', 'Accident', 'all', "
            "'active', 'bf', 0.6)",
            "INSERT INTO products (id, project_id, code, name_zh, name_en, line, uniform_premium,"
            " term_days, min_age, max_age, allowed_classes, waiting_days, expense_loading, "
            "exclusions, underwriting, status, reporting_pattern) VALUES (3, 1, 'P-1', '意外', "
            "'Accident', 'accident', 10000, 365, 16, 65, '[1]', 0, 0.1, '[]', '{}', 'on_sale', "
            "'[]')",
            "INSERT INTO coefficient_tables (id, product_id, version, source) "
            "VALUES (1, 3, 1, 'catalogue')",
            "INSERT INTO sale_periods (id, product_id, code, sale_start, sale_end, cover_start, "
            "coefficient_table_id) VALUES (5, 3, 'P1', '2026-01-01', '2026-12-31', "
            "'2026-01-01', 1)",
            "INSERT INTO members (id, member_number, name, id_number, birth_date, sex, phone, "
            "occupation_code, occupation_class, city, status, joined_at) VALUES (7, 'M7', '甲', "
            "'440305199005170027', '1990-05-17', 'F', '+8613900000000', 'A0103', 1, '深圳', "
            "'active', '2026-01-01 00:00:00')",
            "INSERT INTO policies (id, policy_number, project_id, product_id, period_id, "
            "member_id, status, enrolled_on, cover_start, cover_end, premium, age_at_start, "
            "occupation_class, coefficient, refund, created_at, auto_renew) VALUES (11, 'N11', "
            "1, 3, 5, 7, 'in_force', '2026-01-01', '2026-01-02', '2027-01-01', 10000, 35, 1, 1, "
            "0, '2026-01-01 00:00:00', 0)",
            "INSERT INTO premium_payments (id, project_id, policy_id, amount, paid_on, kind, "
            "reference) VALUES (13, 1, 11, 10000, '2026-01-01', 'premium', 'r')",
        ):
            conn.execute(text(sql))
    engine.dispose()
    schema.upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT project_id FROM sale_periods")).scalar_one() == 1
        assert conn.execute(text("SELECT count(*) FROM policies")).scalar_one() == 1
        assert conn.execute(text("PRAGMA foreign_key_check")).all() == []
        assert conn.execute(text("PRAGMA foreign_keys")).scalar_one() == 1
        with pytest.raises(IntegrityError):  # the keys hold again after the rebuild
            conn.execute(text("UPDATE policies SET project_id = 2"))
    engine.dispose()
    assert schema.pending_changes(url) == []
