"""Users: PLT-USR-01 list, PLT-USR-02 search, PLT-USR-03 create with a client organization,
PLT-USR-04 create in an organization, PLT-USR-05 register, PLT-USR-06 invite, PLT-USR-07
transfer, PLT-USR-08 get, PLT-USR-09 update role (http-api.md §4.5).

A caller sees the users of its home organization and every organization below it; any other
user is answered exactly like a missing one. Pinbase sends no e-mail: registered users are
stored ``Pending`` and invited ones ``Invited`` (docs/platform-api.md). The service's refusals
become each endpoint's documented message here, in ``_refusal``.
"""

from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Depends, Query
from starlette.responses import Response

from pinbase.http.platform_api import messages
from pinbase.http.platform_api.auth import BearerAuth
from pinbase.http.platform_api.body import documented_body, json_body
from pinbase.http.platform_api.errors import PlatformError, incorrect_parameters
from pinbase.http.platform_api.pagination import PageRequest, page_reader, page_response
from pinbase.http.platform_api.params import ERRORS, Int32, PlainDecimal
from pinbase.http.platform_api.user_schemas import (
    AddressInput,
    UserCreate,
    UserCreateInOrg,
    UserFull,
    UserInvite,
    UserPage,
    UserRegister,
    UserTransfer,
)
from pinbase.http.responses import json_response
from pinbase.services.container import Services
from pinbase.services.oauth import Caller
from pinbase.services.users import (
    OrganizationNotFound,
    Profile,
    RoleNotFound,
    UserError,
    UserNotFound,
    user_full,
)
from pinbase.settings import Settings
from pinbase.storage.users import StoredUser, UserSort

SORT_KEYS: dict["SortLabel", UserSort] = {
    "User Id": "id",
    "Name": "name",
    "Email": "email",
    "Status": "status",
    "Role": "role",
    "Organization Name": "organization_name",
    "Devices Count": "devices_count",
    "Country": "country",
    "Registered At": "registered_at",
    "Phone Number": "phone_number",
}
"""PLT-USR-02's ``sortBy`` labels and the storage sort keys they mean."""

SortLabel = Literal[
    "User Id",
    "Name",
    "Email",
    "Status",
    "Role",
    "Organization Name",
    "Devices Count",
    "Country",
    "Registered At",
    "Phone Number",
]

UserIdQuery = Annotated[Int32, PlainDecimal, Query(alias="userId", description="a user's id")]
RoleIdQuery = Annotated[
    Int32, PlainDecimal, Query(alias="roleId", description="1 Admin, 2 Staff, 3 User")
]
SearchQuery = Annotated[
    str, Query(min_length=1, max_length=255, description="part of the name or e-mail, any case")
]


def user_summary(user: StoredUser) -> dict[str, object]:
    """The UserSummary object of http-api.md §4.0."""
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "roleId": user.role_id,
        "orgId": user.org_id,
        "isDev": user.is_dev,
    }


def _address(address: AddressInput | None) -> str | None:
    """The stored JSON text of an address, keeping only the fields given."""
    if address is None:
        return None
    return orjson.dumps(address.model_dump(by_alias=True, exclude_none=True)).decode()


def _profile(body: UserCreate | UserCreateInOrg, *, tz: str | None) -> Profile:
    """The optional profile fields PLT-USR-03 and 04 share; they name the time zone differently
    (``timeZone`` and ``tz``), so the caller passes it.
    """
    return Profile(
        title=body.title,
        nick_name=body.nick_name,
        phone_number=body.phone_number,
        tz=tz,
        address=_address(body.address),
    )


def _refusal(error: UserError, *, endpoint: str) -> PlatformError:
    """The documented answer of ``endpoint`` (``USR-0n``) to a refusal of the service."""
    if isinstance(error, UserNotFound):
        if endpoint == "USR-07":  # documented as 400 and without "belong to another…"
            return PlatformError(messages.USER_NOT_FOUND_400.format(user_id=error.args[0]))
        return PlatformError(messages.USER_NOT_FOUND.format(user_id=error.args[0]), 404)
    if isinstance(error, OrganizationNotFound):
        if endpoint == "USR-07":
            return PlatformError(messages.TARGET_ORG_NOT_FOUND, 404)
        return PlatformError(messages.ORG_NOT_FOUND_PLAIN, 404)
    if isinstance(error, RoleNotFound):
        if endpoint == "USR-09":
            return PlatformError(messages.ROLE_NOT_FOUND, 404)
        if endpoint == "USR-06":
            return PlatformError(messages.ROLE_FORBIDDEN)
        return incorrect_parameters()
    # EmailInUse, the one refusal left.
    return PlatformError(messages.EMAIL_IN_USE.format(email=error.args[0]))


