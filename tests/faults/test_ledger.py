"""The fault tests' counting: a gap, a double and an invented reading are each reported.

Without this, a ledger that always came out clean would make every fault test pass.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from edge.buffer import Buffer, PolledReading
from protocols.uplink import Quality
from tests.faults.ledger import Tally, tally
from tests.faults.rig import GATEWAY, seed

T0 = datetime(2026, 11, 28, 13, tzinfo=UTC)
STORE = """
INSERT INTO readings (point_id, ts, variable, value, unit, quality, gateway_id, seq, received_at)
SELECT p.id, %(ts)s, 'flow', 1.0, 'L/s', 'good', g.id, %(seq)s, %(ts)s FROM points p, gateways g
WHERE p.code = 'P1' AND g.name = %(gateway)s
"""


def test_a_gap_a_double_and_an_unknown_seq_are_each_counted(postgres_url: str, tmp_path: Path):
    buffer_path = tmp_path / "buffer.db"
    with Buffer.open(buffer_path) as buffer:
        buffer.append(
            [
                PolledReading("pozo-1", "P1", "flow", T0 + timedelta(seconds=i), 1.0, "L/s", Quality.GOOD)
                for i in range(5)
            ]
        )  # seqs 1..5
        buffer.acknowledge([1, 2, 3])  # 4 and 5 stay pending
    seed(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        for second, seq in ((0, 1), (1, 2), (2, 2), (3, 9)):  # 3 never arrived, 2 twice, 9 never produced
            conn.execute(STORE, {"ts": T0 + timedelta(seconds=second), "seq": seq, "gateway": GATEWAY})
    assert tally(buffer_path, postgres_url, GATEWAY) == Tally(
        produced=5,
        stored=4,
        not_stored=1,
        dropped_edge=0,
        dropped_reported=0,
        doubled=(2,),
        unknown=(9,),
        pending=2,
        first_gaps=(3,),
    )
