"""Raw-socket conformance of the binary listener: the exact frames of device-protocols.md §4.1
item 5, and the answers of §1.7 to §1.11, against the real services on a loopback port."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tcp_stack import Stack, history_nums, running_stack, until
from tcp_wire import (
    BRIDGE,
    EVENT_LOG,
    GROUP,
    HARDWARE,
    HW_LOGIN,
    INFO,
    INTERNAL,
    LOGIN,
    PING,
    PROPERTY,
    SYNC,
    RawDevice,
    Received,
    frame,
    response,
)

from pinbase.domain.pins import PinType
from pinbase.domain.value_types import Value
from pinbase.services.bus import ValuesChanged, WrittenValue


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    """Services and a plain listener with the spec's defaults."""
    async with running_stack(tmp_path) as running:
        yield running


async def store(stack: Stack, token: str, pin: int, value: Value) -> None:
    """Record a value as the HTTP API would (origin other than the device)."""
    bound = await stack.bound(token)
    datastream = await stack.datastream(token, pin)
    await stack.services.telemetry.record(bound.device, [(datastream, value)], origin="test")


async def current(stack: Stack, token: str, pin: int, kind: PinType = PinType.VIRTUAL) -> object:
    """The stored current value of ``pin``, or None."""
    bound = await stack.bound(token)
    point = stack.services.telemetry.current(
        bound.device.id, await stack.datastream(token, pin, kind)
    )
    return None if point is None else point.value


# --- login ------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", [LOGIN, HW_LOGIN])
async def test_login_is_answered_00_00_01_00_c8(stack: Stack, command: int) -> None:
    """LOGIN (2) and HW_LOGIN (29) both get exactly RESPONSE id 1 status 200."""
    async with await RawDevice.connect(stack.port) as device:
        await device.send(frame(command, 1, stack.tokens[0]))
        assert await asyncio.wait_for(device.reader.readexactly(5), 3) == bytes.fromhex(
            "00 00 01 00 c8"
        )
        assert await until(lambda: stack.is_online(stack.tokens[0]))


async def test_bad_token_gets_status_9_and_a_close(stack: Stack) -> None:
    """An unknown token is answered 00 00 01 00 09, then the server closes."""
    async with await RawDevice.connect(stack.port) as device:
        await device.send(frame(LOGIN, 1, "x" * 32))
        assert await asyncio.wait_for(device.reader.readexactly(5), 3) == bytes.fromhex(
            "00 00 01 00 09"
        )
        assert await device.closed()


async def test_malformed_token_gets_status_9(stack: Stack) -> None:
    """A token with a NUL is INVALID_TOKEN too, answered before the close."""
    async with await RawDevice.connect(stack.port) as device:
        await device.send(frame(HW_LOGIN, 1, "abc", "def"))
        assert await device.read() == Received(0, 1, 9)
        assert await device.closed()


async def test_second_login_replaces_the_first_connection(stack: Stack) -> None:
    """A new login with the same token closes the older connection; the device stays online."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as first:
        await first.login(token)
        async with await RawDevice.connect(stack.port) as second:
            await second.login(token)
            assert await first.closed()
            assert await stack.is_online(token)
            await store(stack, token, 1, 7)
            assert (await second.read()).parts == ["vw", "1", "7"]
        assert await until(lambda: _offline(stack, token))


async def _offline(stack: Stack, token: str) -> bool:
    return not await stack.is_online(token)


async def test_login_on_a_logged_in_connection_gets_status_4(stack: Stack) -> None:
    """A second login on the same connection is ALREADY_REGISTERED; the link stays up."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(HW_LOGIN, 3, stack.tokens[0]))
        assert await device.read() == Received(0, 3, 4)
        await device.send(frame(PING, 4))
        assert await device.read() == Received(0, 4, 200)


# --- info, ping, writes -----------------------------------------------------------------------


