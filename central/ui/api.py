"""The console's way to the API: requests to the API's own routes, in process.

The figures and decisions of the console's pages go through the same route a script would
call, with the person's session token: the same permission checks, the same
validation, the same numbers (no second calculation). The requests travel over ASGI, not
the network, so a console page costs no more than the API calls it makes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx
from fastapi import FastAPI

BASE_URL = "http://caudal.console"


class ApiRefused(Exception):
    """The API answered an error; ``status`` and its ``message`` say what, ``details`` (a 422's
    list of problems, e.g. a configuration's file, line and field) where the API gives them."""

    def __init__(self, status: int, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.details = details or []


class ConsoleApi:
    def __init__(self, app: FastAPI) -> None:
        self.app = app  # every role's routes (the app factory's in-process API)

    async def call(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: Any = None,
        json: Any = None,
        client_address: str = "127.0.0.1",
    ) -> httpx.Response:
        """One request; raises :class:`ApiRefused` for a 4xx/5xx answer."""
        transport = httpx.ASGITransport(app=self.app, client=(client_address, 0))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            response = await client.request(method, path, params=params, json=json, headers=headers)
        if response.status_code >= 400:
            raise ApiRefused(response.status_code, _message(response), _details(response))
        return response

    async def get(self, path: str, token: str, **params: Any) -> Any:
        return (await self.call("GET", path, token, params=params)).json()

    async def post(self, path: str, token: str, body: Any = None) -> Any:
        response = await self.call("POST", path, token, json=body)
        return response.json() if response.content else None

    async def send(self, method: str, path: str, token: str, body: Any = None) -> Any:
        """A change (POST, PUT, PATCH, DELETE); the answer's JSON, or ``None`` for an empty one."""
        response = await self.call(method, path, token, json=body)
        return response.json() if response.content else None

    async def all_items(self, path: str, token: str, **params: Any) -> list[Any]:
        """Every item of a paged list, page after page."""
        items: list[Any] = []
        while True:
            page = await self.get(path, token, **params, limit=500, offset=len(items))
            items += page["items"]
            if not page["items"] or len(items) >= page["total"]:
                return items


def segment(text: str) -> str:
    """``text`` as one path segment of an API URL (a code cannot reach another path)."""
    return quote(text, safe="")


def _message(response: httpx.Response) -> str:
    try:
        return str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.text[:200]


def _details(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        details = response.json()["error"].get("details")
    except (ValueError, KeyError, TypeError, AttributeError):
        return []
    return [item for item in details if isinstance(item, dict)] if isinstance(details, list) else []
