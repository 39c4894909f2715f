"""Fewer checks a row for a bulk enrolment (issue 17 item 1).

- ``sale_periods.project_id``: a period names its product's project, held together with it by
  a composite key to ``products (id, project_id)``.
- ``policies``: one composite key ``(period_id, product_id, project_id)`` to the period
  replaces three single keys to the period, the product and the project. PostgreSQL checks
  a foreign key with a trigger per row; a million enrolments made three million checks for
  values the bulk writer itself took from one period, and now make one million, while a
  policy whose product or project does not match its period can no longer be stored.
- ``ix_members_payer_id`` and ``ix_policies_renewed_from_id`` index only the rows that have
  a value (dependants, renewals): most members pay for themselves and most policies are
  first enrolments, whose NULLs filled both indexes.

SQLite rebuilds ``policies`` and ``sale_periods`` to change their keys. Rebuilding a table
other rows point at is only safe with foreign keys off (dropping the old table would
otherwise delete through the children's keys), so the rebuild runs with them off and
``PRAGMA foreign_key_check`` proves nothing was orphaned before the revision commits.

Revision ID: 0018
Revises: 0017
"""
import sqlalchemy as sa
from alembic import op

from mutua import schema

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

NOT_NULL_PAYER = sa.text("payer_id IS NOT NULL")
NOT_NULL_RENEWED = sa.text("renewed_from_id IS NOT NULL")


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        schema.sqlite_foreign_keys(on=False)
    with op.batch_alter_table("products") as batch:
        batch.create_unique_constraint(batch.f("uq_products_id_project_id"), ["id", "project_id"])
    with op.batch_alter_table("sale_periods") as batch:
        batch.add_column(sa.Column("project_id", sa.Integer(), nullable=True))
    op.execute("UPDATE sale_periods SET project_id = (SELECT p.project_id FROM products p "
               "WHERE p.id = sale_periods.product_id)")
    with op.batch_alter_table("sale_periods") as batch:
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("fk_sale_periods_product_id_products", type_="foreignkey")
        batch.create_foreign_key(batch.f("fk_sale_periods_product_id_products"), "products",
                                 ["product_id", "project_id"], ["id", "project_id"])
        batch.create_unique_constraint(batch.f("uq_sale_periods_id_product_id_project_id"),
                                       ["id", "product_id", "project_id"])
    with op.batch_alter_table("policies") as batch:
        batch.drop_constraint("fk_policies_project_id_projects", type_="foreignkey")
        batch.drop_constraint("fk_policies_product_id_products", type_="foreignkey")
        batch.drop_constraint("fk_policies_period_id_sale_periods", type_="foreignkey")
        batch.create_foreign_key(batch.f("fk_policies_period_id_sale_periods"), "sale_periods",
                                 ["period_id", "product_id", "project_id"],
                                 ["id", "product_id", "project_id"])
    _only_rows_with_a_value("policies", "ix_policies_renewed_from_id", "renewed_from_id",
                            NOT_NULL_RENEWED)
    _only_rows_with_a_value("members", "ix_members_payer_id", "payer_id", NOT_NULL_PAYER)
    if sqlite:
        schema.sqlite_foreign_keys(on=True)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        schema.sqlite_foreign_keys(on=False)
    op.drop_index("ix_members_payer_id", table_name="members")
    op.create_index("ix_members_payer_id", "members", ["payer_id"])
    op.drop_index("ix_policies_renewed_from_id", table_name="policies")
    op.create_index("ix_policies_renewed_from_id", "policies", ["renewed_from_id"])
    with op.batch_alter_table("policies") as batch:
        batch.drop_constraint("fk_policies_period_id_sale_periods", type_="foreignkey")
        batch.create_foreign_key(batch.f("fk_policies_period_id_sale_periods"), "sale_periods",
                                 ["period_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_policies_product_id_products"), "products",
                                 ["product_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_policies_project_id_projects"), "projects",
                                 ["project_id"], ["id"])
    with op.batch_alter_table("sale_periods") as batch:
        batch.drop_constraint("uq_sale_periods_id_product_id_project_id", type_="unique")
        batch.drop_constraint("fk_sale_periods_product_id_products", type_="foreignkey")
        batch.create_foreign_key(batch.f("fk_sale_periods_product_id_products"), "products",
                                 ["product_id"], ["id"])
        batch.drop_column("project_id")
    with op.batch_alter_table("products") as batch:
        batch.drop_constraint("uq_products_id_project_id", type_="unique")
    if sqlite:
        schema.sqlite_foreign_keys(on=True)


def _only_rows_with_a_value(table: str, index: str, column: str, where) -> None:
    op.drop_index(index, table_name=table)
    op.create_index(index, table, [column], postgresql_where=where, sqlite_where=where)