async def test_info_and_ping_are_answered_200_with_their_ids(stack: Stack) -> None:
    """The info message (id 2) and a PING (id 7) each get RESPONSE(id, 200)."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0], info=False)
        await device.send(frame(INTERNAL, 2, *INFO))
        assert await asyncio.wait_for(device.reader.readexactly(5), 3) == bytes.fromhex(
            "00 00 02 00 c8"
        )
        await device.send(frame(PING, 7))
        assert await asyncio.wait_for(device.reader.readexactly(5), 3) == bytes.fromhex(
            "00 00 07 00 c8"
        )


async def test_info_is_kept_as_hardware_info(stack: Stack) -> None:
    """The info message's library version and board land in the device's hardware info."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)

        async def recorded() -> bool:
            info = (await stack.bound(token)).device.hardware_info
            return (info.blynk_version, info.board_type) == ("0.2.0", "python")

        assert await until(recorded)


async def test_virtual_write_gets_no_reply_and_is_stored(stack: Stack) -> None:
    """``vw 1 42`` is stored, typed, and answered by nothing."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(HARDWARE, 3, "vw", "1", "42"))
        assert await device.silent()
        assert await current(stack, token, 1) == 42


async def test_write_is_clamped_and_a_mismatch_is_dropped(stack: Stack) -> None:
    """V1 is INT 0..100: 500 is stored as 100; "abc" is dropped without an answer."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(HARDWARE, 3, "vw", "1", "500"))
        await device.send(frame(HARDWARE, 4, "vw", "1", "abc"), frame(HARDWARE, 5, "vw", "77", "1"))
        assert await device.silent()
        assert await current(stack, token, 1) == 100


async def test_writes_are_durable_when_the_ping_after_them_is_answered(
    stack: Stack, tmp_path: Path
) -> None:
    """Writes and a PING in one TCP write: when the PING is answered, every write that fits is in
    the history in order, and the last value of a pin is its current one (issue 4: consecutive
    writes are stored as one batch)."""
    token = stack.tokens[0]
    device_id = (await stack.bound(token)).device.id
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        writes = [frame(HARDWARE, msg_id, "vw", "1", str(msg_id)) for msg_id in range(3, 9)]
        dropped = frame(HARDWARE, 9, "vw", "1", "abc")
        await device.send(*writes, dropped, frame(HARDWARE, 10, "vw", "2", "7"), frame(PING, 11))
        assert await device.read() == Received(0, 11, 200)
        assert history_nums(tmp_path, device_id, 1) == [3, 4, 5, 6, 7, 8]
        assert history_nums(tmp_path, device_id, 2) == [7]
        assert (await current(stack, token, 1), await current(stack, token, 2)) == (8, 7)


async def test_digital_write_is_stored_under_the_digital_pin(stack: Stack) -> None:
    """``dw 13 1`` reaches the DIGITAL datastream on pin 13."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(HARDWARE, 3, "dw", "13", "1"))
        assert await device.silent()
        assert await current(stack, token, 13, PinType.DIGITAL) == 1


async def test_msg_id_zero_from_the_device_is_accepted(stack: Stack) -> None:
    """A write numbered 0 is stored; a sync numbered 0 is answered with a fresh, non-zero id."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(HARDWARE, 0, "vw", "2", "5"), frame(SYNC, 0, "vr", "2"))
        answer = await device.read()
        assert answer.command == HARDWARE
        assert answer.msg_id != 0
        assert answer.parts == ["vw", "2", "5"]


# --- sync -------------------------------------------------------------------------------------


async def test_sync_replies_reuse_the_request_id(stack: Stack) -> None:
    """``vr 1 2`` with id 9 is answered by one HARDWARE frame per pin, each with id 9."""
    token = stack.tokens[0]
    await store(stack, token, 1, 42)
    await store(stack, token, 2, 7)
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(SYNC, 9, "vr", "1", "2", "3"))
        assert await asyncio.wait_for(device.reader.readexactly(12), 3) == bytes.fromhex(
            "14 00 09 00 07 76 77 00 31 00 34 32"
        )
        assert await device.read() == Received(HARDWARE, 9, 6, b"vw\x002\x007")
        assert await device.silent()  # V3 has no value: nothing


async def test_sync_all_sends_flagged_datastreams_and_pin_states(stack: Stack) -> None:
    """An empty sync answers V2 and V9 (flagged), D13, and not V1 (unflagged, data-model §2.12)."""
    token = stack.tokens[0]
    await store(stack, token, 1, 42)
    await store(stack, token, 2, 7)
    bound = await stack.bound(token)
    relay = await stack.datastream(token, 13, PinType.DIGITAL)
    await stack.services.telemetry.record(bound.device, [(relay, 1)], origin="test")
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(SYNC, 5))
        answers = {tuple((await device.read()).parts) for _ in range(2)}
        assert answers == {("vw", "2", "7"), ("dw", "13", "1")}
        assert await device.silent()


