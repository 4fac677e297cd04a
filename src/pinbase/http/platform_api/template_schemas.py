"""Wire models of template editing, a Pinbase extension of the Platform API: request bodies
(validated here for shape; the rules are the service's) and answers (documented only)."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from pinbase.domain.datastreams import DataType, EnumOption, InvalidatePolicy
from pinbase.domain.notifications import parse_notifications
from pinbase.domain.pins import Pin, PinType
from pinbase.domain.templates import MAX_OFFLINE_IGNORE_PERIOD
from pinbase.http.platform_api.schemas import Id
from pinbase.services.template_settings import (
    KEEP_AUTOMATION,
    DatastreamSettings,
    EventSettings,
    MetafieldSettings,
)

Text50 = Annotated[StrictStr, Field(min_length=1, max_length=50)]
Number = StrictInt | StrictFloat
JsonValue = StrictStr | StrictBool | StrictInt | StrictFloat | list[Number] | None


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TemplateCreate(_Body):
    """``{"name":"Thermostat","description":"…","orgId":1}``; ``orgId`` defaults to home."""

    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    description: Annotated[StrictStr, Field(max_length=200)] | None = None
    org_id: Id | None = Field(default=None, alias="orgId")


class TemplateUpdate(_Body):
    """``{"templateId":1,"name":"Thermostat","description":"…","offlineIgnorePeriod":300}``."""

    template_id: Id = Field(alias="templateId")
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    description: Annotated[StrictStr, Field(max_length=200)] | None = None
    offline_ignore_period: (
        Annotated[StrictInt, Field(ge=0, le=MAX_OFFLINE_IGNORE_PERIOD)] | None
    ) = Field(
        default=None,
        alias="offlineIgnorePeriod",
        description="Pinbase extension: seconds (0: off, ≤ 86400); absent or null: unchanged",
    )


class EnumRow(_Body):
    """One enum row: an incoming integer, the label shown and an optional colour."""

    value: StrictInt
    label: Annotated[StrictStr, Field(min_length=1, max_length=50)]
    color: Annotated[StrictStr, Field(max_length=16)] | None = None


class DatastreamBody(_Body):
    """Every setting of a datastream (data-model.md §1.7.1), as PLT-TPL-04 spells them."""

    template_id: Id = Field(alias="templateId")
    label: Text50
    pin: Annotated[StrictInt, Field(ge=0, le=255)]
    pin_type: Literal["VIRTUAL", "DIGITAL", "ANALOG"] = Field(default="VIRTUAL", alias="pinType")
    type: Literal["INT", "DOUBLE", "STRING", "ENUM", "LOCATION", "BOOL"]
    alias: Text50 | None = None
    units: Text50 | None = None
    default_value: JsonValue = Field(default=None, alias="defaultValue")
    min: Number | None = None
    max: Number | None = None
    decimals: Annotated[StrictStr, Field(max_length=8)] | None = None
    color: Annotated[StrictStr, Field(max_length=16)] | None = None
    invalidate_after: StrictInt | None = Field(
        default=None, alias="invalidateAfter", description="seconds; null: never"
    )
    invalidate_policy: Literal["NOTHING", "DEFAULT", "NO_DATA", "EMPTY", "DASHES"] = Field(
        default="NOTHING", alias="invalidatePolicy"
    )
    save_raw: StrictBool = Field(default=False, alias="saveRawData")
    sync_with_latest: StrictBool = Field(default=False, alias="syncWithLatest")
    wait_confirmation: StrictInt | None = Field(
        default=None, alias="waitConfirmation", description="seconds; null: off"
    )
    enum_values: Annotated[list[EnumRow], Field(max_length=256)] = Field(
        default_factory=list, alias="enumValues"
    )
    fallback_value: StrictInt | None = Field(default=None, alias="fallbackValue")
    automation: dict[str, Any] | None = Field(
        default=None,
        description='automations.md §3.2: {"type":"POWER_SWITCH|SWITCH|RANGE|COLOR|ENUM|SENSOR",'
        '"step":1,"asCondition":true,"asAction":false}; null: the datastream takes part by type',
    )

    def settings(self) -> DatastreamSettings:
        """The settings the service takes."""
        return DatastreamSettings(
            label=self.label,
            pin=Pin(PinType(self.pin_type), self.pin),
            type=DataType(self.type),
            alias=self.alias,
            units=self.units,
            default_value=self.default_value,
            min=self.min,
            max=self.max,
            decimals=self.decimals,
            color=self.color,
            invalidate_after=self.invalidate_after,
            invalidate_policy=InvalidatePolicy(self.invalidate_policy),
            save_raw=self.save_raw,
            sync_with_latest=self.sync_with_latest,
            wait_confirmation=self.wait_confirmation,
            enum_options=tuple(
                EnumOption(value=row.value, label=row.label, color=row.color)
                for row in self.enum_values
            ),
            fallback_value=self.fallback_value,
            # Left out of the body: the datastream keeps its setting (clients that predate it).
            automation=(
                self.automation if "automation" in self.model_fields_set else KEEP_AUTOMATION
            ),
        )


class DatastreamChange(DatastreamBody):
    """Every setting again, with the datastream's id."""

    datastream_id: Id = Field(alias="dataStreamId")


