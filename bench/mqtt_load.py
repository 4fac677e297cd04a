"""The MQTT load generator of bench/device_mqtt.py, run in a process of its own.

``python bench/mqtt_load.py PLAN_JSON``: connect every token (username ``device``, password the
token, MQTT 3.1.1), then each device publishes ``ds/Counter <n>`` in batches of ``batch`` QoS 0
publishes followed by one QoS 1 publish, in one socket write, and waits for that publish's
PUBACK before the next batch. The server acknowledges a QoS 1 publish once it and the writes
before it are stored, so every write of a batch whose PUBACK arrived is *acknowledged*.
``rate`` caps each device's messages/s (0: as fast as the acknowledgements come). With
``websocket`` the devices speak MQTT over WebSocket to ``/mqtt`` of the HTTP port instead, one
binary frame per batch.

Packets are built with the client side of Pinbase's codec (``pinbase.protocols.mqtt.client``).
The result is one JSON line marked with ``RESULT_MARKER``.
"""

import asyncio
import json
import sys
from collections.abc import Iterator
from typing import Any, cast

import websockets
from websockets.asyncio.client import ClientConnection
from websockets.typing import Subprotocol

from pacing import stream_batches
from pinbase.protocols.mqtt.client import ServerReader, connect_packet, publish_packet
from pinbase.protocols.mqtt.packets import PacketType
from tcp_load import RESULT_MARKER, raise_nofile

HOST = "127.0.0.1"
TOPIC = "ds/Counter"
VALUE_CYCLE = 100_000
"""Publish packets are built once for values 0..VALUE_CYCLE-1 and reused by every device."""
ANSWER_TIMEOUT_S = 10.0
KEEP_ALIVE_S = 600
ACK_ID = 1


class Device(asyncio.Protocol):
    """One device: wakes the waiter on CONNACK or PUBACK."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self._reader = ServerReader()
        self._waiter: asyncio.Future[bytes] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport."""
        self.transport = cast("asyncio.Transport", transport)

    def data_received(self, data: bytes) -> None:
        """Wake the waiter with the body of a CONNACK or PUBACK."""
        for packet in self._reader.feed(data):
            wanted = packet.type in (PacketType.CONNACK, PacketType.PUBACK)
            if wanted and self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(packet.body)

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail a pending wait."""
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(ConnectionError("closed by the server"))

    async def request(self, data: bytes) -> bytes:
        """Write ``data`` and return the body of the answer it asks for."""
        if self.transport is None or self.transport.is_closing():
            raise ConnectionError("not connected")
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(data)
        return await asyncio.wait_for(self._waiter, ANSWER_TIMEOUT_S)


class WebSocketDevice:
    """One device over MQTT over WebSocket (``/mqtt``): each write one binary frame."""

    def __init__(self, socket: ClientConnection) -> None:
        self._socket = socket
        self._reader = ServerReader()

    @property
    def transport(self) -> asyncio.Transport:
        """The socket under the WebSocket, closed once the stream ends."""
        return self._socket.transport

    async def request(self, data: bytes) -> bytes:
        """Send ``data`` and return the body of the CONNACK or PUBACK it asks for."""
        await self._socket.send(data)
        async with asyncio.timeout(ANSWER_TIMEOUT_S):
            while True:
                frame = await self._socket.recv(decode=False)
                for packet in self._reader.feed(frame):
                    if packet.type in (PacketType.CONNACK, PacketType.PUBACK):
                        return packet.body


async def connect(port: int, token: str, *, websocket: bool = False) -> Device | WebSocketDevice:
    """A device connected with ``token`` (CONNACK accepted), over TCP or over WebSocket."""
    device: Device | WebSocketDevice
    if websocket:
        socket = await websockets.connect(
            f"ws://{HOST}:{port}/mqtt", subprotocols=[Subprotocol("mqtt")], compression=None
        )
        device = WebSocketDevice(socket)
    else:
        _, device = await asyncio.get_running_loop().create_connection(Device, HOST, port)
    packet = connect_packet(password=token.encode(), keep_alive=KEEP_ALIVE_S)
    answer = await device.request(packet)
    if answer[1:2] != b"\0":
        raise ConnectionError(f"CONNACK {answer.hex()}")
    return device


async def stream(plan: dict[str, Any]) -> dict[str, Any]:
    """Every device publishes in batches closed by a QoS 1 publish; counts and round trips."""
    writes = [publish_packet(TOPIC, str(v).encode()) for v in range(VALUE_CYCLE)]
    acked = [publish_packet(TOPIC, str(v).encode(), qos=1, packet_id=ACK_ID) for v in range(100)]
    batch, port, websocket = int(plan["batch"]), plan["port"], bool(plan.get("websocket"))
    totals = {"publishes_sent": 0, "publishes_acked": 0}

    def batches(index: int) -> Iterator[bytes]:
        value = index * 997
        while True:
            data = b"".join(writes[(value + i) % VALUE_CYCLE] for i in range(batch))
            data += acked[value % 100]
            value += batch
            totals["publishes_sent"] += batch + 1
            yield data

    def answered(_: bytes) -> None:
        totals["publishes_acked"] += batch + 1

    run = await stream_batches(
        plan,
        lambda token: connect(port, token, websocket=websocket),
        batches=batches,
        answered=answered,
    )
    return {
        **totals,
        "lost_acks": run.lost,
        "dropped_connections": run.dropped,
        **run.figures(round_trip="ack"),
    }


def main() -> None:
    """``mqtt_load.py PLAN_JSON``: run under uvloop (a dependency of pinbase)."""
    plan = json.loads(sys.argv[1])
    with open(plan.pop("tokens_file")) as handle:
        plan["tokens"] = handle.read().split()[: int(plan["count"])]
    raise_nofile(len(plan["tokens"]) + 1_000)
    import uvloop

    result = uvloop.run(stream(plan))
    print(RESULT_MARKER, json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
