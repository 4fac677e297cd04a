"""End-user notification management, the timeline flag per occurrence, the actions log's client
(issue #10; automations.md §1.5, §1.10; console.md's Actions Log)

- ``device_event_notifications``: a device's per-event override (user-chosen recipients per
  channel, ``muted_until``).
- ``device_events.visible_on_timeline``: the event's "Show on timeline" copied when logged;
  existing rows take the event's current setting, which is what the timeline showed until now.
- ``device_actions.client`` and ``trigger_name``: ``WEB`` for rows with a user's e-mail (console
  writes), ``HTTPS_API`` for the others, ``AUTOMATION`` from now on for automation writes.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "device_event_notifications",
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), primary_key=True),
        sa.Column("event_id", sa.Integer(), primary_key=True),
        sa.Column("channels", sa.Text(), nullable=False),
        sa.Column("muted_until", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
    )
    # Plain ALTER TABLE … ADD COLUMN on both engines: no table rebuild.
    op.add_column(
        "device_events",
        sa.Column("visible_on_timeline", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.execute(
        "UPDATE device_events SET visible_on_timeline = false WHERE EXISTS ("
        " SELECT 1 FROM devices JOIN template_events"
        " ON template_events.template_id = devices.template_id"
        " WHERE devices.id = device_events.device_id"
        " AND template_events.id = device_events.event_id"
        " AND template_events.show_on_timeline = false)"
    )
    op.add_column(
        "device_actions",
        sa.Column("client", sa.String(16), nullable=False, server_default="HTTPS_API"),
    )
    op.add_column("device_actions", sa.Column("trigger_name", sa.String(100), nullable=True))
    op.execute("UPDATE device_actions SET client = 'WEB' WHERE trigger_user_email IS NOT NULL")


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35): neither table has AUTOINCREMENT to lose, and
    # none of these columns is indexed, so no rebuild is needed.
    op.drop_column("device_actions", "trigger_name")
    op.drop_column("device_actions", "client")
    op.drop_column("device_events", "visible_on_timeline")
    op.drop_table("device_event_notifications")
