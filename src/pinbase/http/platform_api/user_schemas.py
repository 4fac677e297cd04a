"""Wire models of the Platform API's users (http-api.md §4.5): request bodies, validated with
the field rules of ``pinbase.domain.users``, and the UserFull / UserSummary answers (§4.0),
which exist for the OpenAPI document only (handlers answer plain dicts).
"""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator

from pinbase.domain import users as rules
from pinbase.http.platform_api.schemas import NO_NUL, Id


class _Body(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


Email = Annotated[StrictStr, Field(pattern=rules.EMAIL, max_length=rules.MAX_EMAIL)]
Name = Annotated[
    StrictStr,
    Field(pattern=rules.NAME, description="≤ 50 letters, hyphens, spaces, dots, apostrophes"),
]
Locale = Annotated[StrictStr, Field(pattern=rules.LOCALE, description="ll_CC, e.g. en_US")]
TimeZone = Annotated[
    StrictStr,
    Field(min_length=1, max_length=rules.MAX_TZ, pattern=NO_NUL, description="IANA name"),
]


class AddressInput(_Body):
    """A postal address: ``fullAddress`` ≤ 512, ``city`` ≤ 50, ``country`` ≤ 74, ``state`` ≤ 40,
    ``zip`` ≤ 12 characters.
    """

    full_address: StrictStr | None = Field(
        None, alias="fullAddress", max_length=rules.ADDRESS_LIMITS["fullAddress"], pattern=NO_NUL
    )
    city: StrictStr | None = Field(None, max_length=rules.ADDRESS_LIMITS["city"], pattern=NO_NUL)
    country: StrictStr | None = Field(
        None, max_length=rules.ADDRESS_LIMITS["country"], pattern=NO_NUL
    )
    state: StrictStr | None = Field(None, max_length=rules.ADDRESS_LIMITS["state"], pattern=NO_NUL)
    zip: StrictStr | None = Field(None, max_length=rules.ADDRESS_LIMITS["zip"], pattern=NO_NUL)


class _NewUser(_Body):
    """Fields PLT-USR-03 and PLT-USR-04 share."""

    email: Email
    password_hash: StrictStr = Field(
        alias="passwordHash",
        pattern=rules.PASSWORD_HASH,
        description="base64(sha256(password ‖ sha256(lower(email)))), 44 characters",
    )
    name: Name
    title: StrictStr | None = Field(None, pattern=rules.TITLE, description="≤ 50 letters")
    nick_name: StrictStr | None = Field(None, alias="nickName", pattern=rules.NICK_NAME)
    phone_number: StrictStr | None = Field(
        None, alias="phoneNumber", pattern=rules.PHONE, description="starts with +"
    )
    address: AddressInput | None = None

    @field_validator("password_hash")
    @classmethod
    def _hash_shape(cls, text: str) -> str:
        if not rules.is_password_hash(text):
            raise ValueError("not the Base64 of a SHA-256 digest")
        return text


class UserCreate(_NewUser):
    """PLT-USR-03 body: a user with its own client organization."""

    organization_name: StrictStr | None = Field(
        None, alias="organizationName", pattern=rules.ORGANIZATION_NAME
    )
    time_zone: TimeZone | None = Field(None, alias="timeZone")


class UserCreateInOrg(_NewUser):
    """PLT-USR-04 body: a user of an existing organization."""

    org_id: Id = Field(alias="orgId")
    role_id: Id = Field(alias="roleId", description="1 Admin, 2 Staff, 3 User")
    tz: TimeZone | None = None


class UserRegister(_Body):
    """PLT-USR-05 body: ``{"email":"test@example.com","locale":"en_US"}``."""

    email: Email
    locale: Locale | None = None


class UserInvite(_Body):
    """PLT-USR-06 body: ``{"email":…,"name":"Test User","roleId":1,"locale":"en_US"}``."""

    email: Email
    name: Name
    role_id: Id = Field(alias="roleId")
    org_id: Id | None = Field(None, alias="orgId", description="default: home organization")
    locale: Locale | None = None


class UserTransfer(_Body):
    """PLT-USR-07 body: ``{"userId":1,"targetOrgId":2,"roleId":3}``."""

    user_id: Id = Field(alias="userId")
    target_org_id: Id = Field(alias="targetOrgId")
    role_id: Id = Field(alias="roleId")


class UserSummary(BaseModel):
    """A user in PLT-USR-01 and -02 pages."""

    id: int
    name: str
    email: str
    roleId: int
    orgId: int
    isDev: bool


class UserFull(UserSummary):
    """A user as PLT-USR-04, -06..09 answer it."""

    title: str | None
    nickName: str | None
    phoneNumber: str | None
    tz: str | None
    locale: str | None
    status: str
    lastModifiedTs: int
    lastLoggedAt: int
    registeredAt: int


class UserPage(BaseModel):
    """A page of PLT-USR-01 or -02."""

    content: list[UserSummary]
    totalElements: int
