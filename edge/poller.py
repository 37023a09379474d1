"""Polls every device at wall-clock multiples of its interval and turns replies into readings.

A 60 s device is read at :00 of every minute, so readings of different wells line up and
the central server's minute aggregates need no interpolation. Each slot's reads of all
devices due at that instant form one *tick*; its readings go to the sink (the buffer) in one
call, i.e. one SQLite transaction per poll cycle (docs/meters.md §7). Ticks run as tasks,
so a slow bus delays only its own devices; a device still being read when its next slot
comes is skipped and counted as an overrun of its bus. Everything is caught per device:
a bad reply becomes a quality flag, never a dead poller (docs/meters.md §6).

A configuration reload swaps the device list while the scheduler runs
(:meth:`Poller.reconfigure`): counters follow device names, and each device's next slot is
aligned to its (possibly new) interval without repeating a slot already polled.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from edge.backoff import backoff_s
from edge.buffer import PolledReading
from edge.bus import BlockResult, BusActor
from edge.config import DeviceConfig, SiteConfig
from edge.modbus import DeviceException, DeviceTimeout, ModbusError
from edge.state import DeviceCounters
from edge.waiting import wait_first
from protocols.clock import Clock, sleep_until
from protocols.registers import Decoded, ReadBlock, RegisterSpec, plan_reads
from protocols.uplink import EARLIEST_READING, Quality

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
Sink = Callable[[list[PolledReading]], None]
_Started = list[PolledReading] | asyncio.Future[list[BlockResult]]  # readings at once, or reads queued
CLOCK_RECHECK_S = 5.0  # while the clock reads before EARLIEST_READING, how often it is looked at again


def next_slot(now: datetime, interval_s: float) -> datetime:
    """The first wall-clock multiple of ``interval_s`` (since the epoch) at or after ``now``."""
    elapsed = (now - EPOCH).total_seconds()
    return EPOCH + timedelta(seconds=math.ceil(round(elapsed / interval_s, 9)) * interval_s)


def slot_after_reload(now: datetime, interval_s: float, last_instant: datetime | None) -> datetime:
    """A device's first slot under a reloaded schedule: aligned to ``interval_s``, at or after
    ``now``, and after ``last_instant``, the latest slot the scheduler already served (an instant
    is never polled twice, and a reload never adds a tick at an instant already past)."""
    slot = next_slot(now, interval_s)
    while last_instant is not None and slot <= last_instant:
        slot += timedelta(seconds=interval_s)
    return slot


def failure_quality(error: ModbusError) -> Quality:
    """What a failed read is recorded as: silence is a timeout, everything else a device error."""
    return Quality.TIMEOUT if isinstance(error, DeviceTimeout) else Quality.DEVICE_ERROR


class VariableRead(NamedTuple):
    """Where one configured variable's words are in a device's replies, and how they decode:
    worked out once per plan, because reading it off the register specs (pydantic models) at
    every poll cost more than decoding (issue 16)."""

    variable: str
    unit: str  # canonical
    block: int  # the index of its block in the plan, and of that block's result
    start: int  # its words in the block's reply
    stop: int
    decode: Callable[[Sequence[int]], Decoded]


def variable_reads(specs: Sequence[RegisterSpec], blocks: Sequence[ReadBlock]) -> list[VariableRead]:
    """Each spec's :class:`VariableRead`, in config order (``blocks`` hold every spec)."""
    index = {id(spec): (number, block) for number, block in enumerate(blocks) for spec in block.members}
    reads = []
    for spec in specs:
        number, block = index[id(spec)]
        start = spec.address - block.address
        reads.append(VariableRead(spec.variable, spec.canonical_unit, number, start, start + spec.count, spec.decoder))
    return reads