class EventBody(_Body):
    """An event definition (data-model.md §1.8)."""

    template_id: Id = Field(alias="templateId")
    event_code: Text50 = Field(alias="eventCode")
    name: Text50
    type: Literal["INFORMATION", "WARNING", "CRITICAL", "CONTENT"] = "INFORMATION"
    description: Annotated[StrictStr, Field(max_length=250)] | None = None
    notifications: dict[str, Any] | None = Field(
        default=None,
        description="Pinbase extension (automations.md §1.2): `{enabled, email[], push[], sms[], "
        "deliverAsAlert, limitPeriodSec, everyN, allowUserManagement}`; recipients are "
        '`{"kind":"DEVICE_OWNER"}`, `{"kind":"METAFIELD","metaFieldId":7}`, '
        '`{"kind":"USER","userId":12}` or `{"kind":"ALL_MEMBERS"}`',
    )
    show_on_timeline: StrictBool = Field(default=True, alias="showOnTimeline")
    send_to_notifications_tab: StrictBool = Field(default=True, alias="sendToNotificationsTab")

    def settings(self) -> EventSettings:
        """The settings the service takes.

        Raises:
            InvalidDefinition: the notification settings break a rule.
        """
        return EventSettings(
            code=self.event_code,
            name=self.name,
            type=self.type,
            description=self.description,
            notifications=parse_notifications(self.notifications),
            show_on_timeline=self.show_on_timeline,
            send_to_notifications_tab=self.send_to_notifications_tab,
        )


class EventChange(EventBody):
    """An event definition with the event's id."""

    event_id: Id = Field(alias="eventId")


class MetafieldBody(_Body):
    """A metadata field definition (data-model.md §1.6)."""

    template_id: Id = Field(alias="templateId")
    name: Annotated[StrictStr, Field(min_length=1, max_length=255)]
    type: Annotated[StrictStr, Field(max_length=32)] = "Text"
    default_value: Annotated[StrictStr, Field(max_length=255)] | None = Field(
        default=None, alias="defaultValue"
    )

    def settings(self) -> MetafieldSettings:
        """The settings the service takes."""
        return MetafieldSettings(name=self.name, type=self.type, default_value=self.default_value)


class MetafieldChange(MetafieldBody):
    """A metadata field definition with the field's id."""

    metafield_id: Id = Field(alias="metaFieldId")


class DashboardBody(_Body):
    """The web dashboard layout of console.md §3.3: ``{"tabs":[{"id":1,"name":"Dashboard",
    "roles":null,"widgets":[{"id":"w1","type":"SLIDER","x":0,"y":0,"w":4,"h":1,
    "dataStreamIds":[3],"settings":{}}]}]}``."""

    tabs: Annotated[list[dict[str, Any]], Field(min_length=1, max_length=4)]


class DatastreamSettingsInfo(BaseModel):
    """A datastream with every setting (answers of the datastream endpoints)."""

    id: int
    label: str
    alias: str | None
    pin: int
    pinType: str
    type: str
    units: str | None
    defaultValue: Any
    min: float | None
    max: float | None
    decimals: str | None
    color: str | None
    invalidateAfter: int | None
    invalidatePolicy: str
    saveRawData: bool
    syncWithLatest: bool
    waitConfirmation: int | None
    enumValues: list[dict[str, Any]]
    fallbackValue: int | None


class EventDefinition(BaseModel):
    """An event definition with its description."""

    id: int
    eventCode: str
    name: str
    type: str
    description: str | None
    notifications: dict[str, Any]
    showOnTimeline: bool
    sendToNotificationsTab: bool


class Layout(BaseModel):
    """A stored layout; ``tabs`` as sent, with defaults filled in."""

    tabs: list[dict[str, Any]]
