"""The protocol's clocks as numbers and pure functions; the transport owns real time.

Nothing here reads a clock: every function takes the time it needs as an argument
(device-protocols.md §1.8.1 and §1.9).
"""

import math
from decimal import Decimal

LOGIN_TIMEOUT_SECONDS = 10
"""Close a connection that has not logged in after this long (§1.8.1 [R]): every client sends
its login as its very first bytes, so 10 s only ever expires for a port scanner or a dead peer."""

INFO_WAIT_SECONDS = 2
"""How long after a successful login unsolicited pushes wait for the device's info message to be
answered before they are sent anyway (§1.8.1: ``blynklib`` reads exactly one frame per stage)."""

DEFAULT_HEARTBEAT_SECONDS = 45
"""Heartbeat assumed until the info message announces ``h-beat``: the C++ 1.x default (§1.9),
which gives a 104 s idle timeout."""

MAX_HEARTBEAT_SECONDS = 3600
"""Largest ``h-beat`` honoured, the C++ library's own upper bound (§1.9); a larger claim would
let a silent connection hold its slot for hours."""

HEARTBEAT_FACTOR = 2.3
"""Idle timeout = ceil(2.3 x h-beat): the legacy server's rule, restated by Blynk's docs (§1.9)."""

PUSH_INTERVAL_SECONDS = 0.1
"""Pause between two frames to a ``blynklib`` device, which parses only the first frame of each
``recv()`` (§3.2 quirk 1): with 100 ms both sync replies of the spec's test arrived."""


def heartbeat_timeout(heartbeat: int, factor: float = HEARTBEAT_FACTOR) -> int:
    """Seconds of inbound silence after which the device counts as gone: ``ceil(factor x H)``.

    Computed in decimal so that 2.3 x 10 is 23, not the 24 that binary floating point rounds up
    to; ``heartbeat`` is clamped to 1..``MAX_HEARTBEAT_SECONDS``.

    Raises:
        ValueError: ``factor`` is not a positive finite number.
    """
    if not (math.isfinite(factor) and factor > 0):
        raise ValueError("factor must be a positive number")
    seconds = min(max(heartbeat, 1), MAX_HEARTBEAT_SECONDS)
    return math.ceil(Decimal(str(factor)) * seconds)


def is_idle(*, last_inbound: float, now: float, timeout: float) -> bool:
    """True once nothing has arrived for ``timeout`` seconds (monotonic timestamps)."""
    return now - last_inbound >= timeout
