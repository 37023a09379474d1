"""Typer's own words in Spanish: the usage line, section titles, ``--help``, usage errors.

Technicians and operators read Spanish, and our commands' help already is; what Typer adds
around it (``Usage:``, ``Options``, ``[default: …]``, ``No such option``, ``Try … for
help``) is English. Typer carries its own copy of Click whose texts are plain literals (no
gettext catalogue to install); only Typer's few words pass through ``typer.core._``. So
this module sets, once per process, the three places where those texts meet the person:

- ``typer.core._``, Typer's gettext hook, reads :data:`TYPER_WORDS`;
- every context formats help with :class:`SpanishHelpFormatter` (usage prefix, section
  titles, the library's help texts of ``--help`` and shell completion);
- a usage error is shown by :func:`show_usage_error`, its message rewritten by
  :func:`translate_error`.

Every command line (``caudal``, ``edge``, ``central``, ``compliance``, the simulators)
imports this module, so no output mixes the two languages whichever command runs first.
Rich's help panels are not touched: every app sets ``rich_markup_mode=None``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import IO, Any

import typer.core
from typer import _click
from typer._click.exceptions import ClickException, UsageError

TYPER_WORDS = {
    "Arguments": "Argumentos",
    "Options": "Opciones",
    "Commands": "Comandos",
    "default: {default}": "por omisión: {default}",
    "env var: {var}": "variable de entorno: {var}",
    "required": "obligatorio",
    "(dynamic)": "(calculado)",
    "Aborted!": "¡Cancelado!",
    "Missing command.": "Falta el comando.",
    "No such command {name!r}.": "No existe el comando {name!r}.",
}

LIBRARY_HELP = {
    "Show this message and exit.": "Muestra esta ayuda y termina.",
    "Install completion for the current shell.": "Instala el autocompletado en la shell actual.",
    "Show completion for the current shell, to copy it or customize the installation.":
        "Muestra el autocompletado de la shell actual, para copiarlo o ajustar la instalación.",
}

USAGE_PREFIX = "Uso: "
USAGE_WORDS = {"[OPTIONS]": "[OPCIONES]", "COMMAND": "COMANDO", "[ARGS]...": "[ARGUMENTOS]..."}
HELP_HINT = "Pruebe '{command} {option}' para ver la ayuda.\n"

# Click's and Pydantic's usage-error sentences, in the order they may nest ("Invalid value
# for X: <reason>" is rewritten first, then its reason).
ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(pattern), spanish) for pattern, spanish in (
    (r"No such option: (\S+)", r"No existe la opción \1"),
    (r"\(Possible options: (.*)\)$", r"(opciones posibles: \1)"),
    (r"\(env var: ('[^']*')\)", r"(variable de entorno: \1)"),
    (r"^Invalid value for (.*?): ", r"Valor inválido para \1: "),
    (r"^Invalid value: ", "Valor inválido: "),
    (r"^Missing option (.*?)\.", r"Falta la opción \1."),
    (r"^Missing argument (.*?)\.", r"Falta el argumento \1."),
    (r"^Missing parameter: (.*)", r"Falta el parámetro \1"),
    (r"Choose from:", "Elija entre:"),
    (r"^Got unexpected extra argument\(s\) \((.*)\)", r"Sobran argumentos: (\1)"),
    (r"^Option ('[^']*') requires an argument\.", r"La opción \1 necesita un valor."),
    (r"^Option ('[^']*') requires (\d+) arguments\.", r"La opción \1 necesita \2 valores."),
    (r"^Option ('[^']*') does not take a value\.", r"La opción \1 no lleva valor."),
    (r"^Argument ('[^']*') takes (\d+) values\.", r"El argumento \1 lleva \2 valores."),
    (r"Did you mean (.*)\?$", r"¿Quiso decir \1?"),
    (r"Value error, ", ""),
    (r"(\S+) is not one of (.*)\.$", r"\1 no está entre \2."),
    (r"Value (.*) is not a valid (\w+)\.$", r"\1 no es un \2 válido."),
    (r"Input should be a valid integer.*$", "debe ser un número entero"),
    (r"Input should be a valid number.*$", "debe ser un número"),
    (r"Input should be a valid boolean.*$", "debe ser true o false"),
    (r"Input should be (.*)$", r"debe ser \1"),
    (r"(debe ser .*) or ('[^']*')$", r"\1 o \2"),
    (r"(File|Directory|Path) ('[^']*') does not exist\.", r"No existe \2."),
    (r"(File|Directory|Path) ('[^']*') is a file\.", r"\2 es un archivo."),
    (r"(File|Directory|Path) ('[^']*') is a directory\.", r"\2 es un directorio."),
    (r"(File|Directory|Path) ('[^']*') is not readable\.", r"\2 no se puede leer."),
    (r"(File|Directory|Path) ('[^']*') is not writable\.", r"\2 no se puede escribir."),
))


def translate_typer_word(message: str) -> str:
    """Typer's gettext hook: the Spanish of one of its words, or the word itself."""
    return TYPER_WORDS.get(message, message)


def translate_error(message: str) -> str:
    """A usage-error sentence of Click, Typer or Pydantic in Spanish; ours pass unchanged."""
    for pattern, spanish in ERRORS:
        message = pattern.sub(spanish, message)
    return message


class SpanishHelpFormatter(_click.HelpFormatter):
    """Click's help formatter with Spanish titles and the library's own help texts in Spanish."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        words = " ".join(USAGE_WORDS.get(word, word) for word in args.split(" "))
        super().write_usage(prog, words, USAGE_PREFIX if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        super().write_heading(translate_typer_word(heading))

    def write_dl(self, rows: Sequence[tuple[str, str]], col_max: int = 30, col_spacing: int = 2) -> None:
        super().write_dl([(term, LIBRARY_HELP.get(text, text)) for term, text in rows], col_max, col_spacing)


def show_error(self: ClickException, file: IO[Any] | None = None) -> None:
    """``Error: <message>`` on stderr, the message in Spanish."""
    _click.echo(f"Error: {translate_error(self.format_message())}", file=file, err=file is None,
                color=self.show_color)


def show_usage_error(self: UsageError, file: IO[Any] | None = None) -> None:
    """The command's usage line, where to find its help, and the error, all in Spanish."""
    if self.ctx is not None:
        hint = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            hint = HELP_HINT.format(command=self.ctx.command_path, option=self.ctx.help_option_names[0])
        _click.echo(f"{self.ctx.get_usage()}\n{hint}", file=file, err=file is None, color=self.ctx.color)
    _click.echo(f"Error: {translate_error(self.format_message())}", file=file, err=file is None,
                color=self.ctx.color if self.ctx is not None else None)


def install() -> None:
    """Make every Typer command of this process speak Spanish (idempotent)."""
    typer.core._ = translate_typer_word  # type: ignore[attr-defined]
    _click.Context.formatter_class = SpanishHelpFormatter
    ClickException.show = show_error  # type: ignore[method-assign]
    UsageError.show = show_usage_error  # type: ignore[method-assign]


install()
