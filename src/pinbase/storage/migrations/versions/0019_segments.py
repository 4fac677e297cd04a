"""Device segments (issue #10, console.md Devices page "Segments", automations.md §3.5 Control
Segment)

A segment is a named set of devices of one organization (name at most 40 characters, unique in
the organization; at most 50 per organization, checked by the service). A static segment lists
its members (``segment_devices``), which may be devices of sub-organizations; a dynamic one
saves the Devices page's filters instead (``query``, the search text, and ``status``, ``ONLINE``
/ ``OFFLINE`` or empty; ``query`` is NULL for a static segment). A member row goes with its
device (every table with a ``device_id`` is cleared on device deletion) and with its segment.

Revision ID: 0019
Revises: 0016 (re-chained at merge)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "segments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("query", sa.String(length=255), nullable=True),
        sa.Column("status", sa.String(length=8), nullable=True),
        sa.UniqueConstraint("org_id", "name", name="uq_segments_org_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "segment_devices",
        sa.Column("segment_id", sa.Integer(), sa.ForeignKey("segments.id"), primary_key=True),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), primary_key=True),
    )
    op.create_index("ix_segment_devices_device", "segment_devices", ["device_id"])


def downgrade() -> None:
    op.drop_index("ix_segment_devices_device", table_name="segment_devices")
    op.drop_table("segment_devices")
    op.drop_table("segments")
