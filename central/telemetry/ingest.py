"""Store one ingest batch: all or nothing, idempotent on (point, ts, variable).

Order inside one transaction: the gateway's points (403 for any other), the previous
totalizer counts (reset flags), processing, the rows, the latest-reading table, a mark on
the hours touched (the rollup worker refreshes their summaries off the request path, see
:mod:`central.telemetry.rollup`), and the gateway's contact fields.

PostgreSQL COPYs the rows straight into ``readings``, and works out what they change
besides ``readings`` (:class:`Effects`) once the last row is sent, while the server is
still storing them. When some are already stored (a resend) that transaction fails and
the batch is stored again in a new one, whose rows go through a session-local staging
table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (the row count is what was
new); SQLite runs ``INSERT OR IGNORE`` over all rows and counts with ``total_changes()``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from operator import countOf, itemgetter
from typing import Any, NamedTuple

from central.core.auth import Gateway
from central.core.gateway_configs import record_report
from central.db import Connection, Database, IntegrityError
from central.telemetry import rollup
from central.telemetry.alerts import pending
from central.telemetry.checks import check_batch, check_points
from central.telemetry.parse import ParsedBatch
from central.telemetry.processing import ROW_COLUMNS, PointProfile, Processed, processed_rows

COLUMNS = ROW_COLUMNS
_COLUMN_LIST = ", ".join(COLUMNS)
_MEASURED = "variable <> 'water_table'"
# Column getters for the per-batch passes, which run at C speed with map/sorted/dict.
_POINT_ID, _TS, _VARIABLE = itemgetter(0), itemgetter(1), itemgetter(2)
_POINT_VARIABLE = itemgetter(0, 2)


class IngestResult(NamedTuple):
    stored: int
    duplicates: int
    point_ids: list[int]
    readings: list[Processed]


def ingest(db: Database, gateway: Gateway, batch: ParsedBatch, now: datetime, tolerance_s: float, *,
           mark_alerts: bool = False) -> IngestResult:
    """Check, process and store ``batch``; raises ``BatchRejected`` (nothing stored) if it cannot.

    ``mark_alerts``: also mark, in the same transaction, the points written for the alerts
    role (``CAUDAL_ALERT_EVALUATION=role``, :mod:`central.telemetry.alerts.pending`).

    Optimistic on PostgreSQL: the usual batch is all new, so its rows are COPied straight
    into ``readings``. A resend (some readings already stored) makes that COPY fail, and the
    batch is stored again in a new transaction that skips them (see :func:`store`): a second
    try that only resends pay, where a savepoint around every COPY cost every batch.
    """
    check_batch(batch, gateway.name, now, tolerance_s)
    try:
        return _ingest(db, gateway, batch, now, skip_known=False, mark_alerts=mark_alerts)
    except IntegrityError:
        return _ingest(db, gateway, batch, now, skip_known=True, mark_alerts=mark_alerts)


def _ingest(db: Database, gateway: Gateway, batch: ParsedBatch, now: datetime, *, skip_known: bool,
            mark_alerts: bool) -> IngestResult:
    with db.transaction() as conn:
        stored = nothing_stored()
        if batch.readings:
            points = assigned_points(conn, gateway.id)
            check_points(batch, gateway.name, points)
            rows = processed_rows(batch.readings, points, last_totals(conn, batch, points), gateway.id, now)
            stored = store(conn, rows, skip_known=skip_known)
        with conn.pipeline():  # what is left needs no answer: one round trip
            if stored.rows:
                update_latest(conn, stored.effects.newest)
            if stored.new:
                rollup.mark(conn, stored.effects.stale)
                if mark_alerts:
                    pending.mark(conn, pending.earliest_by_point(stored.effects.stale, at="lo"))
            record_contact(conn, gateway.id, batch, now)
        if batch.agent is not None and batch.agent.config is not None:  # its row count is read: not pipelined
            record_report(conn, gateway, batch.agent.config, now)
    return IngestResult(stored.new, len(batch.readings) - stored.new, stored.effects.point_ids, stored.rows)


def assigned_points(conn: Connection, gateway_id: int) -> dict[str, PointProfile]:
    rows = conn.fetchall(
        "SELECT p.id, p.code, p.sensor_depth_m, p.flow_cutoff_lps FROM points p"
        " JOIN gateway_points gp ON gp.point_id = p.id WHERE gp.gateway_id = :g",
        {"g": gateway_id},
    )
    return {row["code"]: PointProfile(row["id"], row["code"], row["sensor_depth_m"], row["flow_cutoff_lps"] or 0.0)
            for row in rows}


def last_totals(conn: Connection, batch: ParsedBatch, points: dict[str, PointProfile]) -> dict[int, float]:
    """Each point's last stored totalizer count before its first totalizer reading in the batch."""
    first: dict[str, datetime] = {}
    for code, ts in sorted(((r.point, r.ts) for r in batch.readings if r.variable == "totalizer"), reverse=True):
        first[code] = ts  # descending: each point's earliest is written last
    totals = {}
    for code, ts in first.items():
        value = conn.fetchval(
            "SELECT value FROM readings WHERE point_id = :p AND ts < :ts AND variable = 'totalizer'"
            " AND value IS NOT NULL ORDER BY ts DESC LIMIT 1",
            {"p": points[code].id, "ts": ts},
        )
        if value is not None:
            totals[points[code].id] = value
    return totals


class Effects(NamedTuple):
    """What stored rows change besides ``readings``, worked out from the rows alone."""

    newest: list[Processed]  # each (point, variable)'s newest row: for latest_readings
    stale: list[rollup.StaleHours]  # the hours whose summaries they change
    point_ids: list[int]


