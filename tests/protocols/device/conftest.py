"""Fixtures for the device protocol tests: recorded conversations from tests/fixtures/frames."""

from collections.abc import Callable
from pathlib import Path

import pytest

FRAMES = Path(__file__).parents[2] / "fixtures" / "frames"

Recording = list[tuple[str, bytes]]
"""A conversation: ("<" or ">", one frame's bytes) in order; ">" is device to server."""


def read_recording(name: str) -> Recording:
    """Parse ``tests/fixtures/frames/<name>.hex``: one frame per line, ``#`` starts a comment."""
    frames = []
    for line in (FRAMES / f"{name}.hex").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            direction, _, hex_bytes = line.partition(" ")
            frames.append((direction, bytes.fromhex(hex_bytes)))
    return frames


@pytest.fixture
def recording() -> Callable[[str], Recording]:
    """A loader for the recorded conversations."""
    return read_recording