def user_router(services: Services, settings: Settings, auth: BearerAuth) -> APIRouter:
    """The user endpoints of §4.5."""
    router = APIRouter(prefix="/api/v1/organization", tags=["Users"], responses=ERRORS)
    users = services.users
    pagination = page_reader(settings.max_page_size)
    creation = json_body(UserCreate, ids=())
    creation_in_org = json_body(UserCreateInOrg, ids=("orgId", "roleId"))
    registration = json_body(UserRegister, ids=())
    invitation = json_body(UserInvite, ids=("orgId", "roleId"))
    transfer = json_body(UserTransfer, ids=("userId", "targetOrgId", "roleId"))

    @router.get(
        "/users",
        summary="PLT-USR-01 List organization users",
        response_model=UserPage,
        description="Users of the caller's organization, by id; with `includeSubOrgUsers=true` "
        "also those of every organization below it.",
    )
    async def list_users(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        include_sub_org_users: Annotated[bool, Query(alias="includeSubOrgUsers")] = False,
    ) -> Response:
        found, total = await users.page(
            caller, include_sub_orgs=include_sub_org_users, offset=page.offset, limit=page.size
        )
        return page_response([user_summary(u) for u in found], total)

    @router.get(
        "/search/users",
        summary="PLT-USR-02 Search users",
        response_model=UserPage,
        description="Users within the caller's scope whose name or e-mail contains `query` "
        "(ignoring case); ties of any sort key are ordered by id.",
    )
    async def search_users(
        caller: Annotated[Caller, Depends(auth)],
        page: Annotated[PageRequest, Depends(pagination)],
        query: SearchQuery,
        sort_by: Annotated[SortLabel, Query(alias="sortBy")] = "User Id",
        sort_order: Annotated[Literal["ASC", "DESC"], Query(alias="sortOrder")] = "ASC",
    ) -> Response:
        found, total = await users.search(
            caller,
            query,
            sort=SORT_KEYS[sort_by],
            descending=sort_order == "DESC",
            offset=page.offset,
            limit=page.size,
        )
        return page_response([user_summary(u) for u in found], total)

    @router.post(
        "/users/create",
        summary="PLT-USR-03 Create user (with its own client organization)",
        status_code=204,
        openapi_extra=documented_body(UserCreate),
        description="Creates a PERSONAL organization (`organizationName`, default \"{name}'s "
        'organization") under the caller\'s "Clients" organization, or under its home '
        "organization when it has none, and the user as its active Admin. 204 also when the "
        "e-mail is already in use (nothing changes then).",
    )
    async def create_user(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[UserCreate, Depends(creation)],
    ) -> Response:
        await users.create_with_client_org(
            caller,
            email=body.email,
            name=body.name,
            client_hash=body.password_hash,
            organization_name=body.organization_name,
            profile=_profile(body, tz=body.time_zone),
        )
        return Response(status_code=204)

    @router.post(
        "/users/create-in-org",
        summary="PLT-USR-04 Create user in an existing organization",
        status_code=201,
        response_model=UserFull,
        openapi_extra=documented_body(UserCreateInOrg),
        description="An active user of `orgId` (within the caller's scope, else 404). A role "
        "other than 1..3 is 400; an e-mail in use is `400 {email} is already in use`.",
    )
    async def create_user_in_org(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[UserCreateInOrg, Depends(creation_in_org)],
    ) -> Response:
        try:
            user = await users.create_in_org(
                caller,
                org_id=body.org_id,
                role_id=body.role_id,
                email=body.email,
                name=body.name,
                client_hash=body.password_hash,
                profile=_profile(body, tz=body.tz),
            )
        except UserError as error:
            raise _refusal(error, endpoint="USR-04") from None
        return json_response(user_full(user), status=201)

    @router.post(
        "/users/register",
        summary="PLT-USR-05 Register user (email sign-up link)",
        status_code=204,
        openapi_extra=documented_body(UserRegister),
        description="Like PLT-USR-03 with only an e-mail: the user (named after the e-mail's "
        "local part) is stored with status `Pending`. No e-mail is sent.",
    )
    async def register_user(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[UserRegister, Depends(registration)],
    ) -> Response:
        await users.create_with_client_org(
            caller,
            email=body.email,
            name=body.email.partition("@")[0][:50],
            client_hash=None,
            organization_name=None,
            profile=Profile(locale=body.locale),
        )
        return Response(status_code=204)

    @router.post(
        "/users/invite",
        summary="PLT-USR-06 Invite user",
        status_code=201,
        response_model=UserFull,
        openapi_extra=documented_body(UserInvite),
        description="Stores the user with status `Invited` in `orgId` (default: the caller's "
        "organization). No e-mail is sent.",
    )
    async def invite_user(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[UserInvite, Depends(invitation)],
    ) -> Response:
        try:
            user = await users.invite(
                caller,
                org_id=body.org_id,
                role_id=body.role_id,
                email=body.email,
                name=body.name,
                locale=body.locale,
            )
        except UserError as error:
            raise _refusal(error, endpoint="USR-06") from None
        return json_response(user_full(user), status=201)

    @router.post(
        "/users/transfer",
        summary="PLT-USR-07 Transfer user",
        status_code=201,
        response_model=UserFull,
        openapi_extra=documented_body(UserTransfer),
        description="Moves a user of the caller's scope to `targetOrgId` (also in scope) with "
        "`roleId`. Checked in this order: target organization, role, user.",
    )
    async def transfer_user(
        caller: Annotated[Caller, Depends(auth)],
        body: Annotated[UserTransfer, Depends(transfer)],
    ) -> Response:
        try:
            user = await users.transfer(
                caller, body.user_id, target_org_id=body.target_org_id, role_id=body.role_id
            )
        except UserError as error:
            raise _refusal(error, endpoint="USR-07") from None
        return json_response(user_full(user), status=201)

    @router.get("/user", summary="PLT-USR-08 Get user", response_model=UserFull)
    async def get_user(
        caller: Annotated[Caller, Depends(auth)],
        user_id: UserIdQuery,
    ) -> Response:
        try:
            user = await users.get(caller, user_id)
        except UserError as error:
            raise _refusal(error, endpoint="USR-08") from None
        return json_response(user_full(user))

    @router.put(
        "/users/role",
        summary="PLT-USR-09 Update user role",
        response_model=UserFull,
        description="The user is checked before the role.",
    )
    async def update_user_role(
        caller: Annotated[Caller, Depends(auth)],
        user_id: UserIdQuery,
        role_id: RoleIdQuery,
    ) -> Response:
        try:
            user = await users.set_role(caller, user_id, role_id)
        except UserError as error:
            raise _refusal(error, endpoint="USR-09") from None
        return json_response(user_full(user))

    return router
