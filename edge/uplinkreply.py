"""What a reply from the central server means to the uploader: the failure policy as pure functions.

Kept apart from :mod:`edge.uploader` so the table of statuses (2xx, 401/403, 413, 429/503, the rest)
and the reading of ``Retry-After`` and the server's message are tested without I/O; the uploader
only acts on the :class:`UploadFailed` these return.
"""

from __future__ import annotations

import json
from datetime import datetime
from email.utils import parsedate_to_datetime

from edge.http import HttpReply

REFUSED_RECHECK_S = 600.0
RETRY_AFTER_MAX_S = 3600.0
MESSAGE_MAX_CHARS = 200


class UploadFailed(Exception):
    """A batch (or heartbeat) was not accepted; nothing was deleted from the buffer.

    ``retry_after`` is the wait the reply asked for; ``None`` means "use the backoff".
    """

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UploadRefused(UploadFailed):
    """401/403: the server refuses this gateway's token or points."""


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """``Retry-After`` as seconds from ``now``: delta-seconds or an HTTP date; None if absent/invalid."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0.0, (when - now).total_seconds())


def server_message(body: bytes) -> str:
    """The server's explanation, shortened: the central server's ``error.message``, else a
    ``detail`` (FastAPI's default shape, proxies), else the text itself."""
    text = body.decode("utf-8", errors="replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    detail = _explanation(data) if isinstance(data, dict) else None
    message = text if detail is None else detail if isinstance(detail, str) else json.dumps(detail)
    return message[:MESSAGE_MAX_CHARS] or "(no message)"


def _explanation(data: dict[str, object]) -> object | None:
    error = data.get("error")
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return error["message"]
    return data.get("detail")


def classify(reply: HttpReply, now: datetime, batch_len: int) -> UploadFailed | None:
    """Map a reply to the failure it means (None for 2xx): pure, so the policy is tested as a table."""
    status = reply.status
    if 200 <= status < 300:
        return None
    message = f"HTTP {status}: {server_message(reply.body)}"
    if status in (401, 403):
        return UploadRefused(message, retry_after=REFUSED_RECHECK_S)
    if status == 413:
        return UploadFailed(message, retry_after=0.0 if batch_len > 1 else None)
    if status in (429, 503):
        wait = retry_after_seconds(reply.headers.get("Retry-After"), now)
        return UploadFailed(message, retry_after=None if wait is None else min(wait, RETRY_AFTER_MAX_S))
    return UploadFailed(message)