async def test_sync_answers_a_default_value(stack: Stack) -> None:
    """V8 has no value but a default of 21.5, which a sync returns (data-model §2.5)."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(SYNC, 5, "vr", "8"))
        assert (await device.read()).parts == ["vw", "8", "21.5"]


async def test_location_is_synced_as_two_values(stack: Stack) -> None:
    """A location goes to the device as ``vw 5 lon lat``."""
    token = stack.tokens[0]
    await store(stack, token, 5, (24.5, 60.25))
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(SYNC, 5, "vr", "5"))
        assert (await device.read()).parts == ["vw", "5", "24.5", "60.25"]


async def test_malformed_sync_gets_status_2(stack: Stack) -> None:
    """A sync naming a non-numeric pin is ILLEGAL_COMMAND."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(SYNC, 6, "vr", "x"))
        assert await device.read() == Received(0, 6, 2)


# --- framing ----------------------------------------------------------------------------------


async def test_frame_split_across_two_writes(stack: Stack) -> None:
    """A login whose header and body arrive in separate TCP writes is answered once whole."""
    async with await RawDevice.connect(stack.port) as device:
        login = frame(HW_LOGIN, 1, stack.tokens[0])
        await device.send(login[:3])
        await asyncio.sleep(0.05)
        assert await device.silent(0.05)
        await device.send(login[3:])
        assert await device.read() == Received(0, 1, 200)


async def test_two_frames_in_one_write(stack: Stack) -> None:
    """Login and info in one write are both answered, in order."""
    async with await RawDevice.connect(stack.port) as device:
        await device.send(frame(HW_LOGIN, 1, stack.tokens[0]) + frame(INTERNAL, 2, *INFO))
        assert await device.read() == Received(0, 1, 200)
        assert await device.read() == Received(0, 2, 200)


async def test_oversize_length_closes_the_connection(stack: Stack) -> None:
    """A header announcing a body over 32768 bytes closes the connection; the device goes
    offline."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(bytes.fromhex("14 00 03 80 01"))
        assert await device.closed()
        assert await until(lambda: _offline(stack, token))


async def test_unknown_command_gets_status_2_and_keeps_the_link(stack: Stack) -> None:
    """Command 99 with a body is skipped whole and answered ILLEGAL_COMMAND."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(99, 3, "junk"), frame(PING, 4))
        assert await device.read() == Received(0, 3, 2)
        assert await device.read() == Received(0, 4, 200)


# --- properties, groups, events ---------------------------------------------------------------


async def test_multi_pin_set_property(stack: Stack) -> None:
    """``1 2 isDisabled true`` sets the property on V1 and V2 and is answered 200."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(PROPERTY, 3, "1", "2", "isDisabled", "true"))
        assert await device.read() == Received(0, 3, 200)
    bound = await stack.bound(token)
    async with stack.services.store.transaction() as tx:
        for pin in (1, 2):
            datastream = await stack.datastream(token, pin)
            stored = await tx.load_properties(bound.device.id, datastream.id)
            assert stored == {"isDisabled": '"true"'}


@pytest.mark.parametrize(
    "parts",
    [("1", "isDisabled", "maybe"), ("77", "label", "x"), ("1", "bad-name", "x"), ("1",)],
)
async def test_bad_property_gets_status_11(stack: Stack, parts: tuple[str, ...]) -> None:
    """A malformed body, an unknown pin, a bad name or a value of the wrong shape: 11."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(PROPERTY, 3, *parts))
        assert await device.read() == Received(0, 3, 11)


