"""``caudal sim``: the local stand-ins, each imported only when asked for."""

from __future__ import annotations

import click

from caudal.cli import LazyGroup

STANDINS = {
    "modbus": ("edge.simulator.cli:app", "Simulated meters and level sensors over Modbus TCP or a serial pty."),
    "dga": ("compliance.standins.dga:app", "A local DGA MEE web service that validates like the real one."),
    "sma": ("compliance.standins.sma:app", "A local SMA reporting API."),
}


@click.group(cls=LazyGroup, lazy=STANDINS)
def app() -> None:
    """Local stand-ins for devices and regulators (never the real endpoints)."""
