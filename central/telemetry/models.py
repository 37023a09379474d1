"""Request and response bodies of the telemetry routes (the OpenAPI document shows them)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from central.pagination import Page


class ReadingOut(BaseModel):
    ts: datetime
    variable: str
    value: float | None = Field(description="null: no value (the quality says why)")
    raw_value: float | None = Field(description="What the meter sent, when processing changed it (cut-off)")
    unit: str
    quality: str
    flags: list[str] = Field(description="Processing notes: cutoff, reset, derived")


class ReadingsPage(Page[ReadingOut]):
    """Paged by cursor, counted on request: a year of readings is too long to count for every page."""

    total: int | None = Field(ge=0, description="Readings in the whole range with ?total=true; null otherwise")
    offset: int = Field(description="Always 0: readings page by cursor")
    next_cursor: str | None = Field(default=None, description="Pass as ?cursor= for the next page; null at the end")


class BucketOut(BaseModel):
    start: datetime = Field(description="Inclusive, in the request's tz with its offset")
    end: datetime = Field(description="Exclusive, in the request's tz with its offset")
    flow_min_lps: float | None
    flow_max_lps: float | None
    flow_avg_lps: float | None
    volume_m3: float | None = Field(description="Extracted volume from totalizer increases; null without two readings")
    level_min_m: float | None
    level_max_m: float | None
    water_table_min_m: float | None
    water_table_max_m: float | None
    readings: int = Field(description="Stored rows in the bucket, every variable")
    missing_minutes: float = Field(description="Minutes of the bucket's past without a reading that has a value")


class AggregatesOut(BaseModel):
    point: str
    bucket: str
    tz: str
    interval_s: int
    items: list[BucketOut]


class LatestValue(BaseModel):
    ts: datetime
    value: float | None
    unit: str
    quality: str
    flags: list[str]
    age_s: float = Field(description="Seconds between the reading and the server's now")


class LatestPoint(BaseModel):
    point: str
    name: str
    variables: dict[str, LatestValue]


EARLIEST_METER_CHANGE = datetime(2000, 1, 1, tzinfo=UTC)


class MeterChangeIn(BaseModel):
    """A flowmeter swap or re-based totalizer: readings from ``ts`` on come from the new count."""

    model_config = ConfigDict(extra="forbid")

    ts: AwareDatetime
    old_final_m3: float | None = Field(default=None, ge=0, description="The old meter's last count, if known")
    new_base_m3: float = Field(ge=0, description="The new meter's count at ts")
    note: str = Field(default="", max_length=500)

    @field_validator("ts")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        """In UTC, and in this century: an earlier year is a typo (and 0001-01-01 with an
        offset is not even representable in UTC)."""
        try:
            value = value.astimezone(UTC)
        except OverflowError:
            raise ValueError("ts queda fuera de las horas representables") from None
        if value < EARLIEST_METER_CHANGE:
            raise ValueError(f"ts es anterior a {EARLIEST_METER_CHANGE.year}; un cambio de medidor es reciente")
        return value


class MeterChangeOut(BaseModel):
    id: int
    ts: datetime
    old_final_m3: float | None
    new_base_m3: float
    note: str
    recorded_by: str
    recorded_at: datetime
