"""The terminal the commissioning commands talk through: output, errors and how a command fails."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def quiet_library(command: Callable[..., None]) -> Callable[..., None]:
    """Scanning means many unanswered requests by design: keep pymodbus' log lines off the screen."""

    @functools.wraps(command)
    def quiet(*args: Any, **kwargs: Any) -> None:
        logging.getLogger("pymodbus").setLevel(logging.CRITICAL)
        command(*args, **kwargs)

    return quiet


def fail(message: str, code: int = 2) -> typer.Exit:
    errors.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)
