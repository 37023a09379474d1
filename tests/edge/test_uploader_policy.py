"""The uploader's reply policy as tables: pure functions, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from edge.http import HttpReply
from edge.uplinkreply import classify, retry_after_seconds, server_message

NOW = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("120", 120.0),
        (" 0 ", 0.0),
        ("Sat, 28 Nov 2026 13:02:00 GMT", 120.0),
        ("Sat, 28 Nov 2026 12:00:00 GMT", 0.0),  # a date in the past: retry now
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None):
    assert retry_after_seconds(header, NOW) == seconds


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            b'{"error": {"status": 403, "code": "forbidden", "message": "point OB-9 is not assigned", "details": null}}',
            "point OB-9 is not assigned",
        ),
        (b'{"error": {"status": 500, "code": "error"}, "detail": "from a proxy"}', "from a proxy"),
        (b'{"detail": "unknown point OB-9"}', "unknown point OB-9"),
        (
            b'{"detail": [{"loc": ["body", "readings", 0], "msg": "bad"}]}',
            '[{"loc": ["body", "readings", 0], "msg": "bad"}]',
        ),
        (b"<html>Bad Gateway</html>", "<html>Bad Gateway</html>"),
        (b"[1, 2]", "[1, 2]"),
        (b"", "(no message)"),
        (b"x" * 500, "x" * 200),
    ],
)
def test_server_message(body: bytes, message: str):
    assert server_message(body) == message


@pytest.mark.parametrize(
    ("status", "headers", "batch_len", "expected"),
    [
        (200, {}, 10, None),
        (201, {}, 10, None),
        (401, {}, 10, ("UploadRefused", "HTTP 401: nope", 600.0)),
        (403, {}, 10, ("UploadRefused", "HTTP 403: nope", 600.0)),
        (413, {}, 10, ("UploadFailed", "HTTP 413: nope", 0.0)),
        (413, {}, 1, ("UploadFailed", "HTTP 413: nope", None)),  # cannot shrink further: back off
        (429, {"Retry-After": "30"}, 10, ("UploadFailed", "HTTP 429: nope", 30.0)),
        (503, {"Retry-After": "30"}, 10, ("UploadFailed", "HTTP 503: nope", 30.0)),
        (503, {"Retry-After": "86400"}, 10, ("UploadFailed", "HTTP 503: nope", 3600.0)),  # bounded
        (429, {}, 10, ("UploadFailed", "HTTP 429: nope", None)),
        (422, {}, 10, ("UploadFailed", "HTTP 422: nope", None)),
        (500, {"Retry-After": "30"}, 10, ("UploadFailed", "HTTP 500: nope", None)),
        (302, {}, 10, ("UploadFailed", "HTTP 302: nope", None)),
    ],
)
def test_classify(status: int, headers: dict[str, str], batch_len: int, expected: tuple[str, str, float | None] | None):
    failure = classify(HttpReply(status=status, headers=headers, body=b'{"detail": "nope"}'), NOW, batch_len)
    assert (None if failure is None else (type(failure).__name__, str(failure), failure.retry_after)) == expected
