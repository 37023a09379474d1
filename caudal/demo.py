"""``caudal demo``: the whole chain on this machine, from simulated meters to the DGA.

Simulated meters on Modbus RTU (a pseudo-terminal pair) and Modbus TCP; the central server
(``caudal central serve`` on SQLite in the work directory) with an administrator, two wells,
a gateway and its token; a local SMTP server and the DGA stand-in; the real edge agent
polling the meters and uploading. The previous two hours reach the server first, as the
backlog of a gateway that was offline, so the hourly DGA slots already due are sent and the
well pumping over its water right has raised an alert (and an e-mail) by the time the
summary is printed. Everything listens on 127.0.0.1 and is stopped in reverse order.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from rich.console import Console

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from caudal.demo_central import CentralApi, DemoError, bootstrap_admin, choose_port, run_central
from caudal.demo_config import REASON, publish_configuration
from caudal.demo_smtp import MailCapture, capture_mail
from caudal.demo_summary import (
    CHANNELS_PATH,
    DGA_CONFIG_PATH,
    SUBMISSIONS_PATH,
    DemoSummary,
    collect,
    render,
)
from caudal.demo_wells import GATEWAY, WELLS, backlog, backlog_batches, sim_config, write_site
from central.messages_es import problem
from compliance.standins.dga import Registration, run_dga_standin
from edge.agent import run_agent
from edge.config import SiteConfig
from edge.simulator import RunningSimulator, SimServerError, run_simulator
from protocols.clock import Clock, SystemClock

ADMIN = "demo"
ADMIN_EMAIL = "operaciones@caudal-demo.example"
RUT_EMPRESA = "77555666-8"
AGENT_STOP_S = 20.0
SETTLE_S = 20.0


class DemoOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    workdir: Path
    seconds: float = Field(default=60.0, gt=0)
    forever: bool = False
    port: int = Field(default=8000, ge=0, le=65535)
    interval_s: int = Field(default=5, ge=1, le=60, description="Poll interval of the simulated meters")
    seed: int = Field(default=0, description="Seed of the simulated wells: the same seed gives the same run")

    @field_validator("interval_s")
    @classmethod
    def _divides_a_minute(cls, interval: int) -> int:
        if 60 % interval:
            raise ValueError(f"{interval} s no divide 60 (las lecturas se alinean al minuto): use 1, 2, 5, 10, 15...")
        return interval


def central_settings(options: DemoOptions, port: int, smtp_port: int) -> dict[str, str]:
    """The environment an operator would give ``caudal central serve`` for this installation."""
    return {
        "CAUDAL_DATABASE_URL": f"sqlite:///{options.workdir / 'caudal.db'}",
        "CAUDAL_SECRET_KEY": secrets.token_urlsafe(32),
        "CAUDAL_DGA_RUT_EMPRESA": RUT_EMPRESA,
        "CAUDAL_SMTP_HOST": "127.0.0.1",
        "CAUDAL_SMTP_PORT": str(smtp_port),
        "CAUDAL_SMTP_SECURITY": "none",
        "CAUDAL_SMTP_FROM": "caudal@caudal-demo.example",
        "CAUDAL_COMPLIANCE_INTERVAL_S": "2",
    }


def check_workdir(workdir: Path) -> None:
    """The demo starts from an empty database; it never touches an existing one."""
    workdir.mkdir(parents=True, exist_ok=True)
    if (workdir / "caudal.db").exists():
        raise DemoError(f"{workdir / 'caudal.db'} ya existe: la demostración necesita un directorio de trabajo vacío")


async def provision(api: CentralApi, dga_url: str, start: datetime, seed: int) -> str:
    """Points, the gateway, the e-mail channel, the backlog and the DGA configs; returns the gateway token."""
    for well in WELLS:
        await api.post("/api/v1/points", well.point_body())
    gateway = await api.post("/api/v1/gateways", {"name": GATEWAY, "points": [well.code for well in WELLS]})
    await api.post(CHANNELS_PATH, {"kind": "email", "name": "correo", "address": ADMIN_EMAIL})
    for well in WELLS:
        for batch in backlog_batches(backlog(well, start, seed), start):
            await api.ingest(batch, gateway["token"])
    await configure_dga(api, dga_url, start)
    return gateway["token"]


async def configure_dga(api: CentralApi, dga_url: str, start: datetime) -> None:
    """Hourly reporting, live, to the stand-in, from the top of the previous hour (covered by the backlog)."""
    valid_from = start.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    for well in WELLS:
        await api.put(
            DGA_CONFIG_PATH.format(code=well.code),
            {
                "mode": "live",
                "work_type": "subterranea",
                "codigo_obra": well.code,
                "standard": "mayor",
                "period": "hour",
                "caudal_mode": "instant",
                "informant_rut": well.informant_rut,
                "informant_password": well.informant_password,
                "base_url": dga_url,
                "valid_from": valid_from.isoformat(),
            },
        )


@asynccontextmanager
async def run_edge_agent(site: SiteConfig, clock: Clock) -> AsyncIterator[asyncio.Task[None]]:
    """The real agent (what ``caudal edge run`` runs) as a task, stopped like SIGTERM stops it."""
    stop = asyncio.Event()
    task = asyncio.create_task(run_agent(site, clock, stop), name="edge-agent")
    try:
        yield task
    finally:
        stop.set()
        done, _ = await asyncio.wait({task}, timeout=AGENT_STOP_S)
        if not done:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _settled(api: CentralApi, mail: MailCapture) -> bool:
    """Whether the asynchronous outcomes (DGA acceptance, alert e-mail) have arrived."""
    accepted = (await api.get(SUBMISSIONS_PATH, regulator="dga", state="accepted"))["items"]
    return bool(accepted) and bool(mail.received)


async def _wait(stop: asyncio.Event, seconds: float | None) -> None:
    """Until ``stop`` is set, or ``seconds`` have passed (None: forever)."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        pass


