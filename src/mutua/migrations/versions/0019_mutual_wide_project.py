"""The last four large tables become shardable by project (issue 17 item 3).

``health_observations``, ``governance_ballots``, ``notifications`` and
``notification_deliveries`` held rows that belong to no insurance pool (a patient's labs
before any kidney policy, a mutual-wide proposal's ballots, account notices and a mutual-wide
vote's notices), so their ``project_id`` could be NULL and was in no key. This revision:

- creates the mutual-wide project (catalog/mutual.py: code ``(mutual)``, which no catalogue
  file can name) when the database has none;
- gives every row a project: an observation its patient's latest kidney policy's project
  (as health.patients.ckd_projects decides for new labs), a ballot its proposal's, a
  delivery its notification's, and the mutual-wide project where none is known;
- makes ``project_id`` NOT NULL and puts it in a key, adding no index a table did not need:
  notifications' ``(project_id, id)`` replaces the plain ``project_id`` index;
  deliveries' ``(notification_id, project_id, id)`` replaces the ``notification_id`` index
  (a notification's deliveries are found by its first column as before); ballots'
  primary key ``(proposal_id, receipt)`` ends with ``project_id`` (the proposal fixes the
  project, so it refuses the same rows); observations gain ``(project_id, id)``, their
  one new index (their unique key is the dedup key by patient, which must not depend on a
  project that changes when the patient takes a kidney policy).

SQLite rebuilds the four tables, with foreign keys off and ``PRAGMA foreign_key_check``
after, as 0018 does. The downgrade puts NULL back where the mutual-wide project stood and
removes that project.

Revision ID: 0019
Revises: 0018
"""
import sqlalchemy as sa
from alembic import op

from mutua.schema import sqlite_foreign_keys as _foreign_keys  # no-op on PostgreSQL

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# catalog/mutual.py's MUTUAL_CODE and row, copied: a revision must not change when code does.
MUTUAL_CODE = "(mutual)"
MUTUAL_ROW = {"code": MUTUAL_CODE, "name_zh": "全体会员", "name_en": "The whole mutual",
              "target_group": "every member (not an insurance pool)", "status": "active",
              "reserving_method": "bf", "a_priori_loss_ratio": 0.6}

LATEST_KIDNEY_PROJECT = (
    "SELECT p.project_id FROM policies p JOIN products pr ON pr.id = p.product_id "
    "WHERE pr.line = 'ckd' AND p.member_id = health_observations.member_id "
    "ORDER BY p.cover_start DESC, p.id DESC LIMIT 1")
BACKFILL = [
    "UPDATE health_observations SET project_id = COALESCE((" + LATEST_KIDNEY_PROJECT
    + "), :mutual) WHERE project_id IS NULL",
    "UPDATE governance_ballots SET project_id = COALESCE((SELECT g.project_id FROM "
    "governance_proposals g WHERE g.id = governance_ballots.proposal_id), :mutual) "
    "WHERE project_id IS NULL",
    "UPDATE notifications SET project_id = :mutual WHERE project_id IS NULL",
    "UPDATE notification_deliveries SET project_id = COALESCE((SELECT n.project_id FROM "
    "notifications n WHERE n.id = notification_deliveries.notification_id), :mutual) "
    "WHERE project_id IS NULL",
]
TABLES = ["health_observations", "governance_ballots", "notifications",
          "notification_deliveries"]


def upgrade() -> None:
    mutual = _mutual_project_id()
    for sql in BACKFILL:
        op.execute(sa.text(sql).bindparams(mutual=mutual))
    _foreign_keys(on=False)
    with op.batch_alter_table("health_observations") as batch:
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(batch.f("uq_health_observations_project_id_id"),
                                       ["project_id", "id"])
    with op.batch_alter_table("notifications") as batch:
        batch.drop_index("ix_notifications_project_id")
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(batch.f("uq_notifications_project_id_id"),
                                       ["project_id", "id"])
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.drop_index("ix_notification_deliveries_notification_id")
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            batch.f("uq_notification_deliveries_notification_id_project_id_id"),
            ["notification_id", "project_id", "id"])
    with op.batch_alter_table("governance_ballots") as batch:
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("pk_governance_ballots", type_="primary")
        batch.create_primary_key("pk_governance_ballots",
                                 ["proposal_id", "receipt", "project_id"])
    _foreign_keys(on=True)


def downgrade() -> None:
    _foreign_keys(on=False)
    with op.batch_alter_table("governance_ballots") as batch:
        batch.drop_constraint("pk_governance_ballots", type_="primary")
        batch.create_primary_key("pk_governance_ballots", ["proposal_id", "receipt"])
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
    with op.batch_alter_table("notification_deliveries") as batch:
        batch.drop_constraint("uq_notification_deliveries_notification_id_project_id_id",
                              type_="unique")
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index("ix_notification_deliveries_notification_id", ["notification_id"])
    with op.batch_alter_table("notifications") as batch:
        batch.drop_constraint("uq_notifications_project_id_id", type_="unique")
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
        batch.create_index("ix_notifications_project_id", ["project_id"])
    with op.batch_alter_table("health_observations") as batch:
        batch.drop_constraint("uq_health_observations_project_id_id", type_="unique")
        batch.alter_column("project_id", existing_type=sa.Integer(), nullable=True)
    _foreign_keys(on=True)
    mutual = op.get_bind().scalar(sa.text("SELECT id FROM projects WHERE code = :code"),
                                  {"code": MUTUAL_CODE})
    if mutual is None:
        return
    for table in TABLES:
        op.execute(sa.text(f"UPDATE {table} SET project_id = NULL WHERE project_id = :mutual")
                   .bindparams(mutual=mutual))
    op.execute(sa.text("DELETE FROM projects WHERE id = :mutual").bindparams(mutual=mutual))


def _mutual_project_id() -> int:
    bind = op.get_bind()
    find = sa.text("SELECT id FROM projects WHERE code = :code")
    found = bind.scalar(find, {"code": MUTUAL_CODE})
    if found is None:
        names = ", ".join(MUTUAL_ROW)
        values = ", ".join(f":{k}" for k in MUTUAL_ROW)
        bind.execute(sa.text(f"INSERT INTO projects ({names}) VALUES ({values})"), MUTUAL_ROW)
        found = bind.scalar(find, {"code": MUTUAL_CODE})
    return found

