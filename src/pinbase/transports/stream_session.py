"""What a device connection does whatever protocol it speaks: the asyncio side of one socket.

Theory of operation. ``data_received`` hands bytes to the sans-IO connection and starts a worker
task when none runs; the worker (``_drain``, the protocol's own) handles events until the buffer
is empty and ends, so an idle connection holds no task. Bytes that arrive while the worker is
busy pause reading until it is done: a device is never more than one read ahead of what the
server has handled (backpressure). What the device is sent goes out through an ``Outbox``.

Closing. ``_close`` flushes and closes, ``_abort`` drops at once; either ends the session
(``_end``: timers, then offline) exactly when the connection starts to go, and a closing
connection that cannot flush is aborted after ``CLOSE_LINGER_SECONDS``.

Failed logins. Every login is checked, so a valid token logs in at once whatever failed before
it. A refused login, or a protocol error before login, counts in the process's ``LoginGuard``
(shared with the other protocol) and its answer waits as long as the rule says, in this
connection's worker only (``Tarpit``); the connection ending cuts the wait short. Such events
are logged through the guard's summary: the first of an interval in full, then a count.

The binary protocol (``session.BinarySession``) and MQTT (``mqtt_session.MqttSession``) differ in
their handshake, their events and their timers; they share everything here.
"""

import abc
import asyncio
import logging
from typing import ClassVar, Protocol, cast

from pinbase.protocols.device.flood import FloodMeter, Verdict
from pinbase.services.bus import (
    CONNECTION_CLOSED,
    DeviceCommanded,
    PropertyChanged,
    ValuesChanged,
)
from pinbase.services.directory import BoundDevice
from pinbase.transports.commands import PendingPings
from pinbase.transports.hub import SessionHub
from pinbase.transports.login_guard import GARBAGE
from pinbase.transports.outbox import Outbox
from pinbase.transports.tarpit import release

logger = logging.getLogger(__name__)

CLOSE_LINGER_SECONDS = 5.0
"""How long a closing connection may spend flushing its last frames: a dead peer never takes
them, and without a bound the transport would hold the socket forever."""


