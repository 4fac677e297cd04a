"""User password hashes are stored as argon2id of the client hash

Until now ``users.password_hash`` held the ``passwordHash`` a client sent,
``base64(sha256(password ‖ sha256(lower(email))))``: one fast SHA-256 per guess for whoever
copies the database. ``services.passwords`` now stores argon2id of it as a PHC string (about 97
characters, so the column widens to 255). This migration hashes every stored value the same way;
since the stored value is exactly what a client sends, verification keeps working and users
notice nothing.

Cost: one argon2 hash per user with a password, about 0.1 s each on a 2-core machine
(docs/decisions.md). The client hash cannot be recovered from argon2id, so a downgrade keeps the
argon2id values and the wider column: the code before this revision never reads them (nothing
signed in yet), and upgrading again hashes only the client hashes stored in between.

Revision ID: 0007
Revises: 0005
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from argon2 import PasswordHasher, Type

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger(__name__)

# The parameters of ``services.passwords.PARAMETERS`` at this revision, written out: a migration
# must not change when the code it once matched does. Later parameters are applied on sign-in.
_HASHER = PasswordHasher(
    time_cost=3, memory_cost=65536, parallelism=4, hash_len=32, salt_len=16, type=Type.ID
)


def _widen(*, length: int, was: int) -> None:
    """Change the column's declared width. SQLite rebuilds the table: if a migration gave it
    AUTOINCREMENT, the new table gets it too, and the highest id ever given (which the rebuild
    would lower to the highest id left), so that no deleted user's id comes back."""
    bind = op.get_bind()
    autoincrement, high_water = False, None
    if bind.dialect.name == "sqlite":
        sql = bind.execute(sa.text("SELECT sql FROM sqlite_master WHERE name = 'users'")).scalar()
        autoincrement = "AUTOINCREMENT" in str(sql).upper()
        if autoincrement:
            high_water = bind.execute(
                sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'users'")
            ).scalar()
    with op.batch_alter_table(
        "users", table_kwargs={"sqlite_autoincrement": autoincrement}
    ) as batch:
        batch.alter_column(
            "password_hash",
            existing_type=sa.String(length=was),
            type_=sa.String(length=length),
            existing_nullable=True,
        )
    if high_water is not None:
        bind.execute(sa.text("DELETE FROM sqlite_sequence WHERE name = 'users'"))
        bind.execute(
            sa.text("INSERT INTO sqlite_sequence (name, seq) VALUES ('users', :seq)"),
            {"seq": high_water},
        )


def upgrade() -> None:
    _widen(length=255, was=64)
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, password_hash FROM users"
            " WHERE password_hash IS NOT NULL AND password_hash NOT LIKE '$argon2%'"
        )
    ).all()
    if rows:
        logger.info("migration.0007 hashing %d user passwords with argon2id", len(rows))
        bind.execute(
            sa.text("UPDATE users SET password_hash = :stored WHERE id = :id"),
            [{"id": row.id, "stored": _HASHER.hash(row.password_hash)} for row in rows],
        )


def downgrade() -> None:
    """Nothing to undo that can be undone (see the module docstring)."""
