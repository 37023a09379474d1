"""Test tables written as text: one row a line, columns split on white space.

A table of times reads better as ISO text under aligned columns than as rows of ``datetime(...)``
calls, and a route table as ``METHOD path access``. Each column names the function that reads
its cells; a row with another number of cells is an error that names it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def rows(text: str, *columns: Callable[[str], Any]) -> list[tuple[Any, ...]]:
    """The table's rows (blank lines skipped), each cell read by its column's function."""
    table = [line.split() for line in text.strip().splitlines() if line.strip()]
    for cells in table:
        if len(cells) != len(columns):
            raise ValueError(f"row {' '.join(cells)!r} has {len(cells)} cells, the table {len(columns)} columns")
    return [tuple(read(cell) for read, cell in zip(columns, cells, strict=True)) for cells in table]


def utc(text: str) -> datetime:
    """An ISO time; one written without an offset is UTC."""
    t = datetime.fromisoformat(text)
    return t if t.tzinfo else t.replace(tzinfo=UTC)
