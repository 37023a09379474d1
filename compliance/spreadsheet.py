"""The one openpyxl adapter: sheets of rows as a workbook a person can filter.

Each sheet's header row is bold, frozen and carries an auto-filter; date-times get a
``yyyy-mm-dd hh:mm`` format; numbers stay numbers; a :class:`Link` is a clickable hyperlink.
Columns are sized to their content.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
MAX_WIDTH = 60


@dataclass(frozen=True)
class Link:
    """A cell showing ``text`` that opens ``url``."""

    text: str
    url: str


def workbook(sheets: Sequence[tuple[str, Sequence[str], Sequence[Sequence[Any]]]]) -> bytes:
    """An XLSX file with one sheet per (title, header, rows)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    for index, (title, header, rows) in enumerate(sheets):
        sheet = book.active if index == 0 else book.create_sheet()
        sheet.title = title
        sheet.append(list(header))
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append([cell.text if isinstance(cell, Link) else cell for cell in row])
            _link(sheet, row)
        _format(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _link(sheet: Any, row: Sequence[Any]) -> None:
    """Turn the :class:`Link` cells of the row just appended into hyperlinks."""
    for index, value in enumerate(row, start=1):
        if isinstance(value, Link):
            cell = sheet.cell(row=sheet.max_row, column=index)
            cell.hyperlink = value.url
            cell.style = "Hyperlink"


def _format(sheet: Any) -> None:
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for column in sheet.iter_cols():
        for cell in column:
            if isinstance(cell.value, datetime):
                cell.number_format = DATETIME_FORMAT
        width = max(len(_shown(cell.value)) for cell in column)
        sheet.column_dimensions[get_column_letter(column[0].column)].width = min(MAX_WIDTH, width + 2)


def _shown(value: Any) -> str:
    return DATETIME_FORMAT if isinstance(value, datetime) else "" if value is None else str(value)
