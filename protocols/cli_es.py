"""Typer's own words in Spanish: the usage line, section titles, ``--help``, usage errors.

Technicians and operators read Spanish, and our commands' help already is; what Typer adds
around it (``Usage:``, ``Options``, ``[default: …]``, ``No such option``, ``Try … for
help``) is English. Typer carries its own copy of Click whose texts are plain literals (no
gettext catalogue to install); only Typer's few words pass through ``typer.core._``. So
this module sets, once per process, the places where those texts meet the person:

- ``typer.core._``, Typer's gettext hook, reads :data:`TYPER_WORDS`;
- every context formats help with :class:`SpanishHelpFormatter` (usage prefix, section
  titles, the library's help texts of ``--help`` and shell completion);
- a usage error is shown by :func:`show_usage_error`, its message rewritten by
  :func:`translate_error`;
- the questions of ``typer.prompt`` and ``typer.confirm`` (``caudal edge init``): their
  error lines, the repeated value's question and a yes/no answered ``s`` or ``n``.

Those are private parts of Typer (``typer._click``, since Typer 0.26 vendored Click), so
:func:`check_typer` refuses, at import and in Spanish, a Typer that lacks one of them rather
than let a command speak English or fail half-way; pyproject.toml bounds Typer to the
releases tested.

Every command line (``caudal``, ``edge``, ``central``, ``compliance``, the simulators)
imports this module, so no output mixes the two languages whichever command runs first.
Rich's help panels are not touched: every app sets ``rich_markup_mode=None``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Sequence
from typing import IO, Any

import typer
import typer.core

# (module, attribute) of Typer's private API this module replaces or builds on
PRIVATE_API = (
    ("typer.core", "_"),
    ("typer._click", "HelpFormatter"),
    ("typer._click", "Context"),
    ("typer._click", "echo"),
    ("typer._click.exceptions", "ClickException"),
    ("typer._click.exceptions", "UsageError"),
    ("typer._click.termui", "prompt"),
    ("typer._click.termui", "confirm"),
    ("typer._click.termui", "echo"),
    ("typer._click.termui", "visible_prompt_func"),
)
TESTED_TYPER = ">=0.27,<0.30"  # 0.27.0, 0.27.3, 0.28.0, 0.29.2 pass the CLI tests; 0.26.0 words some usage errors apart


def missing_private_api(parts: Sequence[tuple[str, str]] = PRIVATE_API) -> list[str]:
    """The ``parts`` (by default :data:`PRIVATE_API`) this Typer lacks, as ``module.attribute``."""
    return [f"{module_name}.{attribute}" for module_name, attribute in parts if not _has(module_name, attribute)]


def _has(module_name: str, attribute: str) -> bool:
    try:
        return hasattr(importlib.import_module(module_name), attribute)
    except ImportError:
        return False


def check_typer(parts: Sequence[tuple[str, str]] = PRIVATE_API) -> None:
    """Refuse, in Spanish, a Typer whose private parts this module patches are gone or moved."""
    missing = missing_private_api(parts)
    if missing:
        raise ImportError(
            f"protocols.cli_es: Typer {typer.__version__} no tiene {', '.join(missing)}, que Caudal usa para"
            f" mostrar en español los textos de Typer; instale una versión probada: pip install 'typer{TESTED_TYPER}'"
        )


check_typer()

from typer import _click  # noqa: E402  (after the check, so a missing module is explained)
from typer._click import termui  # noqa: E402
from typer._click.exceptions import ClickException, UsageError  # noqa: E402

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
    "Show completion for the current shell, to copy it or customize the installation.": "Muestra el autocompletado de la shell actual, para copiarlo o ajustar la instalación.",
}

USAGE_PREFIX = "Uso: "
USAGE_WORDS = {"[OPTIONS]": "[OPCIONES]", "COMMAND": "COMANDO", "[ARGS]...": "[ARGUMENTOS]..."}
HELP_HINT = "Pruebe '{command} {option}' para ver la ayuda.\n"

# Click's and Pydantic's usage-error sentences, in the order they may nest ("Invalid value
# for X: <reason>" is rewritten first, then its reason).
ERRORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), spanish)
    for pattern, spanish in (
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
        (r"^'[^']*' is not a valid int(eger)?\.$", "debe ser un número entero"),
        (r"^'[^']*' is not a valid float\.$", "debe ser un número"),
        (r"Input should be a valid number.*$", "debe ser un número"),
        (r"Input should be a valid boolean.*$", "debe ser true o false"),
        (r"Input should be (.*)$", r"debe ser \1"),
        (r"(debe ser .*) or ('[^']*')$", r"\1 o \2"),
        (r"(File|Directory|Path) ('[^']*') does not exist\.", r"No existe \2."),
        (r"(File|Directory|Path) ('[^']*') is a file\.", r"\2 es un archivo."),
        (r"(File|Directory|Path) ('[^']*') is a directory\.", r"\2 es un directorio."),
        (r"(File|Directory|Path) ('[^']*') is not readable\.", r"\2 no se puede leer."),
        (r"(File|Directory|Path) ('[^']*') is not writable\.", r"\2 no se puede escribir."),
    )
)


# Click's own lines around typer.prompt and typer.confirm
PROMPT_ERRORS = {
    "Error: The two entered values do not match.": "Error: los dos valores no coinciden.",
    "Error: The value you entered was invalid.": "Error: el valor ingresado no es válido.",
}
REPEAT_PROMPT = "Repita para confirmar"
YES, NO = frozenset({"s", "si", "sí", "y", "yes"}), frozenset({"n", "no"})
YES_NO_ERROR = "Error: responda s (sí) o n (no)"


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
    _click.echo(f"Error: {translate_error(self.format_message())}", file=file, err=file is None, color=self.show_color)


def show_usage_error(self: UsageError, file: IO[Any] | None = None) -> None:
    """The command's usage line, where to find its help, and the error, all in Spanish."""
    if self.ctx is not None:
        hint = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            hint = HELP_HINT.format(command=self.ctx.command_path, option=self.ctx.help_option_names[0])
        _click.echo(f"{self.ctx.get_usage()}\n{hint}", file=file, err=file is None, color=self.ctx.color)
    _click.echo(
        f"Error: {translate_error(self.format_message())}",
        file=file,
        err=file is None,
        color=self.ctx.color if self.ctx is not None else None,
    )


