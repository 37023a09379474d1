"""The root ``caudal`` command.

Each side's command line lives with that side (``edge/cli.py``, ``central/cli.py``,
``compliance/cli.py``) and is imported only when its sub-command is asked for, so
``caudal edge ...`` runs on a gateway that installed only the ``edge`` extra.
"""

from __future__ import annotations

import importlib

import click
import typer.main

from caudal import __version__

SIDES = {
    "edge": ("edge.cli:app", "The gateway agent: run, check, poll, scan, read, status."),
    "central": ("central.cli:app", "The central server: serve, migrate, users, gateways."),
    "compliance": ("compliance.cli:app", "Regulator reporting: run-once and the worker."),
    "sim": ("caudal.sim:app", "Local stand-ins: Modbus devices, the DGA, the SMA."),
    "demo": ("caudal.demo:app", "The whole chain on this machine with simulated devices."),
}


def load_command(target: str, name: str) -> click.Command:
    """Import ``module:attribute`` and return it as a click command.

    A missing extra becomes a one-line hint instead of a traceback.
    """
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise click.ClickException(
            f"'caudal {name}' needs a package that is not installed ({exc.name}); "
            f"install the matching extra, for example: pip install 'caudal[{name}]'"
        ) from exc
    found = getattr(module, attribute)
    return found if isinstance(found, click.Command) else typer.main.get_command(found)


class LazyGroup(click.Group):
    """A group whose sub-commands are imported on first use."""

    def __init__(self, *args, lazy: dict[str, tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(self.lazy)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in self.lazy:
            return None
        command = load_command(self.lazy[name][0], name)
        command.name = name
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, help_text) for name, (_, help_text) in sorted(self.lazy.items())]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, lazy=SIDES, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="caudal")
def root() -> None:
    """Caudal: telemetry for water extraction, from the well to the DGA."""


def main() -> None:
    root(prog_name="caudal")
