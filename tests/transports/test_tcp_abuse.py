"""Bad input and abuse on the binary listener (issue #4 item 5): each gets the spec's answer or a
clean close, and never stalls or crashes another connection."""

import asyncio
import itertools
import socket
import time
from pathlib import Path

from tcp_stack import Stack, history_nums, running_stack, until
from tcp_wire import HARDWARE, INTERNAL, LOGIN, PING, SYNC, RawDevice, Received, frame

from pinbase.domain.pins import PinType
from pinbase.services.bus import ValuesChanged, WrittenValue
from pinbase.transports.hub import LinkOptions

BLYNKLIB_INFO = ("ver", "0.2.6", "buff-in", "1024", "h-beat", "10", "dev", "python")


async def offline(stack: Stack, token: str) -> bool:
    """The device is not connected."""
    return not await stack.is_online(token)


async def test_garbage_before_login_is_closed_without_an_answer(tmp_path: Path) -> None:
    """An HTTP request on the device port gets no bytes back, only a close."""
    async with running_stack(tmp_path) as stack, await RawDevice.connect(stack.port) as device:
        await device.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert await asyncio.wait_for(device.reader.read(), 3) == b""


async def test_oversize_login_frame_is_closed(tmp_path: Path) -> None:
    """A login announcing a 300-byte body (over the 256-byte pre-login cap) is closed at once."""
    async with running_stack(tmp_path) as stack, await RawDevice.connect(stack.port) as device:
        await device.send(bytes.fromhex("1d 00 01 01 2c"))
        assert await asyncio.wait_for(device.reader.read(), 3) == b""


async def test_silent_connection_is_closed_at_the_login_deadline(tmp_path: Path) -> None:
    """A peer that never logs in is closed when the login deadline passes."""
    options = LinkOptions(login_timeout=0.2)
    async with (
        running_stack(tmp_path, options=options) as stack,
        await RawDevice.connect(stack.port) as device,
    ):
        assert await device.closed(wait=2)


async def test_idle_device_is_dropped_after_factor_times_heartbeat(tmp_path: Path) -> None:
    """With h-beat 1 and factor 0.8 a silent device is dropped after ceil(0.8) = 1 s."""
    options = LinkOptions(heartbeat_factor=0.8)
    async with running_stack(tmp_path, options=options) as stack:
        token = stack.tokens[0]
        async with await RawDevice.connect(stack.port) as device:
            await device.login(token, info=False)
            await device.send(frame(INTERNAL, 2, "ver", "1", "h-beat", "1", "buff-in", "1024"))
            assert await device.read() == Received(0, 2, 200)
            started = time.monotonic()
            assert await until(lambda: offline(stack, token), within=3)
            assert time.monotonic() - started > 0.8
            assert await device.closed()


async def test_pings_keep_a_device_past_its_idle_timeout(tmp_path: Path) -> None:
    """A device that pings every 0.3 s stays connected well past its 1 s idle timeout."""
    options = LinkOptions(heartbeat_factor=0.8)
    async with running_stack(tmp_path, options=options) as stack:
        token = stack.tokens[0]
        async with await RawDevice.connect(stack.port) as device:
            await device.login(token, info=False)
            await device.send(frame(INTERNAL, 2, "ver", "1", "h-beat", "1", "buff-in", "1024"))
            assert await device.read() == Received(0, 2, 200)
            for msg_id in range(3, 10):
                await asyncio.sleep(0.3)
                await device.send(frame(PING, msg_id))
                assert await device.read() == Received(0, msg_id, 200)
            assert await stack.is_online(token)


async def test_flood_is_dropped_with_one_quota_warning(tmp_path: Path) -> None:
    """Beyond the burst, messages are dropped and one QUOTA_LIMIT is answered per second."""
    options = LinkOptions(flood_rate=0.5, flood_burst=3)
    async with (
        running_stack(tmp_path, options=options) as stack,
        await RawDevice.connect(stack.port) as device,
    ):
        await device.login(stack.tokens[0], info=False)  # the login is not counted
        await device.send(*(frame(PING, msg_id) for msg_id in range(2, 8)))
        answers = [await device.read() for _ in range(4)]
        ok = [Received(0, msg_id, 200) for msg_id in (2, 3, 4)]
        assert answers == [*ok, Received(0, 5, 1)]
        assert await device.silent()
        assert await stack.is_online(stack.tokens[0])


async def test_writes_within_the_burst_are_stored_and_the_rest_dropped(tmp_path: Path) -> None:
    """Five writes and a PING at once, burst 3: three writes are stored, the fourth is answered
    QUOTA_LIMIT, the fifth and the PING are dropped (the flood rule counts batched writes too)."""
    options = LinkOptions(flood_rate=0.5, flood_burst=3)
    async with (
        running_stack(tmp_path, options=options) as stack,
        await RawDevice.connect(stack.port) as device,
    ):
        token = stack.tokens[0]
        device_id = (await stack.bound(token)).device.id
        await device.login(token, info=False)
        writes = (frame(HARDWARE, msg_id, "vw", "1", str(msg_id)) for msg_id in range(2, 7))
        await device.send(*writes, frame(PING, 7))
        assert await device.read() == Received(0, 5, 1)
        assert await device.silent()
        assert history_nums(tmp_path, device_id, 1) == [2, 3, 4]


