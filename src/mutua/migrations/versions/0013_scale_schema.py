"""Schema for scale and for sharding by project.

- policies: the unique (member, product, period) key also holds project_id (the product
  fixes the project, so it refuses the same rows), and the member index it repeats goes
  (bulk enrolment wrote both for every policy);
- every large table has project_id in a unique key, as a distributed PostgreSQL (Citus)
  requires of the distribution column: (project_id, id) on uplifts, premium payments,
  claims and claim items, replacing the plain project_id index where there was one;
  postings' (project_id, account_id) index becomes the unique (project_id, account_id, id).

Data is kept: the new keys hold on any existing rows because id is unique already.

Revision ID: 0013
Revises: 0012
"""
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

# table -> index on project_id alone that the unique (project_id, id) key replaces
PROJECT_ID_KEYS = {
    'sum_insured_uplifts': 'ix_sum_insured_uplifts_project_id',
    'premium_payments': 'ix_premium_payments_project_id',
    'claims': None,
    'claim_items': None,
}


def upgrade() -> None:
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_index('ix_policies_member_id')
        batch_op.drop_constraint('uq_policies_member_id_product_id_period_id', type_='unique')
        batch_op.create_unique_constraint(
            'uq_policies_member_id_product_id_period_id_project_id',
            ['member_id', 'product_id', 'period_id', 'project_id'])
    for table, index in PROJECT_ID_KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            if index:
                batch_op.drop_index(index)
            batch_op.create_unique_constraint(f'uq_{table}_project_id_id', ['project_id', 'id'])
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_postings_project_account')
        batch_op.create_unique_constraint('uq_ledger_postings_project_account',
                                          ['project_id', 'account_id', 'id'])


def downgrade() -> None:
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_constraint('uq_ledger_postings_project_account', type_='unique')
        batch_op.create_index('ix_ledger_postings_project_account', ['project_id', 'account_id'],
                              unique=False)
    for table, index in PROJECT_ID_KEYS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(f'uq_{table}_project_id_id', type_='unique')
            if index:
                batch_op.create_index(index, ['project_id'], unique=False)
    with op.batch_alter_table('policies', schema=None) as batch_op:
        batch_op.drop_constraint('uq_policies_member_id_product_id_period_id_project_id',
                                 type_='unique')
        batch_op.create_unique_constraint('uq_policies_member_id_product_id_period_id',
                                          ['member_id', 'product_id', 'period_id'])
        batch_op.create_index('ix_policies_member_id', ['member_id'], unique=False)
