"""Builder of the synthetic legacy history folder (legacy-import.md §6, ``history`` row).

``build_history_folder`` writes ``tests/fixtures/legacy/history/`` as committed; a test checks
the committed copy against it, so the bytes there are documented here. Records are packed with
``struct.pack('>dq', value, ts)``, as the spec says. Run ``python tests/services/lhist_folder.py``
to rewrite the committed copy.
"""

import gzip
import math
import struct
from pathlib import Path

FIXTURE = Path(__file__).parent.parent / "fixtures" / "legacy" / "history"
"""The committed copy of the folder."""

NEW_YEAR = 1_609_459_200_000
"""2021-01-01T00:00Z: most buckets are near it."""
NOW = NEW_YEAR + 180 * 86_400_000
"""The present the tests pass to the importer (§3.1's plausibility check)."""
MINUTE, HOUR, DAY = 60_000, 3_600_000, 86_400_000

GHOST_EMAIL = "ghost@example.com"
SANITIZED_EMAIL = "o'neil+iot@example.com"
"""An email fork AM writes as folder ``o_neil_iot@example.com``."""
APP = "blynkAbCd1234"


def pack(*records: tuple[float, int]) -> bytes:
    """Records (value, ts) as the legacy reporting worker appended them."""
    return b"".join(struct.pack(">dq", value, ts) for value, ts in records)


def write(root: Path, relative: str, data: bytes) -> None:
    """Write one file of the folder, creating its parents."""
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def build_history_folder(root: Path) -> None:
    """The §6 ``history`` fixture (plus the ``v0.30`` history name) under ``root``.

    x@example.com (Blynk): dashboard 1 with devices 0 and 1, dashboard 10 with device 0.
    x@example.com (blynkAbCd1234): dashboard 3, device 0. o'neil+iot@example.com: dashboard 4.
    carol@example.com: dashboard 20 with one device, 21 with two (raw CSV logs of 0.21).
    """
    t = NEW_YEAR
    x = "data/x@example.com"
    # Minute, hourly and daily files of one pin, overlapping in time (§3.3).
    write(
        root,
        f"{x}/history_1-0_v1_minute.bin",
        pack(*[(20.0 + n, t + 10 * HOUR + n * MINUTE) for n in range(5)]),
    )
    write(
        root,
        f"{x}/history_1-0_v1_hourly.bin",
        pack((10.0, t), (11.0, t + HOUR), (12.0, t + 10 * HOUR)),
    )
    write(root, f"{x}/history_1-0_v1_daily.bin", pack((1.0, t - 2 * DAY), (2.0, t - DAY), (3.0, t)))
    # Unsorted, a duplicate stamp, a NaN record and 7 bytes of a crashed append: size % 16 == 7.
    torn = pack((2.4, t + 2 * MINUTE), (1.6, t), (math.nan, t + MINUTE), (3.5, t + 2 * MINUTE))
    write(root, f"{x}/history_1-1_v2_minute.bin", torn + b"\x40\x37\x80\x00\x00\x00\x00")
    # Orphans: a device, a dashboard and a pin the profile no longer has.
    write(root, f"{x}/history_1-9_v1_minute.bin", pack((1.0, t)))
    write(root, f"{x}/history_2-0_v5_daily.bin", pack((1.0, t)))
    write(root, f"{x}/history_1-0_v7_minute.bin", pack((1.0, t)))
    # v0.30: device 0 without a device part, beside the renamed file; the new name wins a tie.
    write(root, f"{x}/history_10_v1_minute.bin", pack((1.0, t), (2.0, t + MINUTE)))
    write(root, f"{x}/history_10-0_v1_minute.bin", pack((5.0, t + MINUTE), (6.0, t + 2 * MINUTE)))
    # An App Export user's folder, and one fork AM sanitized.
    write(
        root, f"data/x@example.com_{APP}/history_3-0_v1_hourly.bin", pack((7.0, t), (8.0, t + HOUR))
    )
    write(
        root,
        "data/o_neil_iot@example.com/history_4-0_d13_minute.bin",
        pack((1.0, t), (0.0, t + MINUTE), (0.75, t + 2 * MINUTE)),
    )
    # A user nobody imports.
    write(root, f"data/{GHOST_EMAIL}/history_1-0_v1_minute.bin", pack((1.0, t)))
    # Raw CSV logs of a 0.21 server: today's file and a rolled one; one line is not a record.
    write(root, "data/carol@example.com/20_v3.csv", f"21.5,{t}\nON,{t + 1000}\n".encode())
    rolled = f"22,{t - DAY}\nnot a record\n".encode()
    write(root, "data/carol@example.com/20_v3-2020-12-31.csv.gz", gzip.compress(rolled, mtime=0))
    write(root, "data/carol@example.com/21_v1.csv", f"1,{t}\n".encode())
    # Noise the importer ignores (§1.2).
    write(root, "data/minute_temp.bin", b"\xac\xed\x00\x05")
    write(root, "data/tokens_pool_temp.bin", b"\xac\xed\x00\x05")
    write(root, f"{x}/export_v1.csv.gz", gzip.compress(b"1,2\n", mtime=0))
    write(root, "logs/blynk.log", b"started\n")


if __name__ == "__main__":
    build_history_folder(FIXTURE)
