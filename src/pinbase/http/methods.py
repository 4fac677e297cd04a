"""The ``Allow`` header of a ``405``: every method some route serves on the request's path.

Starlette's router names only the methods of the first route whose path fits, so a path served by
two routes (``/{token}/update/{pin}`` by GET and by PUT) would list half of them. Probing every
route with each method lists them all (RFC 9110 §15.5.6 requires the header on every 405).
"""

from collections.abc import Iterable

from starlette.routing import BaseRoute, Match
from starlette.types import Scope

METHODS = ("DELETE", "GET", "HEAD", "PATCH", "POST", "PUT")
"""Methods Pinbase's routes serve, in the order an ``Allow`` header lists them."""


def allowed_methods(routes: Iterable[BaseRoute], scope: Scope) -> str:
    """The ``Allow`` value for ``scope``'s path: the methods some route fully matches."""
    candidates = list(routes)
    allowed = []
    for method in METHODS:
        probe = {**scope, "method": method, "path_params": {}}
        for key in ("route", "endpoint"):
            probe.pop(key, None)
        if any(route.matches(probe)[0] is Match.FULL for route in candidates):
            allowed.append(method)
    return ", ".join(allowed)
