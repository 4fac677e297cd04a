"""Pages of Platform API lists: ``page`` (0-based) and ``size``, answered in Blynk's envelope.

``size`` runs 1..``max_page_size`` (1000 by default, OP-06) and defaults to 20; anything else,
including a non-integer, is ``400 Request with incorrect parameters``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from pinbase.domain.values import INT32_MAX
from pinbase.http.platform_api.errors import incorrect_parameters
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


class Pagination:
    """FastAPI dependency reading ``page`` and ``size`` from the query string."""

    def __init__(self, max_size: int) -> None:
        self._max_size = max_size

    async def __call__(
        self,
        page: Annotated[
            int, PlainDecimal, Query(ge=0, le=INT32_MAX, description="0-based page")
        ] = 0,
        size: Annotated[
            int, PlainDecimal, Query(ge=1, le=INT32_MAX, description="items per page, 1..1000")
        ] = DEFAULT_PAGE_SIZE,
    ) -> PageRequest:
        """The requested page; a ``size`` over the configured maximum is refused."""
        if size > self._max_size:
            raise incorrect_parameters()
        return PageRequest(page, size)


def page_response(items: Sequence[object], total: int) -> Response:
    """``{"content":[…],"totalElements":N}``, N counting every page (http-api.md §1.6)."""
    return json_response({"content": list(items), "totalElements": total})
