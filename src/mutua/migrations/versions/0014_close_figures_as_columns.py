"""What later closes and the list of closes read becomes columns of the close row.

A close's statement is what it told and stays as it was told; figures that are read again
(the list of closes, and the reinsurance a next close books the difference from) are now
columns: ``uplift_premium_earned``, ``claims_incurred``, ``result``, ``reserve_drawn``,
``surplus`` (NULL where a stored statement did not carry the figure), and
``reinsurance_recovered_to_date``, ``reinstatement_premium_to_date`` (0 where it did not).
Stored closes are parsed here, once.

Revision ID: 0014
Revises: 0013
"""
from decimal import Decimal

import sqlalchemy as sa
from alembic import op

import mutua.db

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

FIGURES = ("uplift_premium_earned", "claims_incurred", "result", "reserve_drawn", "surplus")
TO_DATE = ("reinsurance_recovered_to_date", "reinstatement_premium_to_date")


def upgrade() -> None:
    with op.batch_alter_table("settlement_closes") as batch:
        for name in FIGURES:
            batch.add_column(sa.Column(name, mutua.db.Money(), nullable=True))
        for name in TO_DATE:
            batch.add_column(sa.Column(name, mutua.db.Money(), server_default="0",
                                       nullable=False))
    _copy_from_statements()


def _fen(text: object) -> int:
    return int((Decimal(str(text)) * 100).to_integral_value())


def _copy_from_statements() -> None:
    closes = sa.table("settlement_closes", sa.column("id", sa.Integer),
                      sa.column("statement", sa.JSON),
                      *(sa.column(name, sa.BigInteger) for name in FIGURES + TO_DATE))
    conn = op.get_bind()
    for close_id, statement in conn.execute(sa.select(closes.c.id, closes.c.statement)).all():
        told = statement or {}
        values = {name: _fen(told[name]) for name in FIGURES + TO_DATE
                  if told.get(name) is not None}
        if values:
            conn.execute(closes.update().where(closes.c.id == close_id).values(**values))


def downgrade() -> None:
    with op.batch_alter_table("settlement_closes") as batch:
        for name in reversed(FIGURES + TO_DATE):
            batch.drop_column(name)
