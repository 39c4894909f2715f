"""Claims: override requests awaiting a second approver, duplicate reports kept with their
reason, the second approver on a decision; ledger: approved overdraft facilities.

Revision ID: 0005
Revises: 0004
"""
import sqlalchemy as sa
from alembic import op

import mutua.db


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_overdrafts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('limit', mutua.db.Money(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('approved_by', sa.Integer(), nullable=False),
    sa.Column('approved_by_name', sa.String(length=80), nullable=False),
    sa.Column('approved_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_by', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', mutua.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_ledger_overdrafts_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_overdrafts'))
    )
    with op.batch_alter_table('ledger_overdrafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_overdrafts_project_id'), ['project_id'], unique=False)

    op.create_table('claim_override_requests',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('claim_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=False),
    sa.Column('requested_by_name', sa.String(length=80), nullable=False),
    sa.Column('requested_on', sa.Date(), nullable=False),
    sa.Column('requested_at', mutua.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('items', sa.JSON(), nullable=False),
    sa.Column('circumstances', sa.JSON(), nullable=True),
    sa.Column('reason', mutua.db.BoundedText(2000), nullable=False),
    sa.Column('engine_amount', mutua.db.Money(), nullable=False),
    sa.Column('approved', mutua.db.Money(), nullable=False),
    sa.Column('above_engine', mutua.db.Money(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.Column('answered_by_name', sa.String(length=80), nullable=True),
    sa.Column('answered_at', mutua.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer_note', mutua.db.BoundedText(2000), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_override_requests_claim_id_claims')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_claim_override_requests_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_override_requests'))
    )
    with op.batch_alter_table('claim_override_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_override_requests_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index('ix_claim_override_requests_project_status', ['project_id', 'status'], unique=False)

    with op.batch_alter_table('claim_decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_approver', sa.Integer(), nullable=True))

    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('duplicate_reason', mutua.db.BoundedText(2000), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_claims_duplicate_of_claims'), 'claims', ['duplicate_of'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_claims_duplicate_of_claims'), type_='foreignkey')
        batch_op.drop_column('duplicate_reason')
        batch_op.drop_column('duplicate_of')

    with op.batch_alter_table('claim_decisions', schema=None) as batch_op:
        batch_op.drop_column('second_approver')

    with op.batch_alter_table('claim_override_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_claim_override_requests_project_status')
        batch_op.drop_index(batch_op.f('ix_claim_override_requests_claim_id'))

    op.drop_table('claim_override_requests')
    with op.batch_alter_table('ledger_overdrafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_overdrafts_project_id'))

    op.drop_table('ledger_overdrafts')
