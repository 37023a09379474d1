"""``caudal sim``: the local stand-ins, each imported only when asked for."""

from __future__ import annotations

import typer

from caudal.cli import lazy_group

STANDINS = {
    "modbus": ("edge.simulator.cli:app", "edge", "Simulated meters and level sensors over Modbus TCP or a serial pty."),
    "dga": ("compliance.standins.dga:app", "central", "A local DGA MEE web service that validates like the real one."),
    "sma": ("compliance.standins.sma:app", "central", "A local SMA reporting API."),
}

app = typer.Typer(
    cls=lazy_group(STANDINS), no_args_is_help=True, rich_markup_mode=None, add_completion=False,
    help="Local stand-ins for devices and regulators (never the real endpoints).",
)


@app.callback()
def sim() -> None:
    """Local stand-ins for devices and regulators (never the real endpoints)."""
