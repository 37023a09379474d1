"""Property-based tests of the whole API against its own OpenAPI document (schemathesis).

Schemathesis generates requests from the document — valid ones and, for every parameter
and body, invalid ones — and checks each answer: never a 5xx, a status the operation
documents, the documented content type and a body matching the documented schema (for
errors: ``ErrorBody``). The app runs as it does in production: served by uvicorn on a
local port, on PostgreSQL and on SQLite (one server per database and module), seeded with
an administrator, points and gateways. Every operation is fuzzed with the administrator's
token and with a gateway's, and ingest with its gateway's token, so the fuzzing reaches
its parsing and storage. Runs have a fixed seed (schemathesis' config, Hypothesis
derandomized) and a fixed example budget, so CI replays the same cases.

Nothing is left out to keep the fuzzer logged in: before every case the seeded credentials
are reinstated, so a fuzzed logout, "deactivate admin", "revoke token", "revoke gateway" or
"replace the gateway's points" cannot turn the rest of the run into 401s. Left out: testing
a notification channel (``POST .../channels/{id}/test``), which delivers to whatever
destination the fuzzer made up: outward network traffic; its guard has its own tests in
tests/central/notify.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from central.app import create_app
from central.crypto import token_hash
from central.db import Database
from central.settings import Settings
from protocols.clock import ManualClock
from tests.central.served import serving
from tests.central.telemetry_support import ADMIN_TOKEN, GATEWAY_TOKEN, START, batch, seed_site
from tests.pg import temporary_database
from tests.ports import free_port

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {"admin": 6, "gateway": 4, "ingest": 40}  # per operation and database: ~1000 cases, 4-5 min
SEED = 20261203


def fuzz(examples: int) -> settings:
    return settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


@dataclass(frozen=True)
class Served:
    url: str
    db: Database


def _serve(database_url: str) -> Iterator[Served]:
    """The seeded app (role all, no background workers) under uvicorn in a thread."""
    config = Settings(
        database_url=database_url, secret_key="test-secret-key", dga_rut_empresa="77555666-8", workers=False
    )
    clock = ManualClock(START)
    app = create_app(config, clock=clock)
    with serving(app, free_port()) as url:
        db = app.state.ctx.db
        with db.transaction() as conn:
            seed_site(conn, clock.now())
        yield Served(url, db)


BOTH_DATABASES = pytest.mark.parametrize("served", ["postgresql", "sqlite"], indirect=True)


@pytest.fixture(scope="module")
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if request.param == "sqlite":  # the parameter comes from each test's parametrize(indirect)
        path: Path = tmp_path_factory.mktemp("fuzz") / "caudal.db"
        yield from _serve(f"sqlite:///{path}")
        return
    with temporary_database(request.getfixturevalue("postgres_admin_url"), "caudal_fuzz") as url:
        yield from _serve(url)


def _document() -> dict[str, Any]:
    """The document of ``create_app(role="all")``, read at collection time so that pytest
    lists one test per operation (the requests go to the module's own server)."""
    with TemporaryDirectory() as folder:
        config = Settings(database_url=f"sqlite:///{folder}/doc.db", secret_key="k", workers=False)
        app = create_app(config)
        with TestClient(app):
            return app.openapi()


KEEP_SEEDED = {("DELETE", "/api/v1/points/{code}")}  # the seeded points stay for the other operations
SEEDED = {"code": ["P1", "P2"], "name": ["gw-norte", "gw-sur"], "username": ["admin", "ana"], "month": ["2026-11"]}


def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy:
    """Often name a seeded point, gateway, user or month: random names only ever find 404s."""
    if not path_parameters or (context.operation.method.upper(), context.operation.path) in KEEP_SEEDED:
        return st.just(path_parameters)
    choices = {key: st.sampled_from([value, *SEEDED[key]]) for key, value in path_parameters.items() if key in SEEDED}
    return st.fixed_dictionaries({**{key: st.just(value) for key, value in path_parameters.items()}, **choices})


def _api(document: dict[str, Any], *, coverage: bool) -> BaseSchema:
    """The document as schemathesis sees it, with the fixed seed; ``coverage`` runs schemathesis'
    coverage phase (every boundary and invalid value the schema defines, whatever the budget)."""
    config = SchemathesisConfig.from_dict({"seed": SEED, "phases": {"coverage": {"enabled": coverage}}})
    api = schemathesis.openapi.from_dict(document, config=config)
    api.hook(flatmap_path_parameters)
    return api


DOCUMENT = _document()
API = _api(DOCUMENT, coverage=True)
SAMPLED_API = _api(DOCUMENT, coverage=False)  # examples and random fuzzing only: for the gateway's refusals


REINSTATE = [
    ("UPDATE users SET is_active = :yes, is_admin = :yes WHERE username = 'admin'", {}),
    ("UPDATE api_tokens SET revoked_at = NULL, expires_at = NULL WHERE token_hash = :h", {"h": ADMIN_TOKEN}),
    ("UPDATE gateways SET revoked_at = NULL, token_hash = :h WHERE name = 'gw-norte'", {"h": GATEWAY_TOKEN}),
    ("DELETE FROM gateway_points WHERE gateway_id = (SELECT id FROM gateways WHERE name = 'gw-norte')", {}),
    (
        (
            "INSERT INTO gateway_points (gateway_id, point_id) SELECT g.id, p.id FROM gateways g, points p"
            " WHERE g.name = 'gw-norte' AND p.code IN ('P1', 'P2')"
        ),
        {},
    ),
]


def reinstate_credentials(db: Database) -> None:
    """The seeded admin, its token, gw-norte's token and points, as seeded."""
    with db.transaction() as conn:
        for statement, tokens in REINSTATE:
            conn.execute(statement, {"yes": True, **{key: token_hash(value) for key, value in tokens.items()}})


def send_and_check(served: Served, case: schemathesis.Case, token: str) -> None:
    reinstate_credentials(served.db)
    response = case.call(base_url=served.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    case.validate_response(response, checks=CHECKS)


DELIVERS = r"^/api/v1/users/me/channels/\{[^}]+\}/test$"
everything = API.exclude(path_regex=DELIVERS, method="POST")
everything_sampled = SAMPLED_API.exclude(path_regex=DELIVERS, method="POST")
ingest = API.include(path="/api/v1/ingest")


@pytest.mark.slow
@BOTH_DATABASES
@everything.parametrize()
@fuzz(EXAMPLES["admin"])
def test_every_operation_answers_as_documented_to_an_administrator(case, served):
    send_and_check(served, case, ADMIN_TOKEN)


@pytest.mark.slow
@pytest.mark.parametrize("served", ["postgresql"], indirect=True)
@everything_sampled.parametrize()
@fuzz(EXAMPLES["gateway"])
def test_every_operation_answers_as_documented_to_a_gateway(case, served):
    """A gateway's token opens ingest only; everywhere else it must get a documented refusal
    (which depends neither on the database nor on the body: PostgreSQL, no coverage phase)."""
    send_and_check(served, case, GATEWAY_TOKEN)


@pytest.mark.slow
@BOTH_DATABASES
@ingest.parametrize()
@fuzz(EXAMPLES["ingest"])
def test_ingest_answers_as_documented_to_its_gateway(case, served):
    """Ingest gets the largest budget: it parses the most (batches, readings, times, gzip) and
    PostgreSQL refuses what SQLite stores (NUL bytes in text, integers beyond bigint)."""
    send_and_check(served, case, GATEWAY_TOKEN)


# --- what the fuzzing found, pinned on both databases ------------------------------------------

FOUND = [
    # SQLite wrote year 996 as "996-..." and could not read it back (500); a meter swap is recent anyway
    (
        "/api/v1/points/P1/meter-changes",
        {"ts": "0996-07-07T20:55:50Z", "new_base_m3": 42.0},
        (422, "body.ts: ts es anterior a 2000; un cambio de medidor es reciente"),
    ),
    # 0001-01-01 with an offset is before datetime.min in UTC: astimezone raised OverflowError (500)
    (
        "/api/v1/points/P1/meter-changes",
        {"ts": "0001-01-01T00:00:00+01:00", "new_base_m3": 1.0},
        (422, "body.ts: ts queda fuera de las horas representables"),
    ),
]


@pytest.mark.parametrize(("path", "body", "expected"), FOUND)
def test_inputs_the_fuzzing_found_are_refused_without_storing(site, path, body, expected):
    response = site.post(path, body)
    stored = site.rows("SELECT id FROM meter_changes")
    assert (response.status_code, response.json()["error"]["message"], stored) == (*expected, [])
    assert site.get("/api/v1/points/P1/meter-changes").status_code == 200  # still serving


def test_text_the_database_cannot_hold_is_a_422_not_a_503(site):
    """PostgreSQL refuses NUL bytes in text (SQLite stores them): the request's fault, said so."""
    response = site.post(
        "/api/v1/points/P1/meter-changes", {"ts": "2026-11-28T12:00:00Z", "new_base_m3": 1.0, "note": "a\x00b"}
    )
    stored = len(site.rows("SELECT id FROM meter_changes"))
    if site.db.dialect == "sqlite":
        assert (response.status_code, stored) == (201, 1)
        return
    assert (response.status_code, response.json(), stored) == (
        422,
        {
            "error": {
                "status": 422,
                "code": "value_not_storable",
                "message": "un valor no se puede guardar: PostgreSQL text fields cannot contain NUL (0x00) bytes",
            }
        },
        0,
    )


def test_an_ingest_timestamp_beyond_utc_range_is_a_422(site):
    document = batch([], datetime(2026, 11, 28, 13, tzinfo=UTC))
    document["sent_at"] = "0001-01-01T00:00:00+01:00"
    response = site.ingest(document)
    assert (response.status_code, response.json()["error"]["message"]) == (
        422,
        "sent_at: 0001-01-01T00:00:00+01:00 queda fuera de las horas representables en UTC",
    )
