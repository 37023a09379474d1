"""Property-based tests of the whole API against its own OpenAPI document (schemathesis).

Schemathesis generates requests from the document — valid ones and, for every parameter
and body, invalid ones — and checks each answer: never a 5xx, a status the operation
documents, the documented content type and a body matching the documented schema (for
errors: ``ErrorBody``). One app per module (SQLite, or PostgreSQL for the smaller subset),
seeded with an administrator, points and gateways; requests go through our own
``TestClient`` so the app's lifespan is the test's. Before every case the seeded
credentials are reinstated: a fuzzed "deactivate admin" or "revoke gateway" must not
turn the rest of the run into 401s.

Left out: creating, changing and testing notification channels — they resolve the
webhook's host name (DNS) and the test delivers, which is outward network traffic; their
input validation has its own tests in tests/notify.
"""

from __future__ import annotations

from collections.abc import Iterator
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
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from central.app import create_app
from central.crypto import token_hash
from central.settings import Settings
from protocols.clock import ManualClock
from tests.central.telemetry_support import (  # noqa: F401 (site, site_client: fixtures)
    ADMIN_TOKEN, GATEWAY_TOKEN, START, batch, seed_site, site, site_client,
)
from tests.pg import temporary_database

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
NETWORKED = "^/api/v1/users/me/channels"  # POST/PATCH/test reach DNS and the network
POSTGRES_PATHS = ["/api/v1/ingest", "/api/v1/points/{code}/readings", "/api/v1/points", "/api/v1/points/{code}"]


def _app_client(url: str) -> Iterator[TestClient]:
    config = Settings(database_url=url, secret_key="test-secret-key", dga_rut_empresa="77555666-8", workers=False)
    clock = ManualClock(START)
    with TestClient(create_app(config, clock=clock), raise_server_exceptions=False) as client:
        with client.app.state.ctx.db.transaction() as conn:
            seed_site(conn, clock.now())
        yield client


@pytest.fixture(scope="module")
def sqlite_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    path: Path = tmp_path_factory.mktemp("fuzz") / "caudal.db"
    yield from _app_client(f"sqlite:///{path}")


@pytest.fixture(scope="module")
def postgres_client(postgres_admin_url: str) -> Iterator[TestClient]:
    with temporary_database(postgres_admin_url, "caudal_fuzz") as url:
        yield from _app_client(url)


def _document() -> dict[str, Any]:
    """The document of ``create_app(role="all")``, read at collection time so that pytest
    lists one test per operation (the requests go to the module's own app)."""
    with TemporaryDirectory() as folder:
        config = Settings(database_url=f"sqlite:///{folder}/doc.db", secret_key="k", workers=False)
        app = create_app(config)
        with TestClient(app):
            return app.openapi()


API = schemathesis.openapi.from_dict(_document())
KEEP_SEEDED = {("DELETE", "/api/v1/points/{code}")}  # the seeded points stay for the other operations
SEEDED = {"code": ["P1", "P2"], "name": ["gw-norte", "gw-sur"], "username": ["admin", "ana"], "month": ["2026-11"]}


@API.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> st.SearchStrategy:
    """Often name a seeded point, gateway, user or month: random names only ever find 404s."""
    if not path_parameters or (context.operation.method.upper(), context.operation.path) in KEEP_SEEDED:
        return st.just(path_parameters)
    choices = {key: st.sampled_from([value, *SEEDED[key]]) for key, value in path_parameters.items() if key in SEEDED}
    return st.fixed_dictionaries({**{key: st.just(value) for key, value in path_parameters.items()}, **choices})


def reinstate_credentials(client: TestClient) -> None:
    """The seeded admin, its token and the gateways' tokens, as seeded."""
    ctx = client.app.state.ctx
    with ctx.db.transaction() as conn:
        conn.execute("UPDATE users SET is_active = :yes, is_admin = :yes WHERE username = 'admin'", {"yes": True})
        conn.execute("UPDATE api_tokens SET revoked_at = NULL, expires_at = NULL WHERE token_hash = :h",
                     {"h": token_hash(ADMIN_TOKEN)})
        conn.execute("UPDATE gateways SET revoked_at = NULL, token_hash = :h WHERE name = 'gw-norte'",
                     {"h": token_hash(GATEWAY_TOKEN)})


