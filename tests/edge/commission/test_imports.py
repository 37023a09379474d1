"""The commissioning package imports one way: every module imports on its own, and no circle."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "edge" / "commission"
MODULES = sorted(f"edge.commission.{path.stem}" for path in PACKAGE.glob("*.py") if path.stem != "__init__")


@pytest.mark.parametrize("module", MODULES)
def test_each_commissioning_module_imports_on_its_own(module: str) -> None:
    result = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def _imports_within(module: str) -> set[str]:
    tree = ast.parse((PACKAGE / f"{module.rsplit('.', 1)[1]}.py").read_text(encoding="utf-8"))
    found = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return {name for name in found if name in MODULES}


def test_no_commissioning_module_imports_one_that_imports_it_back() -> None:
    edges = {module: _imports_within(module) for module in MODULES}

    def reaches(start: str, target: str, seen: set[str]) -> bool:
        return any(
            step == target or (step not in seen and reaches(step, target, seen | {step})) for step in edges[start]
        )

    assert [module for module in MODULES if reaches(module, module, set())] == []
