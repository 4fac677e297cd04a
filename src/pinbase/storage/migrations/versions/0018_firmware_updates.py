"""Blynk.Air firmware updates (issue #12 point 2; device-lifecycle.md §1.6, §1.7)

- ``firmware_files``: uploaded firmware (the bytes in the data folder) with its ``blnkinf`` tag.
- ``shipments``: a firmware file shipped to devices of one template.
- ``shipment_devices``: each device's status in a shipment, with its download token.

Revision ID: 0018
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "firmware_files",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("md5", sa.String(32), nullable=False),
        sa.Column("sha256", sa.String(44), nullable=False),
        sa.Column("tag", sa.Text(), nullable=True),
        sa.Column("uploaded_at", sa.BigInteger(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "shipments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("org_id", sa.Integer(), sa.ForeignKey("organizations.id"), nullable=False),
        sa.Column("name", sa.String(40), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("firmware_id", sa.Integer(), sa.ForeignKey("firmware_files.id"), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("device_ids", sa.Text(), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=True),
        sa.Column("condition", sa.String(16), nullable=False),
        sa.Column("preferred_time", sa.String(16), nullable=False),
        sa.Column("attempts_limit", sa.Integer(), nullable=False),
        sa.Column("attempts_reset_s", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.UniqueConstraint("org_id", "name", name="uq_shipments_org_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "shipment_devices",
        sa.Column("shipment_id", sa.Integer(), sa.ForeignKey("shipments.id"), primary_key=True),
        sa.Column("device_id", sa.Integer(), sa.ForeignKey("devices.id"), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("download_token", sa.String(32), nullable=True, unique=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("attempts_since", sa.BigInteger(), nullable=True),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("from_version", sa.String(64), nullable=True),
        sa.Column("from_build", sa.String(64), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("shipment_devices")
    op.drop_table("shipments")
    op.drop_table("firmware_files")
