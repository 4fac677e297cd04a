"""Which devices hold a live connection in the installation, on which node, and since when.

Theory of operation (issue #11). A device's live connection is a *session*, held by one node
and numbered there (``claim``). ``DeviceSessions`` claims a session when a device logs in and
releases it when the connection ends; each is a bus message of a shared topic
(``SessionClaimed``, ``SessionReleased``), handled by the same code on the node that published
it and on every other node. So every node keeps the same table, device → holding session, and
answers ``isHardwareConnected`` from memory, whichever node the device is connected to.

- A claim replaces the device's former session wherever it is: the newest claim (by its time,
  then node id, then number) holds the device on every node alike, and the node of a replaced
  session closes it (``DeviceSessions``). A device has one session in the installation.
- A release counts only if it releases the holding session: a replaced connection ending later
  changes nothing.
- A node that dies without releasing (kill -9) stops refreshing its heartbeat; the first
  surviving node to notice publishes ``NodeGone`` and every node drops the dead node's sessions.
- A node that starts (or reconnects to the broker) asks the others for the sessions they hold
  (``PresenceWanted``) and they answer (``PresenceHeld``).

Each node turns the changes of its table into ``PresenceChanged`` on its own bus (never sent to
other nodes: each derives its own), with the message's time, so online/offline and its change
time agree on every node. ``local`` marks the changes caused on this node (its own claim,
release or reaping): reactors that must act once per installation (``Lifecycle``) act on those
only. Nothing here is persisted: after a restart of the whole installation every device is
offline until it reconnects.
"""

import itertools
from dataclasses import dataclass

from pinbase.domain.ids import DeviceId
from pinbase.services import wire
from pinbase.services.bus import Bus, PresenceChanged
from pinbase.services.clock import Clock


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionClaimed:
    """A device logged in on ``node_id`` at ``ts``; that node numbers the session ``claim``.
    Any other session of the device, on any node, is replaced."""

    device_id: DeviceId
    node_id: str
    claim: int
    ts: int


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class SessionReleased:
    """The connection of session ``claim`` of ``node_id`` ended at ``ts``."""

    device_id: DeviceId
    node_id: str
    claim: int
    ts: int


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class NodeGone:
    """Node ``node_id`` stopped refreshing its heartbeat; ``by`` noticed it first, at ``ts``.
    Its sessions end."""

    node_id: str
    by: str
    ts: int


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceWanted:
    """Node ``node_id`` started or reconnected: every node answers with ``PresenceHeld``."""

    node_id: str


@wire.message
@dataclass(frozen=True, slots=True, kw_only=True)
class PresenceHeld:
    """Every session node ``node_id`` holds now: the others learn them and forget the sessions
    they thought it held that it no longer does (messages lost while a node was away).

    ``sessions`` is flat, ``device id, claim, claimed at`` for each session in turn: a node
    holding 100,000 devices sends 2.7 MB of plain numbers (encoded in 35 ms, decoded and
    unpacked in about 80 ms on this machine) rather than tagged objects built one by one, and
    stays under Redis's default pub/sub output limit (8 MB over 60 s)."""

    node_id: str
    sessions: tuple[int, ...]
    ts: int

    def held(self) -> list[tuple[DeviceId, int, int]]:
        """``(device id, claim, claimed at)`` of each session."""
        flat = self.sessions
        return [(DeviceId(flat[i]), flat[i + 1], flat[i + 2]) for i in range(0, len(flat) - 2, 3)]


Holder = tuple[int, str, int]
"""A holding session, ordered newest last: (claimed at, node id, claim number)."""


