"""What a notification says: the e-mail, Web Push and SMS content of automations.md §2.1 to §2.3.

A ``Notice`` is rendered once per occurrence or message, then addressed once per recipient:
``email_payload``, ``push_payload`` and ``sms_payload`` are the outbox payloads the channel
senders expect. Every value substituted into HTML is escaped; the push body is cut to 255
characters, an SMS to 160.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pinbase.domain.devices import Device
from pinbase.domain.notifications import cut
from pinbase.domain.templates import Template, TemplateEvent

MAX_PUSH_BODY = 255
"""Characters of a push body (§2.3, the legacy server's limit)."""
MAX_SMS_CHARS = 160
"""Characters of an SMS (§2.1: one GSM-7 segment)."""
MAX_SUBJECT = 200
"""Characters of an e-mail subject: RFC 5322 recommends lines under 78, mail clients cut long
subjects anyway; a device-chosen text must not make a huge header."""

_PREFIX = {"CRITICAL": "Critical: ", "WARNING": "Warning: "}
_STATUS_NAMES = {True: "Online", False: "Offline"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """A rendered notification, not yet addressed."""

    subject: str
    text: str
    html: str
    title: str
    body: str
    kind: str
    """``event``, ``automation`` or ``legacy`` (the push payload's ``kind``)."""
    severity: str
    alert: bool
    tag: str
    url: str
    ts: int
    from_name: str | None
    occurrence: str | None = None
    sms: str = ""
    """The SMS text before it is cut to 160 characters (§2.1: ``{DEVICE_NAME}: {EVENT_NAME}``
    for events, the action's text for messages)."""


def device_link(console_url: str, device_id: int, *, entry: int | None = None) -> str:
    """The console page of a device's timeline (absolute when the public URL is known)."""
    query = f"?tab=timeline&entry={entry}" if entry is not None else "?tab=timeline"
    return f"{console_url}/dashboard/devices/{device_id}{query}"


def event_notice(
    *,
    org_name: str,
    template: Template,
    device: Device,
    event: TemplateEvent,
    description: str | None,
    entry_id: int,
    ts: int,
    console_url: str,
) -> Notice:
    """The notification of an event occurrence (§2.2, §2.3)."""
    link = device_link(console_url, device.id, entry=entry_id)
    when = _iso(ts)
    detail = description or ""
    text_lines = [
        f"{event.name}",
        *([detail] if detail else []),
        "",
        f"Device: {device.name} ({template.name})",
        f"Organization: {org_name}",
        f"Time: {when}",
        f"Timeline: {link}",
        "",
        "You receive this e-mail because you are a recipient of this event's notifications.",
    ]
    html = (
        f"<p><strong>{escape(event.name)}</strong></p>"
        + (f"<p>{escape(detail)}</p>" if detail else "")
        + f"<p>Device: {escape(device.name)} ({escape(template.name)})<br>"
        f"Organization: {escape(org_name)}<br>Time: {escape(when)}</p>"
        f'<p><a href="{escape(link)}">Open the device timeline</a></p>'
        "<p><small>You receive this e-mail because you are a recipient of this event's "
        "notifications.</small></p>"
    )
    return Notice(
        subject=cut(f"{_PREFIX.get(event.type, '')}{device.name}: {event.name}", MAX_SUBJECT),
        text="\n".join(text_lines),
        html=html,
        title=device.name,
        body=cut(f"{event.name}: {detail}" if detail else event.name, MAX_PUSH_BODY),
        kind="event",
        severity=event.type,
        alert=event.notifications.deliver_as_alert,
        tag=f"d{device.id}-e{event.id}",
        url=link,
        ts=ts,
        from_name=org_name,
        occurrence=str(entry_id),
        sms=f"{device.name}: {event.name}",
    )


def lifecycle_notice(
    *,
    org_name: str,
    template: Template,
    device: Device,
    event: TemplateEvent,
    online: bool,
    ts: int,
    console_url: str,
) -> Notice:
    """The notification of a device going online or offline (§2.2 "Lifecycle")."""
    status = _STATUS_NAMES[online]
    link = device_link(console_url, device.id)
    sentence = f"Your {device.name} {'came online' if online else 'went offline'}."
    when = _iso(ts)
    return Notice(
        subject=cut(f"{device.name} is {status}", MAX_SUBJECT),
        text=f"{sentence}\n\nProduct: {template.name}\nOrganization: {org_name}\n"
        f"Time: {when}\nDevice: {link}\n",
        html=f"<p>{escape(sentence)}</p><p>Product: {escape(template.name)}<br>"
        f"Organization: {escape(org_name)}<br>Time: {escape(when)}</p>"
        f'<p><a href="{escape(link)}">Open the device</a></p>',
        title=device.name,
        body=cut(sentence, MAX_PUSH_BODY),
        sms=f"{device.name} is {status}",
        kind="event",
        severity=event.type,
        alert=event.notifications.deliver_as_alert,
        tag=f"d{device.id}-e{event.id}",
        url=link,
        ts=ts,
        from_name=org_name,
    )


def message_notice(
    *,
    org_name: str,
    device: Device | None,
    subject: str,
    body: str,
    kind: str,
    ts: int,
    console_url: str,
) -> Notice:
    """An ad-hoc message (automation action, legacy call, webhook failure notice); control
    characters other than line breaks are dropped (no column or header holds NUL)."""
    subject = "".join(c for c in subject if c.isprintable())
    body = "".join(c for c in body if c.isprintable() or c == "\n")
    link = device_link(console_url, device.id) if device is not None else f"{console_url}/dashboard"
    title = subject or (device.name if device is not None else org_name)
    return Notice(
        subject=cut(title, MAX_SUBJECT),
        text=body,
        html="".join(f"<p>{escape(line)}</p>" for line in body.split("\n")),
        title=cut(title, MAX_PUSH_BODY),
        body=cut(body, MAX_PUSH_BODY),
        kind=kind,
        severity="INFORMATION",
        alert=False,
        tag=f"d{device.id}-{kind}" if device is not None else kind,
        url=link,
        ts=ts,
        from_name=org_name,
        sms=body,
    )


def email_payload(notice: Notice, address: str, *, tz: str | None = None) -> dict[str, Any]:
    """The EMAIL delivery payload for one address; a recipient with a time zone (a user's
    profile) reads the time in it before the UTC one (§2.2)."""
    headers = {"X-Pinbase-Occurrence": notice.occurrence} if notice.occurrence else {}
    text, html = notice.text, notice.html
    local = _local(notice.ts, tz)
    if local is not None:
        utc = f"Time: {_iso(notice.ts)}"
        text = text.replace(utc, f"{utc} ({local})", 1)
        html = html.replace(utc, escape(f"{utc} ({local})"), 1)
    return {
        "to": address,
        "subject": notice.subject,
        "text": text,
        "html": html,
        "fromName": notice.from_name,
        "headers": headers,
    }


def push_payload(notice: Notice, user_id: int) -> dict[str, Any]:
    """The PUSH delivery payload for one user (§2.3)."""
    return {
        "userId": user_id,
        "v": 1,
        "kind": notice.kind,
        "title": notice.title,
        "body": notice.body,
        "severity": notice.severity,
        "alert": notice.alert,
        "tag": notice.tag,
        "url": notice.url,
        "ts": notice.ts,
    }


def sms_payload(notice: Notice, phone: str) -> dict[str, Any]:
    """The SMS delivery payload for one phone number: the gateway's ``{to, text}``, the text
    cut to 160 characters (§2.1)."""
    return {"to": phone, "text": cut(notice.sms or notice.body, MAX_SMS_CHARS)}


def _local(ts: int, tz: str | None) -> str | None:
    """``2026-07-21 16:05 CEST`` in ``tz``, or None without a known zone."""
    if not tz:
        return None
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return datetime.fromtimestamp(ts / 1000, tz=zone).strftime("%Y-%m-%d %H:%M %Z")


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts / 1000, tz=UTC).isoformat(timespec="seconds")
