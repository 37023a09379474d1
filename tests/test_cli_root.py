"""The root command lists every side without importing them and dispatches to each."""

from typer.testing import CliRunner

from caudal import __version__
from caudal.cli import app

runner = CliRunner()


def test_help_lists_every_side():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for side in ("edge", "central", "compliance", "sim", "demo"):
        assert f"  {side} " in result.output


def test_version():
    result = runner.invoke(app, ["--version"])
    assert (result.exit_code, result.output) == (0, f"caudal {__version__}\n")


def test_a_sub_command_usage_error_is_a_usage_error_not_a_traceback():
    result = runner.invoke(app, ["sim", "modbus", "--device", "bogus"])
    assert result.exit_code == 2
    assert "PROFILE:UNIT" in result.output