@dataclass
class DevicePoll:
    """One device with its read plan and counters."""

    config: DeviceConfig
    timeout_s: float
    blocks: list[ReadBlock]
    counters: DeviceCounters = field(default_factory=DeviceCounters)
    failures: int = 0  # consecutive timeouts, drives the backoff
    in_flight: bool = False
    last_failure: Quality = Quality.TIMEOUT
    reads: list[VariableRead] = field(init=False)

    def __post_init__(self) -> None:
        self.reads = variable_reads(self.config.specs, self.blocks)

    @property
    def name(self) -> str:
        return self.config.name

    def failed_readings(self, ts: datetime, quality: Quality) -> list[PolledReading]:
        """One value-less reading per variable: the gap is recorded, never filled in."""
        name, point = self.name, self.config.point
        return [PolledReading(name, point, read.variable, ts, None, read.unit, quality) for read in self.reads]

    def readings(self, results: Sequence[BlockResult], synced: bool) -> list[PolledReading]:
        """One reading per configured variable, in config order, from the results of the plan's
        blocks (in their order); a value the registers do not give (undecodable, implausible) is
        noted in ``counters.last_error``."""
        name, point = self.name, self.config.point
        found = []
        for read in self.reads:
            result = results[read.block]
            value, quality, problem = _decoded(result, read)
            if problem is not None:
                self.counters.last_error = problem
            if quality is Quality.GOOD and not synced:
                quality = Quality.CLOCK_UNSYNCED
            found.append(PolledReading(name, point, read.variable, result.ts, value, read.unit, quality))
        return found


def _decoded(result: BlockResult, read: VariableRead) -> Decoded:
    if result.words is None:
        return Decoded(None, failure_quality(result.error or DeviceTimeout("sin registros")))
    return read.decode(result.words[read.start : read.stop])


def plan_device(device: DeviceConfig, config: SiteConfig) -> DevicePoll:
    return DevicePoll(device, device.timeout_on(config.bus(device.bus)), plan_reads(device.specs))


def replan_device(device: DeviceConfig, config: SiteConfig, running: DevicePoll | None) -> DevicePoll:
    """A device after a reload: unchanged, the same object (a read in flight stays tracked);
    changed, a new plan that keeps the counters and backoff of the same name."""
    fresh = plan_device(device, config)
    if running is None:
        return fresh
    if (running.config, running.timeout_s) == (fresh.config, fresh.timeout_s):
        return running
    fresh.counters, fresh.failures, fresh.last_failure = running.counters, running.failures, running.last_failure
    return fresh


