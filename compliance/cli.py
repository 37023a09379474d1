"""``caudal compliance ...``: run one worker pass as of a given time, and print what it did."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from central.context import AppContext
from central.db import DatabaseError, open_database
from central.settings import Settings, SettingsError
from compliance.actions import Action
from compliance.settings import ComplianceSettings
from compliance.worker import run_once
from protocols.clock import Clock, SystemClock

app = typer.Typer(help="Regulator reporting.", no_args_is_help=True, add_completion=False, rich_markup_mode=None)


@app.callback()
def main() -> None:
    """Regulator reporting (DGA, SMA): the submission worker by hand."""


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


def _parse_now(text: str | None) -> Clock:
    if text is None:
        return SystemClock()
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise typer.BadParameter(f"not an ISO 8601 time: {text!r}", param_hint="--now") from None
    if at.tzinfo is None:
        raise typer.BadParameter(f"{text!r} has no time zone (add Z or +00:00)", param_hint="--now")
    return FixedClock(at.astimezone(UTC))


def _print_table(actions: list[Action]) -> None:
    table = Table("point", "regulator", "slot (UTC)", "action", "state", "detail")
    for a in actions:
        table.add_row(a.point, a.regulator, a.slot.isoformat(), a.action, a.state, a.detail)
    Console(width=200).print(table)
    typer.echo(f"{len(actions)} action(s)")


@app.command("run-once")
def run_once_command(
    now: Annotated[str | None, typer.Option(help="Act as of this time (ISO 8601 with zone); default: now")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON array instead of a table")] = False,
) -> None:
    """Process due DGA/SMA submissions once and exit (exit code 1 if any failed)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    clock = _parse_now(now)
    try:
        settings = Settings.from_env()
        compliance = ComplianceSettings.from_env()
        db = open_database(settings.database_url)
    except (SettingsError, DatabaseError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    ctx = AppContext(settings, db, clock, role="compliance")  # what the server's worker gets: the same secret box
    try:
        actions = asyncio.run(run_once(ctx.db, ctx.clock, ctx.secret_box, ctx.settings, compliance))
    except SettingsError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    finally:
        db.close()
    if as_json:
        typer.echo(json.dumps([a.as_json() for a in actions], indent=1))
    else:
        _print_table(actions)
    if any(a.action == "error" for a in actions):
        raise typer.Exit(1)
