"""One uplift rate per close, claims payable in incurred, and the products' uplift settings.

Products gain ``min_uplift_days`` (30), ``max_uplift_rate`` (0.5) and an optional
``expected_loss_ratio``. Closes gain ``claims_payable``, ``uplift_rate``, ``uplift_carried``
and ``earned_premium``.

Closes already stored are history and are not restated: a closed quarter is never edited,
and its statement stays what members were told. Their new columns say what they booked:
``claims_payable`` and ``uplift_rate`` stay NULL (they counted no claims payable and
declared no rate), ``uplift_carried`` is 0, and ``earned_premium`` is copied from their
statement. The first close after this revision therefore books, as its change in claims
payable, every claim approved and unpaid at its own quarter's end (claims approved but
unpaid at the old close were left out of its incurred and are counted now, once), and its
statement says so.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

import mutua.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("expected_loss_ratio", sa.Numeric(precision=6, scale=4),
                                   nullable=True))
        batch.add_column(sa.Column("min_uplift_days", sa.Integer(), server_default="30",
                                   nullable=False))
        batch.add_column(sa.Column("max_uplift_rate", sa.Numeric(precision=6, scale=4),
                                   server_default="0.5", nullable=False))
    with op.batch_alter_table("settlement_closes") as batch:
        batch.add_column(sa.Column("claims_payable", mutua.db.Money(), nullable=True))
        batch.add_column(sa.Column("earned_premium", mutua.db.Money(), server_default="0",
                                   nullable=False))
        batch.add_column(sa.Column("uplift_rate", sa.Numeric(precision=12, scale=8),
                                   nullable=True))
        batch.add_column(sa.Column("uplift_carried", mutua.db.Money(), server_default="0",
                                   nullable=False))
    _copy_earned_premium()


def _copy_earned_premium() -> None:
    """Each stored close's earned premium, in fen, from its statement."""
    from decimal import Decimal

    closes = sa.table("settlement_closes", sa.column("id", sa.Integer),
                      sa.column("statement", sa.JSON),
                      sa.column("earned_premium", sa.BigInteger))
    conn = op.get_bind()
    for close_id, statement in conn.execute(sa.select(closes.c.id, closes.c.statement)).all():
        earned = (statement or {}).get("earned_premium")
        if earned is None:
            continue
        conn.execute(closes.update().where(closes.c.id == close_id)
                     .values(earned_premium=int(Decimal(str(earned)) * 100)))


def downgrade() -> None:
    with op.batch_alter_table("settlement_closes") as batch:
        batch.drop_column("uplift_carried")
        batch.drop_column("uplift_rate")
        batch.drop_column("earned_premium")
        batch.drop_column("claims_payable")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("max_uplift_rate")
        batch.drop_column("min_uplift_days")
        batch.drop_column("expected_loss_ratio")
