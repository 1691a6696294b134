"""The portal availability search: the order of a search kept while its pages are read
(`portal_search_orders`), and an index on mappings by member and portal service, which the search's
explanations probe once per (member, portal service) pair: is it mapped, web-enabled, and does a
slot carry its code? (Checked with EXPLAIN on the data of bench/availability.py: the search itself
walks `ix_mappings_portal_id_portal_service_id` and `ix_gesdent_slots_instance_id_starts_at`, which
exist.)

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
        "portal_search_orders",
        sa.Column("search_id", sa.String(length=36), nullable=False),
        sa.Column("member_ids", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("search_id", name=op.f("pk_portal_search_orders")),
    )
    op.create_index(op.f("ix_portal_search_orders_created_at"), "portal_search_orders", ["created_at"])
    op.create_index(
        op.f("ix_mappings_member_id_portal_service_id"), "mappings", ["member_id", "portal_service_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_mappings_member_id_portal_service_id"), table_name="mappings")
    op.drop_index(op.f("ix_portal_search_orders_created_at"), table_name="portal_search_orders")
    op.drop_table("portal_search_orders")
