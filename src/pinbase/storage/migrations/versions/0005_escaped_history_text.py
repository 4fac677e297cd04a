"""History text is escaped: a backslash is stored as two, NUL as a backslash and ``0``

PostgreSQL ``text`` cannot hold NUL, the separator of multi-value strings, so one such point
failed a whole group commit. ``storage.codec.escape_text`` now writes ``history.text`` (and
``history_minutes.last_text``, copied from it) without NUL on both dialects. This migration
escapes the rows stored before: those holding a backslash, and on SQLite those holding NUL
(PostgreSQL never stored one). Such rows are rare, so they are rewritten one by one by key.

Revision ID: 0005
Revises: 0004
"""

import re
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("history", ("id",), "text"),
    ("history_minutes", ("device_id", "datastream_id", "minute"), "last_text"),
)
"""Each table with escaped text: its key columns and the text column."""


def _escape(text: str) -> str:
    # A copy of ``codec.escape_text`` as it was at this revision: a migration must not change
    # when the code it once matched does.
    return text.replace("\\", "\\\\").replace("\0", "\\0")


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\0])", lambda match: "\0" if match[1] == "0" else "\\", text)


def _rewrite(convert: Callable[[str], str], *, nul_too: bool) -> None:
    """Apply ``convert`` to every stored text holding a backslash (or NUL, on SQLite)."""
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table, keys, column in _COLUMNS:
        if sqlite:
            # SQLite's text functions take ``char(0)`` for an empty string; bytes find NUL.
            found = f"instr({column}, '\\') > 0"
            if nul_too:
                found += f" OR instr(CAST({column} AS BLOB), x'00') > 0"
        else:
            found = f"strpos({column}, '\\') > 0"
        key_list = ", ".join(keys)
        rows = bind.execute(
            sa.text(f"SELECT {key_list}, {column} FROM {table} WHERE {found}")  # noqa: S608 (constants)
        ).all()
        converted = [(row[:-1], convert(row[-1])) for row in rows]
        # Going back, PostgreSQL keeps escaped what the old schema could not hold.
        values = [
            {**dict(zip(keys, key, strict=True)), "text": text}
            for key, text in converted
            if sqlite or "\0" not in text
        ]
        if values:
            match = " AND ".join(f"{key} = :{key}" for key in keys)
            bind.execute(
                sa.text(f"UPDATE {table} SET {column} = :text WHERE {match}"),  # noqa: S608 (constants)
                values,
            )


def upgrade() -> None:
    _rewrite(_escape, nul_too=True)


def downgrade() -> None:
    _rewrite(_unescape, nul_too=False)
