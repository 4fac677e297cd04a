"""One Blynk binary device connection: a ``StreamSession`` around a ``DeviceConnection``.

Theory of operation. The socket side (the worker task, backpressure, flood control, closing) is
``stream_session``'s, shared with MQTT; the worker here drains events until ``NEED_DATA``,
awaiting the services each event needs. Consecutive hardware writes are
taken together and stored as one batch (``record_writes``): one commit to wait for instead of
one per write, which is most of what a streaming device costs (bench/README.md). Whatever
follows them, a PING above all, is handled only once they are durable, as before. What
``DeviceConnection.send`` returns goes out through the ``Outbox``, one write per frame, paced for
``blynklib``.

Timers are loop callbacks, not tasks: the login deadline (§1.8.1), the 2 s info wait and the
idle check, which fires at ``last inbound + ceil(factor x h-beat)`` and re-arms itself while
the device keeps talking (§1.9).
"""

import asyncio
import contextlib
import logging
import socket

from pinbase.protocols.device import (
    NEED_DATA,
    ConnectionClosed,
    DeviceConnection,
    Event,
    HardwareWrite,
    HardwareWriteOut,
    Login,
    Outbound,
    ProtocolError,
    Rejected,
    Response,
    State,
    Status,
    Undeliverable,
)
from pinbase.protocols.device.timing import heartbeat_timeout, is_idle
from pinbase.services.bus import DeviceCommanded, PropertyChanged, ValuesChanged
from pinbase.services.device_gateway import device_texts
from pinbase.transports.commands import CommandRefused, binary_internal
from pinbase.transports.dispatch import dispatch, record_writes
from pinbase.transports.hub import Hub
from pinbase.transports.login_guard import REFUSED
from pinbase.transports.outbox import Outbox
from pinbase.transports.stream_session import StreamSession

logger = logging.getLogger(__name__)

ORIGIN = "device_tcp"
"""The bus origin of values a device writes over the binary protocol; never echoed back to it."""

_OPEN_STATES = (State.AWAIT_INFO, State.READY)


