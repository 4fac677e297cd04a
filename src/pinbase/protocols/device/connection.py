"""The server's side of one device connection, as a state machine without I/O.

Theory of operation (device-protocols.md §1.8). The transport feeds received bytes to
``receive_data`` and drains ``next_event`` until it returns ``NEED_DATA``; for every answer or
push it calls ``send`` and writes the bytes it returns as one piece (§1.2 rule 5)::

    AWAIT_LOGIN ──LOGIN 2 / HW_LOGIN 29──► LOGGING_IN ──send(Response OK)──► AWAIT_INFO
        │                                     │                                  │
        └─any other command: ProtocolError    └─send(Response ≠ OK)──► CLOSED    │
                                                                                 │
    READY ◄──send(Response to the info message), or end_info_wait() after 2 s ───┘

While AWAIT_INFO, pushes (messages without a ``msg_id``) are held, because ``blynklib`` reads
exactly one frame per handshake stage (§3.2); ``drain_held`` hands them over once READY.
Answers to requests are never held. Timers (login deadline, info wait, idle timeout, flood) are
the transport's: ``timing`` and ``flood`` give it the numbers and pure rules.

Message ids (§1.2 rules 2 and 3): ids from the device are echoed, never deduplicated, and 0 is
accepted. The server numbers its own messages 1..65535 and never sends 0: a RESPONSE to a
request numbered 0 is not sent at all, and another answer to it takes a fresh number instead.
"""

from enum import Enum, auto
from typing import Literal

from pinbase.protocols.device.codec import encode_server_message, parse_device_raw, parse_login
from pinbase.protocols.device.errors import LocalProtocolError, ProtocolError, Undeliverable
from pinbase.protocols.device.events import (
    ConnectionClosed,
    DeviceInfo,
    Event,
    Login,
    Rejected,
    Response,
)
from pinbase.protocols.device.frames import (
    DEFAULT_BUFF_IN,
    HEADER,
    MAX_BUFF_IN,
    MAX_INBOUND_BODY,
    MAX_LOGIN_BODY,
    MAX_MSG_ID,
    Command,
    Frame,
    FrameDecoder,
    Status,
    encode_frame,
)
from pinbase.protocols.device.outbound import C_PLUS_PLUS_ONLY, InternalPush, Outbound
from pinbase.protocols.device.timing import DEFAULT_HEARTBEAT_SECONDS, MAX_HEARTBEAT_SECONDS
from pinbase.protocols.stream import NEED_DATA, Inbound, Sentinel

MAX_HELD_MESSAGES = 20
"""Pushes held while the handshake ends: 2 s of holding (``INFO_WAIT_SECONDS``) at the 100 ms
pacing ``blynklib`` needs (§3.2) is 20 frames; more would only queue behind the pacing."""

LOGIN_COMMANDS = frozenset({Command.LOGIN, Command.HW_LOGIN})
"""Both login forms are accepted: 2 from C++ 0.6.0 and older and ``blynklib``, 29 from the rest
(§1.13 #1)."""


class State(Enum):
    """Where the connection stands in the login sequence (§1.8.1)."""

    AWAIT_LOGIN = auto()
    LOGGING_IN = auto()
    """A login arrived; the server must answer it before anything else."""
    AWAIT_INFO = auto()
    """Logged in; pushes wait for the info message's answer (§1.8.1)."""
    READY = auto()
    CLOSED = auto()


class ClientLibrary(Enum):
    """Which client library the device runs, told from the login command and info ``dev``."""

    UNKNOWN = "unknown"
    """No info message yet."""
    CPP = "C++"
    """blynkkk/blynk-library, or any firmware that is not one of the Python libraries."""
    BLYNKLIB = "blynklib"
    """PyPI ``blynklib`` 0.2.6: login 2 and ``dev=python`` (§3.2)."""
    BLYNK_LIBRARY_PYTHON = "BlynkLib"
    """PyPI ``blynk-library-python`` 0.2.0, module ``BlynkLib``: login 29 and ``dev=python``."""


