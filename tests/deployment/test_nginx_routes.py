"""nginx's routing table follows from the code: the committed docker/nginx/nginx.conf is the
one rendered from each role's routers, and a real nginx with that file, in front of the three
real role processes (``caudal central serve --role ...`` on PostgreSQL), sends every path of
every role to a role that serves it; its /docs shows the whole API."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from central.app import api_document
from central.cli import app as central_cli
from central.nginx_routes import (
    BEGIN,
    END,
    PROXY_SETTINGS,
    ROLES,
    RoutingError,
    location_pattern,
    proxy_settings,
    render_config,
    routing_table,
    sample_path,
)
from tests.deployment.support import MANAGE, NGINX_CONF, UPSTREAMS
from tests.deployment.test_manage import native_env
from tests.deployment.test_nginx import RunningNginx, needs_nginx
from tests.pg import temporary_database

DOCUMENTS = {role: api_document(role) for role in ROLES}
OPERATIONS = sorted(
    {
        (method.upper(), path)
        for document in DOCUMENTS.values()
        for path, items in document["paths"].items()
        for method in items
    }
)
ANSWERED_BY_NGINX = {"/metrics"}  # Prometheus scrapes each service directly; nginx answers 404 itself


def serving_roles(path: str) -> set[str]:
    return {role for role, document in DOCUMENTS.items() if path in document["paths"]}


# --- the rendering, pure ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "settings"),
    [
        ("/api/v1/ingest", ("client_max_body_size 5m;", "client_body_buffer_size 1m;", "proxy_read_timeout 30s;")),
        ("/api/v1/ingest/points", ()),
        ("/api/v1/compliance/reports/{code}/{month}.xlsx", ("proxy_read_timeout 120s;",)),
        ("/api/v1/compliance/reports/{code}/{month}/informe-de-fallas.csv", ("proxy_read_timeout 120s;",)),
        ("/api/v1/compliance/log", ()),
    ],
)
def test_ingest_gets_its_body_limit_and_every_report_its_long_read(path: str, settings: tuple[str, ...]) -> None:
    assert proxy_settings(path) == settings


@pytest.mark.parametrize(
    ("template", "pattern"),
    [
        ("/api/v1/latest", "^/api/v1/latest$"),
        ("/api/v1/gateways/{name}/alert-rules", "^/api/v1/gateways/[^/]+/alert-rules$"),
        ("/api/v1/compliance/reports/{code}/{month}.xlsx", r"^/api/v1/compliance/reports/[^/]+/[^/]+\.xlsx$"),
        ("/files/{rest:path}", "^/files/.+$"),
    ],
)
def test_a_path_template_becomes_the_pattern_of_its_requests(template: str, pattern: str) -> None:
    assert location_pattern(template) == pattern


def test_paths_core_serves_stay_with_core_and_the_others_go_to_their_role() -> None:
    table = routing_table(
        {
            "core": ["/healthz", "/api/v1/points/{code}"],
            "telemetry": ["/healthz", "/api/v1/ingest", "/api/v1/points/{code}/readings"],
            "compliance": [
                "/healthz",
                "/api/v1/compliance/reports/{code}/{month}.csv",
                "/api/v1/compliance/reports/{code}/{month}.xlsx",
            ],
        }
    )
    assert table == {
        "/api/v1/ingest": "telemetry",
        "/api/v1/points/{code}/readings": "telemetry",
        "/api/v1/compliance/reports/{code}/{month}.csv": "compliance",
        "/api/v1/compliance/reports/{code}/{month}.xlsx": "compliance",
    }


def test_a_routed_pattern_that_would_catch_another_roles_path_is_refused() -> None:
    with pytest.raises(RoutingError) as refused:
        routing_table({"core": ["/api/v1/alerts/summary"], "telemetry": ["/api/v1/alerts/{alert_id}"]})
    assert str(refused.value) == "/api/v1/alerts/{alert_id} (telemetry) también capturaría /api/v1/alerts/summary"


def test_a_path_only_a_role_without_upstream_serves_is_refused() -> None:
    with pytest.raises(RoutingError) as refused:
        routing_table(
            {
                "core": ["/healthz"],
                "telemetry": ["/healthz"],
                "compliance": [],
                "alerts": ["/healthz", "/api/v1/alerts/evaluations"],
            }
        )
    assert str(refused.value) == "solo las sirven roles a los que nginx no enruta: /api/v1/alerts/evaluations"


def test_settings_for_a_path_no_routed_role_serves_are_refused() -> None:
    with pytest.raises(RoutingError) as refused:
        routing_table({"core": ["/api/v1/ingest"], "telemetry": [], "compliance": []})
    assert str(refused.value) == (
        "ajustes de proxy para rutas que ningún rol enrutado sirve: /api/v1/compliance/reports/, /api/v1/ingest"
    )


def test_a_config_without_the_markers_is_refused() -> None:
    with pytest.raises(RoutingError) as refused:
        render_config("http {}\n", {})
    assert str(refused.value) == f"el archivo necesita exactamente un par de líneas marcadoras:\n{BEGIN}{END}"


def test_only_the_part_between_the_markers_is_rewritten() -> None:
    text = f"before\n{BEGIN}stale\n{END}after\n"
    assert render_config(text, {"/api/v1/ingest": "telemetry", "/api/v1/points/{code}/readings": "telemetry"}) == (
        f"before\n{BEGIN}"
        "        location = /api/v1/ingest {\n"
        + "".join(f"            {line}\n" for line in PROXY_SETTINGS["/api/v1/ingest"])
        + "            proxy_pass http://caudal_ingest;\n"
        "        }\n"
        "        location ~ ^/api/v1/points/[^/]+/readings$ {\n"
        "            proxy_pass http://caudal_telemetry;\n"
        "        }\n"
        f"{END}after\n"
    )


# --- the command and the committed file --------------------------------------------------------


def test_the_committed_config_is_the_one_rendered_from_the_code() -> None:
    result = CliRunner().invoke(central_cli, ["nginx-routes", "--check", str(NGINX_CONF)])
    assert (result.exit_code, result.output) == (0, f"{NGINX_CONF}: rutas al día\n")


def test_check_names_an_out_of_date_file_and_changes_nothing(tmp_path: Path) -> None:
    stale = tmp_path / "nginx.conf"
    text = NGINX_CONF.read_text().replace(BEGIN, BEGIN + "        location = /old { proxy_pass http://caudal_core; }\n")
    stale.write_text(text)
    result = CliRunner().invoke(central_cli, ["nginx-routes", "--check", str(stale)])
    assert (result.exit_code, result.output, stale.read_text()) == (
        1,
        f"error: {stale}: las rutas no coinciden con el código; ejecute: caudal central nginx-routes {stale}\n",
        text,
    )


def test_a_missing_file_is_named_with_the_reason(tmp_path: Path) -> None:
    missing = tmp_path / "nginx.conf"
    result = CliRunner().invoke(central_cli, ["nginx-routes", str(missing)])
    assert (result.exit_code, result.output) == (2, f"error: {missing}: no existe\n")


def test_the_command_rewrites_an_out_of_date_file(tmp_path: Path) -> None:
    stale = tmp_path / "nginx.conf"
    stale.write_text(NGINX_CONF.read_text().replace(BEGIN, BEGIN + "        location = /old { }\n"))
    result = CliRunner().invoke(central_cli, ["nginx-routes", str(stale)])
    assert (result.exit_code, result.output, stale.read_text()) == (
        0,
        f"{stale}: rutas reescritas desde el código\n",
        NGINX_CONF.read_text(),
    )


# --- a real nginx in front of the real role processes ------------------------------------------


@pytest.fixture(scope="module")
def roles(postgres_admin_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, int]]:
    """The three role processes on one fresh PostgreSQL database, started by manage-modular.sh."""
    with temporary_database(postgres_admin_url, "caudal_test_routes") as url:
        env, ports = native_env(tmp_path_factory.mktemp("run"), url)
        manage = ["bash", str(MANAGE)]
        started = subprocess.run([*manage, "start", "all"], env=env, capture_output=True, text=True, timeout=120)
        try:
            assert started.returncode == 0, started.stderr
            yield ports
        finally:
            subprocess.run([*manage, "stop", "all"], env=env, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def proxy(roles: dict[str, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The committed nginx.conf, its upstreams pointed at the role processes; every answer says
    which upstream gave it (X-Upstream)."""
    servers = {upstream: [f"127.0.0.1:{roles[role]}"] for upstream, role in UPSTREAMS.items()}
    nginx = RunningNginx(tmp_path_factory.mktemp("nginx"), servers)
    text = nginx.config.read_text()
    nginx.config.write_text(
        text.replace("    access_log ", "    add_header X-Upstream $upstream_addr always;\n    access_log ", 1)
    )
    with nginx as base:
        yield base


