"""Store one ingest batch: all or nothing, idempotent on (point, ts, variable).

Order inside one transaction, on one pooled connection: the gateway of the token (401
before the body is parsed), the batch, the gateway's points (403 for any other) with their
previous totalizer counts (reset flags) in one query, processing, the rows, the
latest-reading table, a mark on the hours touched (the rollup worker refreshes their
summaries off the request path, see :mod:`central.telemetry.rollup`), and the gateway's
contact fields (which return the configuration version published for it).

PostgreSQL COPYs the rows straight into ``readings``, and works out what they change
besides ``readings`` (:class:`Effects`) once the last row is sent, while the server is
still storing them. A small batch (up to :data:`PIPELINED_READINGS`, what a fleet's
gateways send every minute) goes instead as one INSERT of its rows as JSON in the same
pipeline as the latest readings, the marks and the contact fields: one round trip for all. When some are already stored (a resend) that transaction fails and
the batch is stored again in a new one, whose rows go through a session-local staging
table and one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (the row count is what was
new); SQLite runs ``INSERT OR IGNORE`` over all rows and counts with ``total_changes()``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from operator import countOf, itemgetter
from typing import Any, NamedTuple

import msgspec

from central.core.auth.models import Gateway
from central.core.gateway_configs.service import record_report
from central.db import Connection, Database, IntegrityError
from central.telemetry import rollup
from central.telemetry.alerts import pending
from central.telemetry.checks import check_batch, check_points
from central.telemetry.parse import ParsedBatch, parse_batch
from central.telemetry.processing import ROW_COLUMNS, PointProfile, Processed, processed_rows
from central.telemetry.stored import last_value_sql

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
    config_version: int | None  # published for the gateway: the agent fetches a version new to it


Authenticate = Callable[[Connection], Gateway]


def ingest(
    db: Database,
    authenticate: Authenticate,
    body: bytes,
    now: datetime,
    tolerance_s: float,
    *,
    mark_alerts: bool = False,
) -> IngestResult:
    """Authenticate, parse, check, process and store ``body``, all in one transaction on one
    connection from the pool (a fleet's small batches paid a pool checkout and a round trip
    for each of these). ``authenticate`` maps the connection to the token's gateway or raises
    (a 401 comes before the body is parsed); raises ``BatchRejected`` (nothing stored) if the
    batch cannot be stored.

    ``mark_alerts``: also mark, in the same transaction, the points written for the alerts
    role (``CAUDAL_ALERT_EVALUATION=role``, :mod:`central.telemetry.alerts.pending`).

    Optimistic on PostgreSQL: the usual batch is all new, so its rows are COPied straight
    into ``readings``. A resend (some readings already stored) makes that COPY fail, and the
    batch is stored again in a new transaction that skips them (see :func:`store`): a second
    try that only resends pay, where a savepoint around every COPY cost every batch.
    """
    parsed: list[ParsedBatch] = []  # parsed once, kept for a second try
    try:
        return _ingest(db, authenticate, body, parsed, now, tolerance_s, skip_known=False, mark_alerts=mark_alerts)
    except IntegrityError:
        return _ingest(db, authenticate, body, parsed, now, tolerance_s, skip_known=True, mark_alerts=mark_alerts)


def _ingest(
    db: Database,
    authenticate: Authenticate,
    body: bytes,
    parsed: list[ParsedBatch],
    now: datetime,
    tolerance_s: float,
    *,
    skip_known: bool,
    mark_alerts: bool,
) -> IngestResult:
    with db.transaction() as conn:
        gateway = authenticate(conn)
        if not parsed:
            parsed.append(parse_batch(body))
        batch = parsed[0]
        check_batch(batch, gateway.name, now, tolerance_s)
        stored, rows = nothing_stored(), None
        if batch.readings:
            points, totals = points_and_last_totals(conn, gateway.id, batch)
            check_points(batch, gateway.name, points)
            rows = processed_rows(batch.readings, points, totals, gateway.id, now)
            if skip_known or not _rides_pipeline(conn, batch):
                stored, rows = store(conn, rows, skip_known=skip_known), None
        with conn.pipeline():  # what is left is sent at once, one answer read at the end: one round trip
            if rows is not None:
                stored = insert_pipelined(conn, rows)
            if stored.rows:
                update_latest(conn, stored.effects.newest)
            if stored.new:
                rollup.mark(conn, stored.effects.stale)
                if mark_alerts:
                    pending.mark(conn, pending.earliest_by_point(stored.effects.stale, at="lo"))
            contact = record_contact(conn, gateway.id, batch, now)
        report = None if batch.agent is None else batch.agent.config
        if report is not None and _stored_report(contact) != (report.source, report.running_version, report.result):
            record_report(conn, gateway, report, now)  # only when it changed: most batches repeat the last one
    return IngestResult(
        stored.new,
        len(batch.readings) - stored.new,
        stored.effects.point_ids,
        stored.rows,
        None if contact is None else contact["config_published"],
    )


def _stored_report(contact: dict[str, Any] | None) -> tuple[str | None, int | None, str | None]:
    if contact is None:
        return None, None, None
    return contact["config_source"], contact["config_running"], contact["config_result"]


_ASSIGNED = (
    "SELECT p.id, p.code, p.sensor_depth_m, p.flow_cutoff_lps{last_total} FROM points p"
    " JOIN gateway_points gp ON gp.point_id = p.id{first} WHERE gp.gateway_id = :g"
)
_LATEST_TOTAL = ", lr.ts AS latest_ts, lr.value AS latest_total"
_LATEST_JOIN = (
    " LEFT JOIN f ON f.code = p.code"
    " LEFT JOIN latest_readings lr ON lr.point_id = p.id AND lr.variable = 'totalizer' AND f.code IS NOT NULL"
)


def assigned_points(conn: Connection, gateway_id: int) -> dict[str, PointProfile]:
    return _profiles(conn.fetchall(_ASSIGNED.format(last_total="", first=""), {"g": gateway_id}))


def points_and_last_totals(
    conn: Connection, gateway_id: int, batch: ParsedBatch
) -> tuple[dict[str, PointProfile], dict[int, float]]:
    """The gateway's points, and each one's last stored totalizer count before its first
    totalizer reading in the batch (compacted hours included), in one query.

    The usual batch follows the last one: its first totalizer reading is newer than the point's
    latest (``latest_readings``, one row per point and variable), and that latest is the count
    sought. Only a batch that reaches back before it (a late backlog, a resend) pays a second
    query that searches the stored readings, partitions and compacted hours, for those points."""
    first = first_totalizer_ts(batch)
    if not first:
        return assigned_points(conn, gateway_id), {}
    values, params = _first_values(first)
    params["g"] = gateway_id
    rows = conn.fetchall(
        f"WITH f (code, ts) AS (VALUES {values}) " + _ASSIGNED.format(last_total=_LATEST_TOTAL, first=_LATEST_JOIN),
        params,
    )
    totals, behind = {}, {}
    for row in rows:
        ts = first.get(row["code"])
        if ts is None or row["latest_ts"] is None:
            continue
        if row["latest_ts"] < ts and row["latest_total"] is not None:
            totals[row["id"]] = row["latest_total"]
        else:
            behind[row["code"]] = ts
    if behind:
        totals.update(_last_totals_before(conn, gateway_id, behind))
    return _profiles(rows), totals


def _first_values(first: dict[str, datetime]) -> tuple[str, dict[str, Any]]:
    """``first`` as the rows of a VALUES list and its parameters."""
    params: dict[str, Any] = {}
    values = []
    for index, (code, ts) in enumerate(first.items()):
        params[f"c{index}"], params[f"t{index}"] = code, ts
        values.append(f"(:c{index}, :t{index})")
    return ", ".join(values), params


def _last_totals_before(conn: Connection, gateway_id: int, first: dict[str, datetime]) -> dict[int, float]:
    """Each point's last stored totalizer count before ``first``'s time, searched in the readings."""
    values, params = _first_values(first)
    params["g"] = gateway_id
    last_total = f", {last_value_sql(conn.dialect, 'p.id', 'totalizer', 'f.ts')} AS last_total"
    rows = conn.fetchall(
        f"WITH f (code, ts) AS (VALUES {values}) "
        + _ASSIGNED.format(last_total=last_total, first=" JOIN f ON f.code = p.code"),
        params,
    )
    return {row["id"]: row["last_total"] for row in rows if row["last_total"] is not None}


def _profiles(rows: list[dict[str, Any]]) -> dict[str, PointProfile]:
    return {
        row["code"]: PointProfile(row["id"], row["code"], row["sensor_depth_m"], row["flow_cutoff_lps"] or 0.0)
        for row in rows
    }


def first_totalizer_ts(batch: ParsedBatch) -> dict[str, datetime]:
    """Each point's earliest totalizer reading in the batch."""
    first: dict[str, datetime] = {}
    for code, ts in sorted(((r.point, r.ts) for r in batch.readings if r.variable == "totalizer"), reverse=True):
        first[code] = ts  # descending: each point's earliest is written last
    return first


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


