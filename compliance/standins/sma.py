"""A local SMA reporting API (``caudal sim sma``).

``POST /api/v1/auth`` gives a token that expires 24 h later by the stand-in's clock;
``POST /api/v1/ufs/<UF>/procesos/<Proceso>/registros`` checks the bearer token and that each
item names a known device with exactly its configured parameters, values as text, one
``estampaTiempo`` format; success answers with an ``IdVerificacion``. Faults (``POST
/_faults``): ``timeout``, ``500``, ``503``, ``expire_tokens`` (every issued token stops
working). ``GET /_received`` lists every request (passwords and tokens masked).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Unpack

import typer
from aiohttp import web

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from compliance.standins.common import Serving, StandInBase, parse_rut, run_stand_in, serve_until_interrupted
from protocols.clock import Clock

FAULTS = frozenset({"timeout", "500", "503", "expire_tokens"})
TOKEN_LIFE = timedelta(hours=24)
_ESTAMPA = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}")


@dataclass(frozen=True)
class Device:
    """A device of a (UF, proceso) and its parameters: nombre -> unidad."""

    uf_id: str
    proceso_id: str
    dispositivo_id: str
    parameters: Mapping[str, str]


def error(message: str, http: int) -> web.Response:
    return web.json_response({"message": message}, status=http)


class SmaStandIn(StandInBase):
    fault_names = FAULTS

    def __init__(self, users: Mapping[str, str], devices: list[Device], clock: Clock, hang_s: float) -> None:
        super().__init__(clock, hang_s)
        self.users = dict(users)
        self.devices = {(d.uf_id, d.proceso_id, d.dispositivo_id): d for d in devices}
        self.tokens: dict[str, datetime] = {}
        self.accepted: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/auth", self._auth)
        app.router.add_post("/api/v1/ufs/{uf}/procesos/{proceso}/registros", self._registros)
        self.add_admin_routes(app)
        return app

    async def _fault(self) -> web.Response | None:
        fault = self.next_fault()
        if fault == "timeout":
            await self.hang()
        if fault in ("500", "503"):
            return error("Error interno", int(fault))
        if fault == "expire_tokens":
            self.tokens.clear()
        return None

    async def _auth(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        failed = await self._fault()
        if failed is not None:
            return failed
        credentials = body if isinstance(body, dict) else {}
        if not all(isinstance(credentials.get(key), str) for key in ("usuario", "password")):
            return error('se esperaba {"usuario": RUT, "password": ...}', 400)
        if self.users.get(credentials["usuario"]) != credentials["password"]:
            return error("Credenciales inválidas", 401)
        token = secrets.token_urlsafe(24)
        self.tokens[token] = self.clock.now() + TOKEN_LIFE
        return web.json_response({"token": token, "expiresIn": int(TOKEN_LIFE.total_seconds())})

    def _authorised(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else None
        expires = self.tokens.get(token) if token else None
        return expires is not None and self.clock.now() < expires

    async def _registros(self, request: web.Request) -> web.Response:
        body = await self.record(request)
        failed = await self._fault()
        if failed is not None:
            return failed
        if not self._authorised(request):
            return error("Token inválido o expirado", 401)
        uf, proceso = request.match_info["uf"], request.match_info["proceso"]
        problem = self._problem(uf, proceso, body)
        if problem:
            return error(problem, 400)
        self.accepted.extend(body)
        return web.json_response({"IdVerificacion": secrets.token_hex(8).upper(), "message": "Registros recibidos"})

    def _problem(self, uf: str, proceso: str, body: Any) -> str | None:
        if not isinstance(body, list) or not body:
            return "El cuerpo debe ser un arreglo no vacío"
        for item in body:
            device = self.devices.get((uf, proceso, item.get("dispositivoId") if isinstance(item, dict) else None))
            if device is None:
                return f"Dispositivo desconocido para UF {uf} proceso {proceso}: {item!r}"
            problem = item_problem(device, item)
            if problem:
                return problem
        return None


def item_problem(device: Device, item: dict) -> str | None:
    """Why one ``{"dispositivoId", "parametros"}`` item is refused, or ``None``."""
    parametros = item.get("parametros")
    if set(item) != {"dispositivoId", "parametros"} or not isinstance(parametros, list):
        return "Cada registro debe tener dispositivoId y parametros"
    names = [p.get("nombre") if isinstance(p, dict) else None for p in parametros]
    if sorted(map(str, names)) != sorted(device.parameters) or len(set(names)) != len(names):
        return f"Parámetros faltantes o sobrantes: se esperaba {sorted(device.parameters)}, se recibió {names}"
    stamps = set()
    for p in parametros:
        if set(p) != {"nombre", "valor", "unidad", "estampaTiempo"} or not all(isinstance(v, str) for v in p.values()):
            return f"Parámetro {p.get('nombre')}: nombre, valor, unidad y estampaTiempo deben ser texto"
        if p["unidad"] != device.parameters[p["nombre"]] or _ESTAMPA.fullmatch(p["estampaTiempo"]) is None:
            return f"Parámetro {p['nombre']}: unidad o estampaTiempo inválidos"
        stamps.add(p["estampaTiempo"])
    return None if len(stamps) == 1 else "Todos los parámetros de un registro comparten estampaTiempo"


def run_sma_standin(
    users: Mapping[str, str],
    devices: list[Device],
    **serving: Unpack[Serving],
) -> AbstractAsyncContextManager[SmaStandIn]:
    """Serve an SMA stand-in; yields it with ``.url`` set (port 0 picks a free port)."""
    return run_stand_in(lambda clock, hang_s: SmaStandIn(users, devices, clock, hang_s), **serving)


def parse_device(text: str) -> Device:
    """``UF:PROCESO:DISPOSITIVO:Q=l/s,VA=m3`` -> :class:`Device`."""
    try:
        uf, proceso, dispositivo, spec = text.split(":")
        parameters = dict(pair.split("=") for pair in spec.split(","))
    except ValueError:
        raise typer.BadParameter(
            f"se esperaba UF:PROCESO:DISPOSITIVO:NOMBRE=UNIDAD[,...], se recibió {text!r}", param_hint="--device"
        ) from None
    return Device(uf, proceso, dispositivo, parameters)


def parse_user(text: str) -> tuple[str, str]:
    """``77.555.666-8:clave`` -> ``("77555666-8", "clave")``; a bad RUT is refused, not dropped."""
    rut, colon, password = text.partition(":")
    if not colon or not password:
        raise typer.BadParameter(f"se esperaba RUT:CLAVE, se recibió {text!r}", param_hint="--user")
    return parse_rut(rut, "--user"), password


app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command()
def sma(
    port: Annotated[int, typer.Option(help="Puerto en 127.0.0.1.")] = 9200,
    user: Annotated[list[str], typer.Option(metavar="RUT:CLAVE", help="Un usuario (repita la opción).")] = [],  # noqa: B006
    device: Annotated[
        list[str],
        typer.Option(
            metavar="UF:PROCESO:DISPOSITIVO:Q=l/s,VA=m3", help="Un dispositivo y sus parámetros (repita la opción)."
        ),
    ] = [],  # noqa: B006
    host: Annotated[str, typer.Option(help="Dirección en la que escuchar.")] = "127.0.0.1",
) -> None:
    """Una API de reportes de la SMA local (nunca la real), hasta Ctrl-C."""
    users = dict(parse_user(u) for u in user)
    devices = [parse_device(d) for d in device]
    serving = run_sma_standin(users, devices, host=host, port=port)
    serve_until_interrupted(serving, "Simulador SMA", f"{len(devices)} dispositivo(s)")
