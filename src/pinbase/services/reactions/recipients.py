"""Who receives a notification: tagged recipients resolved against a device (automations.md §1.3).

E-mail goes to any valid address: user e-mails, Email metafield values, the e-mail of a Contact
metafield. Push goes to users only: the owner, chosen users, all members, and the user whose
e-mail a metafield holds. SMS goes to the phone number of a user profile (a user without one is
refused ``NO_PHONE_NUMBER``) or of a Contact metafield (§1.3). Every list is de-duplicated per
channel; a user of another organization is never a recipient (the device's organization is the
scope).
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import orjson

from pinbase.domain.devices import Device
from pinbase.domain.ids import OrgId
from pinbase.domain.notifications import (
    ALL_MEMBERS,
    DEVICE_OWNER,
    EMAIL,
    INVALID_ADDRESS,
    METAFIELD,
    NO_PHONE_NUMBER,
    NO_PUSH_TARGET,
    SMS,
    USER,
    Recipient,
    mask_address,
    mask_phone,
)
from pinbase.domain.templates import Template
from pinbase.domain.users import EMAIL as EMAIL_RULE
from pinbase.domain.users import MAX_EMAIL
from pinbase.storage.base import Transaction
from pinbase.storage.users import StoredUser

_EMAIL = re.compile(EMAIL_RULE)
_PHONE = re.compile(r"\+[0-9 ()-]{4,31}")
MAX_MEMBERS = 1_000
"""``ALL_MEMBERS`` reaches at most this many users of one organization: a bound on one
occurrence's fan-out (a larger organization should name its recipients)."""


def is_address(text: str) -> bool:
    """Whether ``text`` is an e-mail address a message may be sent to: no header breaks, no NUL
    or other control characters."""
    return len(text) <= MAX_EMAIL and text.isprintable() and _EMAIL.fullmatch(text) is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """One resolved recipient: an address (EMAIL), a user (PUSH, and EMAIL of a user) or a
    phone number (SMS)."""

    address: str | None = None
    user_id: int | None = None
    phone: str | None = None
    tz: str | None = None
    """The user's time zone, for the time in an e-mail."""

    @property
    def label(self) -> str:
        """The recipient as the notification log shows it: masked address or ``user:<id>``."""
        if self.phone:
            return mask_phone(self.phone)
        return mask_address(self.address) if self.address else f"user:{self.user_id}"


@dataclass(slots=True, kw_only=True)
class Resolved:
    """The targets of one channel, and those refused with the reason (§2.5)."""

    targets: list[Target] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    def add(self, target: Target) -> None:
        """Keep ``target`` unless the channel already has it."""
        if target.phone:
            key = "p" + "".join(c for c in target.phone if c.isdigit())
        else:
            key = (target.address or "").lower() if target.address else f"u{target.user_id}"
        if key not in self._seen:
            self._seen.add(key)
            self.targets.append(target)

    def refuse(self, label: str, reason: str) -> None:
        """Note a recipient that cannot be reached, with why."""
        if label not in self._seen:
            self._seen.add(label)
            self.refused.append((label, reason))


async def org_users(tx: Transaction, org_id: OrgId, user_ids: Iterable[int]) -> list[StoredUser]:
    """The users with these ids that belong to ``org_id``, in the order given."""
    found = []
    for user_id in dict.fromkeys(user_ids):
        user = await tx.find_user(user_id)
        if user is not None and user.org_id == org_id:
            found.append(user)
    return found


