"""Event notifications: settings of template events, the notification log and the limit state

Template events gain their notification settings (automations.md §1.2, JSON text; empty: off),
"Show on timeline" and "Send event to Notifications tab" (both on for existing rows, which were
always shown). New tables: ``notification_log`` (one row per planner decision and final delivery
outcome, §5.4), ``notification_limits`` (the Event Counter and Limit Period state per device and
event, §1.4), ``notification_last_message`` (the 5 s minimum interval per device and channel,
§1.7), ``notification_quota`` (automation messages per organization over a rolling hour) and
``device_status`` (the last presence seen and the first connection, for lifecycle notifications).

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("template_events") as batch_op:
        batch_op.add_column(sa.Column("notifications", sa.Text(), nullable=True))
        batch_op.add_column(
            sa.Column("show_on_timeline", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch_op.add_column(
            sa.Column(
                "send_to_notifications_tab",
                sa.Boolean(),
                nullable=False,
                server_default=sa.true(),
            )
        )
    op.create_table(
        "notification_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("recipient", sa.String(length=255), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("outbox_id", sa.String(length=32), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
    )
    op.create_index("ix_notification_log_org", "notification_log", ["org_id", "id"])
    op.create_index("ix_notification_log_device", "notification_log", ["device_id", "id"])
    op.create_index("ix_notification_log_user", "notification_log", ["user_id", "id"])
    op.create_index("ix_notification_log_outbox", "notification_log", ["outbox_id"])
    op.create_index("ix_notification_log_created", "notification_log", ["created_at"])
    op.create_table(
        "notification_limits",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("event_id", sa.Integer(), primary_key=True),
        sa.Column("limits_key", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("period_started_at", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "notification_last_message",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(length=8), primary_key=True),
        sa.Column("ts", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "notification_quota",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_notification_quota_org_ts", "notification_quota", ["org_id", "ts"])
    op.create_table(
        "device_status",
        sa.Column("device_id", sa.Integer(), primary_key=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("changed_at", sa.BigInteger(), nullable=False),
        sa.Column("first_connected_at", sa.BigInteger(), nullable=False),
    )
    # Devices that show they connected before (firmware facts, or values) are taken as online
    # and long known: upgrading must not announce a first connection or an Online notification
    # for each of them when they reconnect to the upgraded server.
    op.execute(
        "INSERT INTO device_status (device_id, online, changed_at, first_connected_at) "
        "SELECT id, true, created_at, created_at FROM devices "
        "WHERE hardware_info IS NOT NULL "
        "OR id IN (SELECT device_id FROM current_values)"
    )


def downgrade() -> None:
    op.drop_table("device_status")
    op.drop_index("ix_notification_quota_org_ts", table_name="notification_quota")
    op.drop_table("notification_quota")
    op.drop_table("notification_last_message")
    op.drop_table("notification_limits")
    for name in ("created", "outbox", "user", "device", "org"):
        op.drop_index(f"ix_notification_log_{name}", table_name="notification_log")
    op.drop_table("notification_log")
    with op.batch_alter_table("template_events") as batch_op:
        batch_op.drop_column("send_to_notifications_tab")
        batch_op.drop_column("show_on_timeline")
        batch_op.drop_column("notifications")
