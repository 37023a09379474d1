"""``caudal compliance ...``: run one worker pass as of a given time, and print what it did."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.table import Table

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from central.context import AppContext
from central.db import DatabaseError, open_database
from central.settings import Settings, SettingsError
from compliance.settings import ComplianceSettings
from compliance.worker import run_once
from compliance.worker_actions import Action
from protocols.clock import Clock, SystemClock

app = typer.Typer(help="Reportes a los reguladores.", no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@app.callback()
def main() -> None:
    """Reportes a los reguladores (DGA, SMA): el trabajador de envíos, a mano."""


class FixedClock:
    """``now()`` stays at the given instant (the pass acts "as of" it); waits are real, so the
    request pacing and timeouts still hold."""

    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at

    def monotonic(self) -> float:
        return time.monotonic()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(2)


def _parse_now(text: str | None) -> Clock:
    if text is None:
        return SystemClock()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"--now: {text!r} no es una hora ISO 8601 (por ejemplo 2026-11-28T13:00:00Z)")
    if at.tzinfo is None:
        _fail(f"--now: {text!r} no tiene zona horaria (agregue Z o +00:00)")
    return FixedClock(at.astimezone(UTC))


def _print_table(actions: list[Action]) -> None:
    table = Table("punto", "regulador", "medición (UTC)", "acción", "estado", "detalle")
    for a in actions:
        table.add_row(a.point, a.regulator, a.slot.isoformat(), a.action, a.state, a.detail)
    Console(width=200).print(table)
    typer.echo("1 acción" if len(actions) == 1 else f"{len(actions)} acciones")


@app.command("run-once")
def run_once_command(
    now: Annotated[
        str | None, typer.Option(help="Actúa como si fuera esta hora (ISO 8601 con zona); por omisión: ahora")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Un arreglo JSON en vez de una tabla")] = False,
) -> None:
    """Procesa una vez los envíos DGA/SMA pendientes y termina (sale con 1 si alguno falló)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    clock = _parse_now(now)
    try:
        settings = Settings.from_env()
        compliance = ComplianceSettings.from_env()
        db = open_database(settings.database_url)
    except (SettingsError, DatabaseError) as exc:
        _fail(str(exc))
    ctx = AppContext(settings, db, clock, role="compliance")  # what the server's worker gets: the same secret box
    try:
        actions = asyncio.run(run_once(ctx.db, ctx.clock, ctx.secret_box, ctx.settings, compliance))
    except SettingsError as exc:
        _fail(str(exc))
    finally:
        db.close()
    if as_json:
        typer.echo(json.dumps([a.as_json() for a in actions], indent=1))
    else:
        _print_table(actions)
    if any(a.action == "error" for a in actions):
        raise typer.Exit(1)
