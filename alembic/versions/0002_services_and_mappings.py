"""Services and mappings (invariants 4, 5 and 6 held by constraints).

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # First: the mappings' foreign key needs this unique constraint.
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_unique_constraint(
            batch_op.f("uq_memberships_member_id_portal_id"), ["member_id", "portal_id"]
        )
    op.create_table(
        "services",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("instance_id", sa.String(length=36), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("price", sa.Numeric(precision=10, scale=2), nullable=True),
        sa.Column("web_enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("duration_minutes > 0", name=op.f("ck_services_duration_positive")),
        sa.CheckConstraint("price IS NULL OR price >= 0", name=op.f("ck_services_price_not_negative")),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["instances.id"],
            name=op.f("fk_services_instance_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_services")),
        sa.UniqueConstraint("instance_id", "code", name=op.f("uq_services_instance_id_code")),
        sa.UniqueConstraint("instance_id", "id", name=op.f("uq_services_instance_id_id")),
    )
    op.create_table(
        "mappings",
        sa.Column("member_service_id", sa.String(length=36), nullable=False),
        sa.Column("portal_service_id", sa.String(length=36), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("portal_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id", "member_service_id"],
            ["services.instance_id", "services.id"],
            name=op.f("fk_mappings_member_id_services"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id", "portal_id"],
            ["memberships.member_id", "memberships.portal_id"],
            name=op.f("fk_mappings_member_id_memberships"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.ForeignKeyConstraint(
            ["portal_id", "portal_service_id"],
            ["services.instance_id", "services.id"],
            name=op.f("fk_mappings_portal_id_services"),
            deferrable=True,
            initially="DEFERRED",
        ),
        sa.PrimaryKeyConstraint("member_service_id", name=op.f("pk_mappings")),
    )
    with op.batch_alter_table("mappings", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_mappings_member_id"), ["member_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_mappings_portal_id_portal_service_id"),
            ["portal_id", "portal_service_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("mappings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_mappings_portal_id_portal_service_id"))
        batch_op.drop_index(batch_op.f("ix_mappings_member_id"))

    op.drop_table("mappings")
    op.drop_table("services")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_memberships_member_id_portal_id"), type_="unique")