async def test_group_shares_one_timestamp(stack: Stack) -> None:
    """``t <ms>`` stamps the writes until ``e`` with that time; ``b`` with the receive time."""
    token = stack.tokens[0]
    bound = await stack.bound(token)
    given = stack.services.clock() - 60_000
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(
            frame(GROUP, 3, "t", str(given)),
            frame(HARDWARE, 4, "vw", "1", "10"),
            frame(HARDWARE, 5, "vw", "2", "20"),
            frame(GROUP, 6, "e"),
        )
        assert await device.silent()
        stamps = [
            stack.services.telemetry.current(bound.device.id, await stack.datastream(token, p))
            for p in (1, 2)
        ]
        assert [point.ts for point in stamps if point] == [given, given]
        await device.send(
            frame(GROUP, 7, "b"),
            frame(HARDWARE, 8, "vw", "3", "1.5"),
            frame(HARDWARE, 9, "vw", "9", "2.5"),
            frame(GROUP, 10, "e"),
            frame(HARDWARE, 11, "vw", "4", "after"),
        )
        assert await device.silent()
        points = [
            stack.services.telemetry.current(bound.device.id, await stack.datastream(token, p))
            for p in (3, 9, 4)
        ]
        first, second, after = (point.ts for point in points if point)
        assert first == second > given
        assert after >= first


async def test_log_event_is_stored_and_answered(stack: Stack) -> None:
    """A known event code is logged (200); an unknown one is refused with 2."""
    token = stack.tokens[0]
    bound = await stack.bound(token)
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(EVENT_LOG, 3, "overheat", "too hot"), frame(EVENT_LOG, 4, "nope"))
        assert await device.read() == Received(0, 3, 200)
        assert await device.read() == Received(0, 4, 2)
    async with stack.services.store.transaction() as tx:
        events = await tx.list_device_events(bound.device.id, since=0)
    assert [(e.code, e.description) for e in events] == [("overheat", "too hot")]


async def test_legacy_notifications_are_answered(stack: Stack) -> None:
    """NOTIFY and EMAIL are logged and answered 200; TWEET, SMS and BRIDGE are NOT_ALLOWED."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(
            frame(14, 3, "hi"),
            frame(13, 4, "a@b.c", "subject", "body"),
            frame(12, 5, "tweet"),
            frame(18, 6, "sms"),
            frame(BRIDGE, 7, "1", "i", stack.tokens[1]),
            frame(14, 8, "x" * 300),
        )
        statuses = [(await device.read()).length for _ in range(6)]
        assert statuses == [200, 200, 6, 6, 6, 13]


# --- INTERNAL ---------------------------------------------------------------------------------


async def test_internal_time_and_metadata_answers(stack: Stack) -> None:
    """rtc, utc and meta get/set are answered with INTERNAL frames echoing the request id."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(INTERNAL, 3, "rtc", "sync"))
        rtc = await device.read()
        assert (rtc.command, rtc.msg_id, rtc.parts[0]) == (INTERNAL, 3, "rtc")
        assert abs(int(rtc.parts[1]) - stack.services.clock() // 1000) < 5
        await device.send(frame(INTERNAL, 4, "utc", "time"))
        utc = await device.read()
        assert (utc.msg_id, utc.parts[:2]) == (4, ["utc", "time"])
        assert abs(int(utc.parts[2]) - stack.services.clock()) < 5000
        await device.send(
            frame(INTERNAL, 5, "utc", "tz_name"), frame(INTERNAL, 6, "utc", "dst_next")
        )
        assert (await device.read()).parts == ["utc", "tz_name", "UTC"]
        assert await device.read() == Received(0, 6, 2)
        await device.send(frame(INTERNAL, 7, "meta", "get", "Serial Number"))
        assert await device.read() == Received(INTERNAL, 7, 26, b"meta\0Serial Number\0SN-0001")
        await device.send(
            frame(INTERNAL, 8, "meta", "set", "Room", "Kitchen"),
            frame(INTERNAL, 9, "meta", "get", "Room"),
            frame(INTERNAL, 10, "meta", "get", "Nope"),
            frame(INTERNAL, 11, "meta", "set", "Device Name", "x"),
            frame(INTERNAL, 12, "ota", "now"),
        )
        assert await device.read() == Received(0, 8, 200)
        assert (await device.read()).parts == ["meta", "Room", "Kitchen"]
        assert [(await device.read()).length for _ in range(3)] == [2, 2, 2]


# --- pushes -----------------------------------------------------------------------------------


async def test_push_reaches_the_device_with_a_non_zero_id(stack: Stack) -> None:
    """A value stored by someone else arrives as ``vw 1 55``, numbered by the server."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await store(stack, token, 1, 55)
        push = await device.read()
        assert (push.command, push.parts) == (HARDWARE, ["vw", "1", "55"])
        assert push.msg_id != 0
        await store(stack, token, 4, "from-app\0second")
        assert (await device.read()).parts == ["vw", "4", "from-app", "second"]


async def test_own_writes_are_not_echoed(stack: Stack) -> None:
    """The device's own write is stored but never sent back to it."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        await device.send(frame(HARDWARE, 3, "vw", "1", "9"))
        assert await device.silent()
        assert await current(stack, token, 1) == 9


async def test_pushes_wait_for_the_info_answer(stack: Stack) -> None:
    """Between the login answer and the info answer nothing else is sent (§1.8.1)."""
    token = stack.tokens[0]
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token, info=False)
        await store(stack, token, 1, 12)
        assert await device.silent()
        await device.send(frame(INTERNAL, 2, *INFO))
        assert await device.read() == Received(0, 2, 200)
        assert (await device.read()).parts == ["vw", "1", "12"]


