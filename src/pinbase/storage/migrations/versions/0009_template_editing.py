"""Template editing: the datastream settings the console edits and the web dashboard layout

Datastreams gain colour, invalidation (after how many seconds, and what to show then) and wait
for confirmation (data-model.md §1.7.1); templates gain their web dashboard layout as JSON text
(console.md §3.3). Existing rows keep every value they had: the new columns are empty, and the
invalidation policy is ``NOTHING``, Blynk's default.

Revision ID: 0009
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datastreams") as batch_op:
        batch_op.add_column(sa.Column("color", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("invalidate_after", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "invalidate_policy",
                sa.String(length=16),
                nullable=False,
                server_default="NOTHING",
            )
        )
        batch_op.add_column(sa.Column("wait_confirmation", sa.Integer(), nullable=True))
    with op.batch_alter_table("templates") as batch_op:
        batch_op.add_column(sa.Column("dashboard", sa.Text(), nullable=True))


def downgrade() -> None:
    # Dropping a column rebuilds the table on SQLite; templates keeps AUTOINCREMENT (0006).
    with op.batch_alter_table("templates", table_kwargs={"sqlite_autoincrement": True}) as batch_op:
        batch_op.drop_column("dashboard")
    with op.batch_alter_table("datastreams") as batch_op:
        batch_op.drop_column("wait_confirmation")
        batch_op.drop_column("invalidate_policy")
        batch_op.drop_column("invalidate_after")
        batch_op.drop_column("color")
