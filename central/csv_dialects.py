"""CSV as the API writes it (``,`` and ``.``), and the variant a spreadsheet set to es-CL opens
as columns (``?dialect=excel-es``): a ``sep=;`` first line, ``;`` between cells, a decimal
comma in numbers, UTF-8 with a byte-order mark so that accents survive.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from fastapi import Query

Dialect = Literal["csv", "excel-es"]
DialectQuery = Annotated[
    Dialect,
    Query(
        description="csv: comma-separated, decimal point (the default); excel-es: for a spreadsheet set to"
        " Spanish (Chile): sep=; first line, ';' between cells, decimal comma, UTF-8 with BOM"
    ),
]

BOM = "\ufeff"
_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def write_rows(rows: Iterable[Sequence[object]], dialect: Dialect = "csv") -> str:
    """``rows`` (an empty row is a blank line) as CSV text in ``dialect``."""
    return preamble(dialect) + more_rows(rows, dialect)


def preamble(dialect: Dialect) -> str:
    """What a file in ``dialect`` starts with before its first row (a streamed export sends it
    once, then :func:`more_rows` per chunk)."""
    return f"{BOM}sep=;\n" if dialect == "excel-es" else ""


def more_rows(rows: Iterable[Sequence[object]], dialect: Dialect = "csv") -> str:
    """``rows`` as CSV text in ``dialect``, without the preamble."""
    out = io.StringIO()
    if dialect == "excel-es":
        csv.writer(out, delimiter=";", lineterminator="\n").writerows(
            [[decimal_comma(cell) for cell in row] for row in rows]
        )
    else:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def decimal_comma(cell: object) -> object:
    """A number written with a decimal point, with a comma instead; anything else as it is
    (times, codes and text keep their dots)."""
    if isinstance(cell, float):
        cell = repr(cell)
    return cell.replace(".", ",") if isinstance(cell, str) and _DECIMAL.match(cell) else cell
