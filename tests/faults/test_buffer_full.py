"""The agent's buffer on a small disk that fills up: real agent, central server, meter, PostgreSQL.

The buffer lives on a tmpfs of a few MiB (:mod:`tests.edge.small_disk`: skipped with the reason
where mounting is not permitted, a failure in CI). One run goes through what a gateway meets:

1. restart on a full disk after a clean stop: the agent starts and uploads (the disk reserve
   beside the buffer gives SQLite the room it needs);
2. the disk full again with the central server unreachable: cycles are lost, each counted on
   disk before it is logged; kill -9 between two cycles, restart, more losses;
3. the server reachable and the disk's space back: everything left is delivered, the reserve
   is set aside again, and the server hears the loss count.

Counted exactly at the end: every seq the buffer assigned is stored once or was dropped (the
buffer's own drop counter), the lost cycles the agent logged equal the count in its ``.lost``
file, and the server's ``dropped_total`` is the edge's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.bufferfiles import RESERVE_BYTES, lost_path, read_lost, reserve_path
from edge.bufferread import read_stats
from tests.edge.small_disk import fill, small_disk
from tests.faults.ledger import drain, reported_dropped, stored_seqs
from tests.faults.proxy import Mode
from tests.faults.rig import GATEWAY, Rig, rig, wait_until

DISK_KIB = 6144
LOST_LINE = "lleno aun tras descartar las lecturas más antiguas: se perdió un ciclo de lectura de "
CATCH_UP_S = 150.0  # after failed deletes the uploader waits a minute before it tries again


@pytest.fixture
def full_disk_rig(postgres_admin_url: str, tmp_path: Path) -> Iterator[tuple[Rig, Path]]:
    with (
        small_disk(tmp_path / "disk", DISK_KIB) as disk,
        rig(postgres_admin_url, tmp_path, buffer_path=disk / "buffer.db") as running,
    ):
        yield running, disk
        print(running.logs())


def lost_logged(rig: Rig) -> list[int]:
    """The size of every cycle the agent logged as lost, across its starts."""
    text = rig.agent.log.read_text(errors="replace")
    return [int(line.rsplit(LOST_LINE, 1)[1].split()[0]) for line in text.splitlines() if LOST_LINE in line]


def stored(rig: Rig) -> int:
    return len(stored_seqs(rig.database_url, GATEWAY))


def losses_then_kill(rig: Rig, more: int) -> None:
    """Wait for ``more`` further lost cycles, then kill -9 at once: between two cycles (a second
    apart), so no cycle is half done and every lost one was counted before it was logged."""
    target = len(lost_logged(rig)) + more
    wait_until(lambda: len(lost_logged(rig)) >= target, 90, f"{more} cycles lost on the full disk", 0.01)
    rig.agent.kill()


def test_a_full_disk_restart_kill_and_recovery_loses_only_what_it_counts(full_disk_rig: tuple[Rig, Path]):
    rig, disk = full_disk_rig
    buffer_path = disk / "buffer.db"
    rig.agent.start()
    wait_until(lambda: stored(rig) > 0, 60, "the agent's first upload")
    assert rig.agent.terminate() == 0  # a clean stop: SQLite deletes its WAL and WAL index

    fill(disk)
    rig.agent.start()
    before = stored(rig)
    wait_until(lambda: stored(rig) > before, 60, "an upload from the agent restarted on the full disk")
    assert rig.agent.running and not reserve_path(buffer_path).exists()

    rig.proxy.set_mode(Mode.RESET)
    fill(disk)  # whatever filled the disk takes the reserve's room too
    losses_then_kill(rig, 3)
    rig.agent.start()
    losses_then_kill(rig, 2)
    rig.agent.start()

    rig.proxy.set_mode(Mode.PASS)
    (disk / "filler").unlink()
    wait_until(lambda: reserve_path(buffer_path).exists(), 30, "the reserve set aside again")
    wait_until(lambda: read_stats(buffer_path).depth == 0 and stored(rig) > 0, CATCH_UP_S, "the backlog delivered")
    edge = read_stats(buffer_path)
    wait_until(
        lambda: reported_dropped(rig.database_url, GATEWAY) == edge.dropped_total,
        30,
        "the server to hear the drop count",
    )
    assert rig.agent.terminate() == 0
    drain(buffer_path, f"http://127.0.0.1:{rig.central.port}", GATEWAY)

    edge = read_stats(buffer_path)
    seqs = Counter(stored_seqs(rig.database_url, GATEWAY))
    lost = read_lost(lost_path(buffer_path))
    gaps = set(range(1, (edge.newest_seq or 0) + 1)) - seqs.keys()
    print(
        f"buffer full: produced {(edge.newest_seq or 0) + lost} readings, stored {len(seqs)},"
        f" dropped oldest {len(gaps)}, lost {lost} in {len(lost_logged(rig))} cycles, reported"
        f" {reported_dropped(rig.database_url, GATEWAY)}"
    )
    logged = lost_logged(rig)
    assert (reserve_path(buffer_path).stat().st_size, edge.depth) == (RESERVE_BYTES, 0)
    assert [seq for seq, times in seqs.items() if times > 1] == []
    assert len(logged) >= 5 and lost == sum(logged)
    assert edge.dropped_total == len(gaps) + lost
    assert reported_dropped(rig.database_url, GATEWAY) == edge.dropped_total
