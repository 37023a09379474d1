"""What an SMA reply means (pure). The ``IdVerificacion`` of a success is the voucher kept."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from compliance.transport import RawReply


class SmaOutcomeKind(StrEnum):
    ACCEPTED = "accepted"
    NEEDS_REVIEW = "needs_review"  # 2xx without a voucher: may be stored, do not resend blindly
    REJECTED = "rejected"  # 400: the payload is wrong; a person must look
    AUTH_FAILED = "auth_failed"  # 401/403 even after a fresh token
    RETRY = "retry"  # 5xx, no answer, unreadable body


@dataclass(frozen=True)
class SmaOutcome:
    kind: SmaOutcomeKind
    id_verificacion: str | None = None
    detail: str = ""


def find_key(body: Any, key: str) -> Any | None:
    """The first value under ``key`` (case-insensitive) anywhere in a JSON body."""
    if isinstance(body, dict):
        for name, value in body.items():
            if name.lower() == key.lower():
                return value
        found = (find_key(value, key) for value in body.values())
        return next((value for value in found if value is not None), None)
    if isinstance(body, list):
        return next((v for v in (find_key(item, key) for item in body) if v is not None), None)
    return None


def classify_sma(reply: RawReply) -> SmaOutcome:
    """The :class:`SmaOutcome` of a ``registros`` reply."""
    if reply.error is not None or reply.http_status is None:
        return SmaOutcome(SmaOutcomeKind.RETRY, detail=f"sin respuesta: {reply.error}")
    status = reply.http_status
    detail = f"HTTP {status}: {reply.body_text[:300]}"
    if 200 <= status < 300:
        voucher = find_key(reply.body_json, "IdVerificacion")
        if isinstance(voucher, int | str) and not isinstance(voucher, bool) and str(voucher).strip():
            return SmaOutcome(SmaOutcomeKind.ACCEPTED, str(voucher).strip(), detail)
        return SmaOutcome(SmaOutcomeKind.NEEDS_REVIEW, detail=detail)
    if status == 400:
        return SmaOutcome(SmaOutcomeKind.REJECTED, detail=detail)
    if status in (401, 403):
        return SmaOutcome(SmaOutcomeKind.AUTH_FAILED, detail=detail)
    return SmaOutcome(SmaOutcomeKind.RETRY, detail=detail)
