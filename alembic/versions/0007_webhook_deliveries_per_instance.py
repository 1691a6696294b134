"""Webhook deliveries are keyed by instance and webhook-id: one partner's id no longer pre-empts another's.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows are kept: every (instance_id, id) pair is unique already, since id alone was.
    # batch: SQLite cannot change a primary key in place, so Alembic copies the table there.
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("pk_webhook_deliveries", type_="primary")
        batch_op.create_primary_key("pk_webhook_deliveries", ["instance_id", "id"])


def downgrade() -> None:
    # The bare id must be unique again: of the records sharing an id, the earliest one is kept.
    op.execute(
        "DELETE FROM webhook_deliveries WHERE EXISTS ("
        " SELECT 1 FROM webhook_deliveries AS earlier"
        " WHERE earlier.id = webhook_deliveries.id"
        " AND (earlier.received_at < webhook_deliveries.received_at"
        " OR (earlier.received_at = webhook_deliveries.received_at"
        " AND earlier.instance_id < webhook_deliveries.instance_id)))"
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_constraint("pk_webhook_deliveries", type_="primary")
        batch_op.create_primary_key("pk_webhook_deliveries", ["id"])
