"""One word for a route file: in every API domain the module that makes a router is its ``api.py``
(the console's HTML pages, ``central/ui``, and the health probes are not API domains)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_DOMAINS = ("central/core", "central/telemetry", "central/notify", "compliance")


def _router_modules() -> list[str]:
    return sorted(path.relative_to(ROOT).as_posix() for folder in API_DOMAINS for path in (ROOT / folder).rglob("*.py")
                  if "APIRouter(" in path.read_text(encoding="utf-8"))


def test_every_module_that_makes_a_router_is_named_api() -> None:
    assert [module for module in _router_modules() if not module.endswith("/api.py")] == []

