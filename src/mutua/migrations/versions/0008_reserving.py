"""Reserving in the close: filed reporting patterns, the close's reserving record, and the
uplift premium cancelled policies return.

Products gain ``reporting_pattern`` (share of ultimate claims still unreported at the end
of each development quarter). Products stored before this revision had none; they are
given ["0.15", "0.04", "0.01", "0"] (the accident pattern the demo files: 15% unreported
at the accident quarter's end), and docs/statements.md asks the actuary to file each
product's own. A new table ``settlement_close_reserving`` holds one row per close from
now on: the IBNR basis and why, both methods' figures, and the premium deficiency test.
Closes already stored are history and get no row; the first close after this revision
knows it from that (its aid also takes claims approved earlier and not yet paid).
``sum_insured_uplifts.returned`` is the unearned uplift money a cancellation gave back.

Revision ID: 0008
Revises: 0007
"""
import sqlalchemy as sa
from alembic import op

import mutua.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

LEGACY_PATTERN = '["0.15", "0.04", "0.01", "0"]'


def upgrade() -> None:
    with op.batch_alter_table("products") as batch:
        batch.add_column(sa.Column("reporting_pattern", sa.JSON(), nullable=True))
    products = sa.table("products", sa.column("reporting_pattern", sa.JSON))
    op.get_bind().execute(products.update().values(
        reporting_pattern=sa.literal_column(f"'{LEGACY_PATTERN}'")
        if op.get_bind().dialect.name == "sqlite"
        else sa.cast(sa.literal(LEGACY_PATTERN), sa.JSON)))
    with op.batch_alter_table("products") as batch:
        batch.alter_column("reporting_pattern", existing_type=sa.JSON(), nullable=False)
    with op.batch_alter_table("sum_insured_uplifts") as batch:
        batch.add_column(sa.Column("returned", mutua.db.Money(), server_default="0",
                                   nullable=False))
    op.create_table(
        "settlement_close_reserving",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("close_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("ibnr_method", sa.String(length=16), nullable=False),
        sa.Column("ibnr_reason", sa.String(length=300), nullable=False),
        sa.Column("development_quarters", sa.Integer(), nullable=False),
        sa.Column("claims_reported", sa.Integer(), nullable=False),
        sa.Column("credibility", sa.Numeric(precision=8, scale=6), nullable=False),
        sa.Column("filed_pattern", sa.JSON(), nullable=False),
        sa.Column("pattern_used", sa.JSON(), nullable=False),
        sa.Column("ibnr_chainladder", mutua.db.Money(), nullable=False),
        sa.Column("ibnr_bf", mutua.db.Money(), nullable=False),
        sa.Column("unearned_premium", mutua.db.Money(), nullable=False),
        sa.Column("unexpired_claims", mutua.db.Money(), nullable=False),
        sa.Column("unexpired_costs", mutua.db.Money(), nullable=False),
        sa.Column("unexpired_risk_reserve", mutua.db.Money(), nullable=False),
        sa.Column("uplift_returned_to_date", mutua.db.Money(), nullable=False),
        sa.ForeignKeyConstraint(["close_id"], ["settlement_closes.id"]),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("close_id"),
    )
    op.create_index(op.f("ix_settlement_close_reserving_project_id"),
                    "settlement_close_reserving", ["project_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_settlement_close_reserving_project_id"),
                  table_name="settlement_close_reserving")
    op.drop_table("settlement_close_reserving")
    with op.batch_alter_table("sum_insured_uplifts") as batch:
        batch.drop_column("returned")
    with op.batch_alter_table("products") as batch:
        batch.drop_column("reporting_pattern")
