"""The OpenAPI document is the API reference: valid, complete, and true to the error shape."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from central.app import create_app, domain_modules
from central.deps import current_admin, current_user, gateway_token
from central.health import router as health_router
from central.settings import Settings

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.fixture(scope="module")
def document(bare_app: TestClient) -> dict[str, Any]:
    return bare_app.get("/openapi.json").json()


def api_routes() -> list[APIRoute]:
    """Every route of ``role="all"``, from the routers the app includes."""
    routers = [health_router, *(router for module in domain_modules("all") for router in module.routers)]
    return [route for router in routers for route in router.routes if isinstance(route, APIRoute)]


def operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, items in document["paths"].items():
        for method, operation in items.items():
            if method in METHODS:
                yield f"{method.upper()} {path}", operation


def test_the_document_validates_against_the_openapi_schema(document):
    schemathesis.openapi.from_dict(document).validate()  # raises naming the first violation


def test_every_operation_has_a_written_summary(document):
    """Not FastAPI's stand-in made from the function's name (``Get Readings``)."""
    made_up = [
        (method, route.path)
        for route in api_routes()
        for method in route.methods
        if document["paths"][route.path][method.lower()].get("summary", route.name.replace("_", " ").title())
        == route.name.replace("_", " ").title()
    ]
    assert len(api_routes()) == sum(1 for _ in operations(document)) and made_up == []


def test_every_error_answer_refers_to_error_body(document):
    wrong = [
        (name, status)
        for name, op in operations(document)
        for status, response in op["responses"].items()
        if status[0] == "4" and response.get("content", {}).get("application/json", {}).get("schema") != ERROR_REF
    ]
    assert wrong == []


def test_fastapi_validation_error_schema_is_gone(document):
    assert "HTTPValidationError" not in str(document)
    assert {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"]) == set()


def test_error_body_is_the_shape_the_server_sends(document, bare_app):
    sent = bare_app.get("/api/v1/points", params={"limit": 0}, headers={"Authorization": "Bearer nope"}).json()
    assert set(sent) == set(document["components"]["schemas"]["ErrorBody"]["properties"]) == {"error"}
    detail = document["components"]["schemas"]["ErrorDetail"]
    assert set(sent["error"]) <= set(detail["properties"]) == {"status", "code", "message", "details"}
    assert set(detail["required"]) == {"status", "code", "message"} <= set(sent["error"])


def test_every_api_operation_documents_500_and_503(document):
    missing = [
        name for name, op in operations(document) if " /api/" in name and not {"500", "503"} <= set(op["responses"])
    ]
    assert missing == []


def test_every_operation_with_input_documents_422(document):
    missing = [
        name
        for name, op in operations(document)
        if (op.get("parameters") or op.get("requestBody")) and "422" not in op["responses"]
    ]
    assert missing == []


def _depends_on(route: APIRoute, call: Any) -> bool:
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if dependant.call is call:
            return True
        pending.extend(dependant.dependencies)
    return False


@pytest.mark.parametrize(
    ("dependency", "status"),
    [
        (current_user, "401"),
        (gateway_token, "401"),
        (current_admin, "403"),
    ],
)
def test_routes_document_the_refusals_of_their_dependencies(document, dependency, status):
    routes = [route for route in api_routes() if _depends_on(route, dependency)]
    missing = [
        (method, route.path)
        for route in routes
        for method in route.methods
        if status not in document["paths"][route.path][method.lower()]["responses"]
    ]
    assert routes and missing == []


def test_every_request_body_has_an_example(document):
    schemas = document["components"]["schemas"]

    def has_example(media: dict[str, Any]) -> bool:
        schema = media["schema"]
        target = schemas.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
        return bool(media.get("example") or media.get("examples") or schema.get("examples") or target.get("examples"))

    bodies = [
        (name, media)
        for name, op in operations(document)
        if "requestBody" in op
        for media in op["requestBody"]["content"].values()
    ]
    assert bodies and [name for name, media in bodies if not has_example(media)] == []


def test_ingest_documents_the_batch_it_reads_itself(document):
    media = document["paths"]["/api/v1/ingest"]["post"]["requestBody"]["content"]["application/json"]
    assert set(media["schema"]["properties"]) == {"schema", "gateway", "sent_at", "readings", "agent"}
    assert "$ref" not in str(media["schema"])  # inlined: nothing dangling
    assert set(media["examples"]) == {"readings", "heartbeat"}