PIPELINED_READINGS = 200
"""Up to this many readings (a fleet's small batches) a batch's rows go in one INSERT sent
with the statements that follow it: COPY cannot be pipelined, and its start and end are
two round trips of their own, more than a small batch's rows cost to send as JSON."""
_SQL_TYPES = {
    "point_id": "BIGINT",
    "ts": "TIMESTAMPTZ",
    "value": "DOUBLE PRECISION",
    "raw_value": "DOUBLE PRECISION",
    "seq": "BIGINT",
    "gateway_id": "BIGINT",
    "received_at": "TIMESTAMPTZ",
}
_INSERT_JSON = (
    f"INSERT INTO readings ({_COLUMN_LIST}) SELECT "
    + ", ".join(
        f"CAST(r->>{index} AS {_SQL_TYPES[column]})" if column in _SQL_TYPES else f"r->>{index}"
        for index, column in enumerate(COLUMNS)
    )
    + " FROM jsonb_array_elements(CAST(:rows AS JSONB)) AS r"
)
_JSON = msgspec.json.Encoder()


def _rides_pipeline(conn: Connection, batch: ParsedBatch) -> bool:
    return conn.dialect == "postgresql" and len(batch.readings) <= PIPELINED_READINGS


def insert_pipelined(conn: Connection, rows: Iterable[Processed]) -> Stored:
    """PostgreSQL, inside ``conn.pipeline()``: send ``rows`` as one INSERT of a JSON array of
    rows (one text parameter, encoded in C: a parameter per value, or an array per column,
    costs the driver more than the rows' COPY), without waiting for it. As with COPY, a row
    already stored fails the statement and the transaction (an ``IntegrityError`` by the
    pipeline's end) and :func:`ingest` tries again skipping the known ones. JSON carries
    each value exactly: a double as its shortest round-trip text, a time to the microsecond."""
    sent = list(rows)
    conn.execute(_INSERT_JSON, {"rows": _JSON.encode(sent).decode()})
    return Stored(sent, len(sent) - countOf(map(_VARIABLE, sent), "water_table"), effects_of(sent))


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
    return list(
        dict(zip(map(_POINT_VARIABLE, by_time), by_time, strict=True)).values()
    )  # the last, newest, of each key wins


