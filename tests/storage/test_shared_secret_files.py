"""Secrets made at first start in a data folder several processes share (issue #11): one wins,
the others read its file, and nobody reads a half-written one."""

import os
import stat
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from pinbase.storage.data_folder import read_or_create_secret


def test_the_first_start_writes_the_secret_privately_and_later_ones_read_it(
    tmp_path: Path,
) -> None:
    """A missing secret is made and written 0600 with no draft left behind; next time the
    stored one is read and ``make`` is not called."""
    path = tmp_path / "key.pem"
    assert read_or_create_secret(path, lambda: b"first") == b"first"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]

    def never() -> bytes:
        raise AssertionError("made again")

    assert read_or_create_secret(path, never) == b"first"


def test_the_loser_of_a_race_reads_the_winners_secret(tmp_path: Path) -> None:
    """When another process stores its secret while this one makes its own, this one answers
    the other's, and leaves no draft."""
    path = tmp_path / "key.pem"

    def made_while_another_process_wins() -> bytes:
        path.write_bytes(b"winner")
        return b"loser"

    assert read_or_create_secret(path, made_while_another_process_wins) == b"winner"
    assert path.read_bytes() == b"winner"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.pem"]


def _secret_of(path: str, content: bytes) -> bytes:
    return read_or_create_secret(Path(path), lambda: content)


def test_processes_starting_together_agree_on_one_secret(tmp_path: Path) -> None:
    """Eight processes asking at once for a missing secret all get the same complete one."""
    path = tmp_path / "key.pem"
    contents = [os.urandom(4096) for _ in range(8)]
    with ProcessPoolExecutor(max_workers=4) as pool:
        got = list(pool.map(_secret_of, [str(path)] * 8, contents))
    assert len(set(got)) == 1
    assert got[0] in contents
    assert path.read_bytes() == got[0]
