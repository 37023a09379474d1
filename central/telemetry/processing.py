"""Processing applied at ingest ("procesamiento inteligente"), and the volume arithmetic.

Pure functions, no I/O. What the meters taught (docs/meters.md §12):

- near-zero flows of both signs are zero drift: a symmetric low-flow cut-off stores 0.0
  and keeps what the meter said in ``raw_value`` (flag ``cutoff``);
- a totalizer that goes down (a "net" totalizer, a reset) is flagged ``reset`` and never
  counted as negative volume;
- a meter swap re-bases the totalizer: it is recorded (``meter_changes``) and the volume
  across it is the old meter's last stretch plus the new meter's count from its base;
- ``water_table`` (depth to water) = sensor depth - ``level``, stored as its own variable
  (flag ``derived``) when the point has a sensor depth;
- the edge's quality is kept, and a reading without a value is stored: a gap is a fact.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime
from operator import itemgetter
from typing import NamedTuple

from central.telemetry.parse import Incoming
from protocols.uplink import Quality

CUTOFF = "cutoff"
RESET = "reset"
DERIVED = "derived"


class PointProfile(NamedTuple):
    """What processing needs to know about a point."""

    id: int
    code: str
    sensor_depth_m: float | None
    flow_cutoff_lps: float


class Processed(NamedTuple):
    """One reading ready to store: the ``readings`` row, in its column order (``ROW_COLUMNS``),
    and what alert evaluation reads. Derived readings carry no gateway ``seq``."""

    point_id: int
    ts: datetime
    variable: str
    value: float | None
    raw_value: float | None
    unit: str
    quality: Quality
    flags: str | None
    seq: int | None
    gateway_id: int | None = None
    received_at: datetime | None = None


ROW_COLUMNS = Processed._fields


class MeterChange(NamedTuple):
    ts: datetime
    old_final_m3: float | None
    new_base_m3: float


def apply_cutoff(value: float | None, cutoff_lps: float) -> tuple[float | None, float | None, str | None]:
    """(value, raw_value, flag): |flow| below the cut-off is 0.0, the meter's value kept as raw."""
    if value is None or value == 0.0 or abs(value) >= cutoff_lps:
        return value, None, None
    return 0.0, value, CUTOFF


def water_table(level_m: float | None, sensor_depth_m: float) -> float | None:
    """Depth from the surface to the water: the sensor's depth minus the water column above it."""
    return None if level_m is None else sensor_depth_m - level_m


def is_reset(previous_m3: float | None, current_m3: float | None) -> bool:
    """A totalizer that went down since the previous reading (net mode, reset or swap)."""
    return previous_m3 is not None and current_m3 is not None and current_m3 < previous_m3


def volume_between(previous_m3: float, current_m3: float, changes: Sequence[MeterChange] = ()) -> float:
    """Volume extracted between two totalizer readings, with any meter swaps between them.

    Without a swap, a decrease counts as nothing (it is flagged, not subtracted; the next
    reading counts from the lower value). Across swaps: the old meter from ``previous`` to
    its final count (unknown final: nothing more), each meter from its base, and the last
    meter from its base to ``current``.
    """
    volume, count = 0.0, previous_m3
    for change in sorted(changes, key=lambda c: c.ts):
        final = change.old_final_m3 if change.old_final_m3 is not None else count
        volume += max(0.0, final - count)
        count = change.new_base_m3
    return volume + max(0.0, current_m3 - count)


_KEY = itemgetter(2, 4, 3)  # an Incoming's (point, ts, variable)
# What ``Processed._make`` does, without its Python-level call, a large share of a row's cost
# (benchmarks/RESULTS.md, "Figures cited by the code").
_new = tuple.__new__


def unique_readings(readings: Sequence[Incoming]) -> Sequence[Incoming]:
    """The first of each (point, ts, variable): a batch repeating a reading stores it once.
    Batches almost never repeat one, so that is checked first, in one pass at C speed."""
    if len(set(map(_KEY, readings))) == len(readings):
        return readings
    seen: dict[tuple[str, datetime, str], Incoming] = {}
    for reading in readings:
        seen.setdefault(_KEY(reading), reading)
    return list(seen.values())


def reset_positions(
    readings: Sequence[Incoming], points: Mapping[str, PointProfile], last_totals: Mapping[int, float]
) -> set[int]:
    """Positions of the totalizer readings that went down: compared in time order with the
    point's previous count (the last stored one before the batch, then the batch's own)."""
    previous = dict(last_totals)
    totals = sorted((r.ts, i) for i, r in enumerate(readings) if r.variable == "totalizer" and r.value is not None)
    resets = set()
    for _, index in totals:
        reading = readings[index]
        point_id = points[reading.point].id
        if is_reset(previous.get(point_id), reading.value):
            resets.add(index)
        previous[point_id] = reading.value
    return resets


def processed_rows(
    readings: Sequence[Incoming],
    points: Mapping[str, PointProfile],
    last_totals: Mapping[int, float],
    gateway_id: int | None = None,
    received_at: datetime | None = None,
) -> Iterator[Processed]:
    """Every reading of a batch, processed, each followed by its derived water-table reading.

    ``points`` maps each code in the batch to its profile (the caller has checked that the
    gateway may write them); ``last_totals`` is each point's last stored totalizer count
    before the batch. Lazy, because this is the ingest hot path: ingest streams the rows
    into COPY, so this work overlaps with the database storing the rows already sent.
    """
    unique = unique_readings(readings)
    resets = reset_positions(unique, points, last_totals)
    for index, (seq, _device, code, variable, ts, value, unit, quality) in enumerate(unique):
        point_id, _code, depth, cutoff = points[code]
        raw_value, flag = None, None
        if variable == "flow" and cutoff > 0:
            value, raw_value, flag = apply_cutoff(value, cutoff)
        elif index in resets:
            flag = RESET
        yield _new(
            Processed, (point_id, ts, variable, value, raw_value, unit, quality, flag, seq, gateway_id, received_at)
        )
        if variable == "level" and depth is not None:
            yield _new(
                Processed,
                (
                    point_id,
                    ts,
                    "water_table",
                    water_table(value, depth),
                    None,
                    "m",
                    quality,
                    DERIVED,
                    None,
                    gateway_id,
                    received_at,
                ),
            )
