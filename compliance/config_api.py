"""The configuration routes, one set per registered regulator:
``PUT/GET/DELETE /api/v1/points/{code}/compliance/<regulator>``.

Each regulator's body model stays its own in the OpenAPI schema (the routes are made per
regulator from its :class:`~compliance.regulator.Regulator`, not one route with a union
body). Writes need an administrator; reads a user who may see the point.

This module does not use postponed annotations: the endpoints' parameter types are the
regulator's models, which FastAPI reads from the functions' annotations as objects.
"""

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Response
from pydantic import Field, create_model

from central.context import AppContext
from central.core.auth.models import User
from central.core.lookups import point_for_user
from central.db import Connection
from central.deps import AdminUser, Ctx, CurrentUser
from central.errors import error_responses
from central.problems import NotFound
from compliance import config_store as configs
from compliance.regulator import Regulator

_READ = error_responses(401, 404, 422)
_WRITE = error_responses(401, 403, 404, 409, 422)
_DELETE = error_responses(401, 403, 404, 422)


def _config_out(regulator: Regulator) -> type[configs.ConfigOut]:
    """The answer's model for ``regulator``: its schema names the regulator (one per regulator, so a
    regulator registered later is answered with its own name)."""
    return create_model(
        f"{regulator.title}ConfigOut",
        __base__=configs.ConfigOut,
        regulator=(Literal[regulator.name], Field(description="The regulator of the path")),
    )


def visible_point(conn: Connection, user: User, code: str) -> dict:
    """The point ``code`` if ``user`` may see it; 404 otherwise (also for one that exists)."""
    point = point_for_user(conn, user, code)
    if point is None:
        raise NotFound(f"no hay un punto con código {code!r}")
    return point


def _put(ctx: AppContext, user: User, code: str, regulator: Regulator, body) -> configs.ConfigOut:
    with ctx.db.transaction() as conn:
        point = visible_point(conn, user, code)
        regulator.check_configurable(body, ctx.settings)
        return configs.put_config(conn, ctx.secret_box, point, regulator, body, user.username, ctx.clock.now())


def _get(ctx: AppContext, user: User, code: str, regulator: Regulator) -> configs.ConfigOut:
    with ctx.db.connect() as conn:
        return configs.get_config(conn, visible_point(conn, user, code), regulator)


def _delete(ctx: AppContext, user: User, code: str, regulator: Regulator) -> Response:
    with ctx.db.transaction() as conn:
        configs.delete_config(conn, visible_point(conn, user, code), regulator, user.username, ctx.clock.now())
    return Response(status_code=204)


def add_config_routes(router: APIRouter, regulator: Regulator) -> None:
    """The regulator's three configuration routes on ``router`` (operation names ``put_<name>``,
    ``get_<name>``, ``delete_<name>``)."""
    path, title, subject = f"/points/{{code}}/compliance/{regulator.name}", regulator.title, regulator.subject
    body_type: Any = regulator.config_in
    answer = _config_out(regulator)
    if regulator.examples is not None:
        body_type = Annotated[regulator.config_in, Body(openapi_examples=regulator.examples)]

    def put(code: str, body: body_type, ctx: Ctx, user: AdminUser) -> configs.ConfigOut:
        return _put(ctx, user, code, regulator, body)

    def get(code: str, ctx: Ctx, user: CurrentUser) -> configs.ConfigOut:
        return _get(ctx, user, code, regulator)

    def delete(code: str, ctx: Ctx, user: AdminUser) -> Response:
        return _delete(ctx, user, code, regulator)

    put.__doc__ = f"Create or replace the {subject}'s {title} configuration (the password is stored encrypted)."

    def add(endpoint: Callable[..., Any], method: str, summary: str, responses: dict, **response: Any) -> None:
        """One of the three routes, named ``<method>_<regulator>`` (its operation id stays stable)."""
        name = f"{method.lower()}_{regulator.name}"
        router.add_api_route(
            path, endpoint, methods=[method], name=name, summary=summary, responses=responses, **response
        )

    add(
        put,
        "PUT",
        f"Create or replace a {subject}'s {title} configuration (administrators)",
        _WRITE,
        response_model=answer,
    )
    add(get, "GET", f"A {subject}'s {title} configuration (never the password)", _READ, response_model=answer)
    add(delete, "DELETE", f"Remove a {subject}'s {title} configuration (administrators)", _DELETE, status_code=204)
