"""A generation per portal (`portal_search_generations`), grown in the transaction of every write that
can change the portal's availability search: each process keeps answers under the generation they
were computed with and serves one again only while the row still says so (app/search_cache.py).

Revision ID: 0021
Revises: 0020
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "portal_search_generations",
        sa.Column("portal_id", sa.String(length=36), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["portal_id"],
            ["instances.id"],
            name=op.f("fk_portal_search_generations_portal_id_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("portal_id", name=op.f("pk_portal_search_generations")),
    )


def downgrade() -> None:
    op.drop_table("portal_search_generations")
