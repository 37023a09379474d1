"""One JSON error shape for every 4xx and 5xx, and an OpenAPI document that says so:

``{"error": {"status": 422, "code": "validation_error", "message": "...", "details": [...]}}``

The handlers below turn every refusal (our :class:`ApiError`, FastAPI's validation errors,
Starlette's 404/405, a value the database refuses, an unexpected exception) into that
shape; :func:`install_openapi` rewrites the generated document so that every operation's
error answers point at :class:`ErrorBody` — FastAPI's own ``HTTPValidationError`` schema
describes a body this server never sends.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from central.db import DatabaseError, DataError, IntegrityError
from central.messages_es import problem
from central.problems import Conflict, Invalid, NotFound, Problem, TooManyAttempts

log = logging.getLogger("caudal.central")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}

DESCRIPTIONS = {
    400: "The body cannot be read (not UTF-8, bad Content-Length, broken gzip)",
    401: "Missing, invalid, expired or revoked token",
    403: "The caller may not do this (not an administrator, or not its point)",
    404: "No such resource (or not visible to the caller)",
    409: "Conflicts with the current state; the message says with what",
    413: "The body is larger than the server accepts",
    415: "A Content-Encoding the server does not accept",
    422: "The request is not valid; the message names the field",
    429: "Too many failed attempts; retry after the Retry-After header",
    500: "An unexpected error; the server log has the details",
    503: "The database is unavailable; try again shortly",
}


ROUTING_MESSAGES = {
    404: "no existe esa ruta",
    405: "esa ruta no acepta este método",
}


class ApiError(Exception):
    """Raise from a route (or the HTTP edge's own helpers) to answer with the standard error
    shape; library code raises :mod:`central.problems`' domain errors instead."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or CODES.get(status, "error")
        self.details = details
        self.headers = headers


class ErrorDetail(BaseModel):
    status: int = Field(description="The HTTP status, repeated", examples=[404])
    code: str = Field(description="A stable, machine-readable reason", examples=["not_found"])
    message: str = Field(
        description="What is wrong and where, for a person", examples=["no point with code OB-0101-12"]
    )
    details: Any = Field(
        default=None,
        description="Per-field problems ({loc, msg, ...}) when there are several",
        examples=[[{"loc": ["body", "code"], "msg": "Field required", "type": "missing"}]],
    )


class ErrorBody(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` of a route that may answer these error statuses."""
    return {status: {"model": ErrorBody, "description": DESCRIPTIONS[status]} for status in statuses}


def error_body(status: int, message: str, code: str | None = None, details: Any = None) -> dict[str, Any]:
    error: dict[str, Any] = {"status": status, "code": code or CODES.get(status, "error"), "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


def error_response(
    status: int, message: str, code: str | None = None, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, details), status_code=status, headers=headers)


def invalid_body(exc: ValidationError) -> RequestValidationError:
    """A model checked inside a route (a merge, a partial change), refused the way FastAPI refuses a
    body: the same 422 answer, its locations under ``body``."""
    return RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()])


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [{"loc": list(err.get("loc", ())), "msg": problem(err), "type": err.get("type", "")} for err in exc.errors()]


def _first_problem(details: list[dict[str, Any]]) -> str:
    if not details:
        return "la solicitud no es válida"
    first = details[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (y {len(details) - 1} más)" if len(details) > 1 else ""
    return f"{where}: {first['msg']}{more}"


# The library's refusals (domain errors) and the status each one answers with.
PROBLEM_STATUS: dict[type[Problem], int] = {NotFound: 404, Conflict: 409, Invalid: 422, TooManyAttempts: 429}


def problem_response(exc: Problem) -> JSONResponse:
    """The standard error shape for a library refusal; a lockout says when to try again."""
    status = next(code for kind, code in PROBLEM_STATUS.items() if isinstance(exc, kind))
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, TooManyAttempts) else None
    return error_response(status, exc.message, exc.code, exc.details, headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, exc.details, exc.headers)

    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        return problem_response(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = ROUTING_MESSAGES.get(exc.status_code, exc.detail if isinstance(exc.detail, str) else "error")
        return error_response(exc.status_code, message, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _validation_details(exc)
        return error_response(422, _first_problem(details), "validation_error", details)

    @app.exception_handler(DataError)
    async def _data_error(request: Request, exc: DataError) -> JSONResponse:
        # a value the schema let through but the database cannot hold (a huge integer, a NUL
        # byte in text): the request's fault, and the transaction was rolled back
        log.info("valor rechazado por la base de datos en %s %s: %s", request.method, request.url.path, exc)
        return error_response(422, f"un valor no se puede guardar: {exc}", "value_not_storable")

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError) -> JSONResponse:
        # routes map the conflicts they expect; one they did not is still a conflict, not an outage
        log.warning("error de integridad no previsto en %s %s: %s", request.method, request.url.path, exc)
        return error_response(409, "choca con datos ya guardados", "conflict")

    @app.exception_handler(DatabaseError)
    async def _database_error(request: Request, exc: DatabaseError) -> JSONResponse:
        request.app.state.ctx.metrics.db_errors.inc()
        log.error("error de la base de datos en %s %s: %s", request.method, request.url.path, exc)
        return error_response(
            503, "la base de datos no está disponible; intente de nuevo en un momento", "database_unavailable"
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("error inesperado en %s %s", request.method, request.url.path)
        return error_response(500, "error interno; el registro del servidor tiene los detalles", "internal_error")


# --- the OpenAPI document -----------------------------------------------------------------------

_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def install_openapi(app: FastAPI) -> None:
    """Serve FastAPI's document as rewritten by :func:`document_errors` (built once, then cached)."""
    build = app.openapi  # FastAPI's own: generates the document once into app.openapi_schema

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(build())  # rewrites the cached document in place
        return app.openapi_schema  # type: ignore[return-value]

    app.openapi = openapi  # type: ignore[method-assign]


def document_errors(document: dict[str, Any]) -> dict[str, Any]:
    """Make every operation's error answers say what the handlers above really send.

    Under ``/api/``: 401 wherever a token is needed, 422 wherever there is input, 400
    wherever there is a body, 500 and 503 everywhere; every 4xx/5xx answer's body is
    :class:`ErrorBody`. FastAPI's
    validation-error schemas are dropped. ``/healthz``, ``/readyz`` and ``/metrics`` keep
    what they declare (the readiness probe answers its own body).
    """
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_ERROR_SCHEMAS:
        schemas.pop(name, None)
    _add_error_schemas(schemas)
    for path, operations in document.get("paths", {}).items():
        api = path.startswith("/api/")
        for operation in operations.values():
            if api:
                _add_implied_errors(operation)
            _point_errors_at_error_body(operation, "45" if api else "4")
    return document


def _add_error_schemas(schemas: dict[str, Any]) -> None:
    generated = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(generated.pop("$defs", {}))
    schemas["ErrorBody"] = generated


def _add_implied_errors(operation: dict[str, Any]) -> None:
    implied = [500, 503]
    if operation.get("security"):
        implied.append(401)
    if operation.get("parameters") or operation.get("requestBody"):
        implied.append(422)
    if operation.get("requestBody"):
        implied.append(400)  # a body that is not UTF-8 cannot even be parsed
    responses = operation.setdefault("responses", {})
    for status in implied:
        responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})


def _point_errors_at_error_body(operation: dict[str, Any], classes: str) -> None:
    for status, response in operation.get("responses", {}).items():
        if status[:1] not in classes:
            continue
        response["content"] = {"application/json": {"schema": dict(_ERROR_REF)}}
        if response.get("description") in (None, "", "Validation Error"):
            response["description"] = DESCRIPTIONS.get(int(status), "An error")


def raw_json_body(model: type[BaseModel], examples: dict[str, Any]) -> dict[str, Any]:
    """``openapi_extra`` for a route that reads its JSON body itself (to bound and inflate it):
    the body's schema, inlined, and its examples (``{name: value}``)."""
    generated = model.model_json_schema(by_alias=True)
    definitions = generated.pop("$defs", {})
    media = {
        "schema": _inline(generated, definitions),
        "examples": {name: {"value": value} for name, value in examples.items()},
    }
    return {"requestBody": {"required": True, "content": {"application/json": media}}}


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return _inline({**target, **{k: v for k, v in node.items() if k != "$ref"}}, definitions)
    return {key: _inline(value, definitions) for key, value in node.items()}
