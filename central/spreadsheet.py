"""Central's openpyxl adapter: a sheet of rows as a workbook a person can filter.

The header row is bold, frozen and carries an auto-filter; date-times are dates (format
``yyyy-mm-dd hh:mm:ss``), numbers stay numbers, ``None`` is an empty cell. Columns are
sized to the header and the first rows. The sheet is written in openpyxl's write-only mode
(rows are not kept as cell objects), so a long export costs the bytes of the file, not a
tree of cells. Times must already be wall-clock times of a named zone (Excel has no offsets):
an aware datetime is refused.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from datetime import datetime
from itertools import chain, islice
from typing import Any

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_WIDTH = 60
SIZED_ROWS = 1000
MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, the header's included


def workbook(title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> bytes:
    """An XLSX file with one sheet ``title``: ``header`` then ``rows``."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title)
    rows = iter(rows)
    first = list(islice(rows, SIZED_ROWS))
    for index, width in enumerate(_widths(header, first), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_bold(sheet, name) for name in header])
    last_row = 1
    for row in chain(first, rows):
        sheet.append([_cell(sheet, value) for value in row])
        last_row += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(header)))}{last_row}"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _bold(sheet: Any, name: str) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=name)
    cell.font = Font(bold=True)
    return cell


def _cell(sheet: Any, value: Any) -> Any:
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is not None:
        raise ValueError(f"{value!r}: a spreadsheet time is a wall-clock time; convert it to its zone first")
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = DATETIME_FORMAT
    return cell


def _widths(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    return [min(MAX_WIDTH, max(len(_shown(value)) for value in column) + 2)
            for column in zip(header, *rows, strict=True)]


def _shown(value: Any) -> str:
    return DATETIME_FORMAT if isinstance(value, datetime) else "" if value is None else str(value)