_LATEST_COLUMNS = "point_id, variable, ts, value, unit, quality, flags"
_LATEST_UPSERT = (
    " ON CONFLICT (point_id, variable) DO UPDATE SET ts = excluded.ts, value = excluded.value,"
    " unit = excluded.unit, quality = excluded.quality, flags = excluded.flags"
    " WHERE excluded.ts > latest_readings.ts"
)
_LATEST_JSON = (
    f"INSERT INTO latest_readings ({_LATEST_COLUMNS}) SELECT CAST(r->>0 AS BIGINT), r->>1,"
    " CAST(r->>2 AS TIMESTAMPTZ), CAST(r->>3 AS DOUBLE PRECISION), r->>4, r->>5, r->>6"
    " FROM jsonb_array_elements(CAST(:rows AS JSONB)) AS r" + _LATEST_UPSERT
)
_LATEST_ROW = itemgetter(0, 2, 1, 3, 5, 6, 7)  # a Processed's columns in _LATEST_COLUMNS order


def update_latest(conn: Connection, newest: Sequence[Processed]) -> None:
    """Move each (point, variable)'s latest reading forward to ``newest`` (never back, for late
    backlogs). PostgreSQL: one statement over a JSON array (one per row cost the driver a
    statement's work for each variable of the batch); ``newest`` has one row per key, as
    one ``ON CONFLICT DO UPDATE`` requires."""
    if conn.dialect == "postgresql":
        conn.execute(_LATEST_JSON, {"rows": _JSON.encode(list(map(_LATEST_ROW, newest))).decode()})
        return
    conn.executemany(
        f"INSERT INTO latest_readings ({_LATEST_COLUMNS}) VALUES (:point_id, :variable, :ts, :value, :unit,"
        " :quality, :flags)" + _LATEST_UPSERT,
        [
            {
                "point_id": r.point_id,
                "variable": r.variable,
                "ts": r.ts,
                "value": r.value,
                "unit": r.unit,
                "quality": r.quality.value,
                "flags": r.flags,
            }
            for r in newest
        ],
    )


def record_contact(conn: Connection, gateway_id: int, batch: ParsedBatch, now: datetime) -> dict[str, Any] | None:
    """Last seen, clock offset (gateway minus server: sent_at - now, seconds) and what the agent
    reports; returns, read by the same statement, the configuration version published for the
    gateway (the reply names it, the agent fetches a version new to it) and the configuration
    report last stored (a batch repeating it writes nothing more)."""
    params: dict[str, Any] = {"g": gateway_id, "now": now, "offset": (batch.sent_at - now).total_seconds()}
    agent_columns = ""
    if batch.agent is not None:
        agent_columns = (
            ", agent_version = :version, buffer_depth = :depth, oldest_unsent_s = :oldest,"
            " dropped_total = :dropped, clock_synced = :synced"
        )
        params.update(
            version=batch.agent.version,
            depth=batch.agent.buffer_depth,
            oldest=batch.agent.oldest_unsent_s,
            dropped=batch.agent.dropped_total,
            synced=batch.agent.clock_synced,
        )
    return conn.fetchone(
        f"UPDATE gateways SET last_seen_at = :now, clock_offset_s = :offset{agent_columns}"
        " WHERE id = :g RETURNING config_published, config_source, config_running, config_result",
        params,
    )