async def test_slow_reader_is_dropped_and_does_not_stall_others(tmp_path: Path) -> None:
    """A device that never reads is disconnected once its buffer is full; another device keeps
    getting its pushes and ping answers meanwhile."""
    options = LinkOptions(max_write_buffer=16 * 1024)
    async with running_stack(tmp_path, options=options) as stack:
        slow_token, fast_token = stack.tokens[:2]
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        raw.setblocking(False)
        await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", stack.port))
        reader, writer = await asyncio.open_connection(sock=raw)
        slow = RawDevice(reader, writer)
        await slow.login(slow_token)
        async with await RawDevice.connect(stack.port) as fast:
            await fast.login(fast_token)
            bound = await stack.bound(slow_token)
            message = await stack.datastream(slow_token, 4)
            for _ in range(20_000):
                if await offline(stack, slow_token):
                    break
                written = WrittenValue(message.id, message.pin, message.label, "x" * 900)
                stack.services.bus.publish(
                    ValuesChanged(device_id=bound.device.id, writes=(written,), ts=0, origin="t")
                )
                await asyncio.sleep(0)
            assert await offline(stack, slow_token)
            fast_bound = await stack.bound(fast_token)
            counter = await stack.datastream(fast_token, 1)
            await stack.services.telemetry.record(fast_bound.device, [(counter, 5)], origin="t")
            assert (await fast.read(wait=1)).parts == ["vw", "1", "5"]
            await fast.send(frame(PING, 9))
            assert await fast.read(wait=1) == Received(0, 9, 200)
        await slow.close()


async def test_blynklib_frames_are_paced(tmp_path: Path) -> None:
    """A blynklib device (login 2, dev=python) gets each sync answer in its own write, >= the
    pacing interval apart (device-protocols.md §3.2 quirk 1)."""
    async with running_stack(tmp_path) as stack:
        token = stack.tokens[0]
        bound = await stack.bound(token)
        writes = [(await stack.datastream(token, pin), pin * 10) for pin in (1, 2, 3)]
        await stack.services.telemetry.record(bound.device, writes, origin="t")
        async with await RawDevice.connect(stack.port) as device:
            await device.send(frame(LOGIN, 1, token))
            assert await device.read() == Received(0, 1, 200)
            await device.send(frame(INTERNAL, 2, *BLYNKLIB_INFO))
            assert await device.read() == Received(0, 2, 200)
            await device.send(frame(SYNC, 3, "vr", "1", "2", "3"))
            arrivals = []
            for _ in range(3):
                await device.read()
                arrivals.append(time.monotonic())
            gaps = [b - a for a, b in itertools.pairwise(arrivals)]
            assert min(gaps) > 0.08


async def test_paced_backlog_overflow_disconnects(tmp_path: Path) -> None:
    """A paced device whose queue of frames overflows is disconnected and goes offline."""
    options = LinkOptions(max_queued_frames=3)
    async with running_stack(tmp_path, options=options) as stack:
        token = stack.tokens[0]
        async with await RawDevice.connect(stack.port) as device:
            await device.send(frame(LOGIN, 1, token))
            await device.read()
            await device.send(frame(INTERNAL, 2, *BLYNKLIB_INFO))
            await device.read()
            await device.send(frame(SYNC, 3, *["vr", "8"] + ["8"] * 10))
            assert await until(lambda: offline(stack, token))


async def test_pushes_are_released_when_no_info_arrives(tmp_path: Path) -> None:
    """Without an info message, held pushes go out once the info wait is over."""
    options = LinkOptions(info_wait=0.2)
    async with running_stack(tmp_path, options=options) as stack:
        token = stack.tokens[0]
        bound = await stack.bound(token)
        async with await RawDevice.connect(stack.port) as device:
            await device.login(token, info=False)
            counter = await stack.datastream(token, 1)
            await stack.services.telemetry.record(bound.device, [(counter, 8)], origin="t")
            assert (await device.read(wait=2)).parts == ["vw", "1", "8"]


async def test_writes_before_a_half_close_are_kept(tmp_path: Path) -> None:
    """A device that writes and then shuts its sending side has its write stored, then is
    closed and offline."""
    async with running_stack(tmp_path) as stack:
        token = stack.tokens[0]
        async with await RawDevice.connect(stack.port) as device:
            await device.login(token)
            await device.send(frame(HARDWARE, 3, "dw", "13", "1"))
            device.writer.write_eof()
            assert await device.closed()
        bound = await stack.bound(token)
        relay = await stack.datastream(token, 13, PinType.DIGITAL)
        point = stack.services.telemetry.current(bound.device.id, relay)
        assert point is not None
        assert point.value == 1
        assert await offline(stack, token)


async def test_frame_cut_by_the_close_is_dropped(tmp_path: Path) -> None:
    """A close in the middle of a frame ends the connection cleanly, the device offline."""
    async with running_stack(tmp_path) as stack:
        token = stack.tokens[0]
        async with await RawDevice.connect(stack.port) as device:
            await device.login(token)
            await device.send(frame(HARDWARE, 3, "vw", "1", "1")[:6])
            device.writer.write_eof()
            assert await device.closed()
        assert await until(lambda: offline(stack, token))


async def test_stop_closes_connected_devices(tmp_path: Path) -> None:
    """Stopping the listeners closes every connection and marks the devices offline."""
    async with running_stack(tmp_path) as stack:
        token = stack.tokens[0]
        device = await RawDevice.connect(stack.port)
        await device.login(token)
        await stack.listeners.stop()
        assert await device.closed()
        assert await offline(stack, token)
        await device.close()
