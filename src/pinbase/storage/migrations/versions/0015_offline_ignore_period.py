"""Templates' offline ignore period (issue #10, data-model.md §4.4, automations.md §1.6)

``templates.offline_ignore_period``: seconds a disconnect may last before the Offline
notification goes out; 0 (every existing template) is off.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ALTER TABLE … ADD COLUMN on both engines: a batch rebuild on SQLite would drop the
    # table's AUTOINCREMENT (migration 0006) and let a deleted template's id be handed out again.
    op.add_column(
        "templates",
        sa.Column(
            "offline_ignore_period", sa.Integer(), nullable=False, server_default=sa.text("0")
        ),
    )


def downgrade() -> None:
    # Dropping a column rebuilds the table on SQLite; templates keeps AUTOINCREMENT (0006).
    with op.batch_alter_table("templates", table_kwargs={"sqlite_autoincrement": True}) as batch:
        batch.drop_column("offline_ignore_period")
