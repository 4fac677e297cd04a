"""Wire models of the Platform API: request bodies (validated) and answers (documented).

Request models use snake_case attributes with the wire names as aliases. Answer models exist for
the OpenAPI document only: handlers build answers as plain dicts (``rendering.py``) and skip a
second validation on the hot path, so their attributes carry the wire names directly.
"""

from typing import Annotated, Any, Literal

from annotated_types import Ge, Le
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    field_validator,
)

from pinbase.domain import organizations, users
from pinbase.domain.values import INT32_MAX, INT32_MIN
from pinbase.services.properties import KNOWN_PROPERTIES


def _integral(value: object) -> object:
    """``84.0`` is the integer 84: JSON has one number type, and JSON Schema's ``integer`` (the
    OpenAPI document's word) counts any number with a zero fraction; ``84.5`` stays refused."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# Bounds sit before the validator so the document states them as ``minimum``/``maximum``.
Id = Annotated[int, Strict(), Ge(INT32_MIN), Le(INT32_MAX), BeforeValidator(_integral)]
"""Identifiers are integers ("should be a valid integer", http-api.md §1.7), 32-bit here."""

Millis = Annotated[int, Strict(), Ge(0), Le(2**62), BeforeValidator(_integral)]
"""A Unix time in milliseconds."""


MAX_PROPERTY_ITEMS = 64
"""Items of a multi-value property (``labels``, ``urls``); a menu with more is not a menu."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class PropertyUpdate(_Body):
    """PLT-DS-05 ★ body: ``{"deviceId":1,"dataStreamId":1,"property":"color","value":"red"}``."""

    device_id: Id = Field(alias="deviceId")
    datastream_id: Id = Field(alias="dataStreamId")
    property: StrictStr = Field(description="a widget property name (DEV-06, LEG-02)")
    value: (
        StrictStr
        | StrictBool
        | StrictInt
        | StrictFloat
        | Annotated[list[StrictStr], Field(min_length=1, max_length=MAX_PROPERTY_ITEMS)]
    ) = Field(
        description="the new value; numbers and booleans are stored as text (OP-14), "
        "a list of strings sets a multi-value property such as labels (Pinbase extension)"
    )

    @field_validator("property")
    @classmethod
    def _known(cls, name: str) -> str:
        if name not in KNOWN_PROPERTIES:
            raise ValueError("unknown property")
        return name


class ValueUpdate(_Body):
    """PLT-DS-02 body: ``{"deviceId":1,"dataStreamId":1,"value":5}``."""

    device_id: Id = Field(alias="deviceId")
    datastream_id: Id = Field(alias="dataStreamId")
    value: Any = Field(description="a JSON value of the datastream's type; [lon, lat] for Location")


class ValuesUpdate(_Body):
    """PLT-DS-03 body: ``{"deviceId":1,"values":{"1":5,"2":"new value"}}``."""

    device_id: Id = Field(alias="deviceId")
    values: dict[str, Any] = Field(
        min_length=1, description="new values keyed by dataStreamId written as a string"
    )


class ImportedPoint(_Body):
    """One point of PLT-DS-04."""

    value: Any
    ts: Millis


class ImportBatch(_Body):
    """PLT-DS-04 body: ``{"deviceId":1,"dataStreamId":1,"values":[{"value":5,"ts":…}]}``."""

    device_id: Id = Field(alias="deviceId")
    datastream_id: Id = Field(alias="dataStreamId")
    values: list[ImportedPoint] = Field(min_length=1)


# --- answers, for the OpenAPI document ---------------------------------------------------


class ErrorMessage(BaseModel):
    """The inner object of an error."""

    message: str


class ErrorBody(BaseModel):
    """Every Platform API error: ``{"error":{"message":…}}``."""

    error: ErrorMessage


class HardwareInfo(BaseModel):
    """What the device reported about itself; null until it did."""

    version: str | None
    fwType: str | None
    blynkVersion: str | None
    boardType: str | None
    build: str | None
    templateId: str | None


class LifecycleStatus(BaseModel):
    """The device's connection status (templates' custom statuses are not modelled yet)."""

    name: str = Field(description="Online or Offline")


class DeviceSummary(BaseModel):
    """A device in lists, search results and the edit answer."""

    id: int
    templateId: int
    orgId: int
    name: str
    token: str
    activatedAt: int
    ownerUserId: int | None
    hardwareInfo: HardwareInfo


class DeviceBase(DeviceSummary):
    """PLT-DEV-07: the summary plus connection facts."""

    lifecycleStatus: LifecycleStatus
    firstConnectTime: int
    firmwareUpdatedAt: int
    connectTime: int
    disconnectTime: int
    ip: str | None
    isLocked: bool
    lastReceivedEventAt: int


class DataStreamValue(BaseModel):
    """The current value of one datastream (its default, with ``updatedAt`` 0, when unset)."""

    dataStreamId: int
    pin: str
    dataStreamLabel: str
    dataStreamAlias: str | None
    value: Any
    updatedAt: int


class MetaValue(BaseModel):
    """A metadata value with its type literal."""

    type: str
    value: str | int | float | None


class MetaFieldValue(BaseModel):
    """One metadata field of the device."""

    id: int
    name: str
    value: MetaValue


class DeviceFull(DeviceBase):
    """PLT-DEV-06: the base plus values, metadata and (Pinbase extension) properties."""

    dataStreamValues: list[DataStreamValue]
    metaFieldValues: list[MetaFieldValue]
    properties: dict[str, dict[str, str | list[str]]] = Field(
        description="Pinbase extension: stored widget properties by dataStreamId (as a string)"
    )


