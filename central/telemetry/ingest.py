"""Store one ingest batch: all or nothing, idempotent on (point, ts, variable).

Order inside one transaction, on one pooled connection: the gateway of the token (a 401
whatever the body), the batch's checks, the gateway's state in one query (its points, 403
for any other, with their previous totalizer counts for reset flags, and its configuration
state: :mod:`central.telemetry.ingest_state`), processing, the rows, the latest-reading
table, a mark on the hours touched (the rollup worker refreshes their summaries off the
request path, see :mod:`central.telemetry.rollup`), and the gateway's contact fields.

A small batch on PostgreSQL (up to :data:`PIPELINED_READINGS`, what a fleet's gateways send
every minute) runs as a pipelined transaction (``Database.transaction(pipelined=True)``): its
rows go as one INSERT of a JSON array, sent with the latest readings, the marks, the contact
fields and COMMIT, for three round trips in all. A larger one is COPied straight into
``readings``, and what it changes besides ``readings`` (:class:`Effects`) is worked out once
the last row is sent, while the server is still storing them. When some readings are
already stored (a resend) the transaction fails and the batch is stored again in a new one,
whose rows go through a session-local staging table and one ``INSERT ... SELECT ... ON
CONFLICT DO NOTHING`` (the row count is what was new); SQLite runs ``INSERT OR IGNORE`` over
all rows and counts with ``total_changes()``.

On PostgreSQL a fleet's small batches are stored in groups, a group of one included, by
:mod:`central.telemetry.ingest_group`, from the same steps (:func:`admit`'s parts,
:func:`insert_pipelined`, :func:`record_effects`), with the token looked up in the state's
query (two round trips); each batch still gets its own answer. This module stores the
others: a backlog, a batch on SQLite, a token's second upload in one group's wait, and a
group's members again, each alone, after the group failed on its data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime
from operator import countOf, itemgetter
from typing import Any, NamedTuple

from central.core.auth.models import Gateway
from central.core.gateway_configs.service import record_report
from central.db import Connection, Database, IntegrityError, json_rows
from central.telemetry import rollup
from central.telemetry.alerts import pending
from central.telemetry.checks import check_batch, check_points
from central.telemetry.ingest_state import GatewayState, gateway_state
from central.telemetry.parse import BatchRejected, ParsedBatch, parse_batch
from central.telemetry.processing import ROW_COLUMNS, Processed, processed_rows

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
    for each of these). ``authenticate`` maps the connection to the token's gateway or raises;
    raises ``BatchRejected`` (nothing stored) if the batch cannot be stored. The body is
    parsed first (how big it is decides how it is stored), but a malformed one is refused
    only after the token is checked: a bad token is a 401 whatever the body.

    ``mark_alerts``: also mark, in the same transaction, the points written for the alerts
    role (``CAUDAL_ALERT_EVALUATION=role``, :mod:`central.telemetry.alerts.pending`).

    Optimistic on PostgreSQL: the usual batch is all new, so its rows go straight into
    ``readings``. A resend (some readings already stored) makes that fail, and the batch is
    stored again in a new transaction that skips them (see :func:`store`): a second try
    that only resends pay, where a savepoint around every insert cost every batch.
    """
    return ingest_parsed(db, authenticate, parse_or_rejection(body), now, tolerance_s, mark_alerts=mark_alerts)


def ingest_parsed(
    db: Database,
    authenticate: Authenticate,
    parsed: ParsedBatch | BatchRejected,
    now: datetime,
    tolerance_s: float,
    *,
    mark_alerts: bool = False,
) -> IngestResult:
    """:func:`ingest` of a body already parsed (a refused one as its ``BatchRejected``, raised
    only once the token is checked)."""
    try:
        return _ingest(db, authenticate, parsed, now, tolerance_s, skip_known=False, mark_alerts=mark_alerts)
    except IntegrityError:
        return _ingest(db, authenticate, parsed, now, tolerance_s, skip_known=True, mark_alerts=mark_alerts)


def parse_or_rejection(body: bytes) -> ParsedBatch | BatchRejected:
    try:
        return parse_batch(body)
    except BatchRejected as rejected:
        return rejected


class Admitted(NamedTuple):
    """A batch its gateway may store, with what storing it needs."""

    gateway: Gateway
    batch: ParsedBatch
    state: GatewayState
    rows: Iterable[Processed]  # lazy: COPY sends each row as it is made

    def result(self, stored: Stored) -> IngestResult:
        return self.answer(stored.new, stored.effects.point_ids, stored.rows)

    def answer(self, new: int, point_ids: list[int], rows: list[Processed]) -> IngestResult:
        """The reply's counts and what the ``on_ingest`` hook gets."""
        return IngestResult(new, len(self.batch.readings) - new, point_ids, rows, self.state.config_published)


def admit(
    conn: Connection,
    authenticate: Authenticate,
    parsed: ParsedBatch | BatchRejected,
    now: datetime,
    tolerance_s: float,
) -> Admitted:
    """The token's gateway, the batch checked against it and its state, the rows to store;
    raises (nothing written) for a bad token, a malformed batch or a point not its own."""
    gateway = authenticate(conn)
    batch = checked(parsed, gateway, now, tolerance_s)
    return admitted(gateway, batch, gateway_state(conn, gateway.id, batch), now)


