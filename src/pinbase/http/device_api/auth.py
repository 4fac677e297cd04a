"""Device token authentication: every device endpoint acts on the device owning the token.

A known token is then charged one request of its device's per-second allowance (http-api.md
§1.11); unknown tokens answer ``Invalid token.`` and are charged nothing, as there is no device
to charge. Whoever floods with wrong tokens meets the directory's negative cache instead.
"""

from pinbase.http.device_api import messages
from pinbase.http.device_api.query import DeviceQuery
from pinbase.http.responses import ApiError
from pinbase.services.container import Services
from pinbase.services.directory import BoundDevice


async def authenticate(services: Services, query: DeviceQuery) -> BoundDevice:
    """The device owning the query's token, within its request rate.

    Raises:
        ApiError: ``Invalid token.`` for a token no device owns; ``429 Too Many Requests`` with
            ``Retry-After`` past the device's requests per second.
    """
    bound = await services.directory.by_token(query.token)
    if bound is None:
        raise ApiError(messages.INVALID_TOKEN)
    retry_after = services.device_limiter.hit(bound.device.id)
    if retry_after:
        raise ApiError(messages.TOO_MANY_REQUESTS, 429, headers={"Retry-After": str(retry_after)})
    return bound
