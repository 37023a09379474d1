"""Default alert rules of a new fleet: how long a fresh server takes before it evaluates (issue 16).

Each round makes two fresh PostgreSQL databases with the same ``POINTS`` points (each with a
water right, a sensor depth and a cut-off, so it gets every default rule) and ``GATEWAYS``
gateways. On the first, the figure: ``ensure_all_rules`` in one transaction, what the alert
timer's first pass (or the first batches' evaluation) runs before anything is evaluated. On
the second, the baseline: the least the database must do for the same rules, their rows
built before the clock starts, then one COPY of them and one ``INSERT .. SELECT`` of their
empty states. Ratio: seeding / baseline per round, min / median / max of ``ROUNDS``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from types import SimpleNamespace

from benchmarks.databases import ADMIN_URL, postgres_measurable, temporary_database
from benchmarks.figures import Figures, spread
from central.db import Connection, Database, migrate, open_database
from central.telemetry.alerts import Rule, default_gateway_rules, default_rules
from central.telemetry.alerts.rule_store import ensure_all_rules
from tests.factories import add_numbered_gateways, add_numbered_points

POINTS = int(os.environ.get("CAUDAL_BENCH_RULES_POINTS", "3300"))
GATEWAYS = int(os.environ.get("CAUDAL_BENCH_RULES_GATEWAYS", "300"))
ROUNDS = 3
NOW = datetime(2026, 12, 1, tzinfo=UTC)
RIGHT_LPS, DEPTH_M, CUTOFF_LPS = 12.0, 80.0, 0.3
RULE_COLUMNS = ("scope", "point_id", "gateway_id", "kind", "config", "created_at", "updated_at", "updated_by")


def add_subjects(conn: Connection, points: int, gateways: int) -> None:
    """``points`` points P0.. with every fact a default rule needs, and ``gateways`` gateways."""
    facts = {"water_right_lps": RIGHT_LPS, "sensor_depth_m": DEPTH_M, "flow_cutoff_lps": CUTOFF_LPS}
    add_numbered_points(conn, [facts] * points, NOW)
    add_numbered_gateways(conn, gateways, NOW)


def rule_rows(conn: Connection) -> list[tuple[object, ...]]:
    """The ``alert_rules`` rows seeding makes for the subjects in ``conn``'s database, in order
    (``RULE_COLUMNS``): what the baseline writes."""
    rows: list[tuple[object, ...]] = []
    for point in conn.fetchall("SELECT id, water_right_lps, flow_cutoff_lps, sensor_depth_m FROM points ORDER BY id"):
        rows += [_row("point", point["id"], None, rule) for rule in default_rules(SimpleNamespace(**point))]
    for gateway in conn.fetchall("SELECT id FROM gateways ORDER BY id"):
        rows += [_row("gateway", None, gateway["id"], rule) for rule in default_gateway_rules()]
    return rows


def _row(scope: str, point_id: int | None, gateway_id: int | None, rule: Rule) -> tuple[object, ...]:
    return (scope, point_id, gateway_id, rule.kind, rule.model_dump_json(), NOW, NOW, "system")


def write_raw(conn: Connection, rows: list[tuple[object, ...]]) -> None:
    """The baseline's writes: the rules by COPY, their states in one statement."""
    conn.copy_rows("alert_rules", RULE_COLUMNS, rows)
    conn.execute(
        "INSERT INTO alert_rule_states (rule_id, state, updated_at) SELECT id, '{}', :now FROM alert_rules",
        {"now": NOW},
    )


@contextmanager
def fresh_database() -> Iterator[Database]:
    """A migrated PostgreSQL database with the fleet's points and gateways, and no rules."""
    with temporary_database(ADMIN_URL, "caudal_bench_rules") as url:
        db = open_database(url)
        try:
            migrate(db)
            with db.transaction() as conn:
                add_subjects(conn, POINTS, GATEWAYS)
            yield db
        finally:
            db.close()


def seeding_s() -> tuple[float, int]:
    with fresh_database() as db:
        started = time.perf_counter()
        with db.transaction() as conn:
            ensure_all_rules(conn, NOW)
        elapsed = time.perf_counter() - started
        with db.connect() as conn:
            return elapsed, int(conn.fetchval("SELECT count(*) FROM alert_rules"))


def raw_s() -> float:
    with fresh_database() as db:
        with db.connect() as conn:
            rows = rule_rows(conn)
        started = time.perf_counter()
        with db.transaction() as conn:
            write_raw(conn, rows)
        return time.perf_counter() - started


def main() -> Figures | None:
    setting = (
        f"{POINTS:,} new points (water right, sensor depth, cut-off) and {GATEWAYS:,} gateways on a fresh"
        f" PostgreSQL database per round, {ROUNDS} rounds: their default alert rules by ensure_all_rules"
        " vs a COPY of the same rules and one INSERT .. SELECT of their states"
    )
    if not postgres_measurable(setting):
        return None
    seeding, raw, rules = [], [], 0
    for _ in range(ROUNDS):
        elapsed, rules = seeding_s()
        seeding.append(elapsed)
        raw.append(raw_s())
    print(f"   rules made per round: {rules:,}")
    print(f"   ensure_all_rules s     {spread(seeding)}")
    print(f"   raw COPY + states s    {spread(raw)}")
    figures = Figures(f"default alert rules of {POINTS:,} new points and {GATEWAYS:,} gateways")
    figures.value("seconds before the first evaluation (ensure_all_rules)", seeding)
    figures.ratio("seeding / raw COPY of the same rules and their states", seeding, raw)
    return figures


if __name__ == "__main__":
    main()
