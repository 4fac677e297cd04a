"""Per-minute history aggregates (data-model.md §2.7)

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
        "history_minutes",
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("datastream_id", sa.Integer(), nullable=False),
        sa.Column("minute", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("num_count", sa.Integer(), nullable=False),
        sa.Column("min", sa.Float(), nullable=True),
        sa.Column("max", sa.Float(), nullable=True),
        sa.Column("sum", sa.Float(), nullable=True),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_text", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("device_id", "datastream_id", "minute"),
        sqlite_with_rowid=False,
    )
    # Points stored before this revision are folded once, so reports answer the same after it.
    op.execute(
        "INSERT INTO history_minutes (device_id, datastream_id, minute, count, num_count,"
        " min, max, sum, last_ts, last_text)"
        " SELECT device_id, datastream_id, minute, COUNT(*), COUNT(num), MIN(num), MAX(num),"
        " SUM(num), MAX(ts), NULL"
        " FROM (SELECT device_id, datastream_id, ts, num,"
        " ts - ((ts % 60000) + 60000) % 60000 AS minute FROM history) AS points"
        " GROUP BY device_id, datastream_id, minute"
    )
    op.execute(
        "UPDATE history_minutes SET last_text = (SELECT h.text FROM history AS h"
        " WHERE h.device_id = history_minutes.device_id"
        " AND h.datastream_id = history_minutes.datastream_id"
        " AND h.ts = history_minutes.last_ts ORDER BY h.id DESC LIMIT 1)"
    )


def downgrade() -> None:
    op.drop_table("history_minutes")
