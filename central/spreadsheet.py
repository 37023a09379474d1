"""The one openpyxl adapter: sheets of rows as a workbook a person can filter.

Each sheet's header row is bold, frozen and carries an auto-filter; date-times are dates (format
``yyyy-mm-dd hh:mm:ss`` unless the caller names another), numbers stay numbers, ``None`` is an
empty cell and a :class:`Link` is a clickable hyperlink. Columns are sized to the header and the
first rows. Sheets are written in openpyxl's write-only mode (rows are not kept as cell objects),
so a long export costs the bytes of the file, not a tree of cells. Times must already be
wall-clock times of a named zone (Excel has no offsets): an aware datetime is refused.
Compliance writes its reports through this module too (it may import central, not the reverse).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import chain, islice
from typing import Any

DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_WIDTH = 60
SIZED_ROWS = 1000
MAX_ROWS = 1_048_575  # a sheet's 1,048,576 rows, the header's included


@dataclass(frozen=True)
class Link:
    """A cell showing ``text`` that opens ``url``."""

    text: str
    url: str


@dataclass(frozen=True)
class Sheet:
    """One sheet: its ``title``, the ``header`` row, then ``rows`` (read once, may be a generator)."""

    title: str
    header: Sequence[str]
    rows: Iterable[Sequence[Any]]


def workbook(*sheets: Sheet, datetime_format: str = DATETIME_FORMAT) -> bytes:
    """An XLSX file with the sheets in order; date-times shown as ``datetime_format``."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for sheet in sheets:
        _write(book.create_sheet(sheet.title), sheet, datetime_format)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _write(sheet: Any, content: Sheet, datetime_format: str) -> None:
    from openpyxl.utils import get_column_letter

    header = content.header
    rows = iter(content.rows)
    first = list(islice(rows, SIZED_ROWS))
    for index, width in enumerate(_widths(header, first), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    sheet.append([_bold(sheet, name) for name in header])
    last_row = 1
    for row in chain(first, rows):
        sheet.append([_cell(sheet, value, datetime_format) for value in row])
        last_row += 1
    sheet.auto_filter.ref = f"A1:{get_column_letter(max(1, len(header)))}{last_row}"


def _bold(sheet: Any, name: str) -> Any:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    cell = WriteOnlyCell(sheet, value=name)
    cell.font = Font(bold=True)
    return cell


def _cell(sheet: Any, value: Any, datetime_format: str) -> Any:
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, Link):
        cell = WriteOnlyCell(sheet, value=value.text)
        cell.hyperlink = value.url
        cell.style = "Hyperlink"
        return cell
    if not isinstance(value, datetime):
        return value
    if value.tzinfo is not None:
        raise ValueError(f"{value!r}: a spreadsheet time is a wall-clock time; convert it to its zone first")
    cell = WriteOnlyCell(sheet, value=value)
    cell.number_format = datetime_format
    return cell


def _widths(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[int]:
    return [
        min(MAX_WIDTH, max(len(_shown(value)) for value in column) + 2) for column in zip(header, *rows, strict=True)
    ]


def _shown(value: Any) -> str:
    if isinstance(value, Link):
        return value.text
    return DATETIME_FORMAT if isinstance(value, datetime) else "" if value is None else str(value)
