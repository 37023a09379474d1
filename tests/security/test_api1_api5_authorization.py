"""OWASP API1 (object-level) and API5 (function-level) authorisation, for every route the app serves.

The routes come from the route table of the full single-process app (``create_app``, role
``all``); each must have a declared policy in :mod:`tests.security.policies`, and each is
called as anonymous, with a gateway's token, as an operator who does not see the point (or
does not own the object) and as an administrator.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.security.targets import MISSING, Site, gateway_token

from .policies import CONSOLE, POLICIES, VALID_BODIES, VALID_QUERIES, Access

ROUTES = sorted(route for route, access in POLICIES.items() if access not in CONSOLE)
CONSOLE_ROUTES = sorted(route for route, access in POLICIES.items() if access in CONSOLE - {Access.CONSOLE_PUBLIC})
REFUSED = {401, 403, 404}


def _flatten(routes: Iterable[object]) -> Iterator[tuple[str, object]]:
    """(path, route) for every route, including those of included routers (FastAPI keeps them nested)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is not None:
            for context in contexts():
                yield context.path, context.original_route
        else:
            yield getattr(route, "path", repr(route)), route


def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route; HEAD mirrors GET; a mount counts as method ``*``."""
    served = set()
    for path, route in _flatten(app.routes):
        methods = getattr(route, "methods", None) or {"*"}
        served.update((method, path) for method in methods if method != "HEAD")
    return served


def test_every_served_route_has_a_declared_policy(world_client: TestClient) -> None:
    served = served_routes(world_client.app)
    assert (sorted(served - set(POLICIES)), sorted(set(POLICIES) - served)) == ([], [])


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
def test_anonymous_callers_reach_only_public_routes(site: Site, route: tuple[str, str]) -> None:
    method, path = route
    status = site.request(method, path, site.targets(path), token=None).status_code
    if POLICIES[route] is Access.PUBLIC:
        assert status not in REFUSED
    else:
        assert status == 401


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
def test_a_gateway_token_reaches_only_gateway_and_public_routes(site: Site, route: tuple[str, str]) -> None:
    method, path = route
    status = site.request(method, path, site.targets(path), token=gateway_token()).status_code
    if POLICIES[route] in (Access.PUBLIC, Access.GATEWAY):
        assert status not in REFUSED
    else:
        assert status == 401


OPERATOR_EXPECTS = {Access.ADMIN: 403, Access.POINT: 404, Access.OWN: 404, Access.GATEWAY: 401}


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
def test_an_operator_reaches_nothing_of_a_point_they_do_not_see(site: Site, route: tuple[str, str]) -> None:
    """bob sees P3 only; every object in the path is P1's or ana's."""
    method, path = route
    response = site.request(method, path, site.targets(path), token=site.token("bob"), body=VALID_BODIES.get(route))
    expected = OPERATOR_EXPECTS.get(POLICIES[route])
    if expected is None:
        assert response.status_code not in REFUSED, response.text
    else:
        assert response.status_code == expected, response.text


@pytest.mark.parametrize("route", [r for r in ROUTES if POLICIES[r] in (Access.POINT, Access.OWN)], ids=" ".join)
def test_an_object_one_may_not_see_is_answered_as_if_it_did_not_exist(site: Site, route: tuple[str, str]) -> None:
    """No existence oracle: bob's answer about P1's (or ana's) object and about a missing one differ
    only in the identifier."""
    method, path = route
    targets = site.targets(path)
    missing = {name: MISSING[name] for name in targets}
    answers = []
    for params in (targets, missing):
        response = site.request(method, path, params, token=site.token("bob"), body=VALID_BODIES.get(route))
        error = response.json()["error"]
        message = error["message"]
        for name, value in params.items():
            message = re.sub(rf"\b{re.escape(value)}\b", "{" + name + "}", message)
        answers.append((response.status_code, error["code"], message))
    assert answers[0] == answers[1]


@pytest.mark.parametrize("route", ROUTES, ids=" ".join)
def test_an_administrator_is_refused_only_gateway_routes(site: Site, route: tuple[str, str]) -> None:
    """Reads aim at real objects; changes at missing ones, so the shared app stays as seeded."""
    method, path = route
    params = site.targets(path) if method == "GET" else {k: MISSING[k] for k in site.targets(path)}
    status = site.request(method, path, params, token=site.token("admin")).status_code
    access = POLICIES[route]
    if access is Access.GATEWAY:
        assert status == 401
    elif access is Access.OWN:
        assert status == 404  # another person's channel or token, even for an administrator
    else:
        assert status not in (401, 403)


# Reads that answer 404 until a regulator is configured for the point (a compliance setup these tests
# do not make): their refusals are shown by the no-existence-oracle test above instead.
NEED_REGULATOR_CONFIG = {
    ("GET", "/api/v1/points/{code}/compliance/dga"),
    ("GET", "/api/v1/points/{code}/compliance/sma"),
    ("GET", "/api/v1/compliance/reports/{code}/{month}"),
    ("GET", "/api/v1/compliance/reports/{code}/{month}/informe-de-fallas"),
}


@pytest.mark.parametrize(
    "route",
    [
        r
        for r in ROUTES
        if r[0] == "GET" and POLICIES[r] in (Access.POINT, Access.OWN) and r not in NEED_REGULATOR_CONFIG
    ],
    ids=" ".join,
)
def test_the_objects_aimed_at_exist_for_whoever_may_see_them(site: Site, route: tuple[str, str]) -> None:
    """The control for the 404s above: ana, who sees P1 and owns the channel, is answered."""
    method, path = route
    response = site.request(method, path, site.targets(path), token=site.token("ana"))
    assert response.status_code not in REFUSED, response.text


@pytest.mark.parametrize("route", CONSOLE_ROUTES, ids=" ".join)
@pytest.mark.parametrize("bearer", [None, "admin", "gateway"])
def test_the_console_needs_its_session_cookie(site: Site, route: tuple[str, str], bearer: str | None) -> None:
    """Without the console's cookie (a bearer token alone, even an administrator's) a console page
    sends one to the login page and a console form changes nothing."""
    method, path = route
    token = None if bearer is None else gateway_token() if bearer == "gateway" else site.token("admin")
    response = site.request(method, path, site.targets(path), token=token)
    to_login = 300 <= response.status_code < 400 and "/ui/login" in response.headers.get("location", "")
    assert to_login or response.status_code in (401, 403), (response.status_code, response.headers)


CONSOLE_OPERATOR_EXPECTS = {Access.CONSOLE_ADMIN: 403, Access.CONSOLE_POINT: 404}


@pytest.mark.parametrize("route", CONSOLE_ROUTES, ids=" ".join)
def test_the_console_refuses_an_operator_what_the_api_refuses(site: Site, route: tuple[str, str]) -> None:
    """bob, signed in to the console (cookie and CSRF token), aims at P1's and administrators' pages."""
    method, path = route
    response = site.console(method, path, site.targets(path), username="bob", query=VALID_QUERIES.get(route))
    expected = CONSOLE_OPERATOR_EXPECTS.get(POLICIES[route])
    if expected is None:
        assert response.status_code not in REFUSED, response.text[:300]
    else:
        assert response.status_code == expected, response.text[-600:]


@pytest.mark.parametrize("route", CONSOLE_ROUTES, ids=" ".join)
def test_the_console_lets_an_administrator_in(site: Site, route: tuple[str, str]) -> None:
    """Pages about real objects; forms aimed at missing ones, so the shared app stays as seeded."""
    method, path = route
    params = site.targets(path) if method == "GET" else {k: MISSING[k] for k in site.targets(path)}
    response = site.console(method, path, params, username="admin", query=VALID_QUERIES.get(route))
    assert response.status_code not in (401, 403), response.text[-600:]
