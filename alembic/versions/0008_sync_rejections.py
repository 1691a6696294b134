"""Records a sync run rejected (malformed): which record and field, and why; never a value.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sync_rejections",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=36), nullable=False),
        sa.Column("stream", sa.String(length=16), nullable=False),
        sa.Column("resource_id", sa.String(length=100), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.String(length=100), nullable=True),
        sa.Column("field", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_rejections_run_id_sync_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_rejections")),
    )
    with op.batch_alter_table("sync_rejections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sync_rejections_run_id_id"), ["run_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sync_rejections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sync_rejections_run_id_id"))

    op.drop_table("sync_rejections")
