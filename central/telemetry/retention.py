"""Retention of readings on PostgreSQL: whole months older than ``CAUDAL_READINGS_RETENTION_MONTHS``
are detached from ``readings`` and ``readings_compact`` (and dropped when asked), never deleted
row by row.

A detached month is a table of its own, ``readings_YYYY_MM`` / ``readings_compact_YYYY_MM``,
outside every query: the operator archives it (``pg_dump -t``) and drops it, or asks for the
drop here. When compaction is on (``CAUDAL_COMPACT_AFTER_DAYS``), a month of ``readings`` is
detached only once compaction has passed its end: until then its readings are not yet in the
compacted table, and a month archived half compacted would be two half archives.

Detaching the oldest months leaves no partition for their times, where ingest would fail on a
reading that old; a catch-all partition ``readings_expired_until_YYYY_MM`` from the beginning
of time to the oldest month kept takes such a reading (the next run detaches it with the rest).

SQLite has one ``readings`` table and no partitions: nothing to detach there.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, NamedTuple

from central.db import Connection, Database
from central.telemetry import compaction, partitions
from central.telemetry.partitions import Partition, attached

CATCH_ALL = "readings_expired_until_"


class Decision(NamedTuple):
    partition: Partition
    action: Literal["detach", "keep"]
    reason: Literal["retention", "not_compacted", "catch_all"]


def cut(now: datetime, months: int) -> datetime:
    """The first instant kept: the start of the UTC month ``months`` before ``now``'s."""
    start = partitions.month_start(now)
    index = start.year * 12 + start.month - 1 - months
    return start.replace(year=index // 12, month=index % 12 + 1)


def plan(
    found: Sequence[Partition], now: datetime, months: int, compacted_before: datetime | None, compacting: bool
) -> list[Decision]:
    """What to do with each partition that ends before the :func:`cut` (pure): detach it, or
    keep a month of ``readings`` that compaction (when on) has not passed yet."""
    until = cut(now, months)
    decisions = []
    for partition in sorted(found, key=lambda p: (p.upper, p.parent)):
        if partition.upper > until:
            continue
        behind = (
            compacting
            and partition.parent == "readings"
            and (compacted_before is None or partition.upper > compacted_before)
        )
        decisions.append(
            Decision(partition, "keep", "not_compacted") if behind else Decision(partition, "detach", "retention")
        )
    return _keep_lone_catch_all(decisions)


def _keep_lone_catch_all(decisions: list[Decision]) -> list[Decision]:
    """The catch-all of ``readings`` leaves only with a month after it: alone, it would be put
    back at once with the same bounds."""
    months = [
        d
        for d in decisions
        if d.action == "detach" and d.partition.parent == "readings" and not d.partition.name.startswith(CATCH_ALL)
    ]
    if months:
        return decisions
    return [
        Decision(d.partition, "keep", "catch_all") if d.partition.name.startswith(CATCH_ALL) else d for d in decisions
    ]


def _catch_all(conn: Connection, kept: list[Partition]) -> str | None:
    """A partition of ``readings`` for every time before the oldest one kept, if none covers it."""
    mine = [p for p in kept if p.parent == "readings"]
    if not mine or any(p.lower is None for p in mine):
        return None
    oldest = min(p.lower for p in mine if p.lower is not None)
    name = f"{CATCH_ALL}{oldest:%Y_%m}"
    conn.execute(f"CREATE TABLE {name} PARTITION OF readings FOR VALUES FROM (MINVALUE) TO ('{oldest.isoformat()}')")
    return name


def apply(
    db: Database, now: datetime, months: int, compacting: bool, drop: bool = False, dry_run: bool = False
) -> tuple[list[Decision], str | None]:
    """Detach (and with ``drop`` drop) the partitions :func:`plan` says, in one transaction;
    returns the decisions and the catch-all partition created (``None``: none needed)."""
    if db.dialect != "postgresql":
        return [], None
    with db.transaction() as conn:
        conn.execute("SELECT id FROM readings_compaction WHERE id = 1 FOR UPDATE")  # no compaction batch meanwhile
        found = attached(conn)
        decisions = plan(found, now, months, compaction.state(conn).done_before, compacting)
        leaving = {d.partition.name for d in decisions if d.action == "detach"}
        if dry_run or not leaving:
            return decisions, None
        for name, parent in sorted((d.partition.name, d.partition.parent) for d in decisions if d.action == "detach"):
            conn.execute(f"ALTER TABLE {parent} DETACH PARTITION {name}")
            if drop:
                conn.execute(f"DROP TABLE {name}")
            elif parent == "readings":
                _keep_points_named(conn, name)
        return decisions, _catch_all(conn, [p for p in found if p.name not in leaving])


def _keep_points_named(conn: Connection, name: str) -> None:
    """A month detached from ``readings`` keeps the points it names from being deleted, until it
    is dropped: ``readings`` checks its points with triggers (migration 0170), which do not
    follow a detached month, so it gets a foreign key of its own. NOT VALID: its rows were
    checked when stored, and the key is then catalog work, not a scan of the month."""
    conn.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_point_id_fkey FOREIGN KEY (point_id) REFERENCES points(id) NOT VALID"
    )
