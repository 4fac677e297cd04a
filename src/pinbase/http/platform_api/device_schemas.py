"""Wire models of device management (PLT-DEV-01..05, 09..14): request bodies and the answers
that exist only for the OpenAPI document (see ``schemas.py`` for the convention)."""

from typing import Annotated

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, StrictStr

from pinbase.domain.devices import DEVICE_NAME, MAX_DEVICE_NAME_CHARS
from pinbase.http.platform_api.schemas import DeviceSummary, Id

DeviceName = Annotated[
    StrictStr,
    Field(
        max_length=MAX_DEVICE_NAME_CHARS,
        pattern=DEVICE_NAME,
        description="≤ 50 letters, digits, spaces, apostrophes, underscores, hyphens",
    ),
]


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class DeviceCreate(_Body):
    """PLT-DEV-09 body: ``{"templateId":"TMPL84aMXD6vd","orgId":6722,"name":"…","ownerId":1}``."""

    template_code: StrictStr = Field(
        alias="templateId", min_length=1, max_length=32, description="the template's TMPL… code"
    )
    org_id: Id | None = Field(None, alias="orgId", description="default: home organization")
    name: DeviceName
    owner_id: Id = Field(
        alias="ownerId",
        validation_alias=AliasChoices("ownerId", "onwerId"),
        description="the owning user; the docs' misspelling `onwerId` is accepted too (OP-10)",
    )


class DeviceRename(_Body):
    """PLT-DEV-10 body: ``{"name":"API Test Device"}``."""

    name: DeviceName


class DeviceTransfer(_Body):
    """PLT-DEV-14 body: ``{"deviceId":1,"newUserId":2}`` or ``{"deviceId":1,"newOrgId":3}``;
    with neither, the request is incorrect."""

    device_id: Id = Field(alias="deviceId")
    new_user_id: Id | None = Field(
        None, alias="newUserId", description="new owner; when given, newOrgId is ignored"
    )
    new_org_id: Id | None = Field(None, alias="newOrgId", description="destination organization")


class DevicePage(BaseModel):
    """A page of DeviceSummary (PLT-DEV-01..04)."""

    content: list[DeviceSummary]
    totalElements: int


class ActivatedDevice(BaseModel):
    """One device of PLT-DEV-05."""

    id: int
    templateId: int
    orgId: int
    ownerUserId: int | None
    activationTime: int
