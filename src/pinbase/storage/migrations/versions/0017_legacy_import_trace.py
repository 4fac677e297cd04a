"""The legacy import's trace (issue #12; legacy-import.md §5.2 "import trace", §5.4 step 3)

``legacy_imports``: one row per legacy thing ``pinbase import-legacy`` created, keyed by its
legacy identity (``kind`` = ``user``, ``template`` or ``device``; ``legacy_key`` = e-mail,
appName, dashboard id, device id joined by ``|``), with the Pinbase id it became. A second run
skips what the table already names, and a token owned by a device missing from it is never
overwritten.

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "legacy_imports",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("legacy_key", sa.String(400), primary_key=True),
        sa.Column("pinbase_id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("imported_at", sa.BigInteger(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("legacy_imports")
