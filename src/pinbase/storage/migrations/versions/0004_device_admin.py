"""Device ids are never handed out twice: AUTOINCREMENT on SQLite's devices table

Deleting devices (PLT-DEV-11) made SQLite give the highest deleted id to the next device, so a
client still holding the old id, and per-device state kept in memory (event and upload limits),
would reach a different device. PostgreSQL sequences never go back; nothing changes there.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _rebuild_devices(*, autoincrement: bool) -> None:
    """Recreate ``devices`` (SQLite cannot alter a primary key) with or without AUTOINCREMENT.

    Other tables reference ``devices``; ``storage.migrate`` runs migrations with SQLite's
    foreign keys off, as a table rebuild needs, and checks them afterwards.
    """
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table(
        "devices", recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
    ):
        pass


def upgrade() -> None:
    _rebuild_devices(autoincrement=True)


def downgrade() -> None:
    _rebuild_devices(autoincrement=False)
