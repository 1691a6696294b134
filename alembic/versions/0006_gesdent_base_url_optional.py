"""An instance's GESDENT base_url becomes optional: PORTICO_GESDENT_BASE_URL applies when it is null.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # batch: SQLite cannot alter a column in place, so Alembic copies the table there.
    with op.batch_alter_table("gesdent_connections", schema=None) as batch_op:
        batch_op.alter_column("base_url", existing_type=sa.String(length=500), nullable=True)


def downgrade() -> None:
    # Rules that relied on the deployment's address cannot keep a null; they keep an empty address,
    # which fails their runs with a clear error until one is set.
    op.execute("UPDATE gesdent_connections SET base_url = '' WHERE base_url IS NULL")
    with op.batch_alter_table("gesdent_connections", schema=None) as batch_op:
        batch_op.alter_column("base_url", existing_type=sa.String(length=500), nullable=False)