class ByteSink(Protocol):
    """The sans-IO connection, as far as the socket side feeds it."""

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the device; ``b""`` means it closed its side."""
        ...


class StreamSession(asyncio.Protocol, metaclass=abc.ABCMeta):
    """The server's side of one device connection over TCP or TLS, minus the protocol."""

    KIND: ClassVar[str]
    """The first word of this session's log events: ``tcp`` or ``mqtt``."""

    __slots__ = (
        "_address",
        "_attached",
        "_bound",
        "_closed",
        "_diag_at",
        "_held",
        "_hub",
        "_last_inbound",
        "_linger",
        "_loop",
        "_meter",
        "_outbox",
        "_paused",
        "_pings",
        "_proxied_address",
        "_sink",
        "_tls",
        "_transport",
        "_worker",
    )

    def __init__(self, hub: SessionHub, sink: ByteSink) -> None:
        self._hub = hub
        self._sink = sink
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._outbox: Outbox | None = None
        self._address = "?"
        self._proxied_address: str | None = None
        self._tls = False
        self._bound: BoundDevice | None = None
        self._attached = False
        self._meter: FloodMeter | None = None
        self._last_inbound = self._loop.time()
        self._worker: asyncio.Task[None] | None = None
        self._paused = False
        self._closed = False
        self._linger: asyncio.TimerHandle | None = None
        self._held: asyncio.Future[None] | None = None
        # Made at the first ping: most connections are never pinged, and a server holds
        # tens of thousands of them.
        self._pings: PendingPings | None = None
        self._diag_at: float | None = None

    # --- what each protocol adds -----------------------------------------------------------

    @property
    @abc.abstractmethod
    def origin(self) -> str:
        """The bus origin of the values this link records (``LiveSession``)."""
        ...

    @abc.abstractmethod
    def push_values(self, change: ValuesChanged) -> None:
        """Queue values written elsewhere for the device (``LiveSession``)."""
        ...

    @abc.abstractmethod
    def push_property(self, change: PropertyChanged) -> None:
        """Queue a property change, where the protocol can express one (``LiveSession``)."""
        ...

    @abc.abstractmethod
    def send_command(self, command: DeviceCommanded) -> None:
        """Queue a command for the device, as its protocol expresses it (``LiveSession``)."""
        ...

    @abc.abstractmethod
    def replace(self) -> None:
        """A newer login of the same device took over (``LiveSession``)."""
        ...

    @abc.abstractmethod
    def shutdown(self) -> None:
        """Close at server stop, flushing what is written (``Connection``)."""
        ...

    @abc.abstractmethod
    def abort(self) -> None:
        """Drop the connection at once (``Connection``)."""
        ...

    @abc.abstractmethod
    def _new_outbox(self, transport: asyncio.Transport) -> Outbox:
        """The outgoing side, paced as the protocol needs."""
        ...

    @abc.abstractmethod
    def _opened(self, transport: asyncio.Transport) -> None:
        """The connection was accepted: start the login deadline."""
        ...

    @abc.abstractmethod
    async def _drain(self) -> None:
        """Handle events until the buffer is empty or the connection closes."""
        ...

    @abc.abstractmethod
    def _flooding(self, msg_id: int) -> None:
        """Tell the device, once a second, that its messages are being dropped."""
        ...

    def _end(self, reason: str) -> None:
        """The connection is going: the device is offline from now on. Protocols with a last
        will fire it here first; every protocol calls ``_cancel_timers``."""
        self._closed = True
        self._cancel_timers()
        self._detach(reason)

    def _cancel_timers(self) -> None:
        """Stop what waits on the connection: a held answer and the pings in flight (answered:
        nothing will come back) here, each protocol's timers."""
        release(self._held)
        if self._bound is not None and self._pings is not None:
            for request_id in self._pings.drain():
                self._hub.sessions.ping_answered(
                    self._bound.device.id, request_id, ms=None, reason=CONNECTION_CLOSED
                )

    # --- commands (device-lifecycle.md §4) ---------------------------------------------------

    def _diag_allowed(self) -> bool:
        """Whether a diagnostic line may go out now (one per ``diag_interval``); taking the
        answer yes spends it."""
        now = self._loop.time()
        interval = self._hub.options.diag_interval
        if self._diag_at is not None and now - self._diag_at < interval:
            return False
        self._diag_at = now
        return True

    def _command_refused(self, command: DeviceCommanded, reason: str) -> None:
        """Log a command the link cannot carry; a ``ping`` is answered at once with why."""
        logger.info(
            "%s.command_refused device_id=%s kind=%s reason=%s",
            self.KIND,
            self._device_id(),
            command.kind,
            reason,
        )
        if command.kind == "ping":
            self._hub.sessions.ping_answered(
                command.device_id, command.request_id, ms=None, reason=reason
            )

    def _pings_full(self) -> bool:
        """Whether another ping must be refused: ``MAX_PENDING_PINGS`` are in flight."""
        return self._pings is not None and self._pings.is_full()

    def _ping_sent(self, command: DeviceCommanded, wire_id: int) -> None:
        """A ping went out numbered ``wire_id``: its answer is timed from now."""
        if self._pings is None:
            self._pings = PendingPings()
        self._pings.sent(wire_id, command.request_id, at=self._loop.time())

    def _ping_answered(self, wire_id: int) -> None:
        """The device answered what went out numbered ``wire_id``: if it was a ping, the
        round trip is announced; an answer to anything else needs nothing."""
        if self._pings is None:
            return
        answer = self._pings.answered(wire_id, at=self._loop.time())
        if answer is not None and self._bound is not None:
            request_id, ms = answer
            self._hub.sessions.ping_answered(self._bound.device.id, request_id, ms=ms)

    def proxied_for(self, address: str) -> None:
        """The device's own address, named by the balancer's PROXY header before the
        connection starts (``transports.proxied``): its logins are counted and logged under it,
        not under the balancer's."""
        self._proxied_address = address

    # --- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # A stream server's transport; uvloop's classes do not subclass asyncio.Transport.
        self._transport = transport = cast("asyncio.Transport", transport)
        peer = transport.get_extra_info("peername")
        self._address = self._proxied_address or (str(peer[0]) if peer else "?")
        self._tls = transport.get_extra_info("sslcontext") is not None
        self._outbox = self._new_outbox(transport)
        self._hub.live.add(self)
        self._opened(transport)

    def data_received(self, data: bytes) -> None:
        if self._closed:
            return
        self._last_inbound = self._loop.time()
        self._sink.receive_data(data)
        if self._worker is None:
            self._start_worker()
        elif not self._paused and self._transport is not None:
            # Backpressure: nothing more is read until the worker has caught up.
            self._paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        if self._held is not None:
            # A peer that gives up on a held answer frees its place in the tarpit now.
            self._abort("left during the login delay")
            return False
        if not self._closed:
            self._sink.receive_data(b"")
            if self._worker is None:
                self._start_worker()
        # A plain socket stays open until the worker has handled what was buffered before the
        # end; TLS transports close on EOF whatever this returns.
        return not self._tls

    def connection_lost(self, exc: Exception | None) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if self._outbox is not None:
            self._outbox.close()
        self._end("connection lost")
        self._hub.live.discard(self)

    # --- the worker ------------------------------------------------------------------------

    def _start_worker(self) -> None:
        worker = self._loop.create_task(self._work())
        self._worker = worker
        self._hub.workers.add(worker)
        worker.add_done_callback(self._hub.workers.discard)

    async def _work(self) -> None:
        try:
            await self._drain()
        except Exception:
            logger.exception("%s.session_failed address=%s", self.KIND, self._address)
            self._abort("internal error")
        finally:
            self._worker = None
            if self._paused and not self._closed and self._transport is not None:
                # Data came while this worker ran; what arrived during its last await (a batch
                # commit after the buffer looked empty) is in the buffer unread: drain it now,
                # or a PINGREQ or heartbeat would wait for the device's next bytes.
                self._paused = False
                self._transport.resume_reading()
                self._start_worker()

    # --- login and flood control -----------------------------------------------------------

    def _attach(self, bound: BoundDevice) -> None:
        """The device logged in: online from now on, under the flood rule."""
        options = self._hub.options
        self._bound = bound
        self._meter = FloodMeter(
            now=self._loop.time(), rate=options.flood_rate, burst=options.flood_burst
        )
        self._hub.sessions.attach(bound.device.id, self)
        self._attached = True

    def _admit(self, msg_id: int = 0) -> bool:
        """Flood control (§1.12): drop beyond the rate, warn once a second, then disconnect."""
        if self._meter is None:  # pragma: no cover - set at login, before any message
            return True
        verdict = self._meter.check(self._loop.time())
        if verdict is Verdict.ACCEPT:
            return True
        if verdict is Verdict.WARN:
            logger.warning("%s.flood device_id=%s", self.KIND, self._device_id())
            self._flooding(msg_id)
        elif verdict is Verdict.DISCONNECT:
            self._close("sustained flood")
        return False

    async def _fail_login(self, token: str | None = None) -> None:
        """Count a failed login (with the token it presented, when one was checked) and wait
        as long as the rule says before it is answered; the wait replaces the login deadline.
        The caller checks ``_closed`` afterwards: the peer may have gone meanwhile."""
        guard = self._hub.guard
        delay = guard.throttle.failed(self._address, token)
        self._cancel_timers()
        if delay <= 0 or self._closed:
            return
        self._held = self._loop.create_future()
        try:
            await guard.tarpit.hold(self._held, delay)
        finally:
            self._held = None

    async def _protocol_error(self, error: Exception) -> None:
        """The device broke the protocol: close; before login it counts as a failed login, and
        its line goes through the summary (junk connections come by the thousand)."""
        if self._bound is not None or self._hub.guard.log.note(GARBAGE, self._address):
            logger.info(
                "%s.protocol_error device_id=%s address=%s error=%s",
                self.KIND,
                self._device_id(),
                self._address,
                error,
            )
        if self._bound is None:
            await self._fail_login()
        self._close("protocol error")

    # --- closing ---------------------------------------------------------------------------

    def _overflow(self) -> None:
        self._abort("the device does not read fast enough")

    def _close(self, reason: str) -> None:
        """Flush, then close; the device is offline from now on."""
        if self._closed or self._transport is None:
            return
        self._closed = True
        self._end(reason)
        self._transport.close()
        self._linger = self._loop.call_later(CLOSE_LINGER_SECONDS, self._transport.abort)

    def _abort(self, reason: str) -> None:
        """Drop the connection without flushing."""
        if self._transport is None:  # pragma: no cover - only called once connected
            return
        self._closed = True
        self._end(reason)
        self._transport.abort()

    def _detach(self, reason: str) -> None:
        """Offline, once: the first end of the connection wins."""
        if self._attached:
            self._attached = False
            self._release(reason)

    def _release(self, reason: str) -> None:
        """Hand the device back to ``DeviceSessions``: offline unless a newer session took it."""
        bound = self._bound
        if bound is not None:
            self._hub.sessions.detach(bound.device.id, self)
            logger.info("%s.offline device_id=%d reason=%s", self.KIND, bound.device.id, reason)

    def _device_id(self) -> int | None:
        return None if self._bound is None else self._bound.device.id
