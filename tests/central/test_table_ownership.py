"""Each domain owns its tables (central/db/ownership.py): no module names another domain's table in SQL.

The SQL text of every module of ``central`` and ``compliance`` is read (string literals and
f-strings, with module constants substituted, docstrings left out) and each table after
``FROM``, ``JOIN``, ``INTO``, ``UPDATE``, ``TABLE`` or ``COPY`` is checked against the map.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from central.db.ownership import DOMAINS, OWNERS, PUBLISHED, domain_of, may_name

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = ROOT / "central" / "db" / "migrations"
TABLE_AFTER = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|COPY)\s+([a-z_][a-z0-9_]*)")


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, for f-strings that interpolate them."""
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            found.update({target.id: node.value.value for target in node.targets if isinstance(target, ast.Name)})
    return found


def _docstrings(tree: ast.Module) -> set[int]:
    holders = [
        tree,
        *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))),
    ]
    return {
        id(h.body[0].value)
        for h in holders
        if h.body and isinstance(h.body[0], ast.Expr) and isinstance(h.body[0].value, ast.Constant)
    }


def _text(node: ast.AST, constants: dict[str, str]) -> str:
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    if isinstance(node, ast.FormattedValue):
        return constants.get(node.value.id, "{}") if isinstance(node.value, ast.Name) else "{}"
    return "".join(_text(part, constants) for part in node.values) if isinstance(node, ast.JoinedStr) else ""


def named_tables(source: str) -> set[str]:
    """The known tables a module's SQL text names."""
    tree = ast.parse(source)
    constants, skip = _constants(tree), _docstrings(tree)
    parts = [
        _text(node, constants)
        for node in ast.walk(tree)
        if id(node) not in skip
        and (isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)))
    ]
    return {table for text in parts for table in TABLE_AFTER.findall(text) if table in OWNERS}


def _modules() -> list[Path]:
    return sorted(p for top in ("central", "compliance") for p in (ROOT / top).rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_names_only_tables_of_its_own_domain(path: Path) -> None:
    module = path.relative_to(ROOT).as_posix()
    domain = domain_of(module)
    assert domain is not None
    assert sorted(t for t in named_tables(path.read_text()) if not may_name(domain, t, module)) == []


# Where core and notify keep their SQL: the store module of each package, and core's lookups.py
# (the reads it publishes to the other domains). Models, services and routes name no table.
SQL_HOMES = {"central/core": ("store.py", "lookups.py"), "central/notify": ("store.py",)}


def _not_sql_homes() -> list[Path]:
    return sorted(
        path for folder, homes in SQL_HOMES.items() for path in (ROOT / folder).rglob("*.py") if path.name not in homes
    )


@pytest.mark.parametrize("path", _not_sql_homes(), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_and_notify_name_tables_only_in_their_store_modules(path: Path) -> None:
    assert named_tables(path.read_text()) == set()


def tables_after_migrations() -> set[str]:
    """The tables the migrations leave, statement by statement (a rebuild renames and drops)."""
    tables: set[str] = set()
    statement = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?(\w+)|ALTER TABLE (\w+) RENAME TO (\w+)|DROP TABLE (\w+)")
    for migration in sorted(MIGRATIONS.glob("*.sql")):
        for created, old, new, dropped in statement.findall(migration.read_text()):
            tables -= {old, dropped}
            tables |= {created, new} - {""}
    return tables


def test_every_table_the_migrations_create_has_an_owner() -> None:
    assert tables_after_migrations() == set(OWNERS)
    assert set(OWNERS.values()) | {d for readers in PUBLISHED.values() for d in readers} <= set(DOMAINS)


@pytest.mark.parametrize(
    ("path", "domain"),
    [
        ("central/core/points/store.py", "core"),
        ("central/telemetry/ingest.py", "telemetry"),
        ("central/telemetry/alerts/store.py", "alerts"),
        ("central/notify/store.py", "notify"),
        ("central/ui/pages.py", "ui"),
        ("central/app.py", "wiring"),
        ("compliance/dga/evaluate.py", "compliance"),
        ("edge/agent.py", None),
    ],
)
def test_a_module_belongs_to_the_domain_of_its_folder(path: str, domain: str | None) -> None:
    assert domain_of(path) == domain


@pytest.mark.parametrize(
    ("source", "tables"),
    [
        ('"""Reads from points (a docstring)."""\nQ = "SELECT 1"', set()),
        ('Q = "SELECT code FROM points p JOIN user_points up ON up.point_id = p.id"', {"points", "user_points"}),
        ('T = "compliance_facts"\ndef f():\n    return f"SELECT * FROM {T} WHERE x"', {"compliance_facts"}),
        ('Q = ("UPDATE gateways SET a = 1", f"INSERT INTO readings {x}")', {"gateways", "readings"}),
        ('MESSAGE = "no readings from points yet"', set()),
    ],
)
def test_the_sql_text_of_a_module_names_its_tables(source: str, tables: set[str]) -> None:
    assert named_tables(source) == tables


@pytest.mark.parametrize(
    ("domain", "table", "allowed"),
    [
        ("core", "points", True),
        ("compliance", "points", False),
        ("alerts", "compliance_facts", True),
        ("alerts", "compliance_submissions", False),
        ("notify", "compliance_facts", False),
        ("ui", "alerts", False),
    ],
)
def test_a_domain_may_name_its_tables_and_what_it_is_published(domain: str, table: str, allowed: bool) -> None:
    assert may_name(domain, table) is allowed
