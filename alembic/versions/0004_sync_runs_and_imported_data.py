"""Sync runs (the queue), cursors, and the data imported from GESDENT.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gesdent_patients",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("gesdent_id", sa.String(length=100), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("phone", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("birth_date", sa.String(length=10), nullable=True),
        sa.Column("member_code", sa.String(length=64), nullable=True),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("remote_updated_at", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_gesdent_patients_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "gesdent_id", name=op.f("pk_gesdent_patients")),
    )
    op.create_table(
        "gesdent_reservations",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("gesdent_id", sa.String(length=100), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column("user_id", sa.String(length=100), nullable=True),
        sa.Column("treatment_code", sa.String(length=32), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("remote_updated_at", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_gesdent_reservations_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "gesdent_id", name=op.f("pk_gesdent_reservations")),
    )
    with op.batch_alter_table("gesdent_reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gesdent_reservations_instance_id_resource_id_starts_at"),
            ["instance_id", "resource_id", "starts_at"],
            unique=False,
        )

    op.create_table(
        "gesdent_resources",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("gesdent_id", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("remote_updated_at", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_gesdent_resources_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "gesdent_id", name=op.f("pk_gesdent_resources")),
    )
    op.create_table(
        "gesdent_slots",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("treatment_codes", sa.String(length=400), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_gesdent_slots_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "resource_id", "starts_at", name=op.f("pk_gesdent_slots")),
    )
    with op.batch_alter_table("gesdent_slots", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_gesdent_slots_instance_id_starts_at"), ["instance_id", "starts_at"], unique=False
        )

    op.create_table(
        "sync_cursors",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("stream", sa.String(length=32), nullable=False),
        sa.Column("updated_since", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_sync_cursors_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "stream", name=op.f("pk_sync_cursors")),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("full_refresh", sa.Boolean(), nullable=False),
        sa.Column("streams", sa.String(length=200), nullable=False),
        sa.Column("slot", sa.String(length=40), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_owner", sa.String(length=100), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'partial', 'failed')",
            name=op.f("ck_sync_runs_status_known"),
        ),
        sa.CheckConstraint(
            "trigger IN ('schedule', 'manual', 'webhook')", name=op.f("ck_sync_runs_trigger_known")
        ),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_sync_runs_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
        sa.UniqueConstraint("instance_id", "slot", name=op.f("uq_sync_runs_instance_id_slot")),
    )
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sync_runs_instance_id_requested_at"), ["instance_id", "requested_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sync_runs_status_lease_expires_at"), ["status", "lease_expires_at"], unique=False
        )
        batch_op.create_index(
            "uq_sync_runs_one_active",
            ["instance_id"],
            unique=True,
            sqlite_where=sa.text("status IN ('queued', 'running')"),
            postgresql_where=sa.text("status IN ('queued', 'running')"),
        )


def downgrade() -> None:
    with op.batch_alter_table("sync_runs", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_sync_runs_one_active",
            sqlite_where=sa.text("status IN ('queued', 'running')"),
            postgresql_where=sa.text("status IN ('queued', 'running')"),
        )
        batch_op.drop_index(batch_op.f("ix_sync_runs_status_lease_expires_at"))
        batch_op.drop_index(batch_op.f("ix_sync_runs_instance_id_requested_at"))

    op.drop_table("sync_runs")
    op.drop_table("sync_cursors")
    with op.batch_alter_table("gesdent_slots", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gesdent_slots_instance_id_starts_at"))

    op.drop_table("gesdent_slots")
    op.drop_table("gesdent_resources")
    with op.batch_alter_table("gesdent_reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gesdent_reservations_instance_id_resource_id_starts_at"))

    op.drop_table("gesdent_reservations")
    op.drop_table("gesdent_patients")
