"""Turn an ingest body into validated readings, fast, with errors that name the reading.

``protocols.uplink.Batch`` is the authority on what is valid, but validating a whole body
with it (``model_validate_json``) costs several times what the hot path below does (the
figures: benchmarks/RESULTS.md, "Figures cited by the code"). So the hot path decodes with
msgspec and checks the readings with plain Python that is never more lenient than the model
(``tests/central/test_ingest_parse.py`` checks that property); anything it does not accept
goes through the model in strict mode (a number written as text is an error), which then
either accepts it or produces the error.

Why msgspec: it decodes straight into :class:`RawReading` structs (no dict per reading)
and its types already refuse what is plainly wrong (text where a number goes, a missing
or unknown field, a quality outside the enum, a negative ``seq``), and does it in well under
the time of ``orjson.loads`` into dicts (the figures: benchmarks/RESULTS.md, "Figures cited
by the code"). What msgspec would let through and the model might not (integers past 2**53
as floats, its own datetime formats, the header) is kept raw for the checks below and
the model.

Invalid UTF-8 and bare NaN/Infinity literals, which msgspec refuses outright, are
diagnosed so that the message still names the reading.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import repeat
from operator import attrgetter, is_, methodcaller
from typing import Annotated, Any, NamedTuple

import msgspec
from pydantic import ValidationError
from pydantic_core import from_json

from central.messages_es import problem as spanish
from protocols.uplink import MAX_BATCH_READINGS, AgentStatus, Batch, Quality

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]*")
_VARIABLE = re.compile(r"[a-z][a-z0-9_]*")
_TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})"
_TIMESTAMPS = re.compile(rf"(?:{_TIMESTAMP}\n)*{_TIMESTAMP}")
_TO_UTC = methodcaller("astimezone", UTC)
_HAS_VALUE = {quality: quality.has_value for quality in Quality}
MAX_REPORTED_PROBLEMS = 20


class Incoming(NamedTuple):
    """One validated reading as the gateway sent it (``ts`` in UTC)."""

    seq: int
    device: str
    point: str
    variable: str
    ts: datetime
    value: float | None
    unit: str
    quality: Quality


class ParsedBatch(NamedTuple):
    gateway: str
    sent_at: datetime
    agent: AgentStatus | None
    readings: list[Incoming]


@dataclass
class BatchRejected(Exception):
    """The batch cannot be stored: ``status`` (403/413/422...), a message naming the first
    problem, and ``problems``: ``{"index", "seq", "field", "problem"}`` for each one found."""

    status: int
    message: str
    problems: list[dict[str, Any]] = field(default_factory=list)

    def __str__(self) -> str:
        return self.message


def problem(index: int | None, seq: int | None, field_name: str | None, text: str) -> dict[str, Any]:
    return {"index": index, "seq": seq, "field": field_name, "problem": text}


def describe(item: dict[str, Any]) -> str:
    """``readings[3] (seq 1044) value: ...`` or ``gateway: ...``."""
    where = f"readings[{item['index']}]" if item["index"] is not None else ""
    if item["seq"] is not None:
        where += f" (seq {item['seq']})"
    if item["field"]:
        where = f"{where} {item['field']}" if where else item["field"]
    return f"{where}: {item['problem']}" if where else item["problem"]


def rejected(status: int, problems: list[dict[str, Any]]) -> BatchRejected:
    """A rejection whose message is the first problem (and how many more there are)."""
    more = f" (y {len(problems) - 1} más)" if len(problems) > 1 else ""
    return BatchRejected(status, describe(problems[0]) + more, problems[:MAX_REPORTED_PROBLEMS])


# --- the fast path --------------------------------------------------------------------------


class RawReading(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """One reading as msgspec decodes it, before the checks msgspec cannot make as the model does.

    ``ts`` stays text: msgspec's datetime parser accepts forms the model refuses (no offset)
    and rounds where the model truncates. ``value`` keeps a JSON integer an ``int``, because
    a ``float`` field would convert it silently, even past 2**53. No per-reading dict.
    """

    seq: Annotated[int, msgspec.Meta(ge=0)]
    device: str
    point: str
    variable: str
    ts: str
    value: float | int | None
    unit: str
    quality: Quality = Quality.GOOD


_ABSENT = msgspec.Raw()


class _Body(msgspec.Struct, forbid_unknown_fields=True):
    """The header fields stay raw JSON for the model to judge; ``schema_version`` goes to the model path."""

    schema: msgspec.Raw = _ABSENT
    gateway: msgspec.Raw = _ABSENT
    sent_at: msgspec.Raw = _ABSENT
    agent: msgspec.Raw = _ABSENT
    readings: Annotated[list[RawReading], msgspec.Meta(max_length=MAX_BATCH_READINGS)] = []


_DECODER = msgspec.json.Decoder(_Body)
_HEADER_FIELDS = ("schema", "gateway", "sent_at", "agent")
_RAW_HEADER = attrgetter(*_HEADER_FIELDS)
# msgspec raises UnicodeDecodeError for invalid UTF-8 in text (not in a Raw: the model reads
# the header) and RecursionError for deep nesting
_UNDECODABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)


def _name_ok(text: str) -> bool:
    return len(text) <= 64 and _NAME.fullmatch(text) is not None


def _variable_ok(text: str) -> bool:
    return len(text) <= 32 and _VARIABLE.fullmatch(text) is not None


def _unit_ok(unit: str) -> bool:
    return len(unit) <= 16


def _timestamps(stamps: tuple[str, ...]) -> dict[str, datetime] | None:
    """Each distinct time, in UTC, if all have the ISO 8601 shape with an offset that the
    model reads the same way; one regex pass over them all (none may hold the separator)."""
    distinct = list(set(stamps))
    joined = "\n".join(distinct)
    if joined.count("\n") != len(distinct) - 1 or _TIMESTAMPS.fullmatch(joined) is None:
        return None
    try:
        return dict(zip(distinct, map(_TO_UTC, map(datetime.fromisoformat, distinct)), strict=True))
    except (ValueError, OverflowError):  # the model then names the field
        return None


def _distinct_ok(column: tuple[str, ...], check: Callable[[str], bool]) -> bool:
    """Values repeat across a batch (devices, points, variables, units): check each once."""
    return all(map(check, set(column)))


_Texts = tuple[str, ...]


def _texts_ok(devices: _Texts, points: _Texts, variables: _Texts, units: _Texts) -> bool:
    return (
        _distinct_ok(devices, _name_ok)
        and _distinct_ok(points, _name_ok)
        and _distinct_ok(variables, _variable_ok)
        and _distinct_ok(units, _unit_ok)
    )


def _numbers(values: tuple[float | int | None, ...]) -> Sequence[float | None] | None:
    """Floats or nulls: integers become floats as the model makes them, up to 2**53 (the
    model decides beyond). msgspec refuses NaN, infinity and numbers out of float range."""
    if int not in set(map(type, values)):
        return values
    if any(type(value) is int and abs(value) >= 2**53 for value in values):
        return None
    return [float(value) if type(value) is int else value for value in values]


def _values_match(values: Sequence[float | None], qualities: tuple[Quality, ...]) -> bool:
    """Only a quality that has a value carries one. Usually every reading is alike (all
    carry values, all have qualities that need one): then that is one comparison."""
    nulls = set(map(is_, values, repeat(None)))
    needs_value = {_HAS_VALUE[quality] for quality in set(qualities)}
    if len(nulls) == 1 and len(needs_value) == 1:
        return nulls != needs_value
    pairs = set(zip(map(is_, values, repeat(None)), qualities, strict=True))
    return all(is_null is not _HAS_VALUE[quality] for is_null, quality in pairs)


_COLUMNS = tuple(map(attrgetter, RawReading.__struct_fields__))


def fast_readings(readings: list[RawReading]) -> list[Incoming] | None:
    """Every reading if all are plainly valid, else None (the model then decides).

    Column-wise, because repeated values (names, units, timestamps shared by several
    variables) are then checked once per batch; one column at a time, because a tuple per
    reading would only feed the garbage collector.
    """
    if not readings:
        return []
    seqs, devices, points, variables, stamps, raw_values, units, qualities = (
        tuple(map(column, readings)) for column in _COLUMNS
    )
    if not _texts_ok(devices, points, variables, units):
        return None
    values = _numbers(raw_values)
    if values is None or not _values_match(values, qualities):
        return None
    times = _timestamps(stamps)
    if times is None:
        return None
    columns = zip(
        seqs, devices, points, variables, map(times.__getitem__, stamps), values, units, qualities, strict=True
    )
    return list(map(tuple.__new__, repeat(Incoming), columns))


def _header(document: _Body) -> Batch | None:
    """The model judges the header fields from their JSON text as sent (header only: tiny)."""
    members = [
        b'"%s":%s' % (name.encode(), raw)
        for name, raw in zip(_HEADER_FIELDS, _RAW_HEADER(document), strict=True)
        if raw
    ]
    try:
        return Batch.model_validate_json(b"{%s}" % b",".join(members), strict=True)
    except ValidationError:
        return None


def fast_parse(body: bytes) -> ParsedBatch | None:
    """The batch if msgspec decodes it and every reading is plainly valid, else None.

    Never more lenient than the model: anything msgspec refuses, and anything its types
    let through that the model might not, is left to the model.
    """
    try:
        document = _DECODER.decode(body)
    except _UNDECODABLE:
        return None
    header = _header(document)
    readings = fast_readings(document.readings) if header is not None else None
    return None if readings is None else ParsedBatch(header.gateway, header.sent_at, header.agent, readings)


def parse_batch(body: bytes) -> ParsedBatch:
    """Validate an ingest body; raises :class:`BatchRejected` (422) naming what is wrong."""
    parsed = fast_parse(body)
    if parsed is not None:
        return parsed
    try:
        document = msgspec.json.decode(body)
    except _UNDECODABLE:
        return _parse_undecodable(body)
    return _from_model(body, document)


# --- the model path: the authority, and the error messages ----------------------------------


def _from_model(body: bytes, document: Any) -> ParsedBatch:
    """Strict: a number written as text is an error, not a number."""
    try:
        batch = Batch.model_validate_json(body, strict=True)
    except ValidationError as exc:
        raise rejected(422, validation_problems(exc, document)) from None
    readings = [
        Incoming(r.seq, r.device, r.point, r.variable, r.ts, r.value, r.unit, r.quality) for r in batch.readings
    ]
    return ParsedBatch(batch.gateway, batch.sent_at, batch.agent, readings)


def _seq_of(document: Any, index: int) -> int | None:
    try:
        seq = document["readings"][index]["seq"]
    except (KeyError, IndexError, TypeError):
        return None
    return seq if type(seq) is int else None


def validation_problems(exc: ValidationError, document: Any) -> list[dict[str, Any]]:
    """Pydantic's errors as problems: ``loc`` ``("readings", 3, "value")`` -> index 3, its seq, field value."""
    problems = []
    for error in exc.errors():
        loc = list(error.get("loc", ()))
        message = spanish(error)
        if len(loc) >= 2 and loc[0] == "readings" and isinstance(loc[1], int):
            index = loc[1]
            field_name = ".".join(str(part) for part in loc[2:]) or None
            problems.append(problem(index, _seq_of(document, index), field_name, message))
        else:
            problems.append(problem(None, None, ".".join(str(part) for part in loc) or None, message))
    return problems


