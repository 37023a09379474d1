"""The commissioning commands as a Typer app and a way to run them beside the devices the
test serves (the devices are in :mod:`tests.edge.commission.devices`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from edge.commission.cli import register


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture
def invoke(app: typer.Typer) -> Callable[..., asyncio.Future[Result]]:
    """Run a command in a thread (it runs its own event loop) while the test's loop serves devices."""

    def run(*args: str, input: str | None = None) -> asyncio.Future[Result]:
        return asyncio.to_thread(CliRunner().invoke, app, list(args), input=input)

    return run
