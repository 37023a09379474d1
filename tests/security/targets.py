"""What the security tests aim at in the alert tests' seeded world (tests/central/alerts/db_support.py):
things ``ana`` and ``admin`` see and ``bob`` does not, and a value for each path parameter that
names nothing (:data:`MISSING`).

Seed: ``ana`` sees P1, ``bob`` sees P3, ``admin`` everything; gateway ``gw-norte`` writes P1 and P2.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from httpx import Response

from central.crypto import token_hash
from central.ui.session import CSRF_FIELD, SESSION_COOKIE, csrf_for
from tests.central.alerts.db_support import EMAIL, GATEWAYS, World

MISSING = {
    "code": "ZZ-NADA",
    "username": "nadie",
    "name": "gw-nadie",
    "alert_id": str(uuid.UUID(int=7)),
    "channel_id": "999999",
    "token_id": "999999",
    "submission_id": "999999",
    "rule_id": "999999",
    "month": "2026-11",
    "extension": "csv",
    "decision": "accept",
    "version": "999999",
    "base": "999999",
}


@dataclass
class Site:
    world: World

    def token(self, username: str) -> str:
        """A new personal token (a call may log it out, so each call gets its own)."""
        token = secrets.token_urlsafe(16)
        with self.world.db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_tokens (user_id, kind, token_hash, created_at)"
                " SELECT id, 'personal', :h, :now FROM users WHERE username = :u",
                {"u": username, "h": token_hash(token), "now": self.world.clock.now()},
            )
        return token

    def targets(self, template: str) -> dict[str, str]:
        """A value for each parameter of ``template`` naming an object ana and admin see, bob does not."""
        makers = {
            "code": lambda: "P1",
            "username": lambda: "ana",
            "name": lambda: "gw-norte",
            "month": lambda: "2026-11",
            "rule_id": lambda: "999999",
            "version": lambda: "999999",
            "base": lambda: "999999",
            "extension": lambda: "csv",
            "decision": lambda: "accept",
            "alert_id": self._alert,
            "channel_id": self._channel,
            "token_id": self._token_id,
            "submission_id": self._submission,
        }
        return {name: maker() for name, maker in makers.items() if "{" + name + "}" in template}

    def request(
        self, method: str, template: str, params: dict[str, str], *, token: str | None, body: Any = None
    ) -> Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs = {"json": {} if body is None else body} if method in ("POST", "PUT", "PATCH") else {}
        method = "GET" if method == "*" else method
        return self.world.client.request(
            method, template.format(**params), headers=headers, follow_redirects=False, **kwargs
        )

    def console(
        self, method: str, template: str, params: dict[str, str], *, username: str, query: dict[str, str] | None = None
    ) -> Response:
        """A console request with ``username``'s session cookie and, for a form, its CSRF token."""
        token = self.token(username)
        client = self.world.client
        client.cookies.set(SESSION_COOKIE, token)
        try:
            data = {CSRF_FIELD: csrf_for(token)} if method == "POST" else None
            return client.request(method, template.format(**params), data=data, params=query, follow_redirects=False)
        finally:
            client.cookies.clear()

    def _point_id(self) -> int:
        return self.world.rows("SELECT id FROM points WHERE code = 'P1'")[0]["id"]

    def _alert(self) -> str:
        alert_id, now = str(uuid.uuid4()), self.world.clock.now()
        with self.world.db.transaction() as conn:
            conn.execute(
                "INSERT INTO alerts (id, kind, subject, point_id, severity, status, message, opened_at,"
                " last_seen_at) VALUES (:id, 'no_data', 'P1', :p, 'warning', 'open', 'sin datos', :now, :now)",
                {"id": alert_id, "p": self._point_id(), "now": now},
            )
        return alert_id

    def _channel(self) -> str:
        return str(self.world.add_channel("ana", EMAIL)["id"])

    def _token_id(self) -> str:
        return str(
            self.world.rows(
                "SELECT t.id FROM api_tokens t JOIN users u ON u.id = t.user_id WHERE u.username = 'ana' ORDER BY t.id"
            )[0]["id"]
        )

    def _submission(self) -> str:
        now = self.world.clock.now()
        with self.world.db.transaction() as conn:
            return str(
                conn.fetchval(
                    "INSERT INTO compliance_submissions (point_id, regulator, slot, mode, state, created_at, updated_at)"
                    " VALUES (:p, 'dga', :now, 'live', 'pending', :now, :now) RETURNING id",
                    {"p": self._point_id(), "now": now},
                )
            )


def gateway_token() -> str:
    return GATEWAYS["gw-norte"][0]
