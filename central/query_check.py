"""Unknown query parameters are refused, on every route, by one dependency.

A misspelt or renamed parameter (``?start=`` where the route reads ``?from=``) would
otherwise be ignored and the answer would look right while covering everything. Each
route's accepted names are read from what the route itself declares (its parameters and
those of its dependencies, by their ``alias``), so a new route needs nothing to be checked.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from central.errors import ApiError

_ACCEPTED: dict[int, frozenset[str]] = {}


def accepted_query(route: APIRoute) -> frozenset[str]:
    """The query parameter names ``route`` reads, its dependencies' included."""
    key = id(route)
    if key not in _ACCEPTED:
        _ACCEPTED[key] = frozenset(_names(route.dependant))
    return _ACCEPTED[key]


def _names(dependant: Dependant) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for child in dependant.dependencies:
        names |= _names(child)
    return names


async def reject_unknown_query(request: Request) -> None:
    """422 naming the first query parameter the matched route does not read."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not request.query_params:
        return
    accepted = accepted_query(route)
    unknown = sorted(name for name in request.query_params if name not in accepted)
    if unknown:
        known = ", ".join(sorted(accepted)) or "ninguno"
        raise ApiError(422, f"parámetro desconocido {unknown[0]!r} (esta ruta acepta: {known})",
                       code="unknown_parameter", details=[{"loc": ["query", name], "type": "unknown_parameter"}
                                                          for name in unknown])
