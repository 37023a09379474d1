"""A list of values as named parameters, for ``IN (...)``.

The adapter takes ``:name`` parameters only, so a statement over several ids, codes or
kinds names one parameter per value; every module that did so had its own copy of these
three lines.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def in_list(prefix: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """``values`` as ``:prefix0, :prefix1, ...`` and their parameters; ``NULL`` for none, so
    ``IN (NULL)`` matches nothing instead of being a syntax error."""
    params = {f"{prefix}{index}": value for index, value in enumerate(values)}
    return ", ".join(f":{name}" for name in params) or "NULL", params