async def resolve(
    tx: Transaction,
    channel: str,
    recipients: Sequence[Recipient],
    *,
    device: Device,
    template: Template,
) -> Resolved:
    """The targets of an event's recipient list for ``channel`` on ``device``."""
    resolved = Resolved()
    for recipient in recipients:
        if recipient.kind == DEVICE_OWNER:
            if device.owner_user_id is not None:
                users = await org_users(tx, device.org_id, [device.owner_user_id])
                _add_users(resolved, channel, users)
        elif recipient.kind == USER and recipient.user_id is not None:
            _add_users(resolved, channel, await org_users(tx, device.org_id, [recipient.user_id]))
        elif recipient.kind == ALL_MEMBERS:
            members = await tx.list_users([device.org_id], offset=0, limit=MAX_MEMBERS)
            _add_users(resolved, channel, members)
        elif recipient.kind == METAFIELD and channel == SMS:
            phone = metafield_phone(device, template, recipient.metafield_id)
            if phone is not None:
                resolved.add(Target(phone=phone))
        elif recipient.kind == METAFIELD:
            address = metafield_address(device, template, recipient.metafield_id)
            if address is not None:
                await _add_address(tx, resolved, channel, address, org_id=device.org_id)
    return resolved


async def resolve_message(
    tx: Transaction,
    channel: str,
    *,
    org_id: OrgId,
    user_ids: Sequence[int],
    addresses: Sequence[str],
) -> Resolved:
    """The targets of an ad-hoc message: users of ``org_id`` and plain addresses."""
    resolved = Resolved()
    _add_users(resolved, channel, await org_users(tx, org_id, user_ids))
    for address in addresses:
        await _add_address(tx, resolved, channel, address, org_id=org_id)
    return resolved


def metafield_address(device: Device, template: Template, metafield_id: int | None) -> str | None:
    """The e-mail address a device's metafield holds now (§1.3: read at send time), or None.

    An Email or Device Owner metafield holds the address; a Contact metafield holds JSON with an
    ``email`` member (or, typed by hand, the address itself).
    """
    metafield = next((m for m in template.metafields if m.id == metafield_id), None)
    value = dict(device.metafield_values).get(metafield_id) if metafield_id is not None else None
    if metafield is None or not value:
        return None
    if metafield.type == "Contact" and value.lstrip().startswith("{"):
        try:
            contact = orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
        email = contact.get("email") if isinstance(contact, dict) else None
        return email if isinstance(email, str) and email else None
    return value.strip()


def metafield_phone(device: Device, template: Template, metafield_id: int | None) -> str | None:
    """The phone number a device's Contact metafield holds now (JSON with ``phone``), or None."""
    metafield = next((m for m in template.metafields if m.id == metafield_id), None)
    value = dict(device.metafield_values).get(metafield_id) if metafield_id is not None else None
    if metafield is None or metafield.type != "Contact" or not value:
        return None
    try:
        contact = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    phone = contact.get("phone") if isinstance(contact, dict) else None
    return phone if isinstance(phone, str) and is_phone(phone) else None


def is_phone(text: str) -> bool:
    """Whether ``text`` is a phone number an SMS may go to: ``+`` and 4 to 31 digits, spaces,
    brackets or dashes (the user profile's rule, PLT-USR)."""
    return _PHONE.fullmatch(text) is not None


def printable(text: str) -> str:
    """``text`` without NUL and the other control characters, which neither a database column
    nor a mail header may hold."""
    return text if text.isprintable() else "".join(c for c in text if c.isprintable() or c == "\n")


def _add_users(resolved: Resolved, channel: str, users: Iterable[StoredUser]) -> None:
    for user in users:
        if channel == SMS:
            if user.phone_number and is_phone(user.phone_number):
                resolved.add(Target(phone=user.phone_number, user_id=user.id))
            else:
                resolved.refuse(f"user:{user.id}", NO_PHONE_NUMBER)
        elif channel == EMAIL:
            resolved.add(Target(address=user.email, user_id=user.id, tz=user.tz))
        else:
            resolved.add(Target(user_id=user.id))


async def _add_address(
    tx: Transaction, resolved: Resolved, channel: str, address: str, *, org_id: OrgId
) -> None:
    if not is_address(address):
        resolved.refuse(mask_address(printable(address)), INVALID_ADDRESS)
    elif channel == EMAIL:
        resolved.add(Target(address=address))
    else:
        user = await tx.find_user_by_email(address)
        if user is not None and user.org_id == org_id:
            resolved.add(Target(user_id=user.id))
        else:
            resolved.refuse(mask_address(address), NO_PUSH_TARGET)
