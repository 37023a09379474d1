"""The root command lists every side without importing them and dispatches to each."""

import typer
from typer.testing import CliRunner

from caudal import __version__
from caudal.cli import SIDES, app, lazy_group

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
    assert (result.exit_code, result.output.splitlines()[-1]) == (
        2,
        "Error: Valor inválido: 'bogus': se espera PERFIL:UNIT[:FALLA], por ejemplo siemens-mag6000:1:silent",
    )


def test_help_describes_caudal_and_each_side_in_spanish():
    output = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert "Caudal: telemetría de extracción de agua, del pozo a la DGA." in output
    assert "Muestra la versión." in output
    for side, (*_, help_text) in SIDES.items():
        assert f"  {side}" in output and help_text in output


def test_a_side_whose_extra_is_missing_says_what_to_install():
    app_with_missing = typer.Typer(cls=lazy_group({"radio": ("no_such_package_for_caudal.cli:app", "radio", "Radio.")}))

    @app_with_missing.callback()
    def root() -> None:
        """Raíz."""

    result = runner.invoke(app_with_missing, ["radio", "scan"])
    assert (result.exit_code, result.output) == (
        2,
        "'caudal radio' necesita un paquete que no está instalado (no_such_package_for_caudal); "
        "instálelo con: pip install 'caudal[radio]'\n",
    )