class Presence:
    """The installation's connected devices, kept in step by the session messages."""

    def __init__(self, bus: Bus, clock: Clock) -> None:
        self._bus = bus
        self._clock = clock
        self.node_id = bus.broker.node_id
        self._claims = itertools.count(1)
        self._holders: dict[DeviceId, Holder] = {}
        self._changed_at: dict[DeviceId, int] = {}
        self._replaced: dict[DeviceId, tuple[str, int]] = {}
        """Another node's session that a claim of this node replaced, while it holds."""
        self._unsubscribe = (
            bus.subscribe(SessionClaimed, self._on_claimed, remote=True),
            bus.subscribe(SessionReleased, self._on_released, remote=True),
            bus.subscribe(NodeGone, self._on_node_gone, remote=True),
            bus.subscribe(PresenceWanted, self._on_wanted, remote=True),
            bus.subscribe(PresenceHeld, self._on_held, remote=True),
        )

    # --- what sessions do -------------------------------------------------------------------

    def claim(self, device_id: DeviceId) -> int:
        """Announce a session of the device on this node, replacing any other; its number."""
        claim = next(self._claims)
        self._bus.publish(
            SessionClaimed(device_id=device_id, node_id=self.node_id, claim=claim, ts=self._clock())
        )
        return claim

    def release(self, device_id: DeviceId, claim: int) -> None:
        """Announce that session ``claim`` of the device ended, if it still holds the device."""
        if self.holds(device_id, claim):
            self._bus.publish(
                SessionReleased(
                    device_id=device_id, node_id=self.node_id, claim=claim, ts=self._clock()
                )
            )

    def holds(self, device_id: DeviceId, claim: int) -> bool:
        """Whether this node's session ``claim`` is the device's session in the installation."""
        holder = self._holders.get(device_id)
        return holder is not None and holder[1] == self.node_id and holder[2] == claim

    def mark_online(self, device_id: DeviceId) -> None:
        """Claim a session of the device on this node unless it is online (tests, tools)."""
        if device_id not in self._holders:
            self.claim(device_id)

    def mark_offline(self, device_id: DeviceId) -> None:
        """Release the device's session if this node holds it (tests, tools)."""
        holder = self._holders.get(device_id)
        if holder is not None and holder[1] == self.node_id:
            self.release(device_id, holder[2])

    # --- what the installation does ---------------------------------------------------------

    def reap(self, node_id: str) -> None:
        """Node ``node_id`` is dead (its heartbeat expired, and this node noticed first): end its
        sessions on every node, as changes of this node."""
        self._bus.publish(NodeGone(node_id=node_id, by=self.node_id, ts=self._clock()))

    def sync(self) -> None:
        """Tell the other nodes which sessions this node holds and ask for theirs (at start-up,
        and after a reconnection to the broker)."""
        self._bus.publish(self._held())
        self._bus.publish(PresenceWanted(node_id=self.node_id))

    def rejoin(self, reaped: bool) -> None:
        """Back in the installation after its heartbeat failed: ``sync``, and if another node
        reaped this one meanwhile, report its devices online again (``_reclaim``)."""
        self.sync()
        if reaped:
            self._reclaim()

    # --- reads ------------------------------------------------------------------------------

    def is_online(self, device_id: DeviceId) -> bool:
        """Whether the device holds a connection now, on any node."""
        return device_id in self._holders

    def changed_at(self, device_id: DeviceId) -> int | None:
        """When the device last went online or offline (ms), None if not since the start."""
        return self._changed_at.get(device_id)

    def node_of(self, device_id: DeviceId) -> str | None:
        """The node holding the device's session, None when it is offline."""
        holder = self._holders.get(device_id)
        return None if holder is None else holder[1]

    def close(self) -> None:
        """Stop listening to the bus (at shutdown)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()

    # --- bus callbacks: the one place the table changes ---------------------------------------

    def _on_claimed(self, claimed: SessionClaimed) -> None:
        self._hold(
            claimed.device_id,
            (claimed.ts, claimed.node_id, claimed.claim),
            local=claimed.node_id == self.node_id,
        )

    def _on_released(self, released: SessionReleased) -> None:
        device_id = released.device_id
        holder = self._holders.get(device_id)
        if holder is None:
            return
        if holder[1:] == (released.node_id, released.claim):
            self._drop(device_id, ts=released.ts, local=released.node_id == self.node_id)
        elif self._replaced.get(device_id) == (released.node_id, released.claim):
            # That node released the session before it learned this node's claim, so it
            # announced the device offline: this node, which holds it, announces it online
            # again, so that the stored status and notifications end right.
            del self._replaced[device_id]
            self._announce(device_id, online=True, ts=released.ts, local=True)

    def _on_node_gone(self, gone: NodeGone) -> None:
        if gone.node_id == self.node_id:
            # Reaped while alive (its heartbeat lapsed, its bus did not): it still holds its
            # devices, and tells the others so.
            self._bus.publish(self._held())
            self._reclaim()
            return
        local = gone.by == self.node_id
        for device_id in [d for d, holder in self._holders.items() if holder[1] == gone.node_id]:
            self._drop(device_id, ts=gone.ts, local=local)

    def _on_wanted(self, wanted: PresenceWanted) -> None:
        if wanted.node_id != self.node_id:
            self._bus.publish(self._held())

    def _on_held(self, held: PresenceHeld) -> None:
        if held.node_id == self.node_id:
            return
        sessions = held.held()
        listed = {device_id for device_id, _, _ in sessions}
        for device_id in [
            d
            for d, holder in self._holders.items()
            if holder[1] == held.node_id and d not in listed
        ]:
            self._drop(device_id, ts=held.ts, local=False)
        for device_id, claim, ts in sessions:
            self._hold(device_id, (ts, held.node_id, claim), local=False)

    def _held(self) -> PresenceHeld:
        return PresenceHeld(
            node_id=self.node_id,
            sessions=tuple(
                number
                for device_id, (ts, node, claim) in self._holders.items()
                if node == self.node_id
                for number in (device_id, claim, ts)
            ),
            ts=self._clock(),
        )

    def _hold(self, device_id: DeviceId, holder: Holder, *, local: bool) -> None:
        """Make ``holder`` the device's session unless a newer one holds it already."""
        former = self._holders.get(device_id)
        if former is not None and former >= holder:
            return
        self._holders[device_id] = holder
        if former is not None and former[1] != self.node_id == holder[1]:
            self._replaced[device_id] = (former[1], former[2])
        else:
            self._replaced.pop(device_id, None)
        if former is None:
            self._announce(device_id, online=True, ts=holder[0], local=local)

    def _drop(self, device_id: DeviceId, *, ts: int, local: bool) -> None:
        del self._holders[device_id]
        self._replaced.pop(device_id, None)
        self._announce(device_id, online=False, ts=ts, local=local)

    def _reclaim(self) -> None:
        """Announce every device this node holds online, as a change of this node.

        The node that reaped this one announced them offline as its own changes, so the stored
        status and the Offline notifications were handled there; the other nodes learn the
        sessions again from ``PresenceHeld`` as changes of another node, which act on nothing.
        This node's announcement is the one the installation acts on: the stored status turns
        online and an Online notification is sent where one is due (a device whose status was
        never stored offline, after Redis lost its data, changes nothing)."""
        now = self._clock()
        for device_id in [d for d, holder in self._holders.items() if holder[1] == self.node_id]:
            self._announce(device_id, online=True, ts=now, local=True)

    def _announce(self, device_id: DeviceId, *, online: bool, ts: int, local: bool) -> None:
        self._changed_at[device_id] = ts
        self._bus.publish(PresenceChanged(device_id=device_id, online=online, ts=ts, local=local))
