"""Expenses by category; reinsurance treaties and recoveries; solvency risk factors.

Revision ID: 0009
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

import mutua.db


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('solvency_factors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('line', sa.String(length=20), nullable=False),
    sa.Column('effective_from', sa.String(length=7), nullable=False),
    sa.Column('premium_factor', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('reserve_factor', sa.Numeric(precision=6, scale=4), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('demo', sa.Boolean(), nullable=False),
    sa.Column('filed_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_solvency_factors')),
    sa.UniqueConstraint('line', 'effective_from', name=op.f('uq_solvency_factors_line_effective_from'))
    )
    op.create_table('reinsurance_treaties',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('reinsurer', sa.String(length=100), nullable=False),
    sa.Column('retention', mutua.db.Money(), nullable=False),
    sa.Column('limit', mutua.db.Money(), nullable=False),
    sa.Column('rate', sa.Numeric(precision=8, scale=6), nullable=False),
    sa.Column('reinstatements', sa.Integer(), nullable=False),
    sa.Column('reinstatement_rate', sa.Numeric(precision=8, scale=6), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('filed_by', sa.String(length=60), nullable=False),
    sa.Column('filed_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_reinsurance_treaties_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reinsurance_treaties')),
    sa.UniqueConstraint('project_id', 'code', name=op.f('uq_reinsurance_treaties_project_id_code'))
    )
    with op.batch_alter_table('reinsurance_treaties', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reinsurance_treaties_project_id'), ['project_id'], unique=False)

    op.create_table('reinsurance_recoveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('treaty_id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('loss_key', sa.String(length=120), nullable=False),
    sa.Column('source', sa.String(length=80), nullable=False),
    sa.Column('loss', mutua.db.Money(), nullable=False),
    sa.Column('amount', mutua.db.Money(), nullable=False),
    sa.Column('reinstatement_premium', mutua.db.Money(), nullable=False),
    sa.Column('recorded_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=True),
    sa.Column('received_by', sa.String(length=60), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_reinsurance_recoveries_claim_id_claims')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_reinsurance_recoveries_project_id_projects')),
    sa.ForeignKeyConstraint(['treaty_id'], ['reinsurance_treaties.id'], name=op.f('fk_reinsurance_recoveries_treaty_id_reinsurance_treaties')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reinsurance_recoveries')),
    sa.UniqueConstraint('treaty_id', 'source', name=op.f('uq_reinsurance_recoveries_treaty_id_source'))
    )
    with op.batch_alter_table('reinsurance_recoveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reinsurance_recoveries_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_reinsurance_recoveries_project', ['project_id', 'recorded_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_reinsurance_recoveries_treaty_id'), ['treaty_id'], unique=False)

    with op.batch_alter_table('settlement_expenses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('category', sa.String(length=20), server_default='unclassified', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('settlement_expenses', schema=None) as batch_op:
        batch_op.drop_column('category')

    with op.batch_alter_table('reinsurance_recoveries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reinsurance_recoveries_treaty_id'))
        batch_op.drop_index('ix_reinsurance_recoveries_project')
        batch_op.drop_index(batch_op.f('ix_reinsurance_recoveries_claim_id'))

    op.drop_table('reinsurance_recoveries')
    with op.batch_alter_table('reinsurance_treaties', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reinsurance_treaties_project_id'))

    op.drop_table('reinsurance_treaties')
    op.drop_table('solvency_factors')
