"""The baseline of bench/device_tcp.py's throughput part: a bare Blynk binary-protocol server.

Served as ``pinbase serve`` serves its device listener (an ``asyncio.Protocol`` per connection
on uvloop, the same backlog, one ``transport.write`` per answer), it answers LOGIN, HW_LOGIN,
INTERNAL and PING with ``RESPONSE 200`` and ignores every other frame: no services, no flood
rule, no storage. Pinbase / bare is then the share of what the loop and the sockets allow that
Pinbase keeps, and the bare figure shows how much of a run's noise is the machine's.

Run: ``python bench/bare_tcp.py PORT``; it prints ``READY_MARKER`` once listening, and SIGINT or
SIGTERM stops it.
"""

import asyncio
import signal
import struct
import sys
from typing import cast

import uvloop

HOST = "127.0.0.1"
BACKLOG = 2048
"""The backlog of ``pinbase.transports.tcp``."""
READY_MARKER = "BARE-TCP-READY"
HEADER = struct.Struct(">BHH")
RESPONSE, LOGIN, PING, INTERNAL, HW_LOGIN = 0, 2, 6, 17, 29
ANSWERED = frozenset({LOGIN, PING, INTERNAL, HW_LOGIN})
OK = 200


class BareDevice(asyncio.Protocol):
    """Cuts frames and answers the ones a device waits for."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self._transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        """Answer every complete frame that asks for an answer."""
        buffer = self._buffer
        buffer += data
        start = 0
        while len(buffer) - start >= HEADER.size:
            command, msg_id, length = HEADER.unpack_from(buffer, start)
            size = HEADER.size + (0 if command == RESPONSE else length)
            if len(buffer) - start < size:
                break
            start += size
            if command in ANSWERED and self._transport is not None:
                self._transport.write(HEADER.pack(RESPONSE, msg_id, OK))
        del buffer[:start]


async def serve(port: int) -> None:
    """Listen on loopback until SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(BareDevice, HOST, port, backlog=BACKLOG)
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(READY_MARKER, flush=True)
    await stop.wait()
    server.close()


def main() -> None:
    """Parse the port and serve."""
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/bare_tcp.py PORT")
    uvloop.run(serve(int(sys.argv[1])))


if __name__ == "__main__":
    main()
