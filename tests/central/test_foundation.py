import json
from datetime import UTC, datetime

import pytest

from central.db import IntegrityError, migrate, pending_migrations
from central.db.migrate import available_migrations, statements
from central.db.postgres import redact_url, to_pyformat
from central.errors import ApiError, problem_response
from central.problems import Conflict, InvalidField, NotFound, TooManyAttempts


def test_migrating_twice_applies_nothing_the_second_time(db):
    assert migrate(db) == []
    assert pending_migrations(db) == []


def test_timestamps_and_booleans_round_trip(db):
    now = datetime(2026, 11, 28, 13, 0, 0, 123456, tzinfo=UTC)
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO users (username, password_hash, is_admin, created_at) VALUES ('ana', 'x', :a, :t)",
            {"a": True, "t": now},
        )
    with db.connect() as conn:
        row = conn.fetchone("SELECT is_admin, created_at FROM users WHERE username = 'ana'")
    assert row == {"is_admin": True, "created_at": now}


def test_a_failed_transaction_changes_nothing(db):
    now = datetime(2026, 11, 28, tzinfo=UTC)
    insert = "INSERT INTO users (username, password_hash, created_at) VALUES ('ana', 'x', :t)"
    with pytest.raises(IntegrityError):
        with db.transaction() as conn:
            conn.execute(insert, {"t": now})
            conn.execute(insert, {"t": now})
    with db.connect() as conn:
        assert conn.fetchval("SELECT COUNT(*) FROM users") == 0


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "SELECT * FROM t WHERE a = :a AND b = :b_2",
            "SELECT * FROM t WHERE a = %(a)s AND b = %(b_2)s",
            id="named-parameters",
        ),
        pytest.param(
            "SELECT CAST(x AS int) FROM t WHERE y LIKE '5%'",
            "SELECT CAST(x AS int) FROM t WHERE y LIKE '5%%'",
            id="a-percent-sign-is-doubled",
        ),
        pytest.param("SELECT '12:30'", "SELECT '12:30'", id="a-colon-inside-a-string-stays"),
    ],
)
def test_named_parameters_become_pyformat(sql, expected):
    assert to_pyformat(sql) == expected


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        pytest.param(
            "CREATE TABLE a (x INT);\n-- a note\nCREATE TABLE b (y INT);\n",
            ["CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"],
            id="at-each-line-end",
        ),
        pytest.param("SELECT 'a;b'; SELECT 2;", ["SELECT 'a;b'; SELECT 2"], id="only-at-a-line-end"),
        pytest.param(
            "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    -- kept\n    RETURN NULL;\nEND $$;\nSELECT 1;",
            [
                "CREATE FUNCTION f() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    -- kept\n    RETURN NULL;\nEND $$",
                "SELECT 1",
            ],
            id="not-inside-a-dollar-quoted-body",
        ),
        pytest.param(
            "DO $$ BEGIN PERFORM 1; END $$;\nSELECT 1",
            ["DO $$ BEGIN PERFORM 1; END $$", "SELECT 1"],
            id="a-one-line-body",
        ),
    ],
)
def test_a_migration_splits_into_statements(sql, expected):
    assert statements(sql) == expected


def test_urls_are_redacted_for_messages():
    assert redact_url("postgresql://caudal:s3cret@db:5432/caudal") == "postgresql://caudal:***@db:5432/caudal"


def test_health_ready_and_metrics_answer(app_client):
    assert app_client.get("/healthz").json()["status"] == "ok"
    ready = app_client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    assert b"caudal_http_requests" in app_client.get("/metrics").content


def test_health_reports_the_installed_version_from_package_metadata(app_client):
    from importlib.metadata import version

    assert app_client.get("/healthz").json()["version"] == version("caudal")


