"""The root ``caudal`` command.

Each side's command line lives with that side (``edge/cli.py``, ``central/cli.py``,
``compliance/cli.py``) and is imported only when its sub-command is asked for, so
``caudal edge ...`` runs on a gateway that installed only the ``edge`` extra. Everything
is built on Typer's own click (Typer vendors it), so exits and usage errors of every
sub-command are handled by one parser.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

import protocols.cli_es  # noqa: F401  (Typer's own words in Spanish)
from caudal import __version__

SIDES = {
    "edge": ("edge.cli:app", "edge", "El gateway: el agente y la puesta en marcha."),
    "central": ("central.cli:app", "central", "El servidor central: serve, migrate, usuarios, puntos, gateways."),
    "compliance": ("compliance.cli:app", "central", "Reportes a los reguladores: run-once, el trabajador a mano."),
    "sim": ("caudal.sim:app", "dev", "Simuladores locales: equipos Modbus, la DGA, la SMA."),
    "demo": ("caudal.demo:app", "dev", "Toda la cadena en esta máquina, con equipos simulados."),
}


def _missing_extra(name: str, extra: str, missing: str, help_text: str) -> TyperCommand:
    """A stand-in command that explains which extra to install instead of failing to import."""

    def explain(args: list[str] | None = None) -> None:
        typer.echo(
            f"'caudal {name}' necesita un paquete que no está instalado ({missing}); "
            f"instálelo con: pip install 'caudal[{extra}]'",
            err=True,
        )
        raise typer.Exit(2)

    return TyperCommand(
        name=name,
        help=f"{help_text} (no instalado: necesita caudal[{extra}])",
        callback=explain,
        context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
        add_help_option=False,
    )


def load_command(name: str, target: str, extra: str, help_text: str) -> Any:
    """Import ``module:attribute`` (a Typer app) and return it as a command of Typer's click."""
    module_name, _, attribute = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in {"caudal", "protocols", "edge", "central", "compliance"}:
            raise
        return _missing_extra(name, extra, exc.name or "?", help_text)
    command = typer.main.get_command(getattr(module, attribute))
    command.name = name
    if not command.help:
        command.help = help_text
    return command


def lazy_group(entries: dict[str, tuple[str, str, str]]) -> type[TyperGroup]:
    """A Typer group class whose sub-commands are imported on first use."""

    class LazyGroup(TyperGroup):
        def list_commands(self, ctx: Any) -> list[str]:
            return list(entries)

        def get_command(self, ctx: Any, name: str) -> Any:
            if name not in entries:
                return None
            if name not in self.commands:
                self.commands[name] = load_command(name, *entries[name])
            return self.commands[name]

        def format_commands(self, ctx: Any, formatter: Any) -> None:
            """List sub-commands from the table, without importing any of them."""
            with formatter.section("Commands"):
                formatter.write_dl([(name, help_text) for name, (*_, help_text) in entries.items()])

    return LazyGroup


def lazy_app(entries: dict[str, tuple[str, str, str]], help_text: str, **settings: Any) -> typer.Typer:
    """A command of sub-commands from ``entries`` (imported on first use) as every Caudal group shows
    itself: its help when called bare, plain text, no shell-completion options."""
    return typer.Typer(
        cls=lazy_group(entries),
        no_args_is_help=True,
        add_completion=False,
        rich_markup_mode=None,
        help=help_text,
        **settings,
    )


def _version(value: bool) -> None:
    if value:
        typer.echo(f"caudal {__version__}")
        raise typer.Exit()


app = lazy_app(
    SIDES,
    "Caudal: telemetría de extracción de agua, del pozo a la DGA.",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Muestra la versión."),
) -> None:
    """Caudal: telemetría de extracción de agua, del pozo a la DGA."""


def main() -> None:
    sys.exit(app(prog_name="caudal"))
