"""Node heartbeats in Redis: how the nodes of an installation learn that one of them died.

Every node keeps a key ``pinbase:node:<id>`` that expires ``ttl_s`` after its last refresh,
refreshed every third of it, and lists itself in the set ``pinbase:nodes``. At each refresh a
node also checks the others: a member of the set whose key expired is dead (kill -9, power
loss, cut off from Redis for longer than the TTL). The node whose ``SREM`` removes it from the
set is the one that noticed first, and only it calls ``on_dead``: the dead node's devices go
offline once per installation (``Presence.reap``). A node stopping cleanly removes itself.

A node cut off from Redis keeps serving its devices (docs/scaling.md); when it reconnects it
lists itself again, and ``on_rejoined`` tells the others which sessions it holds. Whether it had
been reaped meanwhile (it was no longer listed) is passed on: its devices were then reported
offline, and must be reported online again (``Presence.rejoin``).
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable

import redis.asyncio as aioredis

logger = logging.getLogger(__name__)

NODES_KEY = "pinbase:nodes"
NODE_KEY = "pinbase:node:{}"


class NodeHeartbeat:
    """Keeps this node's heartbeat and reaps nodes whose heartbeat expired."""

    def __init__(
        self,
        client: "aioredis.Redis",
        *,
        node_id: str,
        ttl_s: float,
        on_dead: Callable[[str], None],
        on_rejoined: Callable[[bool], None] = lambda reaped: None,
    ) -> None:
        self._client = client
        self._node_id = node_id
        self._ttl_ms = max(1, round(ttl_s * 1000))
        self._on_dead = on_dead
        self._on_rejoined = on_rejoined
        self._task: asyncio.Task[None] | None = None
        self._outage = False

    async def start(self) -> None:
        """Beat once (so the others know this node from now on), then keep beating."""
        try:
            await self.beat()
        except Exception as error:
            self._went_away(error)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="heartbeat")

    async def stop(self) -> None:
        """Stop beating and leave the installation's list of nodes."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            async with self._client.pipeline(transaction=False) as pipe:
                pipe.delete(NODE_KEY.format(self._node_id))
                pipe.srem(NODES_KEY, self._node_id)
                await pipe.execute()

    async def beat(self) -> bool:
        """Refresh this node's key, then reap the nodes whose key expired; whether this node
        had to list itself again (another node reaped it, or Redis lost the list)."""
        async with self._client.pipeline(transaction=False) as pipe:
            pipe.set(NODE_KEY.format(self._node_id), b"1", px=self._ttl_ms)
            pipe.sadd(NODES_KEY, self._node_id)
            pipe.smembers(NODES_KEY)
            _, added, members = await pipe.execute()
        await self._reap(sorted(m.decode() for m in members if m.decode() != self._node_id))
        return bool(added)

    async def _reap(self, others: list[str]) -> None:
        if not others:
            return
        async with self._client.pipeline(transaction=False) as pipe:
            for node in others:
                pipe.exists(NODE_KEY.format(node))
            alive = await pipe.execute()
        for node, exists in zip(others, alive, strict=True):
            if not exists and await self._client.srem(NODES_KEY, node):
                logger.warning("node.dead node_id=%s", node)
                self._on_dead(node)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3000)
            try:
                listed_again = await self.beat()
            except Exception as error:
                self._went_away(error)
                continue
            if self._outage or listed_again:
                self._outage = False
                logger.info(
                    "node.heartbeat_restored node_id=%s reaped=%s", self._node_id, listed_again
                )
                self._on_rejoined(listed_again)

    def _went_away(self, error: Exception) -> None:
        if not self._outage:
            self._outage = True
            logger.warning("node.heartbeat_failed node_id=%s error=%s", self._node_id, error)