def answering_role(reply: httpx.Response, ports: dict[str, int]) -> str:
    port = int(reply.headers["X-Upstream"].rsplit(":", 1)[1])
    return next(role for role, role_port in ports.items() if role_port == port)


@needs_nginx
@pytest.mark.parametrize(
    ("method", "path"),
    [op for op in OPERATIONS if op[1] not in ANSWERED_BY_NGINX],
    ids=[f"{m} {p}" for m, p in OPERATIONS if p not in ANSWERED_BY_NGINX],
)
def test_every_path_of_every_role_reaches_a_role_that_serves_it(
    proxy: str, roles: dict[str, int], method: str, path: str
) -> None:
    """Without a token a served path answers 401 (or 422, 200 where no token is needed);
    a role that does not serve it would answer 404 or 405."""
    reply = httpx.request(method, proxy + sample_path(path), json={}, timeout=10)
    assert reply.status_code not in (404, 405), reply.text
    assert answering_role(reply, roles) in serving_roles(path)


@needs_nginx
def test_docs_behind_nginx_show_every_operation_of_every_role(proxy: str) -> None:
    document = httpx.get(f"{proxy}/openapi.json", timeout=10).json()
    served = {(method.upper(), path) for path, items in document["paths"].items() for method in items}
    docs = httpx.get(f"{proxy}/docs", timeout=10)
    assert served == set(OPERATIONS)
    assert (docs.status_code, "/openapi.json" in docs.text) == (200, True)


@pytest.mark.parametrize(
    ("role", "documented"), [("core", "all"), ("telemetry", "telemetry"), ("compliance", "compliance")]
)
def test_core_documents_the_whole_api_and_the_other_roles_their_own(
    roles: dict[str, int], role: str, documented: str
) -> None:
    document = httpx.get(f"http://127.0.0.1:{roles[role]}/openapi.json", timeout=10).json()
    assert document == api_document(documented)  # type: ignore[arg-type]
