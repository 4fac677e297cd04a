"""Webhooks and their delivery log (issue #10, automations.md §4)

``webhooks`` keeps each webhook's trigger scope in columns and the rest of its configuration as
JSON, with its version, attempts counter and failure streak; ``webhook_log`` keeps one row per
delivery (status, code, masked request URL, the delivery id, the version used, up to 16 KB of
the response with a truncated flag), aged out after 90 days.

Revision ID: 0014
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger_kind", sa.String(length=32), nullable=False),
        sa.Column("trigger_template_id", sa.Integer(), nullable=True),
        sa.Column("trigger_device_id", sa.Integer(), nullable=True),
        sa.Column("trigger_datastream_id", sa.Integer(), nullable=True),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("failure_streak", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("last_triggered_at", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_webhooks_org", "webhooks", ["org_id"])
    op.create_table(
        "webhook_log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.Integer(), sa.ForeignKey("webhooks.id"), nullable=False),
        sa.Column("delivery_id", sa.String(length=64), nullable=False, unique=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("request_url", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.Column("retry_after", sa.String(length=64), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("truncated", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_webhook_log_webhook_created", "webhook_log", ["webhook_id", "created_at"])
    op.create_index("ix_webhook_log_created", "webhook_log", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_webhook_log_created", table_name="webhook_log")
    op.drop_index("ix_webhook_log_webhook_created", table_name="webhook_log")
    op.drop_table("webhook_log")
    op.drop_index("ix_webhooks_org", table_name="webhooks")
    op.drop_table("webhooks")
