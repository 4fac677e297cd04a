"""A binary-protocol listener next to the in-process application, and a device that logs in on
it the way the C++ library does, over a blocking socket: for the device-command tests of the
Platform API and the console."""

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from inprocess import InProcessServer
from pinbase.transports.login_guard import LoginGuard
from pinbase.transports.tcp import DeviceListeners

HEADER = struct.Struct(">BHH")
HW_LOGIN, PING, INTERNAL, REDIRECT = 29, 6, 17, 41
CPP_INFO = ("mcu", "1.0.0", "h-beat", "45", "buff-in", "1024", "dev", "ESP32")


@contextmanager
def binary_listener(server: InProcessServer) -> Iterator[int]:
    """A binary listener on a free port over the application's services; yields the port."""
    services, config = server.services, server.settings

    async def start() -> tuple[DeviceListeners, int]:
        guard = LoginGuard.for_settings(config, clock=services.clock)
        listeners = DeviceListeners.for_services(services, settings=config, guard=guard)
        return listeners, await listeners.open("127.0.0.1", 0)

    listeners, port = server.run(start)
    try:
        yield port
    finally:
        server.run(listeners.stop)


class Device:
    """A device speaking the binary protocol like the C++ library, over a blocking socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def send(self, command: int, msg_id: int, *parts: str) -> None:
        """One frame whose body is ``parts`` joined by NUL."""
        body = "\0".join(parts).encode()
        self.sock.sendall(HEADER.pack(command, msg_id, len(body)) + body)

    def respond(self, msg_id: int, status: int = 200) -> None:
        """A RESPONSE frame."""
        self.sock.sendall(HEADER.pack(0, msg_id, status))

    def read(self) -> tuple[int, int, list[str]]:
        """The next frame: command, msg id and body parts (a RESPONSE's status as its part)."""
        command, msg_id, length = HEADER.unpack(self._exactly(5))
        if command == 0:
            return command, msg_id, [str(length)]
        body = self._exactly(length).decode()
        return command, msg_id, body.split("\0") if body else []

    def answer_pings(self) -> threading.Thread:
        """Answer the next frame, a PING, with RESPONSE 200 from a thread (the request that
        pings waits meanwhile); join the thread afterwards."""

        def answer() -> None:
            command, msg_id, _ = self.read()
            if command == PING:
                self.respond(msg_id)

        thread = threading.Thread(target=answer)
        thread.start()
        return thread

    def _exactly(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise ConnectionError("closed by the server")
            data += chunk
        return data


@contextmanager
def connected(port: int, token: str) -> Iterator[Device]:
    """A device logged in with ``token``, its info message answered (it counts as online)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        link = Device(sock)
        link.send(HW_LOGIN, 1, token)
        assert link.read() == (0, 1, ["200"])
        link.send(INTERNAL, 2, *CPP_INFO)
        assert link.read() == (0, 2, ["200"])
        yield link
