"""One vocabulary for every route, checked over the route table: unknown query parameters
are refused by name, time ranges are ``from``/``to`` with one error each, every list is a page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from central.app import api_document, create_app
from central.settings import Settings
from tests.central.telemetry_support import site, site_client

PAGE_KEYS = {"items", "total", "limit", "offset", "next_cursor"}
METHODS = {"get", "put", "post", "patch", "delete"}
DOCUMENT = api_document("all")


def _operations() -> list[tuple[str, str, list[str]]]:
    """(method, path, query parameter names) of every operation the whole API documents."""
    return [(method.upper(), path, sorted(p["name"] for p in operation.get("parameters", []) if p["in"] == "query"))
            for path, operations in DOCUMENT["paths"].items() for method, operation in operations.items()
            if method in METHODS]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("vocabulary") / "caudal.db"
    settings = Settings(database_url=f"sqlite:///{path}", secret_key="k", workers=False)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "accepted"), _operations(), ids=[f"{m} {p}" for m, p, _ in _operations()])
def test_every_route_refuses_an_unknown_query_parameter_naming_it(served, method, path, accepted):
    concrete = re.sub(r"\{[^}]+\}", "1", path)
    response = served.request(method, concrete, params={"bogus": "1"})
    assert (response.status_code, response.json()) == (422, {"error": {
        "status": 422, "code": "unknown_parameter",
        "message": f"parámetro desconocido 'bogus' (esta ruta acepta: {', '.join(accepted) or 'ninguno'})",
        "details": [{"loc": ["query", "bogus"], "type": "unknown_parameter"}]}})


OLD_NAMES = [
    ("/api/v1/points/P1/readings", "start"), ("/api/v1/points/P1/readings", "end"),
    ("/api/v1/points/P1/aggregates", "start"), ("/api/v1/points/P1/aggregates", "end"),
    ("/api/v1/alerts", "since"), ("/api/v1/compliance/submissions", "start"), ("/api/v1/compliance/log", "since"),
]


@pytest.mark.parametrize(("path", "name"), OLD_NAMES)
def test_the_time_range_names_before_from_and_to_are_refused(site, path, name):
    response = site.get(path, **{name: "2026-11-28T12:00:00Z"})
    assert (response.status_code, response.json()["error"]["code"]) == (422, "unknown_parameter")
    assert response.json()["error"]["message"].startswith(f"parámetro desconocido {name!r} (esta ruta acepta: ")


RANGES = ["/api/v1/points/P1/readings", "/api/v1/points/P1/aggregates", "/api/v1/alerts",
          "/api/v1/compliance/submissions", "/api/v1/compliance/log"]


def test_every_route_with_a_time_range_takes_from_and_to():
    ranged = sorted(path for _, path, accepted in _operations() if {"from", "to"} <= set(accepted))
    assert [path for _, path, accepted in _operations() if {"start", "end", "since"} & set(accepted)] == []
    assert ranged == sorted(re.sub("P1", "{code}", path) for path in RANGES)


@pytest.mark.parametrize("path", RANGES)
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_time_without_an_offset_is_the_same_422_everywhere(site, path, name):
    response = site.get(path, **{name: "2026-11-28T12:00:00"})
    assert (response.status_code, response.json()["error"]["message"]) == (
        422, f"query.{name}: la hora debe llevar su diferencia con UTC (por ejemplo 2026-11-28T13:00:00Z o"
             " 2026-11-28T10:00:00-03:00)")


@pytest.mark.parametrize("path", RANGES)
def test_a_range_that_ends_before_it_starts_is_the_same_422_everywhere(site, path):
    response = site.get(path, **{"from": "2026-11-28T09:00:00-03:00", "to": "2026-11-28T11:00:00Z"})
    assert (response.status_code, response.json()["error"]) == (422, {
        "status": 422, "code": "invalid_time_range",
        "message": "from 2026-11-28T12:00:00Z no es anterior a to 2026-11-28T11:00:00Z"})


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
    pages = {name: set(schema["properties"]) for name, schema in _answers()
             if schema.get("properties", {}).get("items", {}).get("type") == "array"
             and "total" in schema["properties"]}
    assert len(pages) >= 15
    assert {name: keys for name, keys in pages.items() if keys != PAGE_KEYS} == {}


def test_a_persons_decisions_are_approve_and_one_discard():
    decisions = sorted(path.rsplit("/", 1)[1] + " " + path for path in DOCUMENT["paths"]
                       if path.rsplit("/", 1)[1] in {"accept", "approve", "discard"})
    assert decisions == ["approve /api/v1/compliance/review/{submission_id}/approve",
                         "discard /api/v1/compliance/submissions/{submission_id}/discard"]


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
