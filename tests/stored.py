"""Read what the server stored, straight from its SQLite file (read-only, WAL allows it)."""

import sqlite3
from pathlib import Path


def history(data_dir: Path, device_id: int) -> list[tuple[int, int, float | None, str | None]]:
    """``(datastream_id, ts, num, text)`` of every history point of a device, oldest first."""
    with sqlite3.connect(f"file:{data_dir / 'pinbase.db'}?mode=ro", uri=True) as db:
        return db.execute(
            "SELECT datastream_id, ts, num, text FROM history WHERE device_id = ? ORDER BY id",
            (device_id,),
        ).fetchall()
