"""Typer's own words (usage line, titles, --help, usage errors) in Spanish, on every side."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from caudal.cli import SIDES, app
from protocols.cli_es import TESTED_TYPER, check_typer, missing_private_api, translate_error, yes_no

runner = CliRunner()


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env={"COLUMNS": "100"}, prog_name="caudal")
    return result.exit_code, result.output


def test_root_help_is_spanish():
    sides = "".join(f"  {side:<10}  {help_text}\n" for side, (*_, help_text) in SIDES.items())
    assert run("--help") == (
        0,
        (
            "Uso: caudal [OPCIONES] COMANDO [ARGUMENTOS]...\n\n"
            "  Caudal: telemetría de extracción de agua, del pozo a la DGA.\n\n"
            "Opciones:\n"
            "  --version   Muestra la versión.\n"
            "  -h, --help  Muestra esta ayuda y termina.\n\n"
            f"Comandos:\n{sides}"
        ),
    )


def test_central_sub_command_help_is_spanish():
    assert run("central", "migrate", "--help") == (
        0,
        (
            "Uso: caudal central migrate [OPCIONES]\n\n"
            "  Aplica las migraciones pendientes de la base de datos (CAUDAL_DATABASE_URL) y\n"
            "  las lista.\n\n"
            "Opciones:\n"
            "  -h, --help  Muestra esta ayuda y termina.\n"
        ),
    )


def test_edge_sub_command_help_frames_its_text_in_spanish():
    """Only Typer's words are asserted: the command's own text belongs to edge/cli.py."""
    code, output = run("edge", "check", "--help")
    lines = output.splitlines()
    assert (code, lines[0], "Opciones:" in lines, lines[-1]) == (
        0,
        "Uso: caudal edge check [OPCIONES]",
        True,
        "  -h, --help           Muestra esta ayuda y termina.",
    )
    assert "[por omisión:" in output


@pytest.mark.parametrize(
    ("args", "output"),
    [
        (
            ("central", "serve", "--bogus"),
            "Uso: caudal central serve [OPCIONES]\nPruebe 'caudal central serve -h' para ver la ayuda.\n\n"
            "Error: No existe la opción --bogus (opciones posibles: --host)\n",
        ),
        (
            ("edge", "check", "--bogus"),
            "Uso: caudal edge check [OPCIONES]\nPruebe 'caudal edge check -h' para ver la ayuda.\n\n"
            "Error: No existe la opción --bogus\n",
        ),
        (
            ("central", "create-user"),
            "Uso: caudal central create-user [OPCIONES] {username}\n"
            "Pruebe 'caudal central create-user -h' para ver la ayuda.\n\nError: Falta el argumento 'username'.\n",
        ),
        (
            ("central", "users"),
            "Uso: caudal central [OPCIONES] COMANDO [ARGUMENTOS]...\nPruebe 'caudal central -h' para ver la ayuda.\n\n"
            "Error: No existe el comando 'users'. ¿Quiso decir 'serve'?\n",
        ),
    ],
)
def test_a_usage_error_is_spanish(args, output):
    assert run(*args) == (2, output)


@pytest.mark.parametrize(
    ("english", "spanish"),
    [
        ("No such option: --bogus", "No existe la opción --bogus"),
        (
            "No such option: --hots (Possible options: --host, --port)",
            "No existe la opción --hots (opciones posibles: --host, --port)",
        ),
        (
            "Invalid value for '--port' (env var: 'CAUDAL_PORT'): Input should be a valid integer, unable to parse string",
            "Valor inválido para '--port' (variable de entorno: 'CAUDAL_PORT'): debe ser un número entero",
        ),
        (
            "Invalid value for '--role': Value error, 'x' is not one of 'all', 'core'.",
            "Valor inválido para '--role': 'x' no está entre 'all', 'core'.",
        ),
        ("Invalid value for '-c': File 'a.yaml' does not exist.", "Valor inválido para '-c': No existe 'a.yaml'."),
        ("Invalid value: no es un RUT", "Valor inválido: no es un RUT"),
        (
            "Invalid value for '--kind': Input should be 'subterranea', 'superficial' or 'vertiente'",
            "Valor inválido para '--kind': debe ser 'subterranea', 'superficial' o 'vertiente'",
        ),
        ("'cuatro' is not a valid int.", "debe ser un número entero"),
        ("'x' is not a valid float.", "debe ser un número"),
        ("Missing option '--token'.", "Falta la opción '--token'."),
        ("Missing argument 'username'.", "Falta el argumento 'username'."),
        ("Got unexpected extra argument(s) (a b)", "Sobran argumentos: (a b)"),
        ("Option '--host' requires an argument.", "La opción '--host' necesita un valor."),
        ("Option '--online' does not take a value.", "La opción '--online' no lleva valor."),
        ("No existe el comando 'users'. Did you mean 'serve'?", "No existe el comando 'users'. ¿Quiso decir 'serve'?"),
        ("el archivo no existe", "el archivo no existe"),
    ],
)
def test_library_error_sentences_read_in_spanish(english, spanish):
    assert translate_error(english) == spanish


def test_this_typer_has_every_private_part_the_translation_patches():
    assert missing_private_api() == []


def test_a_typer_without_them_is_refused_at_import_in_spanish():
    with pytest.raises(ImportError) as refused:
        check_typer((("typer._click", "echo"), ("typer._click", "gone"), ("typer._gone", "prompt")))
    assert str(refused.value) == (
        f"protocols.cli_es: Typer {typer.__version__} no tiene typer._click.gone, typer._gone.prompt, que Caudal usa"
        f" para mostrar en español los textos de Typer; instale una versión probada: pip install 'typer{TESTED_TYPER}'"
    )


def test_the_pyproject_bound_is_the_tested_range():
    pyproject = (Path(__file__).parent.parent / "pyproject.toml").read_text()
    assert f'"typer{TESTED_TYPER}",' in pyproject


questions = typer.Typer()


@questions.command()
def ask_twice() -> None:
    typer.echo(typer.prompt("Clave", confirmation_prompt=True))
    typer.echo(typer.prompt("Clave oculta", hide_input=True, type=int))
    typer.echo(typer.confirm("¿Seguir?", default=True))


def test_prompts_repeat_and_refuse_in_spanish():
    result = runner.invoke(questions, [], input="a\nb\na\na\nx\n7\nquizás\nsí\n")
    assert (result.exit_code, result.output.splitlines()) == (
        0,
        [
            "Clave: a",
            "Repita para confirmar: b",
            "Error: los dos valores no coinciden.",
            "Clave: a",
            "Repita para confirmar: a",
            "a",
            "Clave oculta: ",
            "Error: el valor ingresado no es válido.",
            "Clave oculta: ",
            "7",
            "¿Seguir? [S/n]: quizás",
            "Error: responda s (sí) o n (no)",
            "¿Seguir? [S/n]: sí",
            "True",
        ],
    )


@pytest.mark.parametrize(
    ("answer", "default", "meaning"),
    [
        ("s", False, True),
        ("Sí", False, True),
        ("si", False, True),
        ("y", False, True),
        ("YES", False, True),
        ("n", True, False),
        ("No", True, False),
        ("", True, True),
        ("", False, False),
        ("", None, None),
        ("quizás", True, None),
    ],
)
def test_yes_no_answers(answer, default, meaning):
    assert yes_no(answer, default) is meaning


def test_simulators_help_is_spanish():
    assert run("sim", "--help") == (
        0,
        (
            "Uso: caudal sim [OPCIONES] COMANDO [ARGUMENTOS]...\n\n"
            "  Simuladores locales de equipos y reguladores (nunca los servicios reales).\n\n"
            "Opciones:\n"
            "  -h, --help  Muestra esta ayuda y termina.\n\n"
            "Comandos:\n"
            "  modbus  Medidores y sensores de nivel simulados por Modbus TCP o un pty serie.\n"
            "  dga     Un servicio web MEE de la DGA local, que valida como el real.\n"
            "  sma     Una API de reportes de la SMA local.\n"
        ),
    )
