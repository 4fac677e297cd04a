"""MQTT over WebSocket at ``/mqtt`` of the HTTP listener (device-lifecycle.md §3): the handshake
rules, then the TCP listeners' own ``MqttSession`` over the socket's byte stream.

Nothing of MQTT is here: CONNECT rules, topics, the packet size limit, one session per token,
keep-alive, flood control and the failed-login rule are the session's and the hub's, shared with
the TCP and TLS listeners (``mqtt.MqttListeners``), so a device behaves the same whichever way it
connects. What is WebSocket's:

* the subprotocol: ``mqtt`` (MQTT 3.1.1 and 5, what MQTT.js and paho ask for) or ``mqttv3.1``
  (MQTT.js with protocol id ``MQIsdp``), echoed, since a browser drops a connection whose
  requested subprotocol is not confirmed; no subprotocol offered is accepted too; an offer of
  only other subprotocols is refused (the handshake gets 403): that client speaks something else;
* ``Origin``: any, unless the ``mqtt_websocket_origins`` allow-list is set (the token, not the
  page, authenticates a device; the list lets an operator confine browsers to their own pages,
  so clients sending no ``Origin``, and pages of the server's own host, are always let in);
* framing: ``websocket.WebSocketTransport`` (binary frames as a byte stream, text → 1003).
"""

import asyncio
import logging

from pinbase.transports.listening import STOP_SECONDS
from pinbase.transports.login_guard import GARBAGE
from pinbase.transports.mqtt_hub import MqttHub
from pinbase.transports.mqtt_session import MqttSession
from pinbase.transports.websocket import CLOSE_POLICY, Receive, Scope, Send, WebSocketTransport

logger = logging.getLogger(__name__)

SUBPROTOCOLS = ("mqtt", "mqttv3.1")
"""The WebSocket subprotocols of MQTT (MQTT 3.1.1 §6, and MQTT.js for protocol level 3)."""


def choose_subprotocol(offered: list[str]) -> str | None:
    """The client's first offer that is MQTT's, or ``None`` when it offered none at all.

    Raises:
        ValueError: subprotocols were offered and none is MQTT's.
    """
    for name in offered:
        if name.lower() in SUBPROTOCOLS:
            return name
    if offered:
        raise ValueError(f"no MQTT subprotocol offered: {', '.join(offered)[:100]}")
    return None


def normal_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case without a trailing slash, as browsers send it."""
    return origin.strip().rstrip("/").lower()


class MqttWebSocket:
    """The ASGI application of ``/mqtt``: WebSocket connections only (the HTTP application
    answers plain requests to the path)."""

    def __init__(self, hub: MqttHub, *, origins: tuple[str, ...] = ()) -> None:
        self._hub = hub
        self._origins = frozenset(normal_origin(origin) for origin in origins)
        self._live: set[WebSocketTransport] = set()

    async def stop(self, *, within: float = STOP_SECONDS) -> None:
        """Close every connection (each flushes what it was sent, then its close frame) and
        wait for them, at most ``within`` s; what is left is dropped.

        Called before the HTTP server stops: once it has, a close frame can no longer be sent.
        """
        for transport in list(self._live):
            session = transport.get_protocol()
            if isinstance(session, MqttSession):
                session.shutdown()
        pending = [transport.finished for transport in self._live]
        if pending:
            await asyncio.wait(pending, timeout=within)
        for transport in list(self._live):
            transport.abort()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the handshake, accept, then run one ``MqttSession`` until the socket ends."""
        if scope["type"] != "websocket":  # pragma: no cover - the HTTP application routes
            return
        message = await receive()
        if message.get("type") != "websocket.connect":
            return
        refusal = self._refusal(scope)
        if refusal is None:
            try:
                subprotocol = choose_subprotocol(list(scope.get("subprotocols") or ()))
            except ValueError as error:
                refusal = str(error)
        if refusal is not None:
            address = _address(scope)
            if self._hub.guard.log.note(GARBAGE, address):
                logger.info("mqtt.websocket_refused address=%s reason=%s", address, refusal)
            # Closing before accepting answers the handshake 403.
            await send({"type": "websocket.close", "code": CLOSE_POLICY})
            return
        await send({"type": "websocket.accept", "subprotocol": subprotocol})
        transport = WebSocketTransport(scope, send, MqttSession(self._hub))
        self._live.add(transport)
        try:
            await transport.serve(receive)
        finally:
            self._live.discard(transport)

    def _refusal(self, scope: Scope) -> str | None:
        """Why the handshake is refused, or ``None``. The allow-list is about browsers' pages:
        a client that sends no ``Origin`` is no browser, and a page of the server's own host
        (``Origin`` naming the ``Host`` the client asked for; paho-mqtt sends that) is allowed
        too."""
        if not self._origins:
            return None
        origin = _header(scope, b"origin")
        if origin is None or normal_origin(origin) in self._origins:
            return None
        host = (_header(scope, b"host") or "").lower()
        if host and normal_origin(origin).partition("://")[2] == host:
            return None
        return f"origin not allowed: {origin!r}"[:150]


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "?"
