"""docker/nginx/nginx.conf run by a real nginx in front of real HTTP stand-ins for the
three services: every path reaches the service that owns it, with the proxy headers,
body limits and JSON errors the configuration promises."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from tests.deployment.support import (
    MODULAR,
    NGINX_CONF,
    ROLE_PORTS,
    TLS_EXAMPLE,
    UPSTREAMS,
    load_yaml,
    nginx_upstreams,
    render_nginx,
)
from tests.ports import free_port

NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
needs_nginx = pytest.mark.skipif(
    NGINX is None,
    reason="nginx is not installed (Debian package nginx-light); the config is checked by the YAML tests only",
)
MiB = 1024 * 1024


class StandIns:
    """One aiohttp server per service on 127.0.0.1, in a thread; each answers with its name,
    the path and query it received, the headers, and the body size."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        self.ports: dict[str, int] = {}
        self._loop = asyncio.new_event_loop()
        self._runners: list[web.AppRunner] = []
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def __enter__(self) -> StandIns:
        self._thread.start()
        for name in self.names:
            self.ports[name] = asyncio.run_coroutine_threadsafe(self._serve(name), self._loop).result(10)
        return self

    async def _serve(self, name: str) -> int:
        async def answer(request: web.Request) -> web.Response:
            body = await request.read()
            return web.json_response(
                {"service": name, "path": request.path_qs, "headers": dict(request.headers), "body_bytes": len(body)}
            )

        app = web.Application(client_max_size=64 * MiB)
        app.router.add_route("*", "/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._runners.append(runner)
        return runner.addresses[0][1]

    def __exit__(self, *exc: object) -> None:
        for runner in reversed(self._runners):
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def write_config(prefix: Path, port: int, upstream_servers: dict[str, list[str]], extra_server: str = "") -> Path:
    text = render_nginx(NGINX_CONF.read_text(), port, upstream_servers, prefix)
    if os.geteuid() == 0:  # workers would otherwise run as nobody, who cannot enter pytest's 0700 tmp dirs
        text = "user root;\n" + text
    if extra_server:
        text = text[: text.rindex("}")] + extra_server + "\n}\n"
    config = prefix / "nginx.conf"
    config.write_text(text)
    return config


def nginx_args(prefix: Path, config: Path) -> list[str]:
    assert NGINX is not None
    return [NGINX, "-p", str(prefix), "-c", str(config), "-e", "stderr", "-g", f"pid {prefix / 'nginx.pid'};"]


def nginx_test(prefix: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*nginx_args(prefix, config), "-t"], capture_output=True, text=True, timeout=30)


