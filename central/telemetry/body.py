"""Read an ingest body within a size budget, inflating gzip without trusting it.

The budget (``max_body_bytes``) applies to the declared Content-Length, to the bytes as
they stream in, and to the inflated size of a gzip body. Inflation is incremental with
a cap on each step's output, so a gzip bomb (megabytes of zeros in a few kilobytes) is
refused after inflating at most the budget, never all of it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from starlette.requests import Request

from central.errors import ApiError

GZIP_WBITS = 16 + zlib.MAX_WBITS


def _too_large(limit: int, what: str) -> ApiError:
    return ApiError(413, f"el cuerpo de la solicitud supera los {limit} bytes{what}; envíe lotes más pequeños")


def _declared_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        raise ApiError(400, f"Content-Length {text!r} no es un número") from None


def encoding_of(request: Request) -> str:
    """``identity`` or ``gzip``; anything else is 415."""
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("", "identity"):
        return "identity"
    if encoding in ("gzip", "x-gzip"):
        return "gzip"
    raise ApiError(415, f"Content-Encoding {encoding!r} no se acepta; envíe identity o gzip")


async def read_body(request: Request, limit: int) -> bytes:
    """The (inflated) body, or 413/415/400 as soon as it is clear it cannot be accepted."""
    encoding = encoding_of(request)
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise _too_large(limit, "")
    if encoding == "gzip":
        return await _inflate(request.stream(), limit)
    return await _collect(request.stream(), limit)


async def _collect(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    parts, size = [], 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit, "")
        parts.append(chunk)
    return b"".join(parts)


async def _inflate(chunks: AsyncIterator[bytes], limit: int) -> bytes:
    inflater = zlib.decompressobj(GZIP_WBITS)
    parts, received, size = [], 0, 0
    try:
        async for chunk in chunks:
            received += len(chunk)
            if received > limit:
                raise _too_large(limit, "")
            pending = chunk
            while pending:
                out = inflater.decompress(pending, limit + 1 - size)
                size += len(out)
                if size > limit:
                    raise _too_large(limit, " una vez descomprimido")
                parts.append(out)
                pending = inflater.unconsumed_tail
    except zlib.error as exc:
        raise ApiError(400, f"el cuerpo no es gzip válido: {exc}") from None
    if not inflater.eof or inflater.unused_data:
        raise ApiError(400, "el cuerpo no es gzip válido: está cortado o le siguen bytes de más")
    return b"".join(parts)