def translate_prompt_line(message: Any) -> Any:
    """A line Click's prompt writes, in Spanish: its fixed errors, and a value's error sentence."""
    if not isinstance(message, str) or not message.startswith("Error: "):
        return message
    return PROMPT_ERRORS.get(message) or f"Error: {translate_error(message.removeprefix('Error: '))}"


def echo_prompt_line(message: Any = None, *args: Any, **kwargs: Any) -> None:
    """``echo`` as Click's prompt module sees it: the same, with its lines in Spanish."""
    _click.echo(translate_prompt_line(message), *args, **kwargs)


LIBRARY_PROMPT = termui.prompt


def prompt(
    text: str,
    default: Any | None = None,
    hide_input: bool = False,
    confirmation_prompt: bool | str = False,
    type: Any | None = None,
    value_proc: Callable[[str], Any] | None = None,
    prompt_suffix: str = ": ",
    show_default: bool = True,
    err: bool = False,
    show_choices: bool = True,
) -> Any:
    """``typer.prompt``, asking for the value again in Spanish (``confirmation_prompt=True``)."""
    repeat = REPEAT_PROMPT if confirmation_prompt is True else confirmation_prompt
    return LIBRARY_PROMPT(
        text, default, hide_input, repeat, type, value_proc, prompt_suffix, show_default, err, show_choices
    )


def yes_no(answer: str, default: bool | None) -> bool | None:
    """An answer to a yes/no question: ``s``/``sí`` (``y``/``yes`` too), ``n``/``no``, or empty
    for the default; ``None`` when it is none of those."""
    answer = answer.strip().lower()
    if answer in YES:
        return True
    if answer in NO:
        return False
    return default if answer == "" else None


def confirm(
    text: str,
    default: bool | None = False,
    abort: bool = False,
    prompt_suffix: str = ": ",
    show_default: bool = True,
    err: bool = False,
) -> bool:
    """``typer.confirm`` in Spanish: ``[s/N]``, answered ``s`` or ``n``, asked again otherwise."""
    choices = "s/n" if default is None else ("S/n" if default else "s/N")
    question = f"{text} [{choices}]{prompt_suffix}" if show_default else f"{text}{prompt_suffix}"
    while (answer := yes_no(ask(question, err), default)) is None:
        _click.echo(YES_NO_ERROR, err=err)
    if abort and not answer:
        raise typer.Abort()
    return answer


def ask(question: str, err: bool) -> str:
    """One line typed after ``question`` (Click's way: the last character goes to ``input``)."""
    try:
        _click.echo(question[:-1], nl=False, err=err)
        return termui.visible_prompt_func(question[-1:])
    except (KeyboardInterrupt, EOFError):
        raise typer.Abort() from None


def install() -> None:
    """Make every Typer command of this process speak Spanish (idempotent)."""
    typer.core._ = translate_typer_word  # type: ignore[attr-defined]
    _click.Context.formatter_class = SpanishHelpFormatter
    ClickException.show = show_error  # type: ignore[method-assign]
    UsageError.show = show_usage_error  # type: ignore[method-assign]
    termui.echo = echo_prompt_line  # type: ignore[attr-defined]
    termui.prompt = typer.prompt = prompt
    termui.confirm = typer.confirm = confirm


install()
