"""The poller: wall-clock alignment, one buffer transaction per tick, backoff, overruns."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edge.poller import Poller, next_slot
from edge.simulator.runner import run_simulator
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.edge.sites import (
    RunningBuses,
    collector,
    device,
    meter,
    simulated,
    site,
    tcp_bus,
)
from tests.edge.uplink_server import until


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    "now, interval, slot",
    [
        ("2026-11-28T13:00:00", 60, "2026-11-28T13:00:00"),
        ("2026-11-28T13:00:00.001", 60, "2026-11-28T13:01:00"),
        ("2026-11-28T13:00:59.999", 60, "2026-11-28T13:01:00"),
        ("2026-11-28T13:00:07.3", 10, "2026-11-28T13:00:10"),
        ("2026-11-28T13:00:07.3", 1, "2026-11-28T13:00:08"),
        ("2026-11-28T13:07:00", 900, "2026-11-28T13:15:00"),
        ("2026-11-28T13:00:01", 3600, "2026-11-28T14:00:00"),
        ("2026-11-28T23:59:59", 86400, "2026-11-29T00:00:00"),
    ],
)
def test_slots_are_wall_clock_multiples_of_the_interval(now: str, interval: float, slot: str) -> None:
    assert next_slot(utc(now), interval) == utc(slot)


async def settle(clock: ManualClock, poller: Poller) -> None:
    """Wait until the scheduler has taken every slot up to now and no tick is still reading."""
    await until(lambda: poller.next_poll is not None and poller.next_poll > clock.now() and not poller.ticks_running)


async def drive(clock: ManualClock, poller: Poller, seconds: int) -> None:
    """Run the poller for ``seconds`` of clock time in one-second steps."""
    stop = asyncio.Event()
    task = asyncio.create_task(poller.run(stop))
    await settle(clock, poller)
    for _ in range(seconds):
        clock.advance(1)
        await settle(clock, poller)
    stop.set()
    await task


async def test_polls_land_on_wall_clock_multiples_and_each_tick_is_one_append(
    tmp_path: Path, clock: ManualClock
) -> None:
    clock.set("2026-11-28T13:00:07+00:00")  # on no 10 s or 60 s boundary
    async with run_simulator(simulated(meter(1), meter(2)), clock) as running:
        devices = [device("fast", 1, interval_s=10), device("slow", 2, interval_s=60)]
        config = site(tmp_path, [tcp_bus(running.tcp_port)], devices)
        ticks, sink = collector()
        async with RunningBuses(config, clock) as buses:
            await drive(clock, Poller(config, buses, clock, sink), 55)
    assert [sorted({(r.device, r.ts.isoformat()) for r in tick}) for tick in ticks] == [
        [("fast", "2026-11-28T13:00:10+00:00")],
        [("fast", "2026-11-28T13:00:20+00:00")],
        [("fast", "2026-11-28T13:00:30+00:00")],
        [("fast", "2026-11-28T13:00:40+00:00")],
        [("fast", "2026-11-28T13:00:50+00:00")],
        [("fast", "2026-11-28T13:01:00+00:00"), ("slow", "2026-11-28T13:01:00+00:00")],
    ]


async def test_a_device_still_being_read_at_its_next_slot_is_an_overrun_of_its_bus(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with run_simulator(simulated(meter(3, fault="silent")), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port, timeout_s=0.3)], [device("pozo-3", 3)])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            await until(lambda: poller.devices[0].in_flight)
            clock.advance(1)  # the next slot comes while the read still waits for its timeout
            await until(lambda: poller.cycles == 2)
            stop.set()
            await task
    assert poller.overruns == {"plc": 1}
    assert poller.devices[0].counters.timeouts == 1


async def test_readings_are_flagged_when_the_clock_is_not_synchronised(tmp_path: Path, clock: ManualClock) -> None:
    async with run_simulator(simulated(meter(1)), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-1", 1)])
        async with RunningBuses(config, clock) as buses:
            readings = await Poller(config, buses, clock, lambda r: None, clock_synced=lambda: False).poll_all()
    assert [(r.variable, r.value, r.quality) for r in readings] == [
        ("flow", 12.5, Quality.CLOCK_UNSYNCED),
        ("totalizer", 1000.0, Quality.CLOCK_UNSYNCED),
    ]


async def test_a_silent_device_backs_off_and_its_skipped_slots_are_recorded_as_gaps(
    tmp_path: Path, clock: ManualClock
) -> None:
    async with run_simulator(simulated(meter(3, fault="silent")), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port, timeout_s=0.05)], [device("pozo-3", 3)])
        ticks, sink = collector()
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, sink)
            await drive(clock, poller, 9)
    counters = poller.devices[0].counters
    # attempts at slots 0, 1, 3, 7 (after each, wait 1, 2, 4, 8 intervals); the other six slots skipped
    assert (counters.timeouts, counters.skipped, len(ticks)) == (4, 6, 10)
    assert {(r.value, r.quality) for tick in ticks for r in tick} == {(None, Quality.TIMEOUT)}
    assert counters.backoff_until == utc("2026-11-28T13:00:15")


async def test_the_agent_records_an_implausible_value_as_out_of_range_never_as_a_number(
    tmp_path: Path, clock: ManualClock
) -> None:
    """A site that reads the meter's high-word-first float low word first: the agent's poll, not
    only poll-once, turns the garbage into a quality flag and names it in the device's last error."""
    async with run_simulator(simulated(meter(1, flow=12.5)), clock) as running:
        wrong_order = device("pozo-1", 1, overrides={"flow": {"word_order": "little"}})
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [wrong_order])
        ticks, sink = collector()
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, sink)
            await drive(clock, poller, 1)
    assert {(r.variable, r.value, r.quality) for tick in ticks for r in tick} == {
        ("flow", None, Quality.OUT_OF_RANGE),
        ("totalizer", 1000.0, Quality.GOOD),
    }
    counters = poller.devices[0].counters
    assert (counters.ok, counters.decode_errors) == (2, 2)
    assert counters.last_error.endswith(" L/s es distinto de cero y menor que lo que resuelve cualquier medidor")


async def test_a_one_shot_poll_of_a_silent_device_sets_no_backoff(tmp_path: Path, clock: ManualClock) -> None:
    async with run_simulator(simulated(meter(3, fault="silent")), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port, timeout_s=0.05)], [device("pozo-3", 3)])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            await poller.poll_all()
    counters = poller.devices[0].counters
    assert (counters.timeouts, poller.devices[0].failures, counters.backoff_until) == (1, 0, None)
    assert counters.last_error == "unit id 3 no respondió en 0.05 s"
