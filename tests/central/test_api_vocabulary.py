"""One vocabulary for every route, checked over the route table: unknown query parameters
are refused by name (after the token: without a valid one it is a 401), time ranges are
``from``/``to`` with one error each, every list is a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.app import api_document
from tests.central.telemetry_support import ADMIN_TOKEN, GATEWAY_TOKEN

PAGE_KEYS = {"items", "total", "limit", "offset", "next_cursor"}
METHODS = {"get", "put", "post", "patch", "delete"}
DOCUMENT = api_document("all")


SCHEME_TOKENS = {"HTTPBearer": ADMIN_TOKEN, "GatewayToken": GATEWAY_TOKEN}


def _operations() -> list[tuple[str, str, list[str], str | None]]:
    """(method, path, query parameter names, security scheme or None) of every operation the whole API documents."""
    return [
        (
            method.upper(),
            path,
            sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query"),
            next(iter(operation["security"][0]), None) if operation.get("security") else None,
        )
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
    ]


OPERATIONS = _operations()
IDS = [f"{method} {path}" for method, path, _, _ in OPERATIONS]


def _bogus(client: TestClient, method: str, path: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.request(method, re.sub(r"\{[^}]+\}", "1", path), params={"bogus": "1"}, headers=headers)


@pytest.mark.parametrize(("method", "path", "accepted", "scheme"), OPERATIONS, ids=IDS)
def test_every_route_refuses_an_unknown_query_parameter_naming_it(site_client, method, path, accepted, scheme):
    response = _bogus(site_client, method, path, SCHEME_TOKENS.get(scheme or ""))
    assert (response.status_code, response.json()) == (
        422,
        {
            "error": {
                "status": 422,
                "code": "unknown_parameter",
                "message": f"parámetro desconocido 'bogus' (esta ruta acepta: {', '.join(accepted) or 'ninguno'})",
                "details": [{"loc": ["query", "bogus"], "type": "unknown_parameter"}],
            }
        },
    )


@pytest.mark.parametrize(
    ("method", "path", "scheme"),
    [(m, p, s) for m, p, _, s in OPERATIONS if s],
    ids=[i for i, (_, _, _, s) in zip(IDS, OPERATIONS, strict=True) if s],
)
@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no token", "wrong token"])
def test_without_a_valid_token_an_unknown_parameter_is_still_a_401(site_client, method, path, scheme, token):
    response = _bogus(site_client, method, path, token)
    assert (response.status_code, response.json()["error"]["code"]) == (401, "unauthorized")


def test_the_routes_without_a_token_are_the_probes_and_login():
    assert sorted(f"{m} {p}" for m, p, _, scheme in OPERATIONS if scheme is None) == [
        "GET /healthz",
        "GET /metrics",
        "GET /readyz",
        "POST /api/v1/auth/login",
    ]


OLD_NAMES = [
    ("/api/v1/points/P1/readings", "start"),
    ("/api/v1/points/P1/readings", "end"),
    ("/api/v1/points/P1/aggregates", "start"),
    ("/api/v1/points/P1/aggregates", "end"),
    ("/api/v1/alerts", "since"),
    ("/api/v1/compliance/submissions", "start"),
    ("/api/v1/compliance/log", "since"),
]


@pytest.mark.parametrize(("path", "name"), OLD_NAMES)
def test_the_time_range_names_before_from_and_to_are_refused(site, path, name):
    response = site.get(path, **{name: "2026-11-28T12:00:00Z"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "unknown_parameter")
    assert response.json()["error"]["message"].startswith(f"parámetro desconocido {name!r} (esta ruta acepta: ")


RANGES = [
    "/api/v1/points/P1/readings",
    "/api/v1/points/P1/aggregates",
    "/api/v1/alerts",
    "/api/v1/compliance/submissions",
    "/api/v1/compliance/log",
]


def test_every_route_with_a_time_range_takes_from_and_to():
    ranged = sorted(path for _, path, accepted, _ in OPERATIONS if {"from", "to"} <= set(accepted))
    assert [path for _, path, accepted, _ in OPERATIONS if {"start", "end", "since"} & set(accepted)] == []
    assert ranged == sorted(re.sub("P1", "{code}", path) for path in RANGES)


@pytest.mark.parametrize("path", RANGES)
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_time_without_an_offset_is_the_same_422_everywhere(site, path, name):
    response = site.get(path, **{name: "2026-11-28T12:00:00"})
    assert (response.status_code, response.json()["error"]["message"]) == (
        422,
        f"query.{name}: la hora debe llevar su diferencia con UTC (por ejemplo 2026-11-28T13:00:00Z o"
        " 2026-11-28T10:00:00-03:00)",
    )


@pytest.mark.parametrize("path", RANGES)
def test_a_range_that_ends_before_it_starts_is_the_same_422_everywhere(site, path):
    response = site.get(path, **{"from": "2026-11-28T09:00:00-03:00", "to": "2026-11-28T11:00:00Z"})
    assert (response.status_code, response.json()["error"]) == (
        422,
        {
            "status": 422,
            "code": "invalid_time_range",
            "message": "from 2026-11-28T12:00:00Z no es anterior a to 2026-11-28T11:00:00Z",
        },
    )


def _schema(reference: dict[str, Any]) -> dict[str, Any]:
    name = reference.get("$ref", "").rsplit("/", 1)[-1]
    return DOCUMENT["components"]["schemas"].get(name, reference)


def _answers() -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in DOCUMENT["paths"].items():
        for method, operation in operations.items():
            for status, response in operation.get("responses", {}).items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if status.startswith("2") and schema is not None:
                    yield f"{method.upper()} {path} {status}", _schema(schema)


def test_no_answer_is_a_bare_array():
    assert [name for name, schema in _answers() if schema.get("type") == "array"] == []


def test_every_page_has_the_same_five_fields():
    pages = {
        name: set(schema["properties"])
        for name, schema in _answers()
        if schema.get("properties", {}).get("items", {}).get("type") == "array" and "total" in schema["properties"]
    }
    assert len(pages) >= 15
    assert {name: keys for name, keys in pages.items() if keys != PAGE_KEYS} == {}


def test_a_persons_decisions_are_approve_and_one_discard():
    decisions = sorted(
        path.rsplit("/", 1)[1] + " " + path
        for path in DOCUMENT["paths"]
        if path.rsplit("/", 1)[1] in {"accept", "approve", "discard"}
    )
    assert decisions == [
        "approve /api/v1/compliance/review/{submission_id}/approve",
        "discard /api/v1/compliance/submissions/{submission_id}/discard",
    ]


def _discriminators(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "discriminator" in node:
            yield node["discriminator"]["propertyName"]
        for value in node.values():
            yield from _discriminators(value)
    elif isinstance(node, list):
        for value in node:
            yield from _discriminators(value)


def test_every_typed_body_is_told_apart_by_kind():
    found = list(_discriminators(DOCUMENT))
    assert len(found) >= 2 and set(found) == {"kind"}  # alert rules and notification channels at least
