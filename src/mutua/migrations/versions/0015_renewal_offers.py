"""Renewal offers (续保邀请), a policy's consent to auto-renewal, how many days before
its end a product's policies are offered renewal, and the product terms' deduction from a
refund on cancellation (a fixed fee and a share of the unearned premium); and the refund id
of a part payment paid back after its due or group invoice lapsed.

Revision ID: 0015
Revises: 0014
"""
import sqlalchemy as sa
from alembic import op

import mutua.db

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("renewal_offer_days", sa.Integer(), server_default="30",
                                      nullable=False))
        batch_op.add_column(sa.Column("cancellation_fee", mutua.db.Money(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column("cancellation_fee_rate", sa.Numeric(precision=6, scale=4),
                                      server_default="0", nullable=False))
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.add_column(sa.Column("auto_renew", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
    for table in ("premium_dues", "premium_invoices"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("refund_id", sa.String(length=64), nullable=True))
    op.create_table(
        "renewal_offers",
        sa.Column("id", BIG, nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("policy_id", BIG, nullable=False),
        sa.Column("member_id", BIG, nullable=False),
        sa.Column("product_id", sa.Integer(), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("premium", mutua.db.Money(), nullable=False),
        sa.Column("cover_start", sa.Date(), nullable=False),
        sa.Column("cover_end", sa.Date(), nullable=False),
        sa.Column("age_at_start", sa.Integer(), nullable=False),
        sa.Column("occupation_class", sa.Integer(), nullable=False),
        sa.Column("coefficient", sa.Numeric(precision=8, scale=4), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("offered_on", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("by_auto_renewal", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("decided_at", mutua.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("renewed_policy_id", BIG, nullable=True),
        sa.Column("created_at", mutua.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"],
                                name=op.f("fk_renewal_offers_member_id_members")),
        sa.ForeignKeyConstraint(["period_id"], ["sale_periods.id"],
                                name=op.f("fk_renewal_offers_period_id_sale_periods")),
        sa.ForeignKeyConstraint(["policy_id"], ["policies.id"],
                                name=op.f("fk_renewal_offers_policy_id_policies")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"],
                                name=op.f("fk_renewal_offers_product_id_products")),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"],
                                name=op.f("fk_renewal_offers_project_id_projects")),
        sa.ForeignKeyConstraint(["renewed_policy_id"], ["policies.id"],
                                name=op.f("fk_renewal_offers_renewed_policy_id_policies")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_renewal_offers")),
        sa.UniqueConstraint("policy_id", "project_id",
                            name=op.f("uq_renewal_offers_policy_id_project_id")),
    )
    with op.batch_alter_table("renewal_offers", schema=None) as batch_op:
        batch_op.create_index("ix_renewal_offers_member", ["member_id"], unique=False)
        batch_op.create_index("ix_renewal_offers_project_state_expires",
                              ["project_id", "state", "expires_on"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("renewal_offers", schema=None) as batch_op:
        batch_op.drop_index("ix_renewal_offers_project_state_expires")
        batch_op.drop_index("ix_renewal_offers_member")
    op.drop_table("renewal_offers")
    for table in ("premium_dues", "premium_invoices"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("refund_id")
    with op.batch_alter_table("policies", schema=None) as batch_op:
        batch_op.drop_column("auto_renew")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("cancellation_fee_rate")
        batch_op.drop_column("cancellation_fee")
        batch_op.drop_column("renewal_offer_days")
