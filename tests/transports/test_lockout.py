"""Failed device logins over real sockets (issue #8 item 5): one count for the binary protocol
and MQTT, a valid token never held, wrong ones held by the rule in their own task, and the log
lines of refused and garbage connections summed up."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from tcp_stack import Stack, running_stack, until
from tcp_wire import LOGIN, RawDevice, Received, frame

from pinbase.protocols.mqtt.client import ServerReader, connect_packet
from pinbase.protocols.mqtt.packets import PacketType
from pinbase.settings import Settings
from pinbase.transports.mqtt import MqttListeners

BAD_CREDENTIALS = 4
"""CONNACK return code 4 of MQTT 3.1.1: bad user name or password."""


@asynccontextmanager
async def mqtt_beside(stack: Stack, data_dir: Path) -> AsyncIterator[int]:
    """MQTT listeners next to the stack's binary ones, sharing its guard; their port."""
    mqtt = MqttListeners.for_services(
        stack.services,
        settings=Settings(data_dir=data_dir),
        sessions=stack.listeners.sessions,
        guard=stack.guard,
    )
    port = await mqtt.open("127.0.0.1", 0)
    try:
        yield port
    finally:
        await mqtt.stop()


async def mqtt_connack(port: int, password: str) -> int:
    """The CONNACK return code of a CONNECT with ``password``, the connection then closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(connect_packet(password=password.encode()))
        packets = ServerReader()
        while not (received := packets.feed(await asyncio.wait_for(reader.read(64), 3))):
            pass
        (connack,) = received
        assert connack.type is PacketType.CONNACK
        return connack.body[1]
    finally:
        writer.close()


async def wrong_binary_login(port: int, token: str) -> None:
    """A binary login with ``token`` answered INVALID_TOKEN (9)."""
    async with await RawDevice.connect(port) as device:
        await device.send(frame(LOGIN, 1, token))
        assert await device.read() == Received(0, 1, 9)


async def test_a_valid_token_logs_in_at_once_after_twenty_failures_from_its_address(
    tmp_path: Path,
) -> None:
    """Twenty wrong logins from 127.0.0.1, binary and MQTT alternately, share one count (15
    held answers: all but the 5 free ones); then a valid binary login and a valid MQTT CONNECT
    from the same address are accepted without being held."""
    async with (
        running_stack(tmp_path, login_delay_max_s=0.01) as stack,
        mqtt_beside(stack, tmp_path) as mqtt_port,
    ):
        tarpit = stack.guard.tarpit
        for n in range(10):
            await wrong_binary_login(stack.port, f"wrong-binary-{n}")
            assert await mqtt_connack(mqtt_port, f"wrong-mqtt-{n}") == BAD_CREDENTIALS
        assert tarpit.held_total == 15
        async with await RawDevice.connect(stack.port) as device:
            await device.login(stack.tokens[0])
            assert await mqtt_connack(mqtt_port, stack.tokens[1]) == 0
            assert await stack.is_online(stack.tokens[0])
        assert tarpit.held_total == 15


async def test_a_thousand_wrong_tokens_from_one_address_are_held_by_the_rule(
    tmp_path: Path,
) -> None:
    """1,000 wrong tokens from one address, each sent once the last was answered: every answer
    past the 5 free ones waited as the rule says (here capped at 1 ms to keep the test short;
    the defaults make it 29,731 s, tests/services/test_login_throttle.py)."""
    async with running_stack(tmp_path, login_delay_max_s=0.001) as stack:
        for n in range(1000):
            await wrong_binary_login(stack.port, f"guess-{n}")
        tarpit, rule = stack.guard.tarpit, stack.guard.throttle
        assert tarpit.held_total == 995
        assert tarpit.overflowed == 0
        assert tarpit.held_seconds == pytest.approx(sum(rule.delay(n) for n in range(1, 1001)))


async def test_a_held_failure_blocks_nobody_and_a_leaving_peer_frees_its_place(
    tmp_path: Path,
) -> None:
    """While a failed login from 127.0.0.1 waits out 30 s, a valid token from the same address
    logs in; when the waiting peer closes, its place in the tarpit is free at once."""
    async with running_stack(tmp_path) as stack:
        tarpit = stack.guard.tarpit
        for _ in range(10):
            stack.guard.throttle.failed("127.0.0.1")  # the next failure waits 30 s
        held = await RawDevice.connect(stack.port)
        await held.send(frame(LOGIN, 1, "wrong-token"))
        assert await until(lambda: _true(tarpit.held == 1))
        async with await RawDevice.connect(stack.port) as device:
            await device.login(stack.tokens[0])
        await held.close()
        assert await until(lambda: _true(tarpit.held == 0))
        assert tarpit.held_seconds == 30


async def test_a_thousand_junk_connections_write_two_lines(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """1,000 HTTP requests on the device port write the first protocol error in full and one
    ``device.protocol_errors count=1000 addresses=1`` summary, nothing else about them."""
    caplog.set_level(logging.INFO, logger="pinbase")
    async with running_stack(tmp_path, login_delay_max_s=0) as stack:
        for _ in range(1000):
            async with await RawDevice.connect(stack.port) as device:
                await device.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert await device.closed()
    lines = [r.getMessage() for r in caplog.records]
    junk = [line for line in lines if "protocol_error" in line]
    assert len(junk) == 2, junk
    assert junk[0].startswith("tcp.protocol_error device_id=None address=127.0.0.1")
    assert junk[1] == "device.protocol_errors count=1000 addresses=1 interval_s=60"


async def _true(value: bool) -> bool:
    return value