class RunningNginx:
    def __init__(self, prefix: Path, upstream_servers: dict[str, list[str]]) -> None:
        self.port = free_port()
        self.config = write_config(prefix, self.port, upstream_servers)
        self.args = [*nginx_args(prefix, self.config), "-g", "daemon off;"]
        self.log = (prefix / "nginx.out").open("wb")
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> str:
        self.process = subprocess.Popen(self.args, stdout=self.log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/nginx-health", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.05)
        raise AssertionError(f"nginx did not start: {self.config}")

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(10)
        self.log.close()


@pytest.fixture(scope="module")
def services() -> Iterator[StandIns]:
    with StandIns(list(ROLE_PORTS)) as stand_ins:
        yield stand_ins


@pytest.fixture(scope="module")
def proxy(services: StandIns, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """nginx with the production routing. compliance has two replicas, the first of
    which is down, so every compliance request also exercises the fail-over."""
    if NGINX is None:
        pytest.skip("nginx is not installed (Debian package nginx-light)")
    servers = {upstream: [f"127.0.0.1:{services.ports[role]}"] for upstream, role in UPSTREAMS.items()}
    servers["caudal_compliance"].insert(0, f"127.0.0.1:{free_port()}")
    with RunningNginx(tmp_path_factory.mktemp("nginx"), servers) as base:
        yield base


ROUTES = [
    ("POST", "/api/v1/auth/login", "core"),
    ("GET", "/api/v1/users", "core"),
    ("GET", "/api/v1/points?limit=10", "core"),
    ("GET", "/api/v1/points/OB-0601-444", "core"),
    ("PATCH", "/api/v1/points/OB-0601-444", "core"),
    ("GET", "/api/v1/gateways/gw-norte-01", "core"),
    ("POST", "/api/v1/gateways/gw-norte-01/rotate-token", "core"),
    ("GET", "/healthz", "core"),
    ("GET", "/docs", "core"),
    ("GET", "/openapi.json", "core"),
    ("POST", "/api/v1/ingest", "telemetry"),
    ("GET", "/api/v1/points/OB-0601-444/readings?from=2026-11-01T00:00:00Z", "telemetry"),
    ("GET", "/api/v1/points/OB-0601-444/aggregates?bucket=day", "telemetry"),
    ("POST", "/api/v1/points/OB-0601-444/meter-changes", "telemetry"),
    ("GET", "/api/v1/points/OB-0601-444/alert-rules", "telemetry"),
    ("PATCH", "/api/v1/points/OB-0601-444/alert-rules/7", "telemetry"),
    ("PUT", "/api/v1/gateways/gw-norte-01/alert-rules", "telemetry"),
    ("GET", "/api/v1/latest", "telemetry"),
    ("GET", "/api/v1/alerts?state=open", "telemetry"),
    ("POST", "/api/v1/alerts/12/ack", "telemetry"),
    ("PUT", "/api/v1/points/OB-0601-444/compliance/dga", "compliance"),
    ("GET", "/api/v1/points/OB-0601-444/compliance/sma", "compliance"),
    ("GET", "/api/v1/compliance/submissions?state=review", "compliance"),
    ("POST", "/api/v1/compliance/review/5/approve", "compliance"),
    ("GET", "/api/v1/compliance/reports/OB-0601-444/2026-11?format=xlsx", "compliance"),
    ("GET", "/api/v1/compliance/log", "compliance"),
    ("GET", "/api/v1/latestnews", "core"),
    ("GET", "/api/v1/points/OB-0601-444/readingsx", "core"),
    ("GET", "/api/v1/compliance/unknown", "core"),
]


@needs_nginx
@pytest.mark.parametrize(("method", "path", "service"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_path_reaches_the_service_that_owns_it(proxy: str, method: str, path: str, service: str) -> None:
    reply = httpx.request(method, proxy + path, content=b"{}", timeout=10)
    assert (reply.status_code, reply.json()["service"], reply.json()["path"]) == (200, service, path)


@needs_nginx
def test_services_receive_the_client_address_scheme_and_a_request_id(proxy: str) -> None:
    headers = httpx.get(f"{proxy}/api/v1/latest", headers={"Host": "caudal.example.cl"}, timeout=10).json()["headers"]
    forwarded = {name: headers.get(name) for name in ("Host", "X-Real-IP", "X-Forwarded-For", "X-Forwarded-Proto")}
    assert forwarded == {
        "Host": "caudal.example.cl",
        "X-Real-IP": "127.0.0.1",
        "X-Forwarded-For": "127.0.0.1",
        "X-Forwarded-Proto": "http",
    }
    assert len(headers["X-Request-ID"]) == 32


@needs_nginx
@pytest.mark.parametrize(
    ("path", "size", "status"),
    [
        ("/api/v1/ingest", 4 * MiB, 200),  # CAUDAL_MAX_BODY_BYTES itself: the service decides
        ("/api/v1/ingest", 4 * MiB + MiB // 2, 200),  # above it, still the service's own answer
        ("/api/v1/ingest", 6 * MiB, 413),
        ("/api/v1/users", MiB, 200),
        ("/api/v1/users", 2 * MiB, 413),
        ("/api/v1/compliance/review/5/approve", 2 * MiB, 413),
    ],
)
def test_body_limits_are_larger_for_ingest_than_for_the_rest(proxy: str, path: str, size: int, status: int) -> None:
    reply = httpx.post(proxy + path, content=b"x" * size, timeout=30)
    assert reply.status_code == status
    if status == 200:
        assert reply.json()["body_bytes"] == size
    else:
        assert reply.json() == {
            "error": {"status": 413, "code": "payload_too_large", "message": "request body too large for this path"}
        }


@needs_nginx
def test_metrics_are_not_published_through_the_proxy(proxy: str) -> None:
    reply = httpx.get(f"{proxy}/metrics", timeout=10)
    assert (reply.status_code, reply.json()["error"]["code"]) == (404, "not_found")


@needs_nginx
def test_a_service_with_no_replica_answering_gets_a_json_503(services: StandIns, tmp_path: Path) -> None:
    servers = {upstream: [f"127.0.0.1:{services.ports[role]}"] for upstream, role in UPSTREAMS.items()}
    servers["caudal_telemetry"] = servers["caudal_ingest"] = [f"127.0.0.1:{free_port()}"]
    with RunningNginx(tmp_path, servers) as base:
        reply = httpx.post(f"{base}/api/v1/ingest", content=b"{}", timeout=10)
        core = httpx.get(f"{base}/api/v1/points", timeout=10)
    assert (reply.status_code, reply.headers["Retry-After"], reply.json()) == (
        503,
        "30",
        {
            "error": {
                "status": 503,
                "code": "unavailable",
                "message": "the service behind this path is not answering; try again later",
            }
        },
    )
    assert core.json()["service"] == "core"


@needs_nginx
def test_the_production_file_passes_nginx_t_with_only_its_upstream_hosts_replaced(tmp_path: Path) -> None:
    upstreams = nginx_upstreams(NGINX_CONF.read_text())
    servers = {name: ["127.0.0.1:" + server.split(":")[1] for server in found] for name, found in upstreams.items()}
    result = nginx_test(tmp_path, write_config(tmp_path, free_port(), servers))
    assert result.returncode == 0, result.stderr


def _self_signed(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "caudal.example.cl")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    (directory / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


@needs_nginx
def test_the_tls_example_is_a_valid_server_block_with_its_certificate_paths(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    _self_signed(certs)
    example = TLS_EXAMPLE.read_text()
    assert example.count("/etc/nginx/certs/") == 2
    tls = (
        example.replace("/etc/nginx/certs/", f"{certs}/")
        .replace("listen 443 ssl http2;", f"listen 127.0.0.1:{free_port()} ssl http2;")
        .replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
        .replace("listen [::]:443 ssl http2;", "")
        .replace("listen [::]:80;", "")
    )
    servers = {name: ["127.0.0.1:1"] for name in UPSTREAMS}
    result = nginx_test(tmp_path, write_config(tmp_path, free_port(), servers, extra_server=tls))
    assert result.returncode == 0, result.stderr


def test_ingest_limit_is_above_the_services_body_limit() -> None:
    limit = int(load_yaml(MODULAR)["services"]["telemetry"]["environment"]["CAUDAL_MAX_BODY_BYTES"])
    ingest = NGINX_CONF.read_text().split("location = /api/v1/ingest {", 1)[1].split("}", 1)[0]
    size = int(next(line.split()[1].rstrip(";m") for line in ingest.splitlines() if "client_max_body_size" in line))
    assert (limit, size * MiB) == (4 * MiB, 5 * MiB)
