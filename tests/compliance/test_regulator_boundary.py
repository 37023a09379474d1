"""The regulator boundary: only a regulator's own package and the registry name it.

Adding a regulator must touch one new package under compliance/ and compliance/registry.py,
nothing else (compliance/README.md). These tests read the source (AST), so a new literal
``"dga"``/``"sma"`` or a shared module importing a regulator's package fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter
from pydantic import BaseModel, SecretStr

from compliance.config_api import add_config_routes
from compliance.mode import Mode

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("compliance", "central", "caudal", "edge", "protocols")
NAMES = {"dga", "sma"}  # the names as the code uses them (display text such as "DGA" is free)

# Files that may still name a regulator as a literal, and why.
ALLOWED = {
    # The demo and the simulator launcher start the stand-ins by name and show the DGA's ledger.
    "caudal/sim.py",
    "caudal/demo.py",
    "caudal/demo_summary.py",
    # The console's own DGA and SMA forms on a point's page; any other regulator gets the generic form.
    "central/ui/pages_admin_edit.py",
}
REGULATOR_PACKAGES = ("compliance/dga/", "compliance/sma/")

# The shared parts every regulator uses: none of them imports a regulator's package.
SHARED = (
    "transport",
    "outcome",
    "mode",
    "ledger",
    "ledger_store",
    "sender",
    "regulator",
    "worker",
    "config_store",
    "config_api",
    "submissions",
    "person_actions",
    "events",
    "facts",
    "api",
    "worker_actions",
)


def _sources() -> list[Path]:
    return sorted(path for top in SCANNED for path in (ROOT / top).rglob("*.py") if "__pycache__" not in path.parts)


def _literals(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in NAMES
    ]


def test_no_module_outside_a_regulator_package_names_a_regulator() -> None:
    found = {}
    for path in _sources():
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(REGULATOR_PACKAGES) or relative in ALLOWED:
            continue
        if literals := _literals(path):
            found[relative] = literals
    assert found == {}


def test_the_allow_list_has_no_stale_entries() -> None:
    """An allowed file that no longer names a regulator is taken off the list (it only shrinks)."""
    stale = [name for name in sorted(ALLOWED) if not (ROOT / name).exists() or not _literals(ROOT / name)]
    assert stale == []


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    return modules


@pytest.mark.parametrize("module", SHARED)
def test_shared_modules_import_no_regulator_package(module: str) -> None:
    imported = _imported_modules(ROOT / "compliance" / f"{module}.py")
    assert sorted(m for m in imported if m.startswith(("compliance.dga", "compliance.sma"))) == []


def test_the_registry_lists_each_regulator_package_once() -> None:
    from compliance.registry import REGULATORS

    packages = {type(regulator).__module__.rsplit(".", 1)[0] for regulator in REGULATORS.values()}
    assert (sorted(REGULATORS), sorted(packages)) == (["dga", "sma"], ["compliance.dga", "compliance.sma"])


class ThirdConfigIn(BaseModel):
    mode: Mode = Mode.OFF
    clave: SecretStr | None = None


class Third:
    """A regulator that exists only here: what a new package would register."""

    name, title, subject = "tercero", "Tercero", "point"
    config_model: type[BaseModel] = ThirdConfigIn
    config_in: type[BaseModel] = ThirdConfigIn
    secret_field, identity_field, examples, resends_in_flight = "clave", "mode", None, False

    def check_configurable(self, change: BaseModel, settings: Any) -> None: ...
    def check_fits_point(self, config: Any, point: dict[str, Any]) -> None: ...
    def check_correction(self, conn: Any, row: dict[str, Any], values: dict[str, str]) -> None: ...
    def reporting(self, *args: Any) -> Any: ...


def test_a_new_regulator_gets_its_configuration_routes_from_its_object_alone() -> None:
    router = APIRouter()
    add_config_routes(router, Third())
    routes = [(route.path, sorted(route.methods), route.name, route.summary) for route in router.routes]
    assert routes == [
        (
            "/points/{code}/compliance/tercero",
            ["PUT"],
            "put_tercero",
            "Create or replace a point's Tercero configuration (administrators)",
        ),
        (
            "/points/{code}/compliance/tercero",
            ["GET"],
            "get_tercero",
            "A point's Tercero configuration (never the password)",
        ),
        (
            "/points/{code}/compliance/tercero",
            ["DELETE"],
            "delete_tercero",
            "Remove a point's Tercero configuration (administrators)",
        ),
    ]


# compliance/README.md: central's alert code never reads compliance's ledger; it reads only the
# facts compliance publishes. The console (central/ui) is given compliance's read functions by
# the app factory, so it names no compliance table either.
LEDGER_TABLES = ("compliance_configs", "compliance_submissions", "compliance_attempts", "compliance_events")


OWNERSHIP_MAP = ROOT / "central" / "db" / "ownership.py"  # names every table to say who owns it


@pytest.mark.parametrize(
    "path",
    sorted(p for p in (ROOT / "central").rglob("*.py") if p != OWNERSHIP_MAP),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_central_names_no_table_of_compliances_ledger(path: Path) -> None:
    text = path.read_text()
    assert [table for table in LEDGER_TABLES if table in text] == []
