"""E-mail and push content (automations.md §2.2, §2.3): the recipient's time zone, HTML
escaping, the push body's cut."""

from pinbase.domain.devices import Device
from pinbase.domain.ids import DeviceId, EventId, OrgId, TemplateId, Token
from pinbase.domain.notifications import EventNotifications
from pinbase.domain.templates import Template, TemplateEvent
from pinbase.services.reactions.notice_content import email_payload, event_notice, push_payload

TS = 1_784_642_700_000
"""2026-07-21 14:05 UTC."""
DEVICE = Device(
    id=DeviceId(7), org_id=OrgId(1), template_id=TemplateId(2), name="Lab <1>", token=Token("t")
)
TEMPLATE = Template(id=TemplateId(2), code="TMPLlab", org_id=OrgId(1), name="Lab & Co")
EVENT = TemplateEvent(
    id=EventId(3),
    code="hot",
    name="Hot",
    type="WARNING",
    notifications=EventNotifications(enabled=True, deliver_as_alert=True),
)


def test_an_email_shows_the_recipients_local_time_before_utc() -> None:
    """A user in Berlin reads 16:05 CEST beside the UTC time; an unknown zone, UTC only."""
    rendered = event_notice(
        org_name="Acme",
        template=TEMPLATE,
        device=DEVICE,
        event=EVENT,
        description="x",
        entry_id=981,
        ts=TS,
        console_url="",
    )
    berlin = email_payload(rendered, "a@b.io", tz="Europe/Berlin")
    assert "Time: 2026-07-21T14:05:00+00:00 (2026-07-21 16:05 CEST)" in berlin["text"]
    assert "(2026-07-21 16:05 CEST)" in berlin["html"]
    for zone in (None, "Mars/Olympus", "../etc"):
        plain = email_payload(rendered, "a@b.io", tz=zone)
        assert plain["text"] == rendered.text


def test_values_are_escaped_and_the_push_body_cut() -> None:
    """Device and product names are HTML-escaped; a long description cuts the push body to
    255 characters ending with an ellipsis; the link names the timeline entry."""
    rendered = event_notice(
        org_name="Acme",
        template=TEMPLATE,
        device=DEVICE,
        event=EVENT,
        description="d" * 300,
        entry_id=981,
        ts=TS,
        console_url="https://pinbase.example",
    )
    mail = email_payload(rendered, "a@b.io")
    assert "Lab &lt;1&gt; (Lab &amp; Co)" in mail["html"]
    assert mail["subject"] == "Warning: Lab <1>: Hot"
    push = push_payload(rendered, 4)
    assert len(push["body"]) == 255
    assert push["body"].endswith("…")
    assert push["url"] == "https://pinbase.example/dashboard/devices/7?tab=timeline&entry=981"
    assert (push["alert"], push["tag"]) == (True, "d7-e3")
