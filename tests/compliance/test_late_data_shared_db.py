"""Late readings are taken once per pass and handed to every regulator alike
(docs/ARQUITECTURA_MODULAR.md: "una sola vez para todos los reguladores"): a regulator that
reports a point never consumes the changed hours another regulator needs."""

from __future__ import annotations

from datetime import UTC, datetime

from central.telemetry.rollup import StaleHours
from compliance.late_data import take_and_refill

LO, HI = datetime(2026, 11, 28, 13, tzinfo=UTC), datetime(2026, 11, 28, 14, tzinfo=UTC)


class Recording:
    """A regulator's reporting that keeps the runs it was handed."""

    def __init__(self) -> None:
        self.runs: dict[int, list[StaleHours]] = {}

    def refill(self, conn, configured, runs, now):
        self.runs = runs
        return []


def test_each_regulator_reporting_a_point_gets_its_changed_hours_from_one_take(db, point_id):
    dga, sma, other = Recording(), Recording(), Recording()
    with db.transaction() as conn:
        conn.execute(
            "INSERT INTO hours_changed (point_id, lo, hi) VALUES (:p, :lo, :hi)", {"p": point_id, "lo": LO, "hi": HI}
        )
        taken, actions = take_and_refill(
            conn,
            {"dga": dga, "sma": sma, "otro": other},
            {"dga": {point_id: object()}, "sma": {point_id: object()}, "otro": {}},
            HI,
        )
    with db.connect() as conn:
        left = conn.fetchval("SELECT COUNT(*) FROM hours_changed")
    assert (taken, actions, left) == (1, [], 0)
    assert dga.runs == sma.runs == {point_id: [StaleHours(point_id, LO, HI)]}
    assert other.runs == {}
