"""Frames on their way to one device: one ``write`` per frame, paced when the device needs it.

Each frame goes out as one contiguous ``transport.write`` (device-protocols.md §1.2 rule 5).
A ``blynklib`` device parses only the first frame of each ``recv()`` (§3.2 quirk 1), so for it
frames leave at least ``interval`` apart and wait in a bounded queue meanwhile; other devices get
every frame at once. Writes never wait: a device that reads slower than the server writes fills
the queue or the transport's buffer, and then it is disconnected (``on_overflow``) rather than
allowed to hold memory or slow anyone else.
"""

import asyncio
from collections import deque
from collections.abc import Callable

MAX_QUEUED_FRAMES = 256
"""Frames waiting for their turn on a paced link: 25 s of backlog at 100 ms, more than a syncAll
of every pin a template can have on one kind plus the pushes that arrive meanwhile; past it
the device cannot keep up."""

MAX_WRITE_BUFFER = 256 * 1024
"""Bytes the transport may hold for a device beyond what the kernel accepted: a device that does
not read for that long (the kernel's own send buffer is full too) is treated as gone, which
bounds what one stalled reader costs the server."""


class Outbox:
    """The outgoing side of one connection."""

    __slots__ = (
        "_handle",
        "_interval",
        "_last_write",
        "_loop",
        "_max_buffer",
        "_max_frames",
        "_on_overflow",
        "_queue",
        "_transport",
    )

    def __init__(
        self,
        transport: asyncio.WriteTransport,
        *,
        interval: float,
        on_overflow: Callable[[], None],
        max_frames: int = MAX_QUEUED_FRAMES,
        max_buffer: int = MAX_WRITE_BUFFER,
    ) -> None:
        self._transport = transport
        self._loop = asyncio.get_running_loop()
        self._interval = interval
        self._on_overflow = on_overflow
        self._max_frames = max_frames
        self._max_buffer = max_buffer
        self._queue: deque[bytes] = deque()
        self._handle: asyncio.TimerHandle | None = None
        self._last_write = float("-inf")

    def put(self, frame: bytes, *, paced: bool) -> None:
        """Write ``frame`` now, or queue it behind earlier frames or the pacing interval."""
        if not frame:
            return
        if self._queue or (paced and self._loop.time() < self._last_write + self._interval):
            if len(self._queue) >= self._max_frames:
                self._on_overflow()
                return
            self._queue.append(frame)
            self._schedule()
            return
        self._write(frame)

    @property
    def queued(self) -> int:
        """Frames waiting for their turn."""
        return len(self._queue)

    def close(self) -> None:
        """Drop what is queued and stop the pacing timer."""
        self._queue.clear()
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _schedule(self) -> None:
        if self._handle is None:
            when = max(self._last_write + self._interval, self._loop.time())
            self._handle = self._loop.call_at(when, self._flush)

    def _flush(self) -> None:
        self._handle = None
        if self._queue:
            self._write(self._queue.popleft())
        if self._queue:
            self._schedule()

    def _write(self, frame: bytes) -> None:
        if self._transport.is_closing():
            return
        self._transport.write(frame)
        self._last_write = self._loop.time()
        if self._transport.get_write_buffer_size() > self._max_buffer:
            self._on_overflow()