def _parse_undecodable(body: bytes) -> ParsedBatch:
    """msgspec refused the body: invalid UTF-8, NaN/Infinity literals, too deep, or not JSON at all."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _utf8_problem(body, exc) from None
    # pydantic's parser reads NaN/Infinity, so the model's finite-value check names the reading
    try:
        document = from_json(body, allow_inf_nan=True)
    except ValueError:
        document = None
    return _from_model(body, document)


def _utf8_problem(body: bytes, exc: UnicodeDecodeError) -> BatchRejected:
    repaired = body.decode("utf-8", errors="replace")
    try:
        document = msgspec.json.decode(repaired)
    except (msgspec.DecodeError, RecursionError):
        return rejected(422, [problem(None, None, None, f"el cuerpo no es UTF-8 válido (byte {exc.start})")])
    if isinstance(document, dict):
        readings = document.get("readings")
        for index, reading in enumerate(readings if isinstance(readings, list) else []):
            name = _mangled_field(reading)
            if name is not None:
                return rejected(422, [problem(index, _seq_of(document, index), name, "UTF-8 no válido en el texto")])
        name = _mangled_field(document)
        if name is not None:
            return rejected(422, [problem(None, None, name, "UTF-8 no válido en el texto")])
    return rejected(422, [problem(None, None, None, f"el cuerpo no es UTF-8 válido (byte {exc.start})")])


def _mangled_field(item: Any) -> str | None:
    """The first text field holding a replacement character (where the bad bytes were)."""
    for name, value in item.items() if isinstance(item, dict) else ():
        if isinstance(value, str) and "\ufffd" in value:
            return name
    return None
