"""The stdin/stdout contract shared by the interop device scripts.

Commands arrive on stdin as JSON lines; every event the library reports is printed on stdout as
one JSON line; the library's own chatter goes to stderr.
"""

import json
import os
import sys
from typing import Any


def emit(event: str, **fields: Any) -> None:
    """One event for the test, as a JSON line."""
    print(json.dumps({"event": event, **fields}), flush=True)


def log(*args: Any) -> None:
    """The library's log, kept out of the event stream."""
    print(*args, file=sys.stderr, flush=True)


class Commands:
    """Reads whole JSON lines from stdin without blocking the library's loop."""

    def __init__(self) -> None:
        os.set_blocking(sys.stdin.fileno(), False)
        self._buffer = b""

    def pending(self) -> list[dict[str, Any]]:
        """The commands received since the last call."""
        try:
            chunk = os.read(sys.stdin.fileno(), 65536)
        except BlockingIOError:
            return []
        if not chunk:
            return [{"op": "exit"}]
        self._buffer += chunk
        *lines, self._buffer = self._buffer.split(b"\n")
        return [json.loads(line) for line in lines if line.strip()]
