"""One word for a route file: in every API domain the module that makes a router is its ``api.py``
(the console's HTML pages, ``central/ui``, and the health probes are not API domains); and only
those route files and the HTTP edge around them speak in HTTP errors."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_DOMAINS = ("central/core", "central/telemetry", "central/notify", "compliance")


def _router_modules() -> list[str]:
    return sorted(
        path.relative_to(ROOT).as_posix()
        for folder in API_DOMAINS
        for path in (ROOT / folder).rglob("*.py")
        if "APIRouter(" in path.read_text(encoding="utf-8")
    )


def test_every_module_that_makes_a_router_is_named_api() -> None:
    assert [module for module in _router_modules() if not module.endswith("/api.py")] == []


# The HTTP edge: route modules, their dependencies, the error handlers, and the two helpers
# that read the request itself (its body; its query parameters).
HTTP_EDGE = ("central/telemetry/body.py", "central/query_check.py")
HTTP_EDGE_NAMES = ("api.py", "deps.py", "errors.py")
HTTP_ERRORS = {
    ("central.errors", "ApiError"),
    ("fastapi", "HTTPException"),
    ("fastapi.exceptions", "HTTPException"),
    ("starlette.exceptions", "HTTPException"),
}


def _http_error_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [
        f"{node.module}.{alias.name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if (node.module, alias.name) in HTTP_ERRORS
    ]


def test_only_the_http_edge_imports_an_http_error() -> None:
    """Library code raises :mod:`central.problems`' domain errors; only the edge speaks HTTP."""
    found = {}
    for folder in ("central", "compliance", "protocols"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if path.name in HTTP_EDGE_NAMES or relative in HTTP_EDGE:
                continue
            if imports := _http_error_imports(path):
                found[relative] = imports
    assert found == {}
