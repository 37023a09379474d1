"""The edge buffer against a real SQLite file: order, acknowledgement, budget, disk full, stats."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from edge.buffer import Buffer, BufferInUse, BufferUnusable, PolledReading, rows_to_drop
from edge.bufferread import read_stats
from protocols.uplink import Quality, Reading

T0 = datetime(2026, 11, 28, 13, 0, tzinfo=UTC)


def cycle(second: int, variables: int = 2, device: str = "caudalimetro-pozo-1") -> list[PolledReading]:
    """One poll cycle: one reading per variable, all sampled at T0 + ``second``."""
    return [
        PolledReading(
            device, "OB-0601-444", f"v{index}", T0 + timedelta(seconds=second), float(second), "L/s", Quality.GOOD
        )
        for index in range(variables)
    ]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "buffer.db"


@pytest.fixture
def buffer(path: Path) -> Iterator[Buffer]:
    with Buffer.open(path, max_mb=1) as opened:
        yield opened


def test_pending_returns_readings_oldest_first_with_increasing_seqs(buffer: Buffer):
    assert buffer.append(cycle(0)) == 2
    assert buffer.append(cycle(60)) == 2
    assert buffer.pending() == [
        Reading(
            seq=seq,
            device="caudalimetro-pozo-1",
            point="OB-0601-444",
            variable=variable,
            ts=T0 + timedelta(seconds=second),
            value=float(second),
            unit="L/s",
            quality=Quality.GOOD,
        )
        for seq, variable, second in [(1, "v0", 0), (2, "v1", 0), (3, "v0", 60), (4, "v1", 60)]
    ]


def test_pending_honours_the_limit(buffer: Buffer):
    buffer.append(cycle(0, variables=5))
    assert [reading.seq for reading in buffer.pending(limit=3)] == [1, 2, 3]


def test_a_failed_read_travels_as_null_with_its_quality(buffer: Buffer):
    buffer.append([PolledReading("dev", "OB-1", "flow", T0, None, "L/s", Quality.TIMEOUT)])
    assert buffer.pending() == [
        Reading(
            seq=1, device="dev", point="OB-1", variable="flow", ts=T0, value=None, unit="L/s", quality=Quality.TIMEOUT
        )
    ]


@pytest.mark.parametrize(
    ("ts", "stored_us"),
    [
        (datetime(2026, 11, 28, 13, 0, tzinfo=UTC), 1795870800000000),
        (datetime(2026, 11, 28, 9, 0, tzinfo=timezone(timedelta(hours=-4))), 1795870800000000),
        (datetime(2026, 11, 28, 13, 0, 0, 123456, tzinfo=UTC), 1795870800123456),
    ],
)
def test_timestamps_are_stored_as_utc_epoch_microseconds(path: Path, ts: datetime, stored_us: int):
    with Buffer.open(path) as buffer:
        buffer.append([PolledReading("dev", "OB-1", "flow", ts, 1.0, "L/s", Quality.GOOD)])
        (reading,) = buffer.pending()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT ts_us FROM readings").fetchall() == [(stored_us,)]
    assert reading.ts == ts and reading.ts.tzinfo == UTC


def test_acknowledge_deletes_exactly_the_given_seqs(buffer: Buffer):
    buffer.append(cycle(0, variables=5))
    assert buffer.acknowledge([2, 4, 99]) == 2
    assert [reading.seq for reading in buffer.pending()] == [1, 3, 5]


def test_acknowledge_range_deletes_every_reading_of_the_range(buffer: Buffer):
    buffer.append(cycle(0, variables=6))
    assert buffer.acknowledge_range(2, 4) == 3
    assert [reading.seq for reading in buffer.pending()] == [1, 5, 6]


def test_seqs_are_never_reused_after_everything_was_acknowledged_and_reopened(path: Path):
    with Buffer.open(path) as buffer:
        buffer.append(cycle(0, variables=3))
        buffer.acknowledge([1, 2, 3])
    with Buffer.open(path) as buffer:
        buffer.append(cycle(60, variables=1))
        assert [reading.seq for reading in buffer.pending()] == [4]


INVALID = [
    (PolledReading("dev", "OB-1", "flow", T0, float("nan"), "L/s", Quality.GOOD), "número finito"),
    (PolledReading("dev", "OB-1", "flow", T0, float("inf"), "L/s", Quality.GOOD), "número finito"),
    (PolledReading("dev", "OB-1", "flow", T0, None, "L/s", Quality.GOOD), "necesita un valor"),
    (PolledReading("dev", "OB-1", "flow", T0, 3.0, "L/s", Quality.TIMEOUT), "debe llevar value null"),
    (PolledReading("dev", "OB-1", "flow", datetime(2026, 11, 28, 13), 3.0, "L/s", Quality.GOOD), "diferencia con UTC"),
]


@pytest.mark.parametrize(
    ("bad", "complaint"),
    [*INVALID, (PolledReading("dev", "OB-1", "Flow Rate", T0, 3.0, "L/s", Quality.GOOD), "no tiene la forma esperada")],
)
def test_an_invalid_reading_is_refused_naming_it_and_nothing_is_written(
    buffer: Buffer, bad: PolledReading, complaint: str
):
    with pytest.raises(
        ValueError, match=rf"la lectura 2 \(dev/OB-1/{bad.variable} a las .*\) no se puede enviar: .*{complaint}"
    ):
        buffer.append([*cycle(0), bad])
    assert buffer.stats().depth == 0


@pytest.mark.parametrize(("bad", "complaint"), INVALID)
def test_a_reading_of_a_device_already_stored_is_checked_as_fully(buffer: Buffer, bad: PolledReading, complaint: str):
    buffer.append([PolledReading("dev", "OB-1", "flow", T0, 1.0, "L/s", Quality.GOOD)])
    with pytest.raises(ValueError, match=rf"la lectura 0 \(dev/OB-1/flow a las .*\) no se puede enviar: .*{complaint}"):
        buffer.append([bad])
    assert buffer.stats().depth == 1


@pytest.mark.parametrize(
    ("reading", "stored"),
    [
        (PolledReading("dev", "OB-1", "flow", T0, 2.5, "L/s", Quality.GOOD), ("flow", T0, 2.5, "good")),
        (PolledReading("dev", "OB-1", "flow", T0, None, "L/s", Quality.TIMEOUT), ("flow", T0, None, "timeout")),
        (PolledReading("dev", "OB-1", "flow", T0, 3, "L/s", Quality.GOOD), ("flow", T0, 3.0, "good")),  # type: ignore[arg-type]
        (
            PolledReading(
                "dev", "OB-1", "flow", T0.astimezone(timezone(timedelta(hours=-3))), 2.5, "L/s", Quality.CLOCK_UNSYNCED
            ),
            ("flow", T0, 2.5, "clock_unsynced"),
        ),
    ],
)
def test_a_reading_of_a_device_already_stored_is_stored_as_the_wire_schema_reads_it(
    buffer: Buffer, reading: PolledReading, stored: tuple
):
    buffer.append([PolledReading("dev", "OB-1", "flow", T0, 1.0, "L/s", Quality.GOOD)])
    buffer.append([reading])
    variable, ts, value, quality = stored
    assert buffer.pending()[1] == Reading(
        seq=2, device="dev", point="OB-1", variable=variable, ts=ts, value=value, unit="L/s", quality=Quality(quality)
    )


def test_stats_of_a_new_buffer(buffer: Buffer):
    stats = buffer.stats()
    assert (stats.depth, stats.oldest_ts, stats.newest_seq, stats.dropped_total) == (0, None, None, 0)


def test_stats_report_depth_oldest_sample_and_newest_seq(buffer: Buffer):
    buffer.append(cycle(0))
    buffer.append(cycle(60))
    buffer.acknowledge([1, 2])
    stats = buffer.stats()
    assert (stats.depth, stats.oldest_ts, stats.newest_seq, stats.dropped_total) == (
        2,
        T0 + timedelta(seconds=60),
        4,
        0,
    )


def test_read_stats_reads_the_file_while_the_agent_holds_it(buffer: Buffer, path: Path):
    buffer.append(cycle(0))
    assert read_stats(path) == buffer.stats()


def test_read_stats_of_a_missing_file_names_it(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=f"no hay un buffer del gateway en {tmp_path / 'none.db'}"):
        read_stats(tmp_path / "none.db")


def test_a_second_owner_is_refused(buffer: Buffer, path: Path):
    with pytest.raises(BufferInUse, match=f"el buffer del gateway {path} ya lo tiene abierto otro proceso"):
        Buffer.open(path)


def test_a_file_that_is_not_a_buffer_is_refused_naming_it_and_left_alone(path: Path):
    path.write_bytes(b"not a database, just some bytes" * 100)
    with pytest.raises(BufferUnusable, match=f"no se puede abrir el buffer del gateway {path}: file is not a database"):
        Buffer.open(path)
    assert path.read_bytes() == b"not a database, just some bytes" * 100


def test_the_file_is_in_wal_mode(buffer: Buffer, path: Path):
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.parametrize("max_mb", [0, -1, 0.01, float("nan")])
def test_a_budget_below_the_minimum_is_refused(path: Path, max_mb: float):
    with pytest.raises(ValueError, match=f"max_mb del buffer del gateway debe ser al menos 0.1, se recibió {max_mb}"):
        Buffer.open(path, max_mb=max_mb)
    assert not path.exists()


@pytest.mark.parametrize(
    ("used", "target", "depth", "expected"),
    [
        (100, 100, 10, 0),  # at the target: nothing
        (100, 200, 10, 0),  # under it
        (200, 100, 0, 0),  # nothing left to drop
        (200, 100, 10, 5),  # 20 bytes a row, 100 over
        (101, 100, 10, 1),  # a byte over: at least one row
        (1000, 0, 10, 10),  # never more than there is
    ],
)
def test_rows_to_drop(used: int, target: int, depth: int, expected: int):
    assert rows_to_drop(used, target, depth) == expected


def fill(buffer: Buffer, cycles: int, variables: int = 200) -> None:
    for second in range(cycles):
        assert buffer.append(cycle(second, variables)) == variables


def test_over_budget_the_oldest_are_dropped_counted_and_the_newest_kept(path: Path):
    with Buffer.open(path, max_mb=0.25) as buffer:
        fill(buffer, 40)
        stats = buffer.stats()
        assert stats.size_bytes <= buffer.max_bytes
        assert stats.dropped_total + stats.depth == 40 * 200
        assert stats.dropped_total > 0
        assert [reading.seq for reading in buffer.pending(limit=10_000)] == list(range(stats.dropped_total + 1, 8001))


@pytest.mark.parametrize(
    "write",
    [
        lambda buffer: buffer.append(cycle(0, variables=3)),
        lambda buffer: buffer.acknowledge([1, 3, 999]),
        lambda buffer: buffer.acknowledge_range(1, 150),
        lambda buffer: fill(buffer, 40),  # over the budget: the oldest are dropped
        lambda buffer: buffer.append(cycle(1000, variables=4000)),  # SQLITE_FULL: dropped, then stored
        lambda buffer: buffer.append(cycle(2000, variables=9000)),  # can never fit: lost
    ],
    ids=["append", "acknowledge", "acknowledge_range", "over_budget", "disk_full", "lost"],
)
def test_the_depth_kept_across_writes_is_what_counting_the_file_finds(path: Path, write):
    with Buffer.open(path, max_mb=0.25) as buffer:
        fill(buffer, 10)
        buffer.stats()  # counted here, then kept by the writes
        write(buffer)
        assert buffer.stats() == read_stats(path)


def test_the_drop_counter_survives_a_restart(path: Path):
    with Buffer.open(path, max_mb=0.25) as buffer:
        fill(buffer, 40)
        dropped = buffer.stats().dropped_total
    with Buffer.open(path, max_mb=0.25) as buffer:
        assert buffer.stats().dropped_total == dropped


def test_dropping_is_logged_as_a_warning(path: Path, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.WARNING, logger="caudal.edge.buffer"), Buffer.open(path, max_mb=0.25) as buffer:
        fill(buffer, 40)
    assert caplog.records
    assert all(
        r.levelname == "WARNING" and "sobre su límite de 0.25 MB: se descartaron las" in r.message
        for r in caplog.records
    )


def test_a_full_disk_drops_the_oldest_and_stores_the_cycle(path: Path, caplog: pytest.LogCaptureFixture):
    """A cycle bigger than the headroom hits SQLITE_FULL (max_page_count), like a full disk does."""
    with Buffer.open(path, max_mb=0.25) as buffer:
        fill(buffer, 15)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="caudal.edge.buffer"):
            assert buffer.append(cycle(1000, variables=4000)) == 4000
        stats = buffer.stats()
        assert stats.dropped_total + stats.depth == 15 * 200 + 4000
        assert buffer.pending(limit=10_000)[-1].seq == stats.newest_seq == 15 * 200 + 4000
    assert [r.message for r in caplog.records] == [  # the retried cycle itself still had to fit the budget
        f"buffer del gateway {path} sobre su límite de 0.25 MB: se descartaron las {stats.dropped_total - 3000}"
        " lecturas más antiguas",
        f"buffer del gateway {path}: disco lleno, se descartaron las 3000 lecturas más antiguas para guardar el ciclo",
    ]


def test_a_cycle_that_can_never_fit_is_counted_as_lost_not_raised(path: Path, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.ERROR, logger="caudal.edge.buffer"), Buffer.open(path, max_mb=0.25) as buffer:
        assert buffer.append(cycle(0, variables=9000)) == 0
        assert buffer.append(cycle(60, variables=3)) == 3
        assert buffer.stats() == read_stats(path)
        assert (buffer.stats().depth, buffer.stats().dropped_total) == (3, 9000)
    assert [r.message for r in caplog.records] == [
        f"buffer del gateway {path} lleno aun tras descartar las lecturas más antiguas: se perdió un ciclo de"
        " lectura de 9000 lecturas"
    ]


def test_reopening_a_buffer_writes_nothing_to_it(path: Path):
    """Opening must work on a full disk, so it must not write (it used to rewrite user_version)."""
    with Buffer.open(path) as buffer:
        buffer.append(cycle(0))
    before = path.read_bytes()
    with Buffer.open(path) as buffer:
        assert buffer.stats().depth == 2
    assert path.read_bytes() == before


def test_a_buffer_of_a_newer_schema_is_refused_naming_both_versions(path: Path):
    with Buffer.open(path):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA user_version=7")
    with pytest.raises(BufferUnusable) as refused:
        Buffer.open(path)
    assert str(refused.value) == (
        f"no se puede abrir el buffer del gateway {path}: lo escribió un agente más nuevo"
        " (esquema 7; este agente conoce el 1)"
    )
