"""How a monthly report leaves the API: the formats it comes in, what an ``Accept`` header asks
for, and the download itself.

Kept apart from :mod:`compliance.api`, which holds the routes and chooses the format
(:func:`compliance.api.report_format`, whose refusal is an HTTP error), so the header parsing is
pure and the routes read as routes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query, Response

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_TYPE = "text/csv; charset=utf-8"
ReportFormat = Literal["csv", "xlsx"]
FormatQuery = Annotated[
    ReportFormat | None,
    Query(
        alias="format",
        description="csv or xlsx; when omitted the Accept header chooses (text/csv or the XLSX type), else csv",
    ),
]


def media_ranges(accept: str) -> dict[str, float]:
    """``Accept``'s media types and their weights (a malformed weight counts as 0)."""
    ranges = {}
    for part in accept.split(","):
        media, *parameters = [piece.strip() for piece in part.split(";")]
        weight = next((value for key, _, value in (p.partition("=") for p in parameters) if key.strip() == "q"), "1")
        try:
            ranges[media.lower()] = float(weight)
        except ValueError:
            ranges[media.lower()] = 0.0
    return ranges


def attachment(body: bytes | str, media_type: str, filename: str) -> Response:
    """A report as a download named ``filename``."""
    return Response(body, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'})
