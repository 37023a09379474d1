"""What a DGA reply means for the slot (pure).

Only ``status == "00"`` with a ``numeroComprobante`` is plain success. "Ya existe un
registro ... Comprobante: X" means the DGA already holds the measurement (usually a lost
reply): accepted with X, never resent. "Usuario no es el informante registrado en la Obra"
stops the work until a person fixes its credentials. ``"00"`` without a comprobante is held
for a person: it may well be stored, so resending is not safe. Anything else — another
status, a 5xx, no answer, an unreadable body — is retried on the following day. The GET check
by comprobante confirms the slot only if the DGA holds it with the values that were sent.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from compliance.outcome import Outcome, OutcomeKind
from compliance.transport import RawReply

_EXISTS = re.compile(r"ya\s+existe\s+un\s+registro", re.IGNORECASE)
_COMPROBANTE = re.compile(r"comprobante\s*(?:n[°º.o]*\s*)?[:=]?\s*[\"'«]?([A-Za-z0-9][A-Za-z0-9_\-/]*)", re.IGNORECASE)
_NOT_INFORMANT = re.compile(r"no\s+es\s+(?:el\s+)?informante", re.IGNORECASE)


def _plain(text: str) -> str:
    """Accents removed, so "Usuario no es el informante" matches however the DGA spells it."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def message_strings(body: Any) -> list[str]:
    """Every string in a reply body, each on its own (the message key varies between answers;
    keeping them apart stops a neighbouring field from being read as a comprobante)."""
    if isinstance(body, str):
        return [body]
    if isinstance(body, dict):
        return [text for value in body.values() for text in message_strings(value)]
    if isinstance(body, list):
        return [text for value in body for text in message_strings(value)]
    return []


def parse_existing_comprobante(message: str) -> str | None:
    """X from "Ya existe un registro ... Comprobante: X", or ``None`` if absent or unreadable."""
    text = _plain(message)
    exists = _EXISTS.search(text)
    if exists is None:
        return None
    found = _COMPROBANTE.search(text, exists.end())
    return found.group(1) if found else None


def _comprobante(body: dict) -> str | None:
    data = body.get("data")
    value = data.get("numeroComprobante") if isinstance(data, dict) else None
    if value is None:
        value = body.get("numeroComprobante")
    if isinstance(value, int | str) and not isinstance(value, bool) and str(value).strip():
        return str(value).strip()
    return None


def _classify_message(text: str) -> Outcome | None:
    if _EXISTS.search(text):
        comprobante = parse_existing_comprobante(text)
        if comprobante is None:
            detail = f"la DGA ya la tiene, pero no se pudo leer el comprobante: {text}"
            return Outcome(OutcomeKind.NEEDS_REVIEW, detail=detail)
        return Outcome(OutcomeKind.ACCEPTED, comprobante, detail=f"la DGA ya la tenía: {text}")
    if _NOT_INFORMANT.search(text):
        return Outcome(OutcomeKind.UNRECOVERABLE, detail=f"el informante no está registrado en la obra: {text}")
    return None


def classify(reply: RawReply) -> Outcome:
    """The :class:`Outcome` of a reply (see the module docstring for the rules)."""
    if reply.error is not None or reply.http_status is None:
        return Outcome(OutcomeKind.RETRY, answered=False, detail=f"sin respuesta: {reply.error}")
    body = reply.body_json
    if not isinstance(body, dict):
        detail = f"HTTP {reply.http_status} con un cuerpo ilegible: {reply.body_text[:200]!r}"
        return Outcome(OutcomeKind.RETRY, detail=detail)
    texts = [_plain(text) for text in message_strings(body)]
    for text in texts:
        by_message = _classify_message(text)
        if by_message is not None:
            return by_message
    summary = " | ".join(texts)
    if body.get("status") != "00":
        return Outcome(OutcomeKind.RETRY, detail=f"HTTP {reply.http_status}, status {body.get('status')!r}: {summary}")
    comprobante = _comprobante(body)
    if comprobante is None or not 200 <= reply.http_status < 300:
        detail = f"HTTP {reply.http_status}, status 00 sin un comprobante utilizable"
        return Outcome(OutcomeKind.NEEDS_REVIEW, comprobante, detail=detail)
    return Outcome(OutcomeKind.ACCEPTED, comprobante, detail=summary)


class CheckResult(StrEnum):
    CONFIRMED = "confirmed"  # the DGA holds this comprobante for this slot, with the values sent
    MISMATCH = "mismatch"  # it holds the slot under this comprobante, but with other values than those sent
    NOT_FOUND = "not_found"  # the DGA answered and does not hold it (or holds another slot)
    UNKNOWN = "unknown"  # no usable answer: check again later, never resend on this basis


CHECKED_FIELDS = ("caudal", "totalizador", "nivelFreaticoDelPozo", "alturaLimnimetrica")


@dataclass(frozen=True)
class Check:
    """A GET check's result and, for a mismatch, each differing field as ``name: sent X, held Y``."""

    result: CheckResult
    differences: tuple[str, ...] = ()


def _same(sent: str, held: Any) -> bool:
    """Equal as numbers when both read as numbers ("12.30" and 12.3 are the same flow), else as text."""
    try:
        return Decimal(str(sent)) == Decimal(str(held))
    except InvalidOperation:
        return str(sent).strip() == str(held).strip()


def differences(sent: Mapping[str, str], held: Mapping[str, Any]) -> tuple[str, ...]:
    """The measured fields whose value the DGA holds differently (a field it does not return is not judged)."""
    return tuple(
        f"{name}: enviado {sent[name]!r}, guardado {held[name]!r}"
        for name in CHECKED_FIELDS
        if name in sent and name in held and not _same(sent[name], held[name])
    )


def _held_record(reply: RawReply, fecha: str, hora: str) -> dict[str, Any] | None:
    data = reply.body_json.get("data") if isinstance(reply.body_json, dict) else None
    records = data if isinstance(data, list) else [data]
    year, month, day = fecha.split("-")
    dates = {fecha, f"{day}-{month}-{year}"}
    for record in records:
        if isinstance(record, dict) and record.get("fechaMedicion") in dates and record.get("horaMedicion") == hora:
            return record
    return None


def classify_check(reply: RawReply, fecha: str, hora: str, sent: Mapping[str, str] | None = None) -> Check:
    """Interpret the GET check for a slot whose ``fechaMedicion`` is ``fecha`` (YYYY-MM-DD) and whose
    measurement was ``sent`` (the formatted strings; ``None``: not known, values not compared).

    The DGA returns the date as DD-MM-YYYY; both spellings are compared.
    """
    if reply.error is not None or reply.http_status is None or not isinstance(reply.body_json, dict):
        return Check(CheckResult.UNKNOWN)
    if reply.http_status >= 500:
        return Check(CheckResult.UNKNOWN)
    record = _held_record(reply, fecha, hora)
    if record is None:
        return Check(CheckResult.NOT_FOUND)
    found = differences(sent or {}, record)
    return Check(CheckResult.MISMATCH, found) if found else Check(CheckResult.CONFIRMED)
