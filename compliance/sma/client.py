"""The SMA client: a 24-hour token, renewed when it expires or on a 401 (once), and
``registros`` calls through the shared HTTP adapter (errors become replies, never raise)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Unpack

from compliance.sma.config import SmaPointConfig
from compliance.sma.responses import SmaOutcome, SmaOutcomeKind, classify_sma, find_key
from compliance.transport import RawReply, RegulatorClient, TransportOptions
from protocols.clock import Clock

TOKEN_LIFE = timedelta(hours=24)
TOKEN_MARGIN = timedelta(minutes=5)
AUTH_PATH = "/api/v1/auth"
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class SmaReply:
    """One ``registros`` exchange: the raw reply, its classification and the voucher."""

    raw: RawReply
    outcome: SmaOutcome

    @property
    def id_verificacion(self) -> str | None:
        return self.outcome.id_verificacion


class SmaClient(RegulatorClient):
    """Reports one point's registros; the token is cached for its 24 h life."""

    def __init__(self, config: SmaPointConfig, clock: Clock, **options: Unpack[TransportOptions]) -> None:
        super().__init__(clock, **options)
        self._config = config
        self._clock = clock
        self._token: str | None = None
        self._token_expires: datetime | None = None

    def _token_valid(self) -> bool:
        return self._token is not None and self._token_expires is not None and self._clock.now() < self._token_expires

    async def authenticate(self) -> RawReply:
        """Ask for a fresh token; on success it is cached until 5 minutes before its 24 h end."""
        credentials = {"usuario": self._config.usuario, "password": self._config.password.get_secret_value()}
        reply = await self._transport.request(
            "POST", self._config.base_url + AUTH_PATH, headers=JSON, data=json.dumps(credentials).encode()
        )
        token = find_key(reply.body_json, "token") if reply.http_status == 200 else None
        if isinstance(token, str) and token:
            self._token = token
            self._token_expires = self._clock.now() + TOKEN_LIFE - TOKEN_MARGIN
        else:
            self._token = None
        return reply

    async def _post_registros(self, registros: list[dict[str, Any]]) -> RawReply:
        headers = {**JSON, "Authorization": f"Bearer {self._token}"}
        url = self._config.base_url + self._config.registros_path
        return await self._transport.request("POST", url, headers=headers, data=json.dumps(registros).encode())

    async def send(self, registros: list[dict[str, Any]]) -> SmaReply:
        """POST one timestamp's registros; a 401 renews the token and tries once more."""
        if not self._token_valid():
            auth = await self.authenticate()
            if self._token is None:
                return SmaReply(auth, _auth_failure(auth))
        reply = await self._post_registros(registros)
        if reply.http_status == 401:
            auth = await self.authenticate()
            if self._token is None:
                return SmaReply(auth, _auth_failure(auth))
            reply = await self._post_registros(registros)
        return SmaReply(reply, classify_sma(reply))


def _auth_failure(auth: RawReply) -> SmaOutcome:
    """A failed login: retried later when nothing answered or the server failed; else a person acts."""
    if auth.error is not None or auth.http_status is None or auth.http_status >= 500:
        return SmaOutcome(SmaOutcomeKind.RETRY, detail=f"login failed: {auth.error or auth.http_status}")
    detail = f"login refused: HTTP {auth.http_status}: {auth.body_text[:300]}"
    return SmaOutcome(SmaOutcomeKind.AUTH_FAILED, detail=detail)
