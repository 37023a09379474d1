"""Bus actors against real pymodbus servers (the simulator) over TCP, RTU over TCP and a pty pair."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.poller import Poller
from edge.simulator.device import DeviceConfig as SimDevice
from edge.simulator.runner import run_simulator
from protocols.clock import ManualClock
from protocols.uplink import Quality
from tests.edge.sites import (
    RunningBuses,
    collector,
    device,
    meter,
    rtu_bus,
    simulated,
    site,
    tcp_bus,
)
from tests.edge.uplink_server import until
from tests.ports import free_port

TICKS = 100


async def test_two_devices_keep_their_schedule_while_a_third_on_the_same_rs485_bus_is_silent(
    tmp_path: Path, clock: ManualClock
) -> None:
    """100 one-second slots under a ManualClock: time moves only between slots, so every slot
    is offered; what is tested is that the silent slave's real timeouts (0.1 s each) neither
    close the shared port (pymodbus' retries+3 rule) nor disturb the other slaves' replies."""
    sim = simulated(meter(1), meter(2), meter(3, fault="silent"), pty=True)
    async with run_simulator(sim, clock) as running:
        config = site(
            tmp_path, [rtu_bus(running.client_port)], [device(f"pozo-{u}", u, bus="rs485-1") for u in (1, 2, 3)]
        )
        ticks, sink = collector()
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, sink)
            stop = asyncio.Event()
            task = asyncio.create_task(poller.run(stop))
            for tick in range(1, TICKS + 1):
                await until(lambda tick=tick: poller.cycles >= tick)
                clock.advance(1)
            stop.set()
            await task
    good = {name: [r for t in ticks for r in t if r.device == name] for name in ("pozo-1", "pozo-2", "pozo-3")}
    for name in ("pozo-1", "pozo-2"):
        assert len(good[name]) >= TICKS * 2
        assert all(r.quality is Quality.GOOD for r in good[name])
    counters = {d.name: d.counters for d in poller.devices}
    assert counters["pozo-1"].ok >= 0.99 * TICKS and counters["pozo-2"].ok >= 0.99 * TICKS
    assert {(r.value, r.quality) for r in good["pozo-3"]} == {(None, Quality.TIMEOUT)}
    assert counters["pozo-3"].timeouts == 7  # attempts at slots 0, 1, 3, 7, 15, 31, 63 (backoff doubles)
    assert counters["pozo-3"].timeouts + counters["pozo-3"].skipped == len(ticks)
    assert buses["rs485-1"].reconnects == 0


async def test_a_modbus_exception_reply_becomes_device_error_readings(tmp_path: Path, clock: ManualClock) -> None:
    async with run_simulator(simulated(meter(5, fault="exception")), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-5", 5)])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            readings = await poller.poll_all()
    assert [(r.variable, r.value, r.quality) for r in readings] == [
        ("flow", None, Quality.DEVICE_ERROR),
        ("totalizer", None, Quality.DEVICE_ERROR),
    ]
    counters = poller.devices[0].counters
    assert (counters.errors, counters.timeouts, counters.backoff_until) == (1, 0, None)
    assert counters.last_error == "unit id 5 respondió la excepción 4 (falla del equipo)"


async def test_a_nan_from_a_level_probe_becomes_a_decode_error(tmp_path: Path, clock: ManualClock) -> None:
    probe = SimDevice(profile="keller-series30", unit_id=7, fault="nan")
    async with run_simulator(simulated(probe), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("nivel-7", 7, profile="keller-series30")])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            readings = await poller.poll_all()
    assert [(r.device, r.variable, r.value, r.unit, r.quality) for r in readings] == [
        ("nivel-7", "level", None, "m", Quality.DECODE_ERROR)
    ]
    assert poller.devices[0].counters.decode_errors == 1


async def test_the_link_is_reopened_after_the_server_went_away(tmp_path: Path, clock: ManualClock) -> None:
    port = free_port()
    config = site(tmp_path, [tcp_bus(port)], [device("pozo-1", 1)])
    async with RunningBuses(config, clock) as buses:
        poller = Poller(config, buses, clock, lambda readings: None)
        async with run_simulator(simulated(meter(1), tcp_port=port), clock):
            first = await poller.poll_all()
        during_outage = await poller.poll_all()
        async with run_simulator(simulated(meter(1), tcp_port=port), clock):
            before_backoff = await poller.poll_all()
            clock.advance(1)
            after_backoff = await poller.poll_all()
    assert [r.quality for r in first] == [Quality.GOOD, Quality.GOOD]
    assert [r.quality for r in during_outage] == [Quality.DEVICE_ERROR, Quality.DEVICE_ERROR]
    assert [r.quality for r in before_backoff] == [Quality.DEVICE_ERROR, Quality.DEVICE_ERROR]
    assert [(r.variable, r.value, r.quality) for r in after_backoff] == [
        ("flow", 12.5, Quality.GOOD),
        ("totalizer", 1000.0, Quality.GOOD),
    ]
    assert buses["plc"].reconnects == 1


async def test_rtu_frames_over_tcp_are_read(tmp_path: Path, clock: ManualClock) -> None:
    async with run_simulator(simulated(meter(9, flow=10.0), rtu_over_tcp=True), clock) as running:
        bus = tcp_bus(running.rtu_over_tcp_port, name="bridge", type="rtu-over-tcp")
        config = site(tmp_path, [bus], [device("pozo-9", 9, bus="bridge")])
        async with RunningBuses(config, clock) as buses:
            readings = await Poller(config, buses, clock, lambda readings: None).poll_all()
    assert [(r.variable, r.value, r.unit, r.quality) for r in readings] == [
        ("flow", pytest.approx(10.0), "L/s", Quality.GOOD),
        ("totalizer", 1000.0, "m3", Quality.GOOD),
    ]


async def test_adjacent_registers_of_a_device_are_read_in_one_request(tmp_path: Path, clock: ManualClock) -> None:
    extra = [
        {"variable": "raw_high", "address": 3002, "type": "uint16", "unit": "raw"},
        {"variable": "raw_low", "address": 3003, "type": "uint16", "unit": "raw"},
    ]
    async with run_simulator(simulated(meter(1, flow=10.0)), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-1", 1, registers=extra)])
        async with RunningBuses(config, clock) as buses:
            readings = await Poller(config, buses, clock, lambda readings: None).poll_all()
            transactions = buses["plc"].transactions
    assert [(r.variable, r.value) for r in readings] == [
        ("flow", pytest.approx(10.0)),
        ("totalizer", 1000.0),
        ("raw_high", 0x4210),
        ("raw_low", 0),
    ]
    assert transactions == 2


@pytest.mark.parametrize(
    "transport, expected",
    [
        ("tcp", [Quality.TIMEOUT] * 10 + [Quality.DEVICE_ERROR] * 2),  # stale connection: closed, reopen pending
        ("pty", [Quality.TIMEOUT] * 12),  # RS-485: silence says nothing about the port, it stays open
    ],
)
async def test_only_a_tcp_link_where_nothing_answers_any_more_is_reopened(
    tmp_path: Path, clock: ManualClock, transport: str, expected: list[Quality]
) -> None:
    sim_config = simulated(meter(3, fault="silent"), pty=transport == "pty")
    async with run_simulator(sim_config, clock) as running:
        bus = (
            tcp_bus(running.tcp_port, timeout_s=0.02)
            if transport == "tcp"
            else rtu_bus(running.client_port, timeout_s=0.02)
        )
        config = site(tmp_path, [bus], [device("pozo-3", 3, bus=bus["name"], profile="keller-series30")])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            qualities = [(await poller.poll_all())[0].quality for _ in range(12)]
    assert qualities == expected


async def test_a_serial_port_is_reopened_after_the_adapter_was_unplugged(tmp_path: Path, clock: ManualClock) -> None:
    """The config names a by-id style symlink; unplugging removes the device node, re-plugging
    brings a new node behind the same link (what udev does for /dev/serial/by-id/...)."""
    by_id = tmp_path / "usb-FTDI_FT232R_USB_UART_A10K1234-if00-port0"
    config = site(tmp_path, [rtu_bus(str(by_id))], [device("pozo-1", 1, bus="rs485-1")])
    async with RunningBuses(config, clock) as buses:
        poller = Poller(config, buses, clock, lambda readings: None)
        async with run_simulator(simulated(meter(1), pty=True), clock) as first:
            by_id.symlink_to(first.client_port)
            before = await poller.poll_all()
        by_id.unlink()
        unplugged = await poller.poll_all()
        async with run_simulator(simulated(meter(1), pty=True), clock) as second:
            by_id.symlink_to(second.client_port)
            clock.advance(60)
            replugged = await poller.poll_all()
    assert [r.quality for r in before] == [Quality.GOOD, Quality.GOOD]
    assert [r.quality for r in unplugged] == [Quality.DEVICE_ERROR, Quality.DEVICE_ERROR]
    assert buses["rs485-1"].reconnects == 1
    assert [(r.variable, r.value, r.quality) for r in replugged] == [
        ("flow", 12.5, Quality.GOOD),
        ("totalizer", 1000.0, Quality.GOOD),
    ]


async def test_a_cancelled_poll_withdraws_the_reads_its_bus_has_not_served(tmp_path: Path, clock: ManualClock) -> None:
    """A poll queues every device's reads at once; cancelled while the bus waits on a silent
    slave, the reads queued behind it are never sent and no device stays in flight. The poll
    after it is served behind the silent slave's timeout, so its count closes the books."""
    async with run_simulator(simulated(meter(3, fault="silent"), meter(4)), clock) as running:
        config = site(tmp_path, [tcp_bus(running.tcp_port)], [device("pozo-3", 3), device("pozo-4", 4)])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            poll = asyncio.create_task(poller.poll_all())
            await until(lambda: buses["plc"].transactions == 1)  # the silent one's request is out
            poll.cancel()
            with pytest.raises(asyncio.CancelledError):
                await poll
            in_flight = [d.in_flight for d in poller.devices]
            await poller.poll_all()
            served = buses["plc"].transactions
    assert in_flight == [False, False]
    assert served == 1 + (1 + 2)  # the cancelled poll's silent read; the next poll's: 1 (then skipped), 2 blocks
    assert [(d.name, d.counters.polls) for d in poller.devices] == [("pozo-3", 1), ("pozo-4", 1)]


async def test_a_cancelled_poll_leaves_no_device_in_flight_on_any_bus(tmp_path: Path, clock: ManualClock) -> None:
    """Cancelled while waiting on a silent slave of one bus, a poll also lets go of a device
    whose read another bus has already served but the poll had not taken yet: the next poll
    reads it, where a device left in flight is skipped as an overrun at every tick."""
    async with run_simulator(simulated(meter(3, fault="silent"), meter(4)), clock) as running:
        buses_config = [tcp_bus(running.tcp_port), tcp_bus(running.tcp_port, name="plc-2")]
        config = site(tmp_path, buses_config, [device("pozo-3", 3), device("pozo-4", 4, bus="plc-2")])
        async with RunningBuses(config, clock) as buses:
            poller = Poller(config, buses, clock, lambda readings: None)
            poll = asyncio.create_task(poller.poll_all())
            await until(lambda: buses["plc-2"].transactions == 2)  # pozo-4 served; pozo-3 still silent
            poll.cancel()
            with pytest.raises(asyncio.CancelledError):
                await poll
    assert [(d.name, d.in_flight) for d in poller.devices] == [("pozo-3", False), ("pozo-4", False)]


class HeldLink:
    """A link whose replies to a unit id wait until the test opens that unit's gate: two
    overlapping ticks' reads, served in the order the test chooses."""

    def __init__(self, gates: dict[int, asyncio.Event]) -> None:
        self.gates = gates
        self.connected = False

    async def connect(self) -> None:
        self.connected = True

    async def read(self, table: object, address: int, count: int, unit_id: int, timeout_s: float) -> list[int]:
        await self.gates[unit_id].wait()
        return [0] * count

    def close(self) -> None:
        self.connected = False


async def test_a_tick_ending_leaves_in_flight_a_device_a_later_tick_is_reading(tmp_path: Path, clock: ManualClock):
    """Tick A has taken pozo-1's reply and waits for pozo-2's; tick B starts pozo-1 again.
    When A ends, pozo-1 is still B's read in flight: a tick releases only the reads it did
    not take, or a third tick would read pozo-1 twice at once."""
    gates = {1: asyncio.Event(), 2: asyncio.Event()}
    quiet = {"pause_ms": 0, "connect_pause_ms": 0}  # no silences to wait out on the test clock
    buses_config = [tcp_bus(free_port(), **quiet), tcp_bus(free_port(), name="plc-2", **quiet)]
    config = site(tmp_path, buses_config, [device("pozo-1", 1, bus="plc-2"), device("pozo-2", 2)])
    async with RunningBuses(config, clock, link_factory=lambda bus: HeldLink(gates)) as buses:
        poller = Poller(config, buses, clock, lambda readings: None)
        pozo_1 = poller.devices[0]
        tick_a = asyncio.create_task(poller.poll_all())
        await asyncio.sleep(0)  # tick A queues both reads
        gates[1].set()
        await until(lambda: not pozo_1.in_flight)  # tick A took pozo-1's reply
        gates[1].clear()
        tick_b = asyncio.create_task(poller.poll_all())
        await until(lambda: pozo_1.in_flight)  # tick B's read of pozo-1, held
        gates[2].set()
        await tick_a
        in_flight_after_a = pozo_1.in_flight
        gates[1].set()
        await tick_b
    assert (in_flight_after_a, pozo_1.in_flight) == (True, False)
