"""The shape of the console's report links and of the API requests behind them, in one place.

The console's links choose a report's format with ``?format=csv|xlsx``, as the API's report
routes do (the API's one way to choose a format, issue 14).
"""

from __future__ import annotations

from typing import Literal

from central.ui.api import segment

ReportFormat = Literal["csv", "xlsx"]
REPORT_FORMATS: tuple[ReportFormat, ...] = ("csv", "xlsx")
FAILURES = "informe-de-fallas"


def report_link(code: str, month: str, fmt: ReportFormat, *, failures: bool = False) -> str:
    """The console's download of a point's monthly report (or its informe de fallas) in ``fmt``."""
    tail = f"/{FAILURES}" if failures else ""
    return f"/ui/informes/{segment(code)}/{segment(month)}{tail}?format={fmt}"


def report_api_request(
    code: str, month: str, fmt: ReportFormat, *, failures: bool = False
) -> tuple[str, dict[str, str]]:
    """The API's route (path and query) for the same report; the console forwards the answer."""
    tail = f"/{FAILURES}" if failures else ""
    return f"/api/v1/compliance/reports/{segment(code)}/{segment(month)}{tail}", {"format": fmt}