async def test_properties_are_not_pushed(stack: Stack) -> None:
    """A property set elsewhere sends nothing: no client accepts PROPERTY from the server."""
    token = stack.tokens[0]
    bound = await stack.bound(token)
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        datastream = await stack.datastream(token, 1)
        await stack.services.properties.set(bound.device, datastream, {"label": "x"})
        assert await device.silent()


async def test_push_too_big_for_buff_in_is_dropped(stack: Stack) -> None:
    """A value longer than the device's ``buff-in`` is not sent; later ones still are."""
    token = stack.tokens[0]
    bound = await stack.bound(token)
    message = await stack.datastream(token, 4)
    async with await RawDevice.connect(stack.port) as device:
        await device.login(token)
        written = WrittenValue(message.id, message.pin, message.label, "x" * 1100)
        stack.services.bus.publish(
            ValuesChanged(device_id=bound.device.id, writes=(written,), ts=0, origin="t")
        )
        await store(stack, token, 1, 3)
        assert (await device.read()).parts == ["vw", "1", "3"]


async def test_device_goes_offline_when_it_closes(stack: Stack) -> None:
    """Closing the socket marks the device offline at once."""
    token = stack.tokens[0]
    device = await RawDevice.connect(stack.port)
    await device.login(token)
    assert await stack.is_online(token)
    await device.close()
    assert await until(lambda: _offline(stack, token), within=1.0)


def test_frame_helpers() -> None:
    """The test framing helper encodes a RESPONSE without body."""
    assert response(1, 200) == bytes.fromhex("00 00 01 00 c8")


async def test_hardware_read_is_answered_like_a_one_pin_sync(stack: Stack) -> None:
    """HARDWARE ``vr 8`` gets the effective value with the request's id; unknown pins and
    EVENT_CLEAR get nothing."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(HARDWARE, 3, "vr", "8"))
        assert await device.read() == Received(HARDWARE, 3, 9, b"vw\x008\x0021.5")
        await device.send(frame(SYNC, 4, "vr", "77"), frame(65, 5, "overheat"))
        assert await device.silent()


async def test_utc_queries(stack: Stack) -> None:
    """``utc iso``, ``tz`` and ``tz_rule`` are answered for UTC, the query echoed."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(
            frame(INTERNAL, 3, "utc", "iso"),
            frame(INTERNAL, 4, "utc", "tz"),
            frame(INTERNAL, 5, "utc", "tz_rule"),
        )
        iso = (await device.read()).parts
        assert iso[:2] == ["utc", "iso"]
        assert iso[2].endswith("+00:00")
        assert (await device.read()).parts == ["utc", "tz", "0", "0"]
        assert (await device.read()).parts == ["utc", "tz_rule", "UTC0"]


async def test_event_limits_answer_quota_limit(stack: Stack) -> None:
    """A second event with the same code within a second is dropped and answered QUOTA_LIMIT
    (1), as automations.md §1.9 recommends; the C++ library ignores the answer."""
    async with await RawDevice.connect(stack.port) as device:
        await device.login(stack.tokens[0])
        await device.send(frame(EVENT_LOG, 3, "door_open"), frame(EVENT_LOG, 4, "door_open"))
        assert await device.read() == Received(0, 3, 200)
        assert await device.read() == Received(0, 4, 1)
