"""The broker: how one node's bus messages reach the other nodes of an installation.

``Bus`` hands every message of a shared topic (registered with ``services.wire.message``) to
its broker's ``send``; the broker delivers it to the bus of every OTHER node, which hands it to
the subscribers that asked for remote messages (``Bus.subscribe(..., remote=True)``).

``LocalBroker`` is the one-process default: there are no other nodes, so ``send`` does nothing
(and ``Bus`` does not even call it). Linked to a ``LocalNetwork`` it connects several buses of
one process, for tests: each message is encoded and decoded on the way, exactly as the Redis
broker (``transports.redis_broker``, built by the runtime from ``broker_url``) carries it.
"""

import asyncio
import uuid
from collections.abc import Callable
from typing import Protocol

from pinbase.services import wire

Receive = Callable[[object], None]


class Broker(Protocol):
    """Carries bus messages between the nodes of one installation."""

    node_id: str
    """This node's id, unique in the installation (a node skips its own messages)."""

    async def start(self, receive: Receive) -> None:
        """Connect; from now on call ``receive`` on the event loop with each message another
        node sent."""
        ...

    def send(self, message: object) -> None:
        """Queue ``message`` for every other node; never blocks (sent on the next loop tick)."""
        ...

    async def stop(self) -> None:
        """Send what is queued and disconnect."""
        ...


def new_node_id() -> str:
    """A random node id."""
    return uuid.uuid4().hex[:12]


class LocalBroker:
    """The broker of a node alone, or of one node among several in one process (``network``)."""

    def __init__(self, network: "LocalNetwork | None" = None, *, node_id: str | None = None):
        self.node_id = node_id or new_node_id()
        self._network = network
        self._receive: Receive | None = None

    @property
    def alone(self) -> bool:
        """True when no other node can exist: sending is pointless."""
        return self._network is None

    async def start(self, receive: Receive) -> None:
        """Join the network, if any."""
        self._receive = receive
        if self._network is not None:
            self._network.join(self)

    def send(self, message: object) -> None:
        """Hand ``message`` to the other nodes of the network (encoded and decoded on the way)."""
        if self._network is not None:
            self._network.carry(self, wire.encode(message))

    async def stop(self) -> None:
        """Leave the network."""
        if self._network is not None:
            self._network.leave(self)
        self._receive = None

    def deliver(self, data: bytes) -> None:
        """Called by the network: one message from another node."""
        if self._receive is not None:
            self._receive(wire.decode(data))


class LocalNetwork:
    """Several ``LocalBroker`` nodes in one process: what one sends, the others receive on a
    later loop tick, in order, as over Redis."""

    def __init__(self) -> None:
        self._nodes: list[LocalBroker] = []

    def join(self, node: LocalBroker) -> None:
        """``node`` receives from now on."""
        self._nodes.append(node)

    def leave(self, node: LocalBroker) -> None:
        """``node`` receives no more."""
        if node in self._nodes:
            self._nodes.remove(node)

    def carry(self, sender: LocalBroker, data: bytes) -> None:
        """Deliver ``data`` to every node but ``sender``, on the next loop tick."""
        loop = asyncio.get_running_loop()
        for node in tuple(self._nodes):
            if node is not sender:
                loop.call_soon(node.deliver, data)