class Poller:
    """Schedules, reads and records every device of a site."""

    def __init__(
        self,
        config: SiteConfig,
        buses: Mapping[str, BusActor],
        clock: Clock,
        sink: Sink,
        *,
        clock_synced: Callable[[], bool] = lambda: True,
        on_cycle: Callable[[], None] = lambda: None,
    ) -> None:
        self.devices = [plan_device(device, config) for device in config.devices]
        self.buses = buses
        self.clock = clock
        self.sink = sink
        self.clock_synced = clock_synced
        self.on_cycle = on_cycle
        self.overruns: dict[str, int] = dict.fromkeys(buses, 0)
        self.cycles = 0
        self.ticks_running = 0
        self.next_poll: datetime | None = None
        self._due: dict[str, datetime] = {}
        self._last_instant: datetime | None = None
        self._rescheduled = asyncio.Event()

    @property
    def last_tick(self) -> datetime | None:
        """The instant of the latest tick started (a reload's first tick comes after the one running at it)."""
        return self._last_instant

    def reconfigure(self, config: SiteConfig, buses: Mapping[str, BusActor]) -> None:
        """Poll ``config``'s devices through ``buses`` from now on (a reload); ticks in progress finish.

        Synchronous on purpose: the device list, the actors and the schedule change in one step,
        so no read can reach an actor the reload has retired.
        """
        running = {device.name: device for device in self.devices}
        self.devices = [replan_device(device, config, running.get(device.name)) for device in config.devices]
        self.buses = buses
        self.overruns = {bus: self.overruns.get(bus, 0) for bus in buses}
        self._schedule()
        self._rescheduled.set()

    def _schedule(self) -> None:
        now = self.clock.now()
        self._due = {d.name: slot_after_reload(now, d.config.interval_s, self._last_instant) for d in self.devices}

    async def poll_all(self) -> list[PolledReading]:
        """Read every device once, now, whatever its schedule (``caudal edge poll-once``): a
        one-shot read sets no backoff and announces no next attempt; errors stay in the counters."""
        return await self._read_devices(self.devices, self.clock.now(), self.clock_synced(), scheduled=False)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll on schedule until ``stop``; the tick in progress is finished and recorded."""
        self._schedule()
        async with asyncio.TaskGroup() as ticks:
            while not stop.is_set():
                if self.clock.now() < EARLIEST_READING:
                    await self._wait_for_a_set_clock(stop)
                    continue
                instant = self.next_poll = min(self._due.values())
                self._rescheduled.clear()
                if await _wait_until(self.clock, instant, stop, self._rescheduled):
                    self._start_tick(ticks, instant)

    async def _wait_for_a_set_clock(self, stop: asyncio.Event) -> None:
        """Poll nothing while the clock reads before 2000: the server would refuse every such reading,
        and a schedule laid out in 1970 would count decades of missed slots once NTP sets the clock."""
        log.warning(
            "el reloj del sistema marca %s, antes de %s: no se leen los equipos hasta que se ponga en hora (NTP)",
            self.clock.now().isoformat(),
            EARLIEST_READING.date().isoformat(),
        )
        self.next_poll = None
        while not stop.is_set() and self.clock.now() < EARLIEST_READING:
            await wait_first(self.clock.sleep(CLOCK_RECHECK_S), stop.wait())
        if not stop.is_set():
            log.info("reloj del sistema en hora (%s): empieza la lectura de los equipos", self.clock.now().isoformat())
            self._schedule()

    def _start_tick(self, ticks: asyncio.TaskGroup, instant: datetime) -> None:
        devices = [device for device in self.devices if self._due[device.name] <= instant]
        self._last_instant = instant
        for device in devices:
            self._due[device.name] = self._following_slot(device, instant)
        self.ticks_running += 1
        ticks.create_task(self._tick(instant, self._startable(devices, instant)))

    def _following_slot(self, device: DevicePoll, instant: datetime) -> datetime:
        """The next slot after ``instant``; slots already past (a stalled loop) count as overruns."""
        interval = timedelta(seconds=device.config.interval_s)
        following = instant + interval
        while following <= self.clock.now():
            self._overrun(device, following, "el planificador se atrasó")
            following += interval
        return following

    def _startable(self, devices: list[DevicePoll], instant: datetime) -> list[DevicePoll]:
        ready = []
        for device in devices:
            if device.in_flight:
                self._overrun(device, instant, "su lectura anterior sigue en curso")
            else:
                ready.append(device)
        return ready

    def _overrun(self, device: DevicePoll, slot: datetime, why: str) -> None:
        self.overruns[device.config.bus] = self.overruns.get(device.config.bus, 0) + 1
        log.warning(
            "bus %s: se perdió el turno %s del equipo %s (%s); ciclos atrasados %d",
            device.config.bus,
            slot.isoformat(),
            device.name,
            why,
            self.overruns[device.config.bus],
        )

    async def _tick(self, instant: datetime, devices: list[DevicePoll]) -> None:
        try:
            await self._record_tick(instant, devices)
        finally:
            self.ticks_running -= 1

    async def _record_tick(self, instant: datetime, devices: list[DevicePoll]) -> None:
        readings = await self._read_devices(devices, instant, self.clock_synced(), scheduled=True)
        try:
            if readings:
                self.sink(readings)
        except Exception:
            log.exception("ciclo %s: no se pudieron guardar %d lecturas", instant.isoformat(), len(readings))
            return
        self.cycles += 1
        self.on_cycle()

    async def _read_devices(
        self, devices: Sequence[DevicePoll], slot: datetime, synced: bool, *, scheduled: bool
    ) -> list[PolledReading]:
        """Queue every device's reads on its bus at once, then take each device's results in
        turn while the buses serve their queues: a task per device cost a 50-device tick about
        6 % of its CPU (benchmarks/RESULTS.md). A cancelled tick withdraws the reads not yet served."""
        started = [(device, self._start(device, slot, scheduled)) for device in devices]
        readings: list[PolledReading] = []
        taken = 0
        try:
            for device, read in started:
                readings += await self._finish(device, read, slot, synced, scheduled)
                taken += 1
        finally:  # reads not taken (a cancelled tick): withdrawn if still queued; a taken device
            for device, read in started[taken:]:  # may be another tick's read by now, left alone
                if isinstance(read, asyncio.Future):
                    read.cancel()
                    device.in_flight = False
        return readings

    def _start(self, device: DevicePoll, slot: datetime, scheduled: bool) -> _Started:
        """The device's reads queued on its bus, or its readings already (backing off, no bus)."""
        backoff_until = device.counters.backoff_until
        if scheduled and backoff_until is not None and slot < backoff_until:
            device.counters.skipped += 1
            return device.failed_readings(slot, device.last_failure)
        bus = self.buses.get(device.config.bus)
        if bus is None:  # a reload removed the bus while this tick was starting: nothing to read through
            return device.failed_readings(slot, Quality.DEVICE_ERROR)
        device.in_flight = True
        return bus.submit(device.config.unit_id, device.blocks, device.timeout_s)

    async def _finish(
        self, device: DevicePoll, read: _Started, slot: datetime, synced: bool, scheduled: bool
    ) -> list[PolledReading]:
        if isinstance(read, list):
            return read
        try:
            results = await read
            readings = device.readings(results, synced)
            self._count(device, slot, results, readings, scheduled)
            return readings
        except Exception as exc:  # a bug or surprise must cost one device one poll, not the agent
            log.exception("equipo %s: falló la lectura", device.name)
            device.counters.errors += 1
            device.counters.last_error = f"{type(exc).__name__}: {exc}"
            return device.failed_readings(self.clock.now(), Quality.DEVICE_ERROR)
        finally:
            device.in_flight = False

    def _count(
        self,
        device: DevicePoll,
        slot: datetime,
        results: Sequence[BlockResult],
        readings: list[PolledReading],
        scheduled: bool,
    ) -> None:
        counters = device.counters
        counters.polls += 1
        counters.decode_errors += sum(1 for r in readings if r.quality in (Quality.DECODE_ERROR, Quality.OUT_OF_RANGE))
        error = next((result.error for result in results if result.error is not None), None)
        if error is None:
            self._succeeded(device)
        else:
            self._failed(device, slot, error, scheduled)

    def _succeeded(self, device: DevicePoll) -> None:
        counters = device.counters
        if device.failures:
            log.info("equipo %s: responde de nuevo tras %d timeouts", device.name, device.failures)
        counters.ok += 1
        device.failures = 0
        counters.backoff_until = None
        counters.last_ok = self.clock.now()

    def _failed(self, device: DevicePoll, slot: datetime, error: ModbusError, scheduled: bool) -> None:
        """Count a failure; only silence backs off (a device answering exceptions is alive), and
        only on schedule: a one-shot read has no next attempt."""
        counters = device.counters
        counters.last_error = str(error)
        device.last_failure = failure_quality(error)
        if not isinstance(error, DeviceTimeout):
            counters.errors += 1
            device.failures = 0 if isinstance(error, DeviceException) else device.failures
            return
        counters.timeouts += 1
        if not scheduled:
            return
        device.failures += 1
        backoff = self._backoff(device)
        counters.backoff_until = slot + timedelta(seconds=backoff)
        log.warning("equipo %s: %s; próximo intento a las %s", device.name, error, counters.backoff_until.isoformat())

    @staticmethod
    def _backoff(device: DevicePoll) -> float:
        settings = device.config.backoff
        return backoff_s(device.failures, device.config.backoff_initial_s, settings.max_s, settings.factor)


async def _wait_until(clock: Clock, when: datetime, *interrupts: asyncio.Event) -> bool:
    """Sleep until ``when``; False if one of ``interrupts`` (stop, a new schedule) was set first."""
    if not any(event.is_set() for event in interrupts):
        await wait_first(sleep_until(clock, when), *(event.wait() for event in interrupts))
    return not any(event.is_set() for event in interrupts)
