"""Automations: the rules, their engine state, their run log and pending continuations

``automations`` keeps each automation's spec §3.1 JSON with the engine's state (arming, last run,
last schedule slot handled); ``automation_runs`` and ``automation_action_log`` are the log of
automations.md §3.7; ``automation_continuations`` holds what a run does after a WAIT. Datastreams
gain their automation setting (§3.2, JSON text; empty: the datastream takes part by its type).

Revision ID: 0013
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("datastreams") as batch_op:
        batch_op.add_column(sa.Column("automation", sa.Text(), nullable=True))
    op.create_table(
        "automations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_executed_at", sa.BigInteger(), nullable=True),
        sa.Column("armed", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("last_fired_at", sa.BigInteger(), nullable=True),
        sa.Column("last_slot_at", sa.BigInteger(), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_automations_org", "automations", ["org_id"])
    op.create_table(
        "automation_runs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("trigger_kind", sa.String(length=16), nullable=False),
        sa.Column("trigger_device_id", sa.Integer(), nullable=True),
        sa.Column("trigger_datastream_id", sa.Integer(), nullable=True),
        sa.Column("trigger_value", sa.Text(), nullable=True),
        sa.Column("started_at", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=True),
    )
    op.create_index(
        "ix_automation_runs_automation_started", "automation_runs", ["automation_id", "started_at"]
    )
    op.create_table(
        "automation_action_log",
        sa.Column("run_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("seq", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=True),
        sa.Column("datastream_id", sa.Integer(), nullable=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("ts", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "automation_continuations",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("automation_id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.BigInteger(), nullable=False),
        sa.Column("context", sa.Text(), nullable=False),
    )
    op.create_index("ix_automation_continuations_due", "automation_continuations", ["due_at"])
    op.create_index(
        "ix_automation_continuations_automation", "automation_continuations", ["automation_id"]
    )
    op.create_table(
        "automation_opt_outs",
        sa.Column("automation_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("device_id", sa.Integer(), primary_key=True, autoincrement=False),
    )


def downgrade() -> None:
    op.drop_table("automation_opt_outs")
    op.drop_table("automation_continuations")
    op.drop_table("automation_action_log")
    op.drop_table("automation_runs")
    op.drop_index("ix_automations_org", table_name="automations")
    op.drop_table("automations")
    with op.batch_alter_table("datastreams") as batch_op:
        batch_op.drop_column("automation")