def effects_of(rows: Sequence[Processed]) -> Effects:
    return Effects(newest_readings(rows), rollup.stale_hours(rows), sorted(set(map(_POINT_ID, rows))))


class Stored(NamedTuple):
    rows: list[Processed]
    new: int  # how many of the gateway's own readings were not stored before
    effects: Effects


def nothing_stored() -> Stored:
    """A new empty result (its lists are the caller's to keep)."""
    return Stored([], 0, Effects([], [], []))


def store(conn: Connection, rows: Iterable[Processed], *, skip_known: bool) -> Stored:
    """Insert what is new of ``rows`` (consumed once; returned as a list) and work out their effects.

    Each ``Processed`` is already a row in ``COLUMNS`` order (its ``Quality`` is a ``str``
    subclass, stored as its text by both drivers). On PostgreSQL ``skip_known=False`` COPYs
    the rows straight into ``readings`` and raises ``IntegrityError`` if any is already there
    (the transaction is then lost); SQLite always skips them (``INSERT OR IGNORE``)."""
    if conn.dialect == "postgresql" and not skip_known:
        return _copy_all(conn, rows)
    rows = list(rows)
    if conn.dialect == "postgresql":
        return Stored(rows, _store_postgresql_skipping_known(conn, rows), effects_of(rows))
    return Stored(rows, _store_sqlite(conn, rows), effects_of(rows))


class _Sending:
    """The rows as COPY takes them (produced while it sends them, so processing overlaps
    the database storing the rows already sent); :meth:`settle`, which COPY calls once the
    last row is sent, sums them up while the database is still storing them."""

    def __init__(self, rows: Iterable[Processed]) -> None:
        self._rows = rows
        self.sent: list[Processed] = []
        self.stored = nothing_stored()

    def __iter__(self) -> Iterator[Processed]:
        append = self.sent.append
        for row in self._rows:
            append(row)
            yield row

    def settle(self) -> None:
        sent = self.sent
        self.stored = Stored(sent, len(sent) - countOf(map(_VARIABLE, sent), "water_table"), effects_of(sent))


def _copy_all(conn: Connection, rows: Iterable[Processed]) -> Stored:
    sending = _Sending(rows)
    conn.copy_rows("readings", COLUMNS, sending, meanwhile=sending.settle)
    return sending.stored


def _store_postgresql_skipping_known(conn: Connection, rows: Sequence[Processed]) -> int:
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS readings_staging (LIKE readings) ON COMMIT DELETE ROWS")
    conn.copy_rows("readings_staging", COLUMNS, rows)
    return conn.fetchval(
        f"WITH moved AS (INSERT INTO readings ({_COLUMN_LIST}) SELECT {_COLUMN_LIST} FROM readings_staging"
        " ON CONFLICT DO NOTHING RETURNING variable)"
        f" SELECT COUNT(*) FROM moved WHERE {_MEASURED}"
    )


def _store_sqlite(conn: Connection, rows: Sequence[Processed]) -> int:
    insert = f"INSERT OR IGNORE INTO readings ({_COLUMN_LIST}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
    measured = [row._asdict() for row in rows if row.variable != "water_table"]
    derived = [row._asdict() for row in rows if row.variable == "water_table"]
    before = conn.fetchval("SELECT total_changes()")
    conn.executemany(insert, measured)
    stored = conn.fetchval("SELECT total_changes()") - before
    conn.executemany(insert, derived)
    return stored


def newest_readings(readings: Sequence[Processed]) -> list[Processed]:
    """Each (point, variable)'s newest reading."""
    by_time = sorted(readings, key=_TS)  # nearly sorted already: one linear pass
    return list(dict(zip(map(_POINT_VARIABLE, by_time), by_time, strict=True)).values())  # the last, newest, of each key wins


def update_latest(conn: Connection, newest: Sequence[Processed]) -> None:
    """Move each (point, variable)'s latest reading forward to ``newest`` (never back, for late backlogs)."""
    conn.executemany(
        "INSERT INTO latest_readings (point_id, variable, ts, value, unit, quality, flags)"
        " VALUES (:point_id, :variable, :ts, :value, :unit, :quality, :flags)"
        " ON CONFLICT (point_id, variable) DO UPDATE SET ts = excluded.ts, value = excluded.value,"
        " unit = excluded.unit, quality = excluded.quality, flags = excluded.flags"
        " WHERE excluded.ts > latest_readings.ts",
        [{"point_id": r.point_id, "variable": r.variable, "ts": r.ts, "value": r.value, "unit": r.unit,
          "quality": r.quality.value, "flags": r.flags} for r in newest],
    )


def record_contact(conn: Connection, gateway_id: int, batch: ParsedBatch, now: datetime) -> None:
    """Last seen, clock offset (gateway minus server: sent_at - now, seconds) and what the agent reports."""
    params: dict[str, Any] = {"g": gateway_id, "now": now, "offset": (batch.sent_at - now).total_seconds()}
    agent_columns = ""
    if batch.agent is not None:
        agent_columns = (", agent_version = :version, buffer_depth = :depth, oldest_unsent_s = :oldest,"
                         " dropped_total = :dropped, clock_synced = :synced")
        params.update(version=batch.agent.version, depth=batch.agent.buffer_depth,
                      oldest=batch.agent.oldest_unsent_s, dropped=batch.agent.dropped_total,
                      synced=batch.agent.clock_synced)
    conn.execute(f"UPDATE gateways SET last_seen_at = :now, clock_offset_s = :offset{agent_columns} WHERE id = :g",
                 params)
