"""The edge -> central wire schema (``POST /api/v1/ingest``), version 1.

One set of pydantic models used by both sides: the edge builds a :class:`Batch`, the
central server validates it. ``seq`` is the edge buffer's monotonic id; ``ts`` is when the
value was read (UTC) and is never re-stamped on resend. A failed read travels with
``value: null`` and a failure quality, so a gap is a recorded fact, never a zero.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

SCHEMA_VERSION: Literal[1] = 1
MAX_BATCH_READINGS = 5000
# The central server refuses readings dated before this (a clock that was never set): the agent
# does not poll while its clock reads earlier (a gateway without RTC booting at 1970 before NTP).
EARLIEST_READING = datetime(2000, 1, 1, tzinfo=UTC)
INGEST_PATH = "/api/v1/ingest"
ASSIGNED_POINTS_PATH = "/api/v1/ingest/points"
CONFIG_PATH = "/api/v1/ingest/config"

Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")]
Variable = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z][a-z0-9_]*$")]


class Quality(StrEnum):
    """How far a reading can be trusted. Only ``good`` and ``clock_unsynced`` carry a value."""

    GOOD = "good"
    CLOCK_UNSYNCED = "clock_unsynced"  # value read, but the gateway clock was not synchronised
    TIMEOUT = "timeout"  # the device did not answer
    DEVICE_ERROR = "device_error"  # Modbus exception or transport error
    DECODE_ERROR = "decode_error"  # NaN, infinity or an impossible word pattern
    OUT_OF_RANGE = "out_of_range"  # e.g. a 4-20 mA loop below 3.8 mA: sensor fault

    @property
    def has_value(self) -> bool:
        return self in (Quality.GOOD, Quality.CLOCK_UNSYNCED)


def as_utc(value: datetime) -> datetime:
    """``value`` in UTC; one that UTC cannot hold (0001-01-01 at +01:00) is a ValueError."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value.isoformat()} queda fuera de las horas representables en UTC") from None


UtcDatetime = Annotated[AwareDatetime, AfterValidator(as_utc)]


class Reading(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    seq: int = Field(ge=0)
    device: Name
    point: Name
    variable: Variable
    ts: UtcDatetime
    value: float | None
    unit: str = Field(max_length=16)
    quality: Quality = Quality.GOOD

    @field_validator("value")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("value debe ser un número finito o null (NaN e infinito viajan como una calidad)")
        return value

    @model_validator(mode="after")
    def _value_matches_quality(self) -> Reading:
        if self.quality.has_value and self.value is None:
            raise ValueError(f"la calidad {self.quality.value!r} necesita un valor")
        if not self.quality.has_value and self.value is not None:
            raise ValueError(f"la calidad {self.quality.value!r} debe llevar value null")
        return self


ConfigSource = Literal["local", "central"]


class ConfigReport(BaseModel):
    """What the agent runs, and what became of the last configuration it received (applied,
    refused with its errors, rolled back): part of :class:`AgentStatus`, so every batch and
    every heartbeat carries it and a rollback reaches the server with the next upload."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"source": "central", "running_version": 3, "result": "applied version 3"}]},
    )

    source: ConfigSource
    running_version: int | None = Field(default=None, ge=1)
    result: str = Field(max_length=2000)


class AgentStatus(BaseModel):
    """What the gateway reports about itself with every batch (and every heartbeat)."""

    model_config = ConfigDict(extra="forbid")

    version: str = Field(max_length=32)
    buffer_depth: int = Field(ge=0)
    oldest_unsent_s: float | None = Field(default=None, ge=0)
    dropped_total: int = Field(default=0, ge=0)
    clock_synced: bool = True
    config: ConfigReport | None = None


class Batch(BaseModel):
    """One upload. An empty ``readings`` list is a heartbeat."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    schema_version: Literal[1] = Field(default=SCHEMA_VERSION, alias="schema")
    gateway: Name
    sent_at: UtcDatetime
    readings: list[Reading] = Field(default_factory=list, max_length=MAX_BATCH_READINGS)
    agent: AgentStatus | None = None

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


# A reading as the edge buffer stores it: seq, device, point, variable, ts (UTC epoch
# microseconds), value, unit, quality (its text). Valid by construction: the buffer checks
# every reading against :class:`Reading` when it is appended.
StoredRow = tuple[int, str, str, str, int, float | None, str, str]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def readings_json(rows: Sequence[StoredRow]) -> bytes:
    """The ``readings`` array of a batch, written straight from stored rows.

    The same document :meth:`Batch.to_json` writes for those readings (the server parses
    either alike: ``tests/protocols/test_uplink_rows.py``), without building a model per row:
    a backlog drain spent most of the agent's CPU doing that. It is also byte for byte what
    ``json.dumps`` writes for the rows as objects, at less than half its cost: the texts of a
    reading (device, point, variable, unit, quality) repeat from poll to poll and readings of
    one poll share their ``ts``, so each distinct one is encoded once and a row is one ``%``.
    """
    stamps: dict[int, str] = {}
    texts: dict[tuple[str, str, str, str, str], tuple[str, str, str, str, str]] = {}
    items = []
    for seq, device, point, variable, ts_us, value, unit, quality in rows:
        ts = stamps.get(ts_us)
        if ts is None:
            ts = stamps[ts_us] = f'"{(_EPOCH + timedelta(microseconds=ts_us)).isoformat().replace("+00:00", "Z")}"'
        key = (device, point, variable, unit, quality)
        text = texts.get(key)
        if text is None:
            text = texts[key] = (_STRING(device), _STRING(point), _STRING(variable), _STRING(unit), _STRING(quality))
        items.append(_READING % (seq, text[0], text[1], text[2], ts, _number(value), text[3], text[4]))
    return f"[{','.join(items)}]".encode()


_STRING = json.encoder.encode_basestring_ascii  # what json.dumps writes for a str (ensure_ascii)
_READING = '{"seq":%d,"device":%s,"point":%s,"variable":%s,"ts":%s,"value":%s,"unit":%s,"quality":%s}'


def _number(value: float | None) -> str:
    """A value as ``json.dumps(..., allow_nan=False)`` writes it (a float's shortest repr)."""
    if value.__class__ is float and math.isfinite(value):
        return repr(value)
    return json.dumps(value, allow_nan=False)


def batch_header_json(gateway: str, sent_at: datetime, agent: AgentStatus | None) -> bytes:
    """The rest of a batch document after its ``readings``: ``"schema":1,...}`` (see :func:`readings_json`)."""
    header = {
        "schema": SCHEMA_VERSION,
        "gateway": gateway,
        "sent_at": as_utc(sent_at).isoformat().replace("+00:00", "Z"),
        "agent": None if agent is None else agent.model_dump(mode="json"),
    }
    return json.dumps(header, separators=(",", ":"))[1:].encode()


class IngestReply(BaseModel):
    """The server's answer: the edge deletes from its buffer only what a 2xx covered.

    ``config_version`` is the configuration version published for the gateway (None: none);
    an agent that takes its configuration from the server fetches it when it differs from its own.
    """

    stored: int = Field(ge=0)
    duplicates: int = Field(ge=0)
    server_time: AwareDatetime
    config_version: int | None = None


class PublishedConfig(BaseModel):
    """``GET /api/v1/ingest/config``: the configuration the server publishes for the calling gateway
    (its buses and devices as YAML; ``version`` None when none is published)."""

    gateway: Name
    version: int | None = None
    document: str | None = None


class AssignedPoints(BaseModel):
    """``GET /api/v1/ingest/points``: the points the calling gateway may report (``caudal edge check --online``)."""

    gateway: Name
    points: list[str]
