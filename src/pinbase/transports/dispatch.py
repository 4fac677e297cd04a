"""What the server does with each message of a logged-in device: one service call, one answer.

The answers follow device-protocols.md: writes and syncs get no RESPONSE on success (§1.10.1,
§1.10.3), setProperty 200 or 11 (§1.10.4), events 200 or 2 (§1.10.6), INTERNAL requests their
INTERNAL answers echoing the id (§1.7.2), and what Pinbase does not offer NOT_ALLOWED (§1.4).
Consecutive writes go to ``record_writes`` together, to be stored as one batch.
"""

import logging
from collections.abc import Sequence
from typing import Protocol

from pinbase.protocols.device import (
    BridgeInit,
    BridgeWrite,
    DeviceInfo,
    Email,
    GroupBegin,
    GroupEnd,
    HardwareRead,
    HardwareWrite,
    HardwareWriteOut,
    Internal,
    LogEvent,
    Login,
    Message,
    MetadataGet,
    MetadataReply,
    MetadataSet,
    Notify,
    Outbound,
    Ping,
    Rejected,
    ResolveEvent,
    Response,
    RtcReply,
    RtcSync,
    SetProperty,
    Sms,
    Status,
    Sync,
    Tweet,
    UtcReply,
    UtcRequest,
)
from pinbase.services.device_gateway import DeviceGateway, EventOutcome
from pinbase.services.directory import BoundDevice

logger = logging.getLogger(__name__)

EVENT_STATUS = {
    EventOutcome.LOGGED: Status.OK,
    EventOutcome.UNKNOWN_CODE: Status.ILLEGAL_COMMAND,
    EventOutcome.REFUSED: Status.ILLEGAL_COMMAND,
    EventOutcome.DROPPED: Status.QUOTA_LIMIT,
}
"""The answer to EVENT_LOG (automations.md §1.9, device-protocols.md §1.10.6): a limit drop is
QUOTA_LIMIT, which the C++ library ignores and blynklib and BlynkLib only log."""


class Link(Protocol):
    """The connection a message arrived on, as the handlers need it."""

    group_ts: int | None
    """The timestamp of an open write group (§1.10.5), else None."""

    @property
    def origin(self) -> str:
        """The bus origin of values written on this link."""
        ...

    def send(self, message: Outbound) -> None:
        """Queue one outbound message."""
        ...

    def info_answered(self) -> None:
        """The info message is answered: release held pushes, follow the new h-beat."""
        ...


async def record_writes(
    link: Link, gateway: DeviceGateway, bound: BoundDevice, writes: Sequence[HardwareWrite]
) -> int:
    """Store consecutive writes of the device ``bound`` together; no answer (§1.10.1). How
    many were stored: the others named no datastream of the template or did not fit it."""
    batch = [(write.pin, write.values) for write in writes]
    return await gateway.record_writes(bound, batch, origin=link.origin, ts=link.group_ts)


async def dispatch(
    link: Link, gateway: DeviceGateway, bound: BoundDevice, message: Message | Rejected
) -> None:
    """Handle one message of the device ``bound``, answering on ``link``."""
    msg_id = message.msg_id

    def answer(status: int) -> None:
        link.send(Response(msg_id=msg_id, status=status))

    match message:  # writes never come here: the session stores each run of them as a batch
        case Ping():
            answer(Status.OK)
        case Sync(pins=pins):
            for found, texts in gateway.sync_values(bound, pins):
                link.send(HardwareWriteOut(pin=found, values=texts, msg_id=msg_id))
        case HardwareRead(pin=pin):
            # The legacy server ignored it; answering it as a one-pin sync costs nothing.
            for found, texts in gateway.sync_values(bound, [pin]):
                link.send(HardwareWriteOut(pin=found, values=texts, msg_id=msg_id))
        case DeviceInfo(fields=fields):
            answer(Status.OK)  # blynklib waits for it (§1.7.1)
            link.info_answered()
            await gateway.record_info(bound, fields)
        case SetProperty(pins=pins, name=name, values=values):
            done = await gateway.set_property(bound, pins, name, values)
            answer(Status.OK if done else Status.ILLEGAL_COMMAND_BODY)
        case LogEvent(code=code, description=description):
            answer(EVENT_STATUS[await gateway.log_event(bound, code, description)])
        case ResolveEvent(code=code):
            # Resolving needs a storage operation Pinbase lacks yet; C++ 1.x expects no answer.
            logger.info("tcp.resolve_event_ignored device_id=%d code=%r", bound.device.id, code)
        case Notify(text=text):
            done = await gateway.accept_notification(bound, text)
            answer(Status.OK if done else Status.NOTIFICATION_INVALID_BODY)
        case Email(to=to, subject=subject, body=body):
            await gateway.accept_email(bound, to, subject, body)
            answer(Status.OK)
        case Tweet() | Sms() | BridgeInit() | BridgeWrite():
            answer(Status.NOT_ALLOWED)  # not offered (§1.4, §1.10.7)
        case GroupBegin(timestamp_ms=timestamp_ms):
            link.group_ts = gateway.group_timestamp(timestamp_ms)
        case GroupEnd():
            link.group_ts = None
        case RtcSync():
            link.send(RtcReply(msg_id=msg_id, seconds=gateway.rtc_seconds()))
        case UtcRequest(query=query):
            time_values = gateway.utc_answer(query)
            if time_values is None:
                answer(Status.ILLEGAL_COMMAND)
            else:
                link.send(UtcReply(msg_id=msg_id, query=query, values=time_values))
        case MetadataGet(name=name):
            value = gateway.read_metadata(bound, name)
            if value is None:
                answer(Status.ILLEGAL_COMMAND)
            else:
                link.send(MetadataReply(msg_id=msg_id, name=name, value=value))
        case MetadataSet(name=name, value=value):
            done = await gateway.write_metadata(bound, name, value)
            answer(Status.OK if done else Status.ILLEGAL_COMMAND)
        case Rejected(status=status):
            answer(status)
        case Internal() | Login() | Response():
            # Unknown INTERNAL commands; Login and Response never get here (the session
            # handles them).
            answer(Status.ILLEGAL_COMMAND)
