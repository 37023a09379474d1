"""Scale-out on one PostgreSQL, shown with real processes (issue 16, goal 6).

Two telemetry replicas and two compliance workers (``caudal central serve --role ...``) run
behind the production nginx configuration on one PostgreSQL database. A fleet of gateways
(the edge's own buffer and uploader, one each, see :mod:`tests.deployment.fleet`) uploads
30-reading batches through nginx while the compliance workers send each work's DGA slot to a
loopback stand-in. Mid-load one telemetry replica and one compliance worker are killed with
SIGKILL (the gateways keep writing readings until both are dead, so both kills come under
load however fast the machine uploads). Every reading reaches the database exactly once, no
DGA slot is POSTed twice, both services still answer through nginx, and the throughput
before and after the kill is printed.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from central.db import Database, migrate, open_database
from compliance.dga.config import Period
from compliance.dga.slots import slot_at_or_before
from tests.deployment.fleet import (
    ADMIN_TOKEN,
    BATCH,
    Fleet,
    RoleProcess,
    ThreadedDga,
    configure_works,
    dga_ledger,
    rate,
    seed,
    start_all,
    stored_readings,
    summary,
)
from tests.deployment.test_nginx import RunningNginx, needs_nginx
from tests.faults.rig import wait_until
from tests.pg import temporary_database
from tests.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300), needs_nginx]

GATEWAYS = 40
BATCHES = 12  # per gateway: 40 x 12 x 30 = 14,400 readings
WORKS = 24
COMPLIANCE_ENV = {
    "CAUDAL_COMPLIANCE_INTERVAL_S": "0.5",
    "CAUDAL_COMPLIANCE_MIN_INTERVAL_S": "0.2",
    "CAUDAL_COMPLIANCE_CLAIM_S": "3",
}
FLEET_TIMEOUT_S = 180
SETTLE_TIMEOUT_S = 60
KILLS_WITHIN_S = 60  # the gateways keep writing readings until both kills, for at most this long


@dataclass
class Kills:
    """Kill the first telemetry replica once a third of the first fill is acknowledged, and the
    first compliance worker once a third of the works were POSTed; note when. Until both are
    dead the gateways keep polling (more readings into their buffers), so both kills come under
    the fleet's load however fast this machine uploads it."""

    telemetry: RoleProcess
    compliance: RoleProcess
    dga: ThreadedDga
    fleet: Fleet
    total: int
    started: float = field(default_factory=time.monotonic)
    telemetry_at: tuple[float, int] | None = None  # seconds from start, readings acknowledged then
    compliance_at: float | None = None

    def on_progress(self, acknowledged: int) -> None:
        now = time.monotonic() - self.started
        if self.telemetry_at is None and acknowledged >= self.total // 3:
            self.telemetry.kill()
            self.telemetry_at = (now, acknowledged)
        if self.compliance_at is None and len(self.dga.posted_slots()) >= WORKS // 3:
            self.compliance.kill()
            self.compliance_at = now
        self._keep_loaded(acknowledged, now)

    def _keep_loaded(self, acknowledged: int, now: float) -> None:
        """A batch more per gateway whenever fewer than two each are left to upload, while a
        kill is still to come (for at most KILLS_WITHIN_S)."""
        due = self.telemetry_at is None or self.compliance_at is None
        if due and now < KILLS_WITHIN_S and len(self.fleet.sent) - acknowledged < 2 * GATEWAYS * BATCH:
            self.fleet.top_up(1)


def settled(db: Database) -> bool:
    """Every work's slot accepted, or (a send the killed worker left in flight) set for later."""
    ledger = dga_ledger(db, datetime.now(UTC))
    return len(ledger) == WORKS and set(ledger.values()) <= {"accepted", "later"}


def statuses(base: str, path: str, token: str, times: int = 4) -> list[int]:
    headers = {"Authorization": f"Bearer {token}"}
    return [httpx.get(base + path, headers=headers, timeout=10).status_code for _ in range(times)]