async def _run_for(stop: asyncio.Event, seconds: float | None, agent: asyncio.Task[None]) -> None:
    """Let the chain run; an agent that stops on its own ends the demo with its reason."""
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({stopped, agent}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if agent.done():
        raise DemoError(f"el agente del gateway se detuvo: {agent.exception() or 'sin error'}")


async def _settle(api: CentralApi, mail: MailCapture, stop: asyncio.Event) -> None:
    """Give slow outcomes a bounded extra moment (skipped after Ctrl-C)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_S
    while not stop.is_set() and loop.time() < deadline and not await _settled(api, mail):
        await _wait(stop, 1.0)


async def run_demo(options: DemoOptions, stop: asyncio.Event, console: Console) -> DemoSummary:
    """Run the chain until ``stop`` is set or the time is up; the summary is taken before anything stops."""
    check_workdir(options.workdir)
    clock = SystemClock()
    start = clock.now()
    port = choose_port(options.port)
    password = secrets.token_urlsafe(12)
    registry = {well.code: Registration(well.informant_rut, well.informant_password) for well in WELLS}
    async with AsyncExitStack() as stack:
        mail = await stack.enter_async_context(capture_mail())
        dga = await stack.enter_async_context(run_dga_standin(registry, RUT_EMPRESA, clock=clock))
        sims = {
            well.code: await stack.enter_async_context(run_simulator(sim_config(well, start, options.seed), clock))
            for well in WELLS
        }
        settings = central_settings(options, port, mail.port)
        await asyncio.to_thread(bootstrap_admin, settings["CAUDAL_DATABASE_URL"], ADMIN, password, ADMIN_EMAIL, start)
        console.print(
            f"Iniciando el servidor central en http://127.0.0.1:{port} (registro: {options.workdir / 'central.log'})"
        )
        central = await stack.enter_async_context(run_central(port, settings, options.workdir / "central.log"))
        api = await stack.enter_async_context(CentralApi.session(central.url, ADMIN, password))
        summary = DemoSummary(api_docs=f"{central.url}/docs", username=ADMIN, password=password)
        token = await provision(api, dga.url, start, options.seed)
        site = write_site(options.workdir, central.url, token, sims, options.interval_s)
        agent = await stack.enter_async_context(run_edge_agent(site, clock))
        version = await publish_configuration(api, site)
        console.print(f"Publicada en el servidor la versión {version} de la configuración de {GATEWAY} ({REASON})")
        _announce(console, options, summary, sims)
        await _run_for(stop, None if options.forever else options.seconds, agent)
        await _settle(api, mail, stop)
        await collect(api, summary, start - timedelta(seconds=max(well.history_s for well in WELLS)), start)
        summary.mails = list(mail.received)
        summary.issued_comprobantes = {stored.comprobante for stored in dga.stored.values()}
        summary.dga_holds = {stored.comprobante: dict(stored.measurement) for stored in dga.stored.values()}
        console.print("Deteniendo: agente, servidor central, simuladores, DGA simulada, servidor SMTP...")
    return summary


def _announce(console: Console, options: DemoOptions, summary: DemoSummary, sims: dict[str, RunningSimulator]) -> None:
    for well in WELLS:
        sim = sims[well.code]
        where = (
            f"Modbus RTU en {sim.client_port}" if well.transport == "rtu" else f"Modbus TCP 127.0.0.1:{sim.tcp_port}"
        )
        console.print(f"  {well.code} {well.name}: {', '.join(d.profile for d in well.devices)} en {where}")
    console.print(
        f"El agente del gateway lee cada {options.interval_s} s. Documentación de la API:"
        f" {summary.api_docs} (entre como {summary.username} / {summary.password})"
    )
    until = "Ctrl-C para detener" if options.forever else f"resumen en {options.seconds:g} s (Ctrl-C: ahora)"
    console.print(f"En marcha; {until}.")


async def _main(options: DemoOptions, console: Console) -> DemoSummary:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        return await run_demo(options, stop, console)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


app = typer.Typer(add_completion=False, rich_markup_mode=None)
OPTION_NAMES = {
    "seconds": "--seconds",
    "port": "--port",
    "interval_s": "--interval",
    "workdir": "--workdir",
    "seed": "--seed",
}


@app.command()
def demo(
    seconds: Annotated[float, typer.Option(help="Cuántos segundos corre la cadena antes del resumen.")] = 60.0,
    forever: Annotated[bool, typer.Option("--forever", help="Sigue corriendo hasta Ctrl-C.")] = False,
    port: Annotated[int, typer.Option(help="Puerto de la API central (otro libre si está ocupado).")] = 8000,
    workdir: Annotated[
        Path | None,
        typer.Option(
            help="Dónde van la base de datos, el site.yaml y los registros (por"
            " omisión: un directorio temporal que se borra al final)."
        ),
    ] = None,
    interval: Annotated[int, typer.Option(help="Intervalo de lectura de los medidores, s (divisor de 60).")] = 5,
    seed: Annotated[int, typer.Option(help="Semilla de los pozos simulados (misma semilla, mismas lecturas).")] = 0,
) -> None:
    """Toda la cadena en esta máquina: pozos simulados -> agente del gateway -> central -> alertas, correo, DGA."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("pymodbus").setLevel(logging.CRITICAL)  # the agent reports device errors itself
    console = Console(highlight=False)
    scratch = workdir is None
    directory = Path(tempfile.mkdtemp(prefix="caudal-demo-")) if workdir is None else workdir.resolve()
    try:
        options = DemoOptions(
            workdir=directory, seconds=seconds, forever=forever, port=port, interval_s=interval, seed=seed
        )
        render(asyncio.run(_main(options, console)), console)
    except ValidationError as exc:
        problems = "; ".join(
            f"{OPTION_NAMES.get(str(error['loc'][0]), error['loc'][0])}: {problem(error)}" for error in exc.errors()
        )
        console.print(f"[red]error:[/] {problems}", soft_wrap=True)
        raise typer.Exit(2) from exc
    except (DemoError, SimServerError) as exc:
        console.print(f"[red]error:[/] {exc}", soft_wrap=True)
        raise typer.Exit(1) from exc
    finally:
        if scratch:
            shutil.rmtree(directory, ignore_errors=True)