def _central_imports_of(package: str) -> list[str]:
    """The modules of ``central`` that import ``package`` (or one of its modules)."""
    import ast
    from pathlib import Path

    found = []
    for path in sorted((Path(__file__).parents[2] / "central").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            names += [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            found += [str(path) for name in names if name == package or name.startswith(f"{package}.")]
    return found


@pytest.mark.parametrize("package", ["caudal", "compliance"])
def test_no_central_module_imports_the_packages_above_it(package):
    """central never imports the command line above it, nor compliance (the app factory reads
    compliance's routers and registry by module name: docs/ARQUITECTURA_MODULAR.md)."""
    assert _central_imports_of(package) == []


def test_unknown_paths_answer_the_standard_error_shape(app_client):
    response = app_client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.json() == {"error": {"status": 404, "code": "not_found", "message": "no existe esa ruta"}}


def test_replicas_migrating_at_once_all_succeed(postgres_url):
    """Three services starting together on one empty PostgreSQL must not trip over each other."""
    from concurrent.futures import ThreadPoolExecutor

    from central.db import open_database

    databases = [open_database(postgres_url) for _ in range(3)]
    try:
        with ThreadPoolExecutor(3) as pool:
            applied = list(pool.map(migrate, databases))
        versions = sorted(m.version for each in applied for m in each)
        assert versions == [m.version for m in available_migrations("postgresql")]  # each applied once
        assert pending_migrations(databases[0]) == []
    finally:
        for database in databases:
            database.close()


@pytest.mark.parametrize("moment", [datetime(996, 7, 7, 22, 15, 50, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC)])
def test_timestamps_at_the_edges_of_the_calendar_round_trip(db, moment):
    with db.transaction() as conn:
        conn.execute("INSERT INTO users (username, password_hash, created_at) VALUES ('ana', 'x', :t)", {"t": moment})
    with db.connect() as conn:
        assert conn.fetchval("SELECT created_at FROM users") == moment


def test_readyz_says_which_migrations_are_pending(settings, clock):
    from fastapi.testclient import TestClient

    from central.app import create_app

    app = create_app(settings.model_copy(update={"auto_migrate": False}), clock=clock)
    with TestClient(app) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert (error["code"], error["message"].split(":")[0]) == ("not_ready", "pending migrations")
    assert "0001_core" in error["message"]


def test_a_failed_savepoint_undoes_only_its_own_part(db):
    now = datetime(2026, 11, 28, tzinfo=UTC)
    insert = "INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'x', :t)"
    with db.transaction() as conn:
        conn.execute(insert, {"u": "ana", "t": now})
        with pytest.raises(IntegrityError):
            with conn.savepoint():
                conn.execute(insert, {"u": "beto", "t": now})
                conn.execute(insert, {"u": "ana", "t": now})
        conn.execute(insert, {"u": "carla", "t": now})
    with db.connect() as conn:
        assert [r["username"] for r in conn.fetchall("SELECT username FROM users ORDER BY username")] == [
            "ana",
            "carla",
        ]


def test_a_pipeline_runs_every_statement_in_it(db):
    now = datetime(2026, 11, 28, tzinfo=UTC)
    insert = "INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'x', :t)"
    with db.transaction() as conn:
        with conn.pipeline():
            conn.execute(insert, {"u": "ana", "t": now})
            conn.executemany(insert, [{"u": "beto", "t": now}, {"u": "carla", "t": now}])
            conn.execute("UPDATE users SET password_hash = 'y' WHERE username = :u", {"u": "beto"})
    with db.connect() as conn:
        rows = conn.fetchall("SELECT username, password_hash FROM users ORDER BY username")
    assert [tuple(row.values()) for row in rows] == [("ana", "x"), ("beto", "y"), ("carla", "x")]


def test_copy_rows_runs_meanwhile_once_after_the_last_row(db):
    now = datetime(2026, 11, 28, tzinfo=UTC)
    taken: list[str] = []
    seen_by_meanwhile: list[list[str]] = []

    def rows():
        for name in ("ana", "beto"):
            taken.append(name)
            yield (name, "x", now)

    with db.transaction() as conn:
        conn.copy_rows(
            "users",
            ("username", "password_hash", "created_at"),
            rows(),
            meanwhile=lambda: seen_by_meanwhile.append(list(taken)),
        )
    with db.connect() as conn:
        stored = [row["username"] for row in conn.fetchall("SELECT username FROM users ORDER BY username")]
    assert (seen_by_meanwhile, stored) == ([["ana", "beto"]], ["ana", "beto"])


def test_an_error_in_meanwhile_stores_nothing(db):
    now = datetime(2026, 11, 28, tzinfo=UTC)

    def fail() -> None:
        raise RuntimeError("meanwhile failed")

    with pytest.raises(RuntimeError, match="meanwhile failed"):
        with db.transaction() as conn:
            conn.copy_rows("users", ("username", "password_hash", "created_at"), [("ana", "x", now)], meanwhile=fail)
    with db.connect() as conn:
        assert conn.fetchall("SELECT username FROM users") == []


def test_an_error_in_a_pipeline_is_ours_and_undoes_the_transaction(db):
    now = datetime(2026, 11, 28, tzinfo=UTC)
    insert = "INSERT INTO users (username, password_hash, created_at) VALUES (:u, 'x', :t)"
    with pytest.raises(IntegrityError):
        with db.transaction() as conn, conn.pipeline():
            conn.execute(insert, {"u": "ana", "t": now})
            conn.execute(insert, {"u": "ana", "t": now})
    with db.connect() as conn:
        assert conn.fetchall("SELECT username FROM users") == []


@pytest.mark.parametrize(
    ("problem", "status", "headers"),
    [
        (NotFound("no point P9"), 404, {}),
        (Conflict("gateway gw-1 exists"), 409, {}),
        (InvalidField("water_right_lps", "must be above 0"), 422, {}),
        (TooManyAttempts("too many failed logins", 30), 429, {"retry-after": "30"}),
    ],
)
def test_core_refusals_are_domain_errors_mapped_to_a_status_at_the_api_edge(problem, status, headers):
    response = problem_response(problem)
    assert not isinstance(problem, ApiError)
    assert (response.status_code, {k: v for k, v in response.headers.items() if k == "retry-after"}) == (
        status,
        headers,
    )
    assert json.loads(response.body)["error"]["message"] == problem.message
