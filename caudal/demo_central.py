"""The demo's central server: ``caudal central serve`` as a child process on SQLite, and its API.

A child process gets exactly the environment an operator would write (database, secret key,
SMTP relay, control-centre RUT), none of the caller's ``CAUDAL_*`` settings, and is stopped the
way systemd stops it (SIGTERM, a bounded wait, then SIGKILL). Everything after the first
account goes through the HTTP API, as an operator's scripts would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import SecretStr

from central.core.users.models import UserCreate
from central.core.users.service import create_user
from central.db import migrate, open_database
from protocols.uplink import INGEST_PATH, Batch

READY_TIMEOUT_S = 40.0
STOP_TIMEOUT_S = 15.0
LAUNCH = "from caudal.cli import main; main()"


class DemoError(RuntimeError):
    """A part of the demo could not start; the message says which and why."""


def choose_port(preferred: int, host: str = "127.0.0.1") -> int:
    """``preferred`` when it is free on ``host``, otherwise any free port."""
    for candidate in (preferred, 0):
        with socket.socket() as sock:
            try:
                sock.bind((host, candidate))
            except OSError:
                continue
            return sock.getsockname()[1]
    raise DemoError(f"no hay un puerto TCP libre en {host}")


def bootstrap_admin(database_url: str, username: str, password: str, email: str, now: datetime) -> None:
    """Migrate the empty database and create the first administrator (``caudal central create-user``)."""
    db = open_database(database_url)
    try:
        migrate(db)
        with db.transaction() as conn:
            create_user(
                conn,
                UserCreate(username=username, password=SecretStr(password), email=email, is_admin=True),
                "demo",
                now,
            )
    finally:
        db.close()


def server_environment(settings: Mapping[str, str]) -> dict[str, str]:
    """The caller's environment without its ``CAUDAL_*`` settings, plus the demo's own."""
    inherited = {key: value for key, value in os.environ.items() if not key.startswith("CAUDAL_")}
    return {**inherited, **settings}


@dataclass
class CentralProcess:
    url: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@asynccontextmanager
async def run_central(port: int, settings: Mapping[str, str], log_path: Path) -> AsyncIterator[CentralProcess]:
    """Serve the central API on 127.0.0.1:``port`` until the block exits; wait until it is ready."""
    with log_path.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            LAUNCH,
            "central",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            env=server_environment(settings),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # Ctrl-C reaches the demo, which stops the server itself
        )
    central = CentralProcess(f"http://127.0.0.1:{port}", process, log_path)
    try:
        await _wait_ready(central)
        yield central
    finally:
        await _stop(process)


async def _wait_ready(central: CentralProcess) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + READY_TIMEOUT_S
    async with httpx.AsyncClient(base_url=central.url, timeout=2.0) as client:
        while loop.time() < deadline:
            if central.process.returncode is not None:
                raise DemoError(
                    f"el servidor central terminó con código {central.process.returncode}:\n{central.log_tail()}"
                )
            with suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise DemoError(f"el servidor central no estuvo listo en {READY_TIMEOUT_S:g} s:\n{central.log_tail()}")


async def _stop(process: asyncio.subprocess.Process) -> None:
    """SIGTERM (uvicorn stops its workers and closes the database), then SIGKILL after a bounded wait."""
    if process.returncode is None:
        with suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            with suppress(ProcessLookupError):
                process.kill()
            await process.wait()


class CentralApi:
    """The few API calls the demo makes, as an administrator (and once as the gateway)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    @classmethod
    @asynccontextmanager
    async def session(cls, url: str, username: str, password: str) -> AsyncIterator[CentralApi]:
        async with httpx.AsyncClient(base_url=url, timeout=15.0) as client:
            reply = await client.post("/api/v1/auth/login", json={"username": username, "password": password})
            client.headers["Authorization"] = f"Bearer {_ok(reply)['access_token']}"
            yield cls(client)

    async def get(self, path: str, **params: Any) -> Any:
        return await self._call("GET", path, params=params)

    async def post(self, path: str, body: Any) -> Any:
        return await self._call("POST", path, json=body)

    async def put(self, path: str, body: Any) -> Any:
        return await self._call("PUT", path, json=body)

    async def ingest(self, batch: Batch, gateway_token: str) -> Any:
        """Upload as the gateway does (its own token, the uplink schema)."""
        return await self._call(
            "POST",
            INGEST_PATH,
            content=batch.to_json(),
            headers={"Authorization": f"Bearer {gateway_token}", "Content-Type": "application/json"},
        )

    async def _call(self, method: str, path: str, **request: Any) -> Any:
        try:
            return _ok(await self.client.request(method, path, **request))
        except httpx.TransportError as exc:
            raise DemoError(f"{method} {path}: el servidor central no respondió ({exc!r})") from exc


def _ok(reply: httpx.Response) -> Any:
    if reply.is_success:
        return reply.json() if reply.content else None
    raise DemoError(
        f"{reply.request.method} {reply.request.url.path} respondió {reply.status_code}: {reply.text[:500]}"
    )
