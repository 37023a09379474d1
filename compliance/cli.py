"""``caudal compliance ...`` (filled in by the compliance worker)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Regulator reporting.", no_args_is_help=True)
