"""Waiting, in async tests, for something another task or node does: messages crossing an
in-process network or a real Redis, a batch an engine settles."""

import asyncio
from collections.abc import Callable

import pytest


async def eventually(check: Callable[[], bool], *, within_s: float, every_s: float = 0.01) -> None:
    """Wait until ``check()`` holds, looking every ``every_s``; fail the test after
    ``within_s``."""
    for _ in range(round(within_s / every_s)):
        if check():
            return
        await asyncio.sleep(every_s)
    pytest.fail(f"not true after {within_s} s")
