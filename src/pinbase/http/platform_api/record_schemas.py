"""Wire models of the device-record endpoints (PLT-DEV-15..20), split from ``schemas.py`` to keep
each module one concept long. The same conventions hold: request bodies are validated, with
snake_case attributes and the wire names as aliases; answer models document the OpenAPI only.
"""

from typing import Any, Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt, StrictStr, model_validator

from pinbase.http.platform_api.schemas import Id, _Body

EventType = Literal[
    "INFORMATION", "WARNING", "CRITICAL", "CONTENT", "ONLINE", "OFFLINE", "USER_NOTE"
]
"""Timeline ``eventType`` literals: only ``INFORMATION`` is documented; the rest follow
data-model.md §5.20. Anything else is ``400 Request with incorrect parameters``."""

MAX_EVENT_DESCRIPTION = 300
MAX_EVENT_TEXT = 1024
"""PLT-DEV-19: a description of at most 300 characters, code plus description at most 1024."""


class MetafieldUpdate(_Body):
    """PLT-DEV-16 body: ``{"deviceId":1,"metaFieldId":1,"newValue":5}``."""

    device_id: Id = Field(alias="deviceId")
    metafield_id: Id = Field(alias="metaFieldId")
    new_value: StrictStr | StrictInt | StrictFloat = Field(
        alias="newValue", description="text or a number; checked against the field's type"
    )


class EventTrigger(_Body):
    """PLT-DEV-19 body: ``{"deviceId":1,"eventCode":"high_temp","eventDescription":"…"}``."""

    device_id: Id = Field(alias="deviceId")
    event_code: StrictStr = Field(alias="eventCode", min_length=1, max_length=MAX_EVENT_TEXT)
    event_description: StrictStr | None = Field(
        None,
        alias="eventDescription",
        max_length=MAX_EVENT_DESCRIPTION,
        pattern=r"^[^\x00]*$",  # PostgreSQL text cannot hold NUL
        description="≤ 300 characters; default: the event's own description",
    )

    @model_validator(mode="after")
    def _fits(self) -> "EventTrigger":
        if len(self.event_code) + len(self.event_description or "") > MAX_EVENT_TEXT:
            raise ValueError("code and description longer than 1024 characters")
        return self


# --- answers, for the OpenAPI document ---------------------------------------------------


class DeviceMetafield(BaseModel):
    """One metadata field of PLT-DEV-15, with its bare value."""

    id: int
    name: str
    value: str | int | float | None = Field(
        description="text; a number for Number fields (null while unset)"
    )


class DeviceTag(BaseModel):
    """One tag of PLT-DEV-17."""

    id: int
    tagOwnerOrgId: int
    name: str


class TimelineEntry(BaseModel):
    """One logged event of PLT-DEV-18."""

    id: int
    eventId: int
    orgId: int
    eventType: str
    description: str | None
    ts: int
    isResolved: bool
    resolvedAt: int = Field(description="0 while unresolved")
    resolvedComment: str | None


class TimelinePage(BaseModel):
    """A page of PLT-DEV-18, newest first."""

    content: list[TimelineEntry]
    totalElements: int


class ActionEntry(BaseModel):
    """One entry of PLT-DEV-20's actions log."""

    triggerUserEmail: str | None = Field(
        description="null for Platform API callers (OAuth clients); the user's e-mail for "
        "console writes"
    )
    value: Any = Field(
        description="the value written, the property's new value, or a command's details "
        '(a ping\'s `{"ms": 12.5}`, a redirect\'s `{"host", "port", "uri"}`)'
    )
    pin: int | None = Field(description="null for a device command")
    pinType: str | None = Field(description="null for a device command")
    isOnline: bool = Field(description="whether the device was connected at the time")
    createdAt: int
    property: str | None = Field(
        description="Pinbase extension: the property changed; null for a value write"
    )
    client: str = Field(
        description="Pinbase extension: who wrote, as the console's Actions Log names it: "
        "`Web` (a console user), `HTTPS API` (a Platform API client) or `Automation`"
    )
    triggerName: str | None = Field(
        description="Pinbase extension: the automation's name for an `Automation` entry, else null"
    )
    command: str | None = Field(
        description="Pinbase extension: the command sent to the device (`reboot`, `ping`, "
        "`redirect`, `reconfigure`), null for a value or property write"
    )


class ActionPage(BaseModel):
    """A page of PLT-DEV-20, newest first."""

    content: list[ActionEntry]
    totalElements: int
