"""A local DGA MEE service (``caudal sim dga``) that validates like the contract says.

Accepted measurements are kept per (codigoObra, fecha, hora); a second one for the same key
gets the DGA's "Ya existe un registro ... Comprobante: X" with the original comprobante.
Faults for the next requests are queued with ``POST /_faults {"faults": [...]}``:
``timeout`` (never answer), ``500``, ``503``, ``drop_after_store`` (store, then cut the
connection: the reply is lost), ``ok_without_comprobante`` (store, answer "00" without it),
``store_other_caudal`` (store the measurement with caudal "0.00", answer "00": what the GET
check's comparison of values is for).
``GET /_received`` lists every request (passwords masked).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any, Unpack

import typer
from aiohttp import web

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from compliance.dga.config import WorkType
from compliance.standins.common import (
    Serving,
    StandInBase,
    drop_connection,
    parse_rut,
    run_stand_in,
    serve_until_interrupted,
)
from compliance.standins.dga_rules import (
    Registration,
    check_auth,
    check_headers,
    check_informant,
    check_measurement,
)
from protocols.clock import Clock

ALREADY_EXISTS = "Ya existe un registro en esa fecha, hora para la obra."
ACCEPTED = "Medición ingresada"
WORK_TYPES = {work_type.path: work_type for work_type in WorkType}
FAULTS = frozenset({"timeout", "500", "503", "drop_after_store", "ok_without_comprobante", "store_other_caudal"})


@dataclass(frozen=True)
class Stored:
    work_type: WorkType
    codigo_obra: str
    measurement: dict[str, str]
    comprobante: str


def refusal(message: str, status: str = "01", http: int = 400) -> web.Response:
    return web.json_response({"status": status, "message": message}, status=http)


class DgaStandIn(StandInBase):
    """The stand-in's state: registered works, stored measurements, faults, request log."""

    fault_names = FAULTS

    def __init__(
        self, registry: Mapping[str, Registration], rut_empresa: str | None, clock: Clock, hang_s: float
    ) -> None:
        super().__init__(clock, hang_s)
        self.registry = dict(registry)
        self.rut_empresa = rut_empresa
        self.stored: dict[tuple[str, str, str], Stored] = {}

    def app(self) -> web.Application:
        app = web.Application()
        for work_type in WorkType:
            app.router.add_post(work_type.path, self._post)
            app.router.add_get(work_type.path, self._get)
        self.add_admin_routes(app)
        return app

    def _refusal_for(self, request: web.Request, work_type: WorkType, body: Any) -> web.Response | None:
        problem = check_headers(request.headers) or check_auth(body, self.rut_empresa)
        if problem:
            return refusal(problem)
        registration = self.registry.get(request.headers["codigoObra"])
        problem = check_informant(registration, body)
        if problem:
            return refusal(problem, status="03")
        allow_blank = registration is not None and registration.allow_blank
        problem = check_measurement(work_type, body, allow_blank)
        return refusal(problem) if problem else None

    async def _post(self, request: web.Request) -> web.StreamResponse:
        body = await self.record(request)
        fault = self.next_fault()
        if fault == "timeout":
            await self.hang()
            return refusal("Tiempo de espera agotado", status="99", http=504)
        if fault in ("500", "503"):
            return refusal("Error interno", status="99", http=int(fault))
        work_type = WORK_TYPES[request.path]
        refused = self._refusal_for(request, work_type, body)
        if refused is not None:
            return refused
        return self._store(request, work_type, body, fault)

    def _store(self, request: web.Request, work_type: WorkType, body: Any, fault: str | None) -> web.StreamResponse:
        code = request.headers["codigoObra"]
        measurement = body[next(k for k in body if k != "autenticacion")]
        key = (code, measurement["fechaMedicion"], measurement["horaMedicion"])
        if key in self.stored:
            existing = self.stored[key].comprobante
            return refusal(f"{ALREADY_EXISTS} Comprobante: {existing}", status="02")
        comprobante = secrets.token_hex(10).upper()
        kept = {**measurement, "caudal": "0.00"} if fault == "store_other_caudal" else measurement
        self.stored[key] = Stored(work_type, code, dict(kept), comprobante)
        if fault == "drop_after_store":
            drop_connection(request)
            return web.Response(status=200)
        if fault == "ok_without_comprobante":
            return web.json_response({"status": "00", "message": ACCEPTED, "data": {}})
        return web.json_response({"status": "00", "message": ACCEPTED, "data": {"numeroComprobante": comprobante}})

    async def _get(self, request: web.Request) -> web.Response:
        await self.record(request)
        code, comprobante = request.query.get("codigoObra"), request.query.get("numeroComprobante")
        work_type = WORK_TYPES[request.path]
        for stored in self.stored.values():
            if (stored.codigo_obra, stored.comprobante, stored.work_type) == (code, comprobante, work_type):
                year, month, day = stored.measurement["fechaMedicion"].split("-")
                data = {**stored.measurement, "fechaMedicion": f"{day}-{month}-{year}"}
                data["numeroComprobante"] = comprobante
                return web.json_response({"status": "00", "message": "OK", "data": data})
        return refusal(f"No existe el comprobante {comprobante} para la obra {code}", status="04", http=404)


def run_dga_standin(
    registry: Mapping[str, Registration],
    rut_empresa: str | None = None,
    **serving: Unpack[Serving],
) -> AbstractAsyncContextManager[DgaStandIn]:
    """Serve a DGA stand-in; yields it with ``.url`` set (port 0 picks a free port)."""
    return run_stand_in(lambda clock, hang_s: DgaStandIn(registry, rut_empresa, clock, hang_s), **serving)


def parse_work(text: str) -> tuple[str, Registration]:
    """``OB-0601-444:12345678-5:secret[:blank]`` -> (code, registration)."""
    parts = text.split(":")
    if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "blank"):
        raise typer.BadParameter(f"se esperaba CÓDIGO:RUT:CLAVE[:blank], se recibió {text!r}", param_hint="--work")
    return parts[0], Registration(parse_rut(parts[1], "--work"), parts[2], allow_blank=len(parts) == 4)


app = typer.Typer(add_completion=False, rich_markup_mode=None)


@app.command()
def dga(
    port: Annotated[int, typer.Option(help="Puerto en 127.0.0.1.")] = 9100,
    work: Annotated[
        list[str],
        typer.Option(
            metavar="CÓDIGO:RUT:CLAVE[:blank]",
            help="Una obra registrada, con el RUT de su informante (repita la opción).",
        ),
    ] = [],  # noqa: B006
    rut_empresa: Annotated[str | None, typer.Option(help="Aceptar solo este RUT de Centro de Control.")] = None,
    host: Annotated[str, typer.Option(help="Dirección en la que escuchar.")] = "127.0.0.1",
) -> None:
    """Un servicio MEE de la DGA local (nunca el real), hasta Ctrl-C."""
    registry = dict(parse_work(w) for w in work)
    empresa = parse_rut(rut_empresa, "--rut-empresa") if rut_empresa else None
    serving = run_dga_standin(registry, empresa, host=host, port=port)
    serve_until_interrupted(serving, "Simulador DGA", f"{len(registry)} obra(s)")
