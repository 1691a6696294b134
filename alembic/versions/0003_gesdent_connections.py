"""GESDENT connection rules per instance (secrets encrypted at rest).

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gesdent_connections",
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("base_url", sa.String(length=500), nullable=False),
        sa.Column("resource_ids", sa.Text(), nullable=False),
        sa.Column("users_username", sa.String(length=200), nullable=False),
        sa.Column("users_password", sa.Text(), nullable=False),
        sa.Column("reservations_username", sa.String(length=200), nullable=False),
        sa.Column("reservations_password", sa.Text(), nullable=False),
        sa.Column("availability_username", sa.String(length=200), nullable=False),
        sa.Column("availability_password", sa.Text(), nullable=False),
        sa.Column("webhook_secret", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("interval_minutes", sa.Integer(), nullable=False),
        sa.Column("window_days", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("interval_minutes >= 1", name=op.f("ck_gesdent_connections_interval_positive")),
        sa.CheckConstraint("window_days >= 1", name=op.f("ck_gesdent_connections_window_positive")),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_gesdent_connections_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", name=op.f("pk_gesdent_connections")),
    )


def downgrade() -> None:
    op.drop_table("gesdent_connections")
