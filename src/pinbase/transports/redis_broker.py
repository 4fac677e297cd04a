"""The Redis broker: the bus messages of the nodes of one installation over one pub/sub channel.

Theory of operation. Every node publishes to and subscribes to one channel (``pinbase:bus`` by
default). ``send`` only queues a message; once per event-loop tick the queued messages are
encoded (``services.wire``) into one envelope, ``{"n": node id, "m": [message, …]}``, and a
writer task publishes the envelopes in order on its own connection. The reader task hands every
message of another node's envelope to ``receive``; a node's own envelopes come back too and are
skipped by their first bytes, without parsing.

Redis pub/sub keeps nothing for a subscriber that is away. When the link breaks (Redis
restarted, a network fault), the reader logs one warning, retries with back-off (0.1 s doubling
to 5 s) and logs once more when it is back; then, before handing on any message received after
the new subscription, it awaits ``on_reconnect``: the runtime reloads the node's caches from
the database there, so a change announced while the node was away is not missed, and no
message received since is lost (it waits in the socket). The same hook runs once at start, just
after the first subscription, closing the window between the runtime's first load and the
subscription. While Redis is unreachable a node keeps serving from its caches and storage; what
it publishes meanwhile is dropped (its peers reload when they reconnect), and what others
change reaches it only at the reload (docs/scaling.md).
"""

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from pinbase.services import wire
from pinbase.services.broker import Receive, new_node_id

logger = logging.getLogger(__name__)

CHANNEL = "pinbase:bus"
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 5.0
READ_WAIT_S = 1.0
"""How long one read waits for a message before the reader checks the link again."""
HEALTH_CHECK_S = 5
"""A silent subscription is PINGed after this long: a dead link is noticed within about it."""
MAX_QUEUED = 10_000
"""Envelopes waiting for the writer; beyond, the oldest are dropped (Redis is too slow or away)."""
STOP_WAIT_S = 2.0
"""How long ``stop`` waits for queued envelopes to be published."""

Reconnected = Callable[[], Awaitable[None]]


class BrokerUnavailable(Exception):
    """The broker cannot be reached at start-up."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"cannot connect to the broker {masked(url)} ({reason})")


def masked(url: str) -> str:
    """``url`` with its password shown as ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}{port}"))


class RedisBroker:
    """Links this node to the other nodes of its installation through one Redis channel."""

    def __init__(
        self,
        url: str,
        *,
        channel: str = CHANNEL,
        node_id: str | None = None,
        on_reconnect: Reconnected | None = None,
    ) -> None:
        self.node_id = node_id or new_node_id()
        self.on_reconnect = on_reconnect
        """Awaited after every (re)subscription, before any message received after it."""
        self._url = url
        self._channel = channel
        self._own = wire.batch_prefix(self.node_id)
        self._pending: list[object] = []
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._receive: Receive | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._publish_failing = False

    async def start(self, receive: Receive) -> None:
        """Connect, subscribe, run ``on_reconnect`` once, then read and write in the background.

        Raises:
            BrokerUnavailable: Redis cannot be reached.
        """
        self._receive = receive
        # Reconnecting is this class's job (it must reload after it): no hidden retries.
        self._client = aioredis.Redis.from_url(
            self._url, retry=Retry(NoBackoff(), 0), health_check_interval=HEALTH_CHECK_S
        )
        try:
            await self._client.ping()
            self._pubsub = await self._subscribe()
        except (RedisError, OSError) as error:
            await self._client.aclose()
            raise BrokerUnavailable(self._url, str(error) or type(error).__name__) from error
        await self._resynchronise()
        self._tasks = [
            asyncio.create_task(self._read_forever(), name="broker_reader"),
            asyncio.create_task(self._write_forever(), name="broker_writer"),
        ]
        logger.info("broker.connected url=%s node=%s", masked(self._url), self.node_id)

    def send(self, message: object) -> None:
        """Queue ``message``; the messages of one loop tick leave as one envelope."""
        if self._client is None:
            return
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(message)

    async def stop(self) -> None:
        """Publish what is queued (for up to ``STOP_WAIT_S``), then disconnect."""
        if self._client is None:
            return
        self._flush()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(STOP_WAIT_S):
                await self._queue.join()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
        with contextlib.suppress(RedisError, OSError):
            await self._client.aclose()
        self._client = self._pubsub = self._receive = None

    def _flush(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        parts = []
        for message in batch:
            try:
                parts.append(wire.encode(message))
            except wire.WireError:
                logger.exception("broker.unencodable topic=%s", type(message).__name__)
        if not parts:
            return
        if self._queue.qsize() >= MAX_QUEUED:
            self._queue.get_nowait()
            self._queue.task_done()
            logger.warning("broker.queue_full dropped=1")
        self._queue.put_nowait(b"".join((self._own, b",".join(parts), b"]}")))

    async def _write_forever(self) -> None:
        assert self._client is not None
        while True:
            data = await self._queue.get()
            try:
                await self._client.publish(self._channel, data)
            except (RedisError, OSError) as error:
                # Peers reload their caches when they reconnect: this envelope is not retried.
                if not self._publish_failing:
                    logger.warning("broker.publish_failed error=%s", error)
                self._publish_failing = True
            else:
                if self._publish_failing:
                    logger.info("broker.publishing_again")
                self._publish_failing = False
            finally:
                self._queue.task_done()

    async def _subscribe(self) -> PubSub:
        assert self._client is not None
        pubsub = self._client.pubsub()
        await pubsub.subscribe(self._channel)
        # Wait for the confirmation: from now on nothing published is missed.
        while True:
            reply = await pubsub.get_message(timeout=RETRY_MAX_S)
            if reply is None:
                raise TimeoutError("no subscription confirmation")
            if reply["type"] == "subscribe":
                return pubsub

    async def _resynchronise(self) -> None:
        if self.on_reconnect is not None:
            try:
                await self.on_reconnect()
            except Exception:
                logger.exception("broker.resync_failed")

    async def _read_forever(self) -> None:
        delay = RETRY_FIRST_S
        lost_at: float | None = None
        while True:
            try:
                if self._pubsub is None:
                    self._pubsub = await self._subscribe()
                    if lost_at is not None:
                        logger.warning(
                            "broker.reconnected after_s=%.1f: reloading caches",
                            time.monotonic() - lost_at,
                        )
                    await self._resynchronise()
                    lost_at, delay = None, RETRY_FIRST_S
                reply = await self._pubsub.get_message(timeout=READ_WAIT_S)
                if reply is None:
                    continue
                if reply["type"] == "message":
                    self._handle(reply["data"])
                elif reply["type"] == "subscribe":  # redis-py resubscribed by itself
                    await self._resynchronise()
            except (RedisError, OSError) as error:
                if lost_at is None:
                    lost_at = time.monotonic()
                    logger.warning(
                        "broker.unreachable url=%s error=%s: serving from local caches, retrying",
                        masked(self._url),
                        error,
                    )
                if self._pubsub is not None:
                    with contextlib.suppress(RedisError, OSError):
                        await self._pubsub.aclose()
                    self._pubsub = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)

    def _handle(self, data: bytes) -> None:
        if data.startswith(self._own) or self._receive is None:
            return
        try:
            _node, messages, problems = wire.decode_batch(data)
        except wire.WireError as error:
            logger.warning("broker.unreadable error=%s", error)
            return
        for problem in problems:
            logger.warning("broker.unreadable_message error=%s", problem)
        for message in messages:
            self._receive(message)
