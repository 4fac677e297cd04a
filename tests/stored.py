"""Read what the server stored, straight from its SQLite file (read-only, WAL allows it), and
write what no Pinbase API writes yet (tags)."""

import sqlite3
from pathlib import Path


def history(data_dir: Path, device_id: int) -> list[tuple[int, int, float | None, str | None]]:
    """``(datastream_id, ts, num, text)`` of every history point of a device, oldest first."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT datastream_id, ts, num, text FROM history WHERE device_id = ? ORDER BY id",
            (device_id,),
        ).fetchall()


def put_tags(data_dir: Path, org_id: int, device_id: int, names: list[str]) -> list[int]:
    """Tag a device straight in the session's SQLite database: no Pinbase API writes tags yet."""
    ids = []
    with sqlite3.connect(data_dir / "pinbase.db", timeout=10) as db:
        for name in names:
            cursor = db.execute(
                "INSERT INTO tags (org_id, name, owner_user_id, created_at) VALUES (?, ?, NULL, 0)",
                (org_id, name),
            )
            assert cursor.lastrowid is not None
            ids.append(cursor.lastrowid)
            db.execute(
                "INSERT INTO device_tags (device_id, tag_id) VALUES (?, ?)",
                (device_id, cursor.lastrowid),
            )
    return ids