class Connected(BaseModel):
    """PLT-DEV-08."""

    connected: bool


class HistoryPoint(BaseModel):
    """One raw point of PLT-DS-06."""

    createdAt: int
    value: Any


class HistoryPage(BaseModel):
    """A page of PLT-DS-06."""

    content: list[HistoryPoint]
    totalElements: int


class TokenAnswer(BaseModel):
    """AUTH-01 success."""

    access_token: str
    token_type: str
    expires_in: int
    refresh_token: str


class OAuthErrorBody(BaseModel):
    """AUTH-01 failure (RFC 6749 §5.2)."""

    error: str
    error_description: str


class TemplateSummary(BaseModel):
    """A template in PLT-TPL-01's list."""

    id: int
    templateIds: list[str] = Field(description="the public TMPL… code, as firmware sends it")
    parentId: int | None = Field(description="always null: Pinbase does not derive templates")
    orgId: int
    name: str


class TemplatePage(BaseModel):
    """A page of PLT-TPL-01."""

    content: list[TemplateSummary]
    totalElements: int


class TemplateInfo(TemplateSummary):
    """PLT-TPL-02: the summary plus facts Pinbase does not model yet (null)."""

    boardType: str | None
    connectionType: str | None
    description: str | None
    logoUrl: str | None
    createdAt: int
    offlineIgnorePeriod: int = Field(
        description="Pinbase extension: seconds a disconnect may last before the Offline "
        "notification (data-model.md §4.4); 0: off"
    )


class TemplateMetafield(BaseModel):
    """One metadata field definition of PLT-TPL-03."""

    id: int
    name: str
    type: str
    description: str | None
    defaultValue: str | None = Field(description="Pinbase extension: copied into new devices")


class TemplateDatastream(BaseModel):
    """One datastream definition of PLT-TPL-04."""

    id: int
    label: str
    alias: str = Field(description="the label when no alias is set")
    units: str | None
    type: str
    defaultValue: Any
    pin: int
    pinType: str
    min: float | None = Field(description="Pinbase extension: values below are raised to it")
    max: float | None = Field(description="Pinbase extension: values above are lowered to it")
    decimals: str | None = Field(description="Pinbase extension: display format, e.g. #.##")


class TemplateEventInfo(BaseModel):
    """One event definition of PLT-TPL-05."""

    id: int
    type: str
    name: str
    eventCode: str


OrganizationType = Literal[
    "ROOT", "BUSINESS", "PERSONAL", "BRANCH", "DISTRIBUTOR", "CONTRACTOR", "INSTALLER", "RESELLER"
]
"""Organization types of PLT-ORG-04 (data-model.md §1.2)."""

ORGANIZATION_NAME = users.ORGANIZATION_NAME
"""3..100 letters, digits, spaces, dots, hyphens and apostrophes."""

NO_NUL = r"^[^\x00]*$"
"""Free text without NUL: PostgreSQL ``text`` cannot hold it, and no such field needs it
(docs/storage.md, "Text and NUL")."""


class OrganizationCreate(_Body):
    """PLT-ORG-04 body: ``{"name":"Test Organization","type":"BUSINESS","parentId":750,…}``."""

    name: StrictStr = Field(
        pattern=ORGANIZATION_NAME,
        description="3..100 letters, digits, spaces, dots, hyphens, apostrophes",
    )
    description: StrictStr | None = Field(
        None,
        max_length=organizations.MAX_DESCRIPTION,
        pattern=organizations.DESCRIPTION,
        description="≤ 1000 chars, no / \\ < > or NUL",
    )
    type: OrganizationType = Field(description="forced to PERSONAL under a PERSONAL parent")
    tz: StrictStr | None = Field(
        None, min_length=1, max_length=64, pattern=NO_NUL, description="IANA name"
    )
    parent_id: Id | None = Field(None, alias="parentId", description="default: home org")
    phone_number: StrictStr | None = Field(
        None, alias="phoneNumber", pattern=r"^\+[0-9 ()-]{1,31}$", description="starts with +"
    )
    unit_system: Literal["IMPERIAL", "METRIC"] | None = Field(None, alias="unitSystem")


class Address(BaseModel):
    """An organization's postal address."""

    fullAddress: str | None = None
    city: str | None = None
    country: str | None = None
    state: str | None = None
    zip: str | None = None


class OrganizationInfo(BaseModel):
    """The Organization object of PLT-ORG-01..04 (http-api.md §4.0)."""

    id: int
    name: str
    description: str | None
    parentOrganizationId: int | None
    isActive: bool
    tz: str | None
    unitSystem: str | None
    phoneNumber: str | None
    address: Address | None
    lastModifiedTs: int


class OrganizationPage(BaseModel):
    """A page of PLT-ORG-03."""

    content: list[OrganizationInfo]
    totalElements: int


class StaticToken(BaseModel):
    """A static token of PLT-ORG-05 (Pinbase has none)."""

    token: str
    orgId: int
    productId: int
    deviceToken: str
    createdAt: int
    status: str
    ownerId: int
    deviceId: int
    claimedOrgId: int


class StaticTokenPage(BaseModel):
    """A page of PLT-ORG-05: always empty on Pinbase."""

    content: list[StaticToken]
    totalElements: int


class TagInfo(BaseModel):
    """One tag of PLT-ORG-06."""

    id: int
    name: str
    ownerUserId: int | None


class AutomationInfo(BaseModel):
    """One automation of PLT-ORG-07."""

    id: int
    name: str
    ownerId: int | None
    isActive: bool
