"""Secrets never leave the server: not in answers (but the one-time token displays), not in logs.

A real uvicorn server (its access log on) serves the whole app; the test logs in, creates a
personal token and a gateway, stores a DGA configuration with the informant's password and
a webhook channel with its shared secret, sends a test notification to a real aiohttp
stand-in on loopback, then reads everything back. Every answer and every log record at
DEBUG is searched for each secret.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from aiohttp import web

from central.app import create_app
from central.settings import Settings
from protocols.clock import ManualClock
from tests.central.telemetry_support import ADMIN_TOKEN, START, seed_site
from tests.ports import free_port

PASSWORD = "olga's very own passphrase"
INFORMANT_PASSWORD = "clave-snia-muy-secreta"
WEBHOOK_SECRET = "webhook-shared-secret-0123456789"
LOGGERS = ("caudal", "uvicorn", "uvicorn.access", "uvicorn.error")


@pytest.fixture
async def hook_url() -> AsyncIterator[str]:
    """A webhook receiver on loopback that answers 204."""

    async def receive(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", receive)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


@pytest.fixture
async def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The whole app behind uvicorn (access log on, logging left to the root logger)."""
    monkeypatch.setenv("CAUDAL_NOTIFY_ALLOW_PRIVATE", "true")
    monkeypatch.setenv("CAUDAL_NOTIFY_REQUIRE_HTTPS", "false")
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'caudal.db'}",
        secret_key="test-secret-key",
        dga_rut_empresa="77555666-8",
        workers=False,
    )
    app = create_app(settings, clock=ManualClock(START))
    with app.state.ctx.db.transaction() as conn:
        seed_site(conn, app.state.ctx.clock.now())
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="debug", access_log=True)
    uv = uvicorn.Server(config)
    task = asyncio.create_task(uv.serve())
    while not uv.started:
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    await asyncio.wait_for(task, 10)


async def drive(base: str, hook_url: str) -> tuple[list[str], list[str], list[str]]:
    """Do every secret-bearing thing once; answer (one-time displays, other answers, the secrets)."""
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    once, others = [], []
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:

        async def call(method: str, path: str, *, shows_secret: bool = False, **kwargs) -> dict:
            response = await client.request(method, path, **kwargs)
            assert response.status_code < 300, (method, path, response.text)
            (once if shows_secret else others).append(response.text)
            return response.json() if response.content else {}

        await call("POST", "/api/v1/users", headers=admin, json={"username": "olga", "password": PASSWORD})
        session = (
            await call("POST", "/api/v1/auth/login", shows_secret=True, json={"username": "olga", "password": PASSWORD})
        )["access_token"]
        olga = {"Authorization": f"Bearer {session}"}
        personal = (
            await call("POST", "/api/v1/users/me/tokens", shows_secret=True, headers=olga, json={"name": "scripts"})
        )["token"]
        gateway = (
            await call(
                "POST", "/api/v1/gateways", shows_secret=True, headers=admin, json={"name": "gw-este", "points": []}
            )
        )["token"]
        dga = {
            "mode": "shadow",
            "work_type": "subterranea",
            "codigo_obra": "OB-0601-444",
            "standard": "mayor",
            "informant_rut": "12345678-5",
            "informant_password": INFORMANT_PASSWORD,
            "valid_from": "2026-11-01T04:00:00Z",
        }
        await call("PUT", "/api/v1/points/P1/compliance/dga", headers=admin, json=dga)
        channel = await call(
            "POST",
            "/api/v1/users/me/channels",
            headers=olga,
            json={"kind": "webhook", "name": "scada", "url": hook_url, "secret": WEBHOOK_SECRET},
        )
        outcome = await call("POST", f"/api/v1/users/me/channels/{channel['id']}/test", headers=olga)
        assert outcome["outcome"] == "delivered"  # the secret was really used
        for path, headers in (
            ("/api/v1/users/me", olga),
            ("/api/v1/users/me/tokens", olga),
            ("/api/v1/users/me/channels", olga),
            ("/api/v1/users/me/notifications", olga),
            ("/api/v1/gateways/gw-este", admin),
            ("/api/v1/points/P1/compliance/dga", admin),
            ("/api/v1/compliance/log", admin),
            ("/api/v1/audit", admin),
        ):
            await call("GET", path, headers=headers)
    return once, others, [PASSWORD, session, personal, gateway, INFORMANT_PASSWORD, WEBHOOK_SECRET]


def _record_text(record: logging.LogRecord) -> str:
    return " ".join(str(part) for part in (record.getMessage(), record.exc_text or "", record.args or ""))


async def test_no_answer_and_no_log_record_carries_a_secret(server, hook_url, caplog):
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    once, others, secrets = await drive(server, hook_url)
    leaks = [(secret, text[:120]) for secret in secrets for text in others if secret in text]
    texts = [_record_text(record) for record in caplog.records]
    logged = [(secret, text[:120]) for secret in secrets for text in texts if secret in text]
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert (leaks, logged) == ([], [])
    assert len(access) == len(once) + len(others)  # the access log was on, and searched
    assert sum(secret in text for secret in secrets[1:4] for text in once) == 3  # each token shown exactly once