class BinarySession(StreamSession):
    """The server's side of one device connection over TCP or TLS."""

    KIND = "tcp"

    __slots__ = ("_conn", "_idle_timer", "_info_timer", "_login_timer", "group_ts")

    def __init__(self, hub: Hub) -> None:
        self._conn = DeviceConnection(max_body_size=hub.options.max_body_size)
        super().__init__(hub, self._conn)
        self._hub: Hub = hub
        self.group_ts: int | None = None
        self._login_timer: asyncio.TimerHandle | None = None
        self._info_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None

    def _new_outbox(self, transport: asyncio.Transport) -> Outbox:
        """Frames paced for ``blynklib`` (§3.2), in a bounded queue."""
        options = self._hub.options
        return Outbox(
            transport,
            interval=options.push_interval,
            on_overflow=self._overflow,
            max_frames=options.max_queued_frames,
            max_buffer=options.max_write_buffer,
        )

    def _opened(self, transport: asyncio.Transport) -> None:
        _set_nodelay(transport)
        self._login_timer = self._loop.call_later(
            self._hub.options.login_timeout, self._login_expired
        )

    # --- LiveSession -----------------------------------------------------------------------

    @property
    def origin(self) -> str:
        """Values this link records carry ``device_tcp``."""
        return ORIGIN

    def push_values(self, change: ValuesChanged) -> None:
        """Send values written elsewhere as HARDWARE ``vw``/``dw``/``aw`` pushes (§1.11.1)."""
        if self._closed or self._conn.state not in _OPEN_STATES:
            return
        for written in change.writes:
            self.send(HardwareWriteOut(pin=written.pin, values=device_texts(written.value)))

    def push_property(self, change: PropertyChanged) -> None:
        """Nothing: no target client accepts PROPERTY (19) from the server, and the Python
        libraries disconnect on it (§1.11.5, §3.4); ``outbound`` cannot even express it."""

    def send_command(self, command: DeviceCommanded) -> None:
        """Send a server command (device-lifecycle.md §4): ``ota``, ``reboot`` and
        ``reconfigure`` as INTERNAL pushes, each with a fresh msg id, held until the info
        message is answered (§1.8.1) and dropped when larger than ``buff-in`` (§1.11.4)."""
        if self._closed or self._conn.state not in _OPEN_STATES:
            return
        outbound = binary_internal(command)
        if isinstance(outbound, CommandRefused):
            self._refused(command, outbound.reason)
            return
        logger.info("tcp.command device_id=%s kind=%s", self._device_id(), command.kind)
        self.send(outbound)

    def _refused(self, command: DeviceCommanded, reason: str) -> None:
        logger.info(
            "tcp.command_refused device_id=%s kind=%s reason=%s",
            self._device_id(),
            command.kind,
            reason,
        )

    def replace(self) -> None:
        """A newer login of the same device took over (§1.8.1)."""
        self._close("replaced by a new login")

    def shutdown(self) -> None:
        """Close at server stop, flushing what is written."""
        self._close("server stopping")

    def abort(self) -> None:
        """Drop the connection at once (server stop, after the flushing time ran out)."""
        self._abort("server stopped")

    # --- the worker ------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Handle events until the buffer is empty or the connection closes: each run of
        consecutive writes as one batch, then the event that ended it, once they are stored."""
        while not self._closed:
            writes, event = self._take()
            if writes and self._bound is not None:
                hub = self._hub
                await record_writes(self, hub.gateway, hub.gateway.current(self._bound), writes)
            if event is None or self._closed:
                return
            if isinstance(event, ProtocolError):
                await self._protocol_error(event)
                return
            await self._handle(event)

    def _take(self) -> tuple[list[HardwareWrite], Event | ProtocolError | None]:
        """The admitted writes up to the next other event, and that event: None when the buffer
        is drained or the flood rule closed the link, the error when the framing broke."""
        writes: list[HardwareWrite] = []
        conn = self._conn
        while True:
            try:
                event = conn.next_event()
            except ProtocolError as error:
                return writes, error
            if event is NEED_DATA:
                return writes, None
            if not isinstance(event, HardwareWrite) or self._bound is None:
                return writes, event
            if self._admit(event.msg_id):
                writes.append(event)
            elif self._closed:
                return writes, None

    async def _handle(self, event: Event) -> None:
        bound = self._bound
        if isinstance(event, ConnectionClosed):
            self._close("closed by the device")
        elif bound is None:
            if isinstance(event, Login):
                await self._login(event)
            elif isinstance(event, Rejected):
                await self._refuse_login(event.msg_id, event.status)
        elif isinstance(event, Response):
            pass  # the device's answer to a push needs nothing (C++ HEAD answers `vr` with 2)
        elif self._admit(event.msg_id):
            await dispatch(self, self._hub.gateway, self._hub.gateway.current(bound), event)

    async def _login(self, login: Login) -> None:
        hub = self._hub
        bound = await hub.gateway.authenticate(login.token)
        if self._closed:
            return
        if bound is None:
            await self._refuse_login(login.msg_id, Status.INVALID_TOKEN, token=login.token)
            return
        self.send(Response(msg_id=login.msg_id, status=Status.OK))
        if self._login_timer is not None:
            self._login_timer.cancel()
            self._login_timer = None
        self._attach(bound)
        self._info_timer = self._loop.call_later(hub.options.info_wait, self._info_wait_over)
        self._arm_idle()
        logger.info("tcp.login device_id=%d address=%s", bound.device.id, self._address)

    async def _refuse_login(self, msg_id: int, status: int, *, token: str | None = None) -> None:
        """Answer ``status`` once the failed login's delay is over, then close."""
        if self._hub.guard.log.note(REFUSED, self._address):
            logger.info("tcp.login_refused address=%s status=%d", self._address, status)
        await self._fail_login(token)
        if self._closed:
            return
        self.send(Response(msg_id=msg_id, status=status))
        self._close("login refused")

    def _flooding(self, msg_id: int) -> None:
        """The flood rule's warning (§1.12): QUOTA_LIMIT to the dropped message."""
        self.send(Response(msg_id=msg_id, status=Status.QUOTA_LIMIT))

    # --- writing ---------------------------------------------------------------------------

    def send(self, message: Outbound) -> None:
        """Queue ``message``; a frame the device cannot take is dropped and logged (§1.11.4)."""
        try:
            data = self._conn.send(message)
        except Undeliverable as error:
            logger.info("tcp.undeliverable device_id=%s reason=%s", self._device_id(), error)
            return
        if data and self._outbox is not None:
            self._outbox.put(data, paced=self._conn.needs_pacing)
        if self._conn.state is State.CLOSED:
            self._close("answered for the last time")

    def info_answered(self) -> None:
        """Release the pushes held during the handshake; the idle timeout follows the h-beat."""
        self._release_held()
        self._arm_idle()

    def _release_held(self) -> None:
        if self._outbox is not None:
            for frame in self._conn.drain_held():
                self._outbox.put(frame, paced=self._conn.needs_pacing)

    # --- timers and closing ----------------------------------------------------------------

    def _login_expired(self) -> None:
        self._login_timer = None
        if self._bound is None:
            self._close("no login in time")

    def _info_wait_over(self) -> None:
        self._info_timer = None
        if not self._closed:
            self._conn.end_info_wait()
            self._release_held()

    def _idle_timeout(self) -> float:
        return heartbeat_timeout(self._conn.heartbeat, self._hub.options.heartbeat_factor)

    def _arm_idle(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        deadline = self._last_inbound + self._idle_timeout()
        self._idle_timer = self._loop.call_at(deadline, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        timeout = self._idle_timeout()
        if is_idle(last_inbound=self._last_inbound, now=self._loop.time(), timeout=timeout):
            # A silent peer may be gone for good: nothing it was sent will ever be flushed.
            self._abort("idle timeout")
        else:
            self._idle_timer = self._loop.call_at(self._last_inbound + timeout, self._check_idle)

    def _cancel_timers(self) -> None:
        """The login deadline, the info wait and the idle check stop with the connection."""
        super()._cancel_timers()
        for timer in (self._login_timer, self._info_timer, self._idle_timer):
            if timer is not None:
                timer.cancel()
        self._login_timer = self._info_timer = self._idle_timer = None


def _set_nodelay(transport: asyncio.Transport) -> None:
    """Small frames go out at once (§1.2 rule 5); asyncio and uvloop set it too, but say so."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError, AttributeError):  # not a TCP socket after all
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
