"""Pages of Platform API lists: ``page`` (0-based) and ``size``, answered in Blynk's envelope.

``size`` runs 1..``max_page_size`` (1000 by default, OP-06) and defaults to 20; anything else,
including a non-integer, is ``400 Request with incorrect parameters``.
"""

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated

from annotated_types import Ge, Le
from fastapi import Query
from starlette.responses import Response

from pinbase.domain.values import INT32_MAX
from pinbase.http.platform_api.params import PlainDecimal
from pinbase.http.responses import json_response

DEFAULT_PAGE_SIZE = 20


@dataclass(frozen=True, slots=True)
class PageRequest:
    """Which slice of a list to answer."""

    page: int
    size: int

    @property
    def offset(self) -> int:
        """Items to skip."""
        return self.page * self.size


def page_reader(max_size: int) -> Callable[..., Awaitable[PageRequest]]:
    """The FastAPI dependency reading ``page`` and ``size`` from the query string.

    Built per server, so that the OpenAPI document states the configured ``max_page_size`` as
    ``size``'s maximum: exactly what the server accepts (a larger ``size`` is a 400).
    """

    async def read(
        page: Annotated[
            int, Ge(0), Le(INT32_MAX), PlainDecimal, Query(description="0-based page")
        ] = 0,
        size: Annotated[
            int,
            Ge(1),
            Le(max_size),
            PlainDecimal,
            Query(description=f"items per page, 1..{max_size}"),
        ] = DEFAULT_PAGE_SIZE,
    ) -> PageRequest:
        return PageRequest(page, size)

    return read


def page_response(items: Sequence[object], total: int) -> Response:
    """``{"content":[…],"totalElements":N}``, N counting every page (http-api.md §1.6)."""
    return json_response({"content": list(items), "totalElements": total})