def test_two_replicas_of_each_with_one_of_each_killed_lose_double_and_resend_nothing(
    postgres_admin_url: str, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    with ExitStack() as stack:
        url = stack.enter_context(temporary_database(postgres_admin_url, "caudal_scale"))
        db = open_database(url)
        stack.callback(db.close)
        migrate(db)
        seed(db, GATEWAYS, WORKS, now)
        dga = stack.enter_context(ThreadedDga(WORKS))
        telemetry = [RoleProcess("telemetry", f"telemetry-{n}", url, tmp_path, {}) for n in (1, 2)]
        compliance = [
            RoleProcess(
                "compliance",
                f"compliance-{n}",
                url,
                tmp_path,
                {**COMPLIANCE_ENV, "CAUDAL_COMPLIANCE_WORKER_ID": f"compliance-{n}"},
            )
            for n in (1, 2)
        ]
        for process in (*telemetry, *compliance):
            stack.callback(process.kill)
        start_all([*telemetry, *compliance])
        (tmp_path / "nginx").mkdir()
        base = stack.enter_context(
            RunningNginx(
                tmp_path / "nginx",
                {
                    "caudal_core": [f"127.0.0.1:{free_port()}"],  # not started: nothing here goes to core
                    "caudal_telemetry": [p.address for p in telemetry],
                    "caudal_ingest": [p.address for p in telemetry],
                    "caudal_compliance": [p.address for p in compliance],
                },
            )
        )
        fleet = Fleet(tmp_path / "fleet", base, GATEWAYS, BATCHES, now - timedelta(days=2))
        stack.callback(fleet.close)
        fleet.fill()
        configure_works(db, WORKS, slot_at_or_before(now, Period.HOUR), dga.url, now)

        kills = Kills(telemetry[0], compliance[0], dga, fleet, len(fleet.sent))
        asyncio.run(fleet.run(kills.on_progress, FLEET_TIMEOUT_S))
        elapsed = time.monotonic() - kills.started
        wait_until(lambda: settled(db), SETTLE_TIMEOUT_S, "every DGA slot accepted or set for later", 0.2)
        after = {
            "readings": statuses(base, "/api/v1/points/F000/readings", ADMIN_TOKEN),
            "submissions": statuses(base, "/api/v1/compliance/submissions?regulator=dga", ADMIN_TOKEN),
        }
        stored, posted, ledger = stored_readings(db), Counter(dga.posted_slots()), dga_ledger(db, datetime.now(UTC))
        logs = "\n".join(f"--- {p.name}\n{p.tail(15)}" for p in (*telemetry, *compliance))

    assert kills.telemetry_at is not None and kills.compliance_at is not None and kills.compliance_at < elapsed
    kill_s, acknowledged = kills.telemetry_at
    print(
        summary(
            {
                "readings": len(fleet.sent),
                "batches": len(fleet.sent) // BATCH,
                "seconds": round(elapsed, 1),
                "two telemetry replicas, readings/s": rate(acknowledged, kill_s),
                "the survivor alone, readings/s": rate(len(fleet.sent) - acknowledged, elapsed - kill_s),
                "failed upload attempts retried": fleet.failed.count,
                "compliance worker killed at s": round(kills.compliance_at, 1),
                "slots POSTed": sum(posted.values()),
                "slots set for later": list(ledger.values()).count("later"),
            }
        )
    )
    assert stored == sorted(fleet.sent), logs  # every reading once: none lost, none doubled
    assert [slot for slot, count in posted.items() if count > 1] == []
    assert {code for code, state in ledger.items() if state == "accepted"} <= {code for code, _, _ in posted}
    assert list(ledger.values()).count("later") <= 1  # at most the one send in flight when the worker died
    assert after == {"readings": [200] * 4, "submissions": [200] * 4}