class DeviceConnection:
    """One device connection, server side: ``receive_data``, ``next_event``, ``send``."""

    def __init__(self, *, max_body_size: int = MAX_INBOUND_BODY) -> None:
        """Start awaiting a login.

        Args:
            max_body_size: the longest body accepted from the device once logged in; a longer
                length field is a ``ProtocolError`` (§1.2 rule 4).
        """
        self._decoder = FrameDecoder()
        self._max_body_size = max_body_size
        self._state = State.AWAIT_LOGIN
        self._inbound = Inbound(self._decoder)
        self._login_id = 0
        self._login_valid = False
        self._login_command: Command | None = None
        self._info: DeviceInfo | None = None
        self._info_id: int | None = None
        self._heartbeat: int | None = None
        self._needs_pacing = False
        self._buff_in = DEFAULT_BUFF_IN
        self._next_id = 1
        self._last_sent_id = 0
        self._held: list[bytes] = []

    @property
    def state(self) -> State:
        """The current state; CLOSED means: flush what ``send`` returned, then close."""
        return self._state

    @property
    def login_command(self) -> Command | None:
        """LOGIN or HW_LOGIN once a valid login arrived."""
        return self._login_command

    @property
    def device_info(self) -> DeviceInfo | None:
        """The latest info message, if any."""
        return self._info

    @property
    def heartbeat(self) -> int:
        """The announced ``h-beat`` (capped at one hour), else the 45 s default (§1.9)."""
        return self._heartbeat or DEFAULT_HEARTBEAT_SECONDS

    @property
    def buff_in(self) -> int:
        """Largest frame the device accepts, header included; 255 until announced (§1.11.4)."""
        return self._buff_in

    @property
    def last_sent_id(self) -> int:
        """The msg id the connection gave its latest push (0 before any): the id a device's
        RESPONSE to a ``ServerPing`` carries back."""
        return self._last_sent_id

    @property
    def client(self) -> ClientLibrary:
        """The client library, as far as the handshake tells."""
        if self._info is None or self._login_command is None:
            return ClientLibrary.UNKNOWN
        if self._info.get("dev") != "python":
            return ClientLibrary.CPP
        if self._login_command is Command.LOGIN:
            return ClientLibrary.BLYNKLIB
        return ClientLibrary.BLYNK_LIBRARY_PYTHON

    @property
    def needs_pacing(self) -> bool:
        """True when frames must reach the device one per ``recv()`` (``blynklib``, §3.2)."""
        return self._needs_pacing  # asked for every frame sent: kept, not derived each time

    def receive_data(self, data: bytes) -> None:
        """Buffer bytes from the device; ``b""`` means the device closed its side.

        Raises:
            LocalProtocolError: data after the end of the stream.
        """
        self._inbound.receive(data, discard=self._state is State.CLOSED)

    def next_event(self) -> Event | Literal[Sentinel.NEED_DATA]:
        """The next event, or ``NEED_DATA``; ``ConnectionClosed`` once the stream has ended.

        Raises:
            ProtocolError: the device broke the framing or sent something other than a login
                first; the connection is CLOSED and must be dropped without an answer.
            LocalProtocolError: called while a login waits for its answer.
        """
        if self._state is State.CLOSED:
            return ConnectionClosed()
        if self._state is State.LOGGING_IN:
            raise LocalProtocolError("answer the login before reading further")
        try:
            return self._read_event()
        except ProtocolError:
            self._state = State.CLOSED
            raise

    def _read_event(self) -> Event | Literal[Sentinel.NEED_DATA]:
        awaiting_login = self._state is State.AWAIT_LOGIN
        if awaiting_login:
            first = self._decoder.peek_command()
            # Refuse garbage (an HTTP request, a TLS hello) on its first byte (§1.8.1).
            if first is not None and first not in LOGIN_COMMANDS:
                raise ProtocolError(f"command {first} before login")
        limit = MAX_LOGIN_BODY if awaiting_login else self._max_body_size
        raw = self._decoder.next_raw(max_body=limit)
        if raw is None:
            if not self._inbound.is_over():
                return NEED_DATA
            self._state = State.CLOSED
            return ConnectionClosed()
        command, msg_id, body, _ = raw
        if awaiting_login:
            login = parse_login(Frame(command=command, msg_id=msg_id, body=body))
            self._state = State.LOGGING_IN
            self._login_id = msg_id
            if isinstance(login, Login):
                self._login_valid = True
                self._login_command = login.command
            return login
        if command in LOGIN_COMMANDS:
            return Rejected(
                msg_id=msg_id,
                command=command,
                status=Status.ALREADY_REGISTERED,
                reason="already logged in",
            )
        event = parse_device_raw(raw)
        if isinstance(event, DeviceInfo):
            self._apply_info(event)
        return event

    def _apply_info(self, info: DeviceInfo) -> None:
        # A device may send its info again later: the latest values apply (§1.7.1).
        self._info = info
        self._needs_pacing = self.client is ClientLibrary.BLYNKLIB
        if info.heartbeat is not None:
            self._heartbeat = min(info.heartbeat, MAX_HEARTBEAT_SECONDS)
        if info.buff_in is not None:
            self._buff_in = min(info.buff_in, MAX_BUFF_IN)
        if self._state is State.AWAIT_INFO:
            self._info_id = info.msg_id

    def send(self, message: Outbound) -> bytes:
        """The bytes to write for ``message``, as one piece; ``b""`` when nothing goes out now.

        Nothing goes out for a RESPONSE to a request numbered 0 (clients drop id 0), nor for a
        push while AWAIT_INFO: it is held for ``drain_held``.

        Raises:
            Undeliverable: the frame exceeds the device's ``buff-in`` (§1.11.4), the held
                queue is full, or the message is PING, REDIRECT or DEBUG_PRINT and the client
                is not known to be the C++ library (§1.11.5).
            LocalProtocolError: the message is not allowed in this state.
        """
        if isinstance(message, Response):
            return self._send_response(message)
        if self._state not in (State.AWAIT_INFO, State.READY):
            raise LocalProtocolError(f"cannot send {type(message).__name__} while {self._state}")
        if isinstance(message, C_PLUS_PLUS_ONLY):
            if self.client is not ClientLibrary.CPP:
                raise Undeliverable(
                    f"{type(message).__name__} goes only to a client known to be the C++ "
                    "library (the Python libraries disconnect on it)"
                )
            reply_to = None
        else:
            reply_to = None if isinstance(message, InternalPush) else message.msg_id
        msg_id = reply_to or self._take_id()
        try:
            data = encode_frame(encode_server_message(message, msg_id=msg_id))
        except ValueError as error:  # a body over 65535 bytes fits no frame at all
            raise Undeliverable(str(error)) from error
        if len(data) > self._buff_in:
            raise Undeliverable(f"{len(data)}-byte frame exceeds buff-in {self._buff_in}")
        if reply_to is None and self._state is State.AWAIT_INFO:
            if len(self._held) >= MAX_HELD_MESSAGES:
                raise Undeliverable(f"{MAX_HELD_MESSAGES} pushes already wait for the handshake")
            self._held.append(data)
            return b""
        return data

    def _send_response(self, response: Response) -> bytes:
        if self._state is State.LOGGING_IN:
            if response.msg_id != self._login_id:
                raise LocalProtocolError("the login's answer must echo its msg_id")
            if response.status == Status.OK:
                if not self._login_valid:
                    raise LocalProtocolError("a rejected login cannot be accepted")
                self._state = State.AWAIT_INFO
            elif response.status == Status.ALREADY_REGISTERED:
                # The C++ library counts 4 as success, the Python libraries as failure (§1.13 #9).
                raise LocalProtocolError("accept a login with 200, never 4")
            else:
                self._state = State.CLOSED
        elif self._state in (State.AWAIT_INFO, State.READY):
            if response.status == Status.NOT_AUTHENTICATED:
                # The C++ library disconnects on it while connected (§3.1).
                raise LocalProtocolError("never answer NOT_AUTHENTICATED once logged in")
            if self._state is State.AWAIT_INFO and response.msg_id == self._info_id:
                self._state = State.READY
                self._info_id = None
        else:
            raise LocalProtocolError(f"nothing to answer while {self._state}")
        if response.msg_id == 0:
            return b""
        # encode_frame(encode_server_message(response)) without the Frame: one per PING (issue 4)
        return HEADER.pack(Command.RESPONSE, response.msg_id, response.status)

    def end_info_wait(self) -> None:
        """Stop holding pushes although no info message was answered: ``INFO_WAIT_SECONDS``
        after login, as the spec asks (§1.8.1). Does nothing in any other state."""
        if self._state is State.AWAIT_INFO:
            self._state = State.READY

    def drain_held(self) -> list[bytes]:
        """The pushes held during the handshake, in order; each is one frame to write, paced
        when ``needs_pacing``. Empty until READY."""
        if self._state is not State.READY:
            return []
        held, self._held = self._held, []
        return held

    def _take_id(self) -> int:
        msg_id = self._next_id
        self._next_id = msg_id % MAX_MSG_ID + 1  # 1..65535, then 1 again: never 0
        self._last_sent_id = msg_id
        return msg_id
