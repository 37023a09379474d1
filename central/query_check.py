"""Unknown query parameters are refused, on every route, after the caller's token.

A misspelt or renamed parameter (``?start=`` where the route reads ``?from=``) would
otherwise be ignored and the answer would look right while covering everything. Each
route's accepted names are read from what the route itself declares (its parameters and
those of its dependencies, by their ``alias``), so a new route needs nothing to be checked.

The order matters: a request without a valid token is a 401 whatever its parameters (a
422 would tell a stranger which names a route reads). FastAPI resolves a router's
dependencies before a route's own, so :func:`reject_unknown_query`, installed on every
router, checks only the routes that take no token; on the others the authentication
dependency calls :func:`check_query` once the token is good.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase

from central.errors import ApiError

_ACCEPTED: dict[int, frozenset[str]] = {}
_AUTHENTICATED: dict[int, bool] = {}


def accepted_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names ``route`` reads, its dependencies' included."""
    key = id(route)
    if key not in _ACCEPTED:
        _ACCEPTED[key] = frozenset(_names(route.dependant))
    return _ACCEPTED[key]


def takes_a_token(route: APIRoute) -> bool:
    """Whether one of ``route``'s dependencies reads a security scheme (a bearer token)."""
    key = id(route)
    if key not in _AUTHENTICATED:
        _AUTHENTICATED[key] = _secured(route.dependant)
    return _AUTHENTICATED[key]


def _names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for child in dependant.dependencies:
        names |= _names(child)
    return names


def _secured(dependant: Dependant) -> bool:
    return isinstance(dependant.call, SecurityBase) or any(_secured(child) for child in dependant.dependencies)


async def reject_unknown_query(request: Request) -> None:
    """The check of a route that takes no token (those that do check after it)."""
    route = request.scope.get("route")
    if isinstance(route, APIRoute) and not takes_a_token(route):
        check_query(request)


def check_query(request: Request) -> None:
    """422 naming the first query parameter the matched route does not read."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    accepted = accepted_query(route)
    unknown = sorted(name for name in request.query_params if name not in accepted)
    if unknown:
        known = ", ".join(sorted(accepted)) or "ninguno"
        raise ApiError(
            422,
            f"parámetro desconocido {unknown[0]!r} (esta ruta acepta: {known})",
            code="unknown_parameter",
            details=[{"loc": ["query", name], "type": "unknown_parameter"} for name in unknown],
        )
