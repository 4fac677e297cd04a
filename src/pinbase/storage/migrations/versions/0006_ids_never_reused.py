"""Organization, user, template and OAuth client ids are never handed out twice: AUTOINCREMENT

Without it SQLite gives the highest deleted id to the next row. A deleted organization's id went
to the next organization created, so anything still naming the old id (a cached access token,
a client's stored ``orgId``, a URL) reached another tenant (issue #8). Users (``ownerUserId``,
PLT-USR by id) and templates (PLT-TPL by id) are named by id the same way; OAuth clients are
named by their random ``client_id``, but their integer id gets the same rule so that no table
a tenant owns hands an id out twice. Migration 0004 did this for devices. PostgreSQL sequences
never go back; nothing changes there.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("organizations", "users", "templates", "oauth_clients")


def _rebuild(*, autoincrement: bool) -> None:
    """Recreate each table (SQLite cannot alter a primary key) with or without AUTOINCREMENT.

    Other tables reference these; ``storage.migrate`` runs migrations with SQLite's foreign keys
    off, as a table rebuild needs, and checks them afterwards. AUTOINCREMENT continues above the
    highest id present, so ids already deleted before this migration may still be reused once.
    """
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
