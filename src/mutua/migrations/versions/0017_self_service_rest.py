"""Member self-service, what was left of issue 19.

- ``phone_codes.phone_seq`` / ``client_seq``: the code's number for its phone and for its
  client address, each unique, so two requests at the sending limit at once cannot both
  store a code (auth.phone_codes).
- ``working_calendar_days``: public holidays and adjusted working days (调休) that
  complaints' due dates count on, seeded with the State Council's 2026 schedule
  (complaints/holidays_cn.py).

Revision ID: 0017
Revises: 0016
"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import mutua.db
from mutua.complaints import holidays_cn

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    days = op.create_table(
        "working_calendar_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("updated_at", mutua.db.UTCDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(length=80), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_working_calendar_days")),
    )
    now = datetime.now(UTC)
    op.bulk_insert(days, [{"day": day, "kind": kind, "name": name, "source": source,
                           "updated_at": now, "updated_by": "system"}
                          for day, kind, name, source in holidays_cn.SEED])
    with op.batch_alter_table("phone_codes") as batch:
        batch.add_column(sa.Column("phone_seq", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("client_seq", sa.Integer(), nullable=True))
        batch.create_unique_constraint(batch.f("uq_phone_codes_phone_phone_seq"),
                                       ["phone", "phone_seq"])
        batch.create_unique_constraint(batch.f("uq_phone_codes_client_client_seq"),
                                       ["client", "client_seq"])


def downgrade() -> None:
    op.drop_table("working_calendar_days")
    with op.batch_alter_table("phone_codes") as batch:
        batch.drop_constraint(batch.f("uq_phone_codes_client_client_seq"), type_="unique")
        batch.drop_constraint(batch.f("uq_phone_codes_phone_phone_seq"), type_="unique")
        batch.drop_column("client_seq")
        batch.drop_column("phone_seq")
