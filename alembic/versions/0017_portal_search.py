"""The portal availability search: the order of a search kept while its pages are read
(`portal_search_ranks`), and an index on mappings by member and portal service, which the search
probes once per slot it reads to ask "does this slot offer a web-enabled service mapped to one of
the asked portal services?".

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_search_ranks",
        sa.Column("search_id", sa.String(length=36), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["instances.id"],
            name=op.f("fk_portal_search_ranks_member_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("search_id", "rank", name=op.f("pk_portal_search_ranks")),
    )
    op.create_index(op.f("ix_portal_search_ranks_created_at"), "portal_search_ranks", ["created_at"])
    op.create_index(
        op.f("ix_mappings_member_id_portal_service_id"), "mappings", ["member_id", "portal_service_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mappings_member_id_portal_service_id"), table_name="mappings")
    op.drop_index(op.f("ix_portal_search_ranks_created_at"), table_name="portal_search_ranks")
    op.drop_table("portal_search_ranks")