def send(client: TestClient, case: schemathesis.Case, token: str) -> Any:
    """Send the case through our client, with ``token``; answer the response."""
    kwargs = case.as_transport_kwargs(base_url="http://testserver", headers={"Authorization": f"Bearer {token}"})
    body = kwargs.pop("data", None)
    if body is not None:
        kwargs["content"] = body.encode() if isinstance(body, str) else body
    for unsupported in ("verify", "cookies", "timeout", "allow_redirects"):
        kwargs.pop(unsupported, None)
    return client.request(**kwargs)


whole_schema = API.exclude(path="/api/v1/ingest").exclude(path_regex=NETWORKED, method=["POST", "PATCH"])
ingest_schema = API.include(path="/api/v1/ingest")
postgres_schema = API.include(path=POSTGRES_PATHS)


@pytest.mark.slow
@whole_schema.parametrize()
@FUZZ
def test_every_operation_answers_as_documented_to_an_administrator(case, sqlite_client):
    reinstate_credentials(sqlite_client)
    case.validate_response(send(sqlite_client, case, ADMIN_TOKEN), checks=CHECKS)


@pytest.mark.slow
@ingest_schema.parametrize()
@FUZZ
def test_ingest_answers_as_documented_to_a_gateway(case, sqlite_client):
    reinstate_credentials(sqlite_client)
    case.validate_response(send(sqlite_client, case, GATEWAY_TOKEN), checks=CHECKS)


@pytest.mark.slow
@postgres_schema.parametrize()
@FUZZ
def test_postgresql_refusals_are_4xx_not_5xx(case, postgres_client):
    """PostgreSQL refuses what SQLite stores (NUL bytes in text, integers beyond bigint):
    those must be 422s like any other bad input."""
    reinstate_credentials(postgres_client)
    token = GATEWAY_TOKEN if case.path == "/api/v1/ingest" else ADMIN_TOKEN
    case.validate_response(send(postgres_client, case, token), checks=CHECKS)


# --- what the fuzzing found, pinned on both databases ------------------------------------------

FOUND = [
    # SQLite wrote year 996 as "996-..." and could not read it back (500); a meter swap is recent anyway
    ("/api/v1/points/P1/meter-changes", {"ts": "0996-07-07T20:55:50Z", "new_base_m3": 42.0},
     (422, "body.ts: Value error, ts is before 2000; a meter change is recent")),
    # 0001-01-01 with an offset is before datetime.min in UTC: astimezone raised OverflowError (500)
    ("/api/v1/points/P1/meter-changes", {"ts": "0001-01-01T00:00:00+01:00", "new_base_m3": 1.0},
     (422, "body.ts: Value error, ts is out of the representable range")),
]


@pytest.mark.parametrize(("path", "body", "expected"), FOUND)
def test_inputs_the_fuzzing_found_are_refused_without_storing(site, path, body, expected):
    response = site.post(path, body)
    stored = site.rows("SELECT id FROM meter_changes")
    assert (response.status_code, response.json()["error"]["message"], stored) == (*expected, [])
    assert site.get("/api/v1/points/P1/meter-changes").status_code == 200  # still serving


def test_text_the_database_cannot_hold_is_a_422_not_a_503(site):
    """PostgreSQL refuses NUL bytes in text (SQLite stores them): the request's fault, said so."""
    response = site.post("/api/v1/points/P1/meter-changes",
                         {"ts": "2026-11-28T12:00:00Z", "new_base_m3": 1.0, "note": "a\x00b"})
    stored = len(site.rows("SELECT id FROM meter_changes"))
    if site.db.dialect == "sqlite":
        assert (response.status_code, stored) == (201, 1)
        return
    assert (response.status_code, response.json(), stored) == (422, {"error": {
        "status": 422, "code": "value_not_storable",
        "message": "a value cannot be stored: PostgreSQL text fields cannot contain NUL (0x00) bytes"}}, 0)


def test_an_ingest_timestamp_beyond_utc_range_is_a_422(site):
    document = batch([], datetime(2026, 11, 28, 13, tzinfo=UTC))
    document["sent_at"] = "0001-01-01T00:00:00+01:00"
    response = site.ingest(document)
    assert (response.status_code, response.json()["error"]["message"]) == (
        422, "sent_at: 0001-01-01T00:00:00+01:00 is outside the range of representable times in UTC")
