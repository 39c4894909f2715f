"""One key from a premium payment to its policy and project (issue 17 item 1).

- ``policies``: a unique key ``(project_id, id)``, which the payments' key points at (and
  which distribution by project needs anyway: a key between two distributed tables must
  hold the distribution column).
- ``premium_payments``: one composite key ``(project_id, policy_id)`` to ``policies
  (project_id, id)`` replaces a key to ``policies (id)`` and one to ``projects (id)``. The
  payment's policy must exist as before, and its project must now be that policy's (before,
  any project would do); the project exists because the policy's own key holds it through
  its period and product (0018). PostgreSQL checks a key with a trigger a row: a million
  paid enrolments made two million checks and now make one million.
- ``premium_payments``' unique key ``(project_id, id)`` and its index on ``policy_id``
  become one unique key ``(policy_id, project_id, id)``: project_id is still in a unique
  key (the shard rule), a policy's payments are found by its leading column, and a change
  to a policy's key finds the payments pointing at it by the first two. One index entry a
  payment fewer; the policies' new key adds one, so a paid enrolment writes as many index
  entries as before and one key check fewer.

SQLite rebuilds ``policies`` and ``premium_payments`` to change their keys, with foreign
keys off (dropping the old policies table would otherwise delete through the children's
keys) and ``PRAGMA foreign_key_check`` proving nothing was orphaned before the revision
commits (``mutua.schema.sqlite_foreign_keys``, as in 0018).

Revision ID: 0020
Revises: 0019
"""
from alembic import op

from mutua import schema

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.sqlite_foreign_keys(on=False)
    with op.batch_alter_table("policies") as batch:
        batch.create_unique_constraint(batch.f("uq_policies_project_id_id"), ["project_id", "id"])
    with op.batch_alter_table("premium_payments") as batch:
        batch.drop_constraint("fk_premium_payments_policy_id_policies", type_="foreignkey")
        batch.drop_constraint("fk_premium_payments_project_id_projects", type_="foreignkey")
        batch.drop_constraint("uq_premium_payments_project_id_id", type_="unique")
        batch.drop_index("ix_premium_payments_policy_id")
        batch.create_unique_constraint(batch.f("uq_premium_payments_policy_id_project_id_id"),
                                       ["policy_id", "project_id", "id"])
        batch.create_foreign_key(batch.f("fk_premium_payments_project_id_policies"), "policies",
                                 ["project_id", "policy_id"], ["project_id", "id"])
    schema.sqlite_foreign_keys(on=True)


def downgrade() -> None:
    schema.sqlite_foreign_keys(on=False)
    with op.batch_alter_table("premium_payments") as batch:
        batch.drop_constraint("fk_premium_payments_project_id_policies", type_="foreignkey")
        batch.drop_constraint("uq_premium_payments_policy_id_project_id_id", type_="unique")
        batch.create_index(batch.f("ix_premium_payments_policy_id"), ["policy_id"])
        batch.create_unique_constraint(batch.f("uq_premium_payments_project_id_id"),
                                       ["project_id", "id"])
        batch.create_foreign_key(batch.f("fk_premium_payments_project_id_projects"), "projects",
                                 ["project_id"], ["id"])
        batch.create_foreign_key(batch.f("fk_premium_payments_policy_id_policies"), "policies",
                                 ["policy_id"], ["id"])
    with op.batch_alter_table("policies") as batch:
        batch.drop_constraint("uq_policies_project_id_id", type_="unique")
    schema.sqlite_foreign_keys(on=True)