def checked(parsed: ParsedBatch | BatchRejected, gateway: Gateway, now: datetime, tolerance_s: float) -> ParsedBatch:
    """The batch, if its gateway may send it as it is (raises ``BatchRejected`` otherwise)."""
    if isinstance(parsed, BatchRejected):
        raise parsed
    check_batch(parsed, gateway.name, now, tolerance_s)
    return parsed


def admitted(gateway: Gateway, batch: ParsedBatch, state: GatewayState, now: datetime) -> Admitted:
    """The batch with its rows, once its points are the gateway's (403 otherwise)."""
    rows: Iterable[Processed] = ()
    if batch.readings:
        check_points(batch, gateway.name, state.points)
        rows = processed_rows(batch.readings, state.points, state.totals, gateway.id, now)
    return Admitted(gateway, batch, state, rows)


def _ingest(
    db: Database,
    authenticate: Authenticate,
    parsed: ParsedBatch | BatchRejected,
    now: datetime,
    tolerance_s: float,
    *,
    skip_known: bool,
    mark_alerts: bool,
) -> IngestResult:
    """One try. A small new batch on PostgreSQL runs as a pipelined transaction: three round
    trips (BEGIN with the token, the gateway's state, the writes with COMMIT)."""
    pipelined = not skip_known and rides_pipeline(db, parsed)
    with db.transaction(pipelined=pipelined) as conn:
        entry = admit(conn, authenticate, parsed, now, tolerance_s)
        stored = nothing_stored()
        if entry.batch.readings:
            rows = entry.rows
            stored = insert_pipelined(conn, rows) if pipelined else store(conn, rows, skip_known=skip_known)
        with conn.pipeline():  # what is left is sent at once, one answer read at the end: one round trip
            record_effects(conn, stored, mark_alerts=mark_alerts)
            record_contact(conn, entry.gateway.id, entry.batch, now)
        record_config_report(conn, entry, now)
    return entry.result(stored)


def record_config_report(conn: Connection, entry: Admitted, now: datetime) -> None:
    """The agent's configuration report, only when it changed (most batches repeat the last one)."""
    report = None if entry.batch.agent is None else entry.batch.agent.config
    if report is not None and entry.state.report != (report.source, report.running_version, report.result):
        record_report(conn, entry.gateway, report, now)


def record_effects(conn: Connection, stored: Stored, *, mark_alerts: bool) -> None:
    """The latest readings moved forward, and the hours whose summaries change marked."""
    if stored.rows:
        update_latest(conn, stored.effects.newest)
    if stored.new:
        rollup.mark(conn, stored.effects.stale)
        if mark_alerts:
            pending.mark(conn, pending.earliest_by_point(stored.effects.stale, at="lo"))


class Effects(NamedTuple):
    """What stored rows change besides ``readings``, worked out from the rows alone."""

    newest: list[Processed]  # each (point, variable)'s newest row: for latest_readings
    stale: list[rollup.StaleHours]  # the hours whose summaries they change
    point_ids: list[int]


def effects_of(rows: Sequence[Processed]) -> Effects:
    return Effects(newest_readings(rows), rollup.stale_hours(rows), point_ids_of(rows))


def point_ids_of(rows: Iterable[Processed]) -> list[int]:
    return sorted(set(map(_POINT_ID, rows)))


def measured_count(rows: Sequence[Processed]) -> int:
    """How many of ``rows`` are the gateway's own readings (not derived water-table ones)."""
    return len(rows) - countOf(map(_VARIABLE, rows), "water_table")


def all_new(rows: list[Processed]) -> Stored:
    """``rows`` once every one was stored new (a COPY or INSERT that fails on any known one)."""
    return Stored(rows, measured_count(rows), effects_of(rows))


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
        self.stored = all_new(self.sent)


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


def rides_pipeline(db: Database, parsed: ParsedBatch | BatchRejected) -> bool:
    return db.dialect == "postgresql" and isinstance(parsed, ParsedBatch) and len(parsed.readings) <= PIPELINED_READINGS


def insert_pipelined(conn: Connection, rows: Iterable[Processed]) -> Stored:
    """PostgreSQL, inside ``conn.pipeline()``: send ``rows`` as one INSERT of a JSON array of
    rows (one text parameter, encoded in C: a parameter per value, or an array per column,
    costs the driver more than the rows' COPY), without waiting for it. As with COPY, a row
    already stored fails the statement and the transaction (an ``IntegrityError`` by the
    pipeline's end) and :func:`ingest` tries again skipping the known ones. JSON carries
    each value exactly: a double as its shortest round-trip text, a time to the microsecond."""
    sent = list(rows)
    conn.execute(_INSERT_JSON, {"rows": json_rows(sent)})
    return all_new(sent)


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
        conn.execute(_LATEST_JSON, {"rows": json_rows(list(map(_LATEST_ROW, newest)))})
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


def record_contact(conn: Connection, gateway_id: int, batch: ParsedBatch, now: datetime) -> None:
    """Last seen, clock offset (gateway minus server: sent_at - now, seconds) and what the agent reports."""
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
    conn.execute(
        f"UPDATE gateways SET last_seen_at = :now, clock_offset_s = :offset{agent_columns} WHERE id = :g", params
    )
