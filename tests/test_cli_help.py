"""Every command's --help, as a technician or operator reads it: flags without a type after them,
Typer's own words in Spanish."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import typer.core
import typer.main
from typer.core import TyperGroup
from typer.testing import CliRunner

from caudal.cli import app


def command_paths(
    command: typer.core.TyperCommand | TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """Every command and sub-command, as the words typed after ``caudal``."""
    yield path
    if isinstance(command, TyperGroup):
        context = typer.Context(command)
        for name in command.list_commands(context):
            yield from command_paths(command.get_command(context, name), (*path, name))


PATHS = list(command_paths(typer.main.get_command(app)))


def test_the_walk_reaches_the_lazily_imported_commands() -> None:
    """The regulator stand-ins are imported only when asked for; the walk asks for them too."""
    assert [path for path in PATHS if path[:1] == ("sim",)] == [
        ("sim",),
        ("sim", "modbus"),
        ("sim", "dga"),
        ("sim", "sma"),
    ]


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "caudal")
def test_no_flag_shows_a_type(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    assert [shown for shown in ("<bool>", "<list[") if shown in result.output] == []


ENGLISH_LIBRARY_WORDS = (
    "Usage:",
    "Options:",
    "Arguments:",
    "Commands:",
    "Show this message",
    "[default:",
    "required]",
    "env var",
    "[OPTIONS]",
    "completion for the current shell",
)


@pytest.mark.parametrize("path", PATHS, ids=lambda path: " ".join(path) or "caudal")
def test_typer_words_are_spanish(path: tuple[str, ...]) -> None:
    output = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "120"}).output
    assert [word for word in ENGLISH_LIBRARY_WORDS if word in output] == []
