"""Device token authentication: every device endpoint acts on the device owning the token."""

from pinbase.http.device_api import messages
from pinbase.http.device_api.query import DeviceQuery
from pinbase.http.responses import ApiError
from pinbase.services.directory import BoundDevice, Directory


async def authenticate(directory: Directory, query: DeviceQuery) -> BoundDevice:
    """The device owning the query's token.

    Raises:
        ApiError: ``Invalid token.`` for a token no device owns.
    """
    bound = await directory.by_token(query.token)
    if bound is None:
        raise ApiError(messages.INVALID_TOKEN)
    return bound
