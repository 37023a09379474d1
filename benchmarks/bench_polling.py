"""Modbus transactions per second through the agent's bus actor vs a bare pymodbus client loop.

Both read the same registers (a Siemens MAG 6000 map: 2 requests per device) of 50 simulated
devices (unit ids 1..50) from one Modbus TCP server running in a subprocess, in the same run,
alternating rounds so drift on the machine affects both alike. The agent path is what
production does per poll: queue through the bus actor, pacing checks, decoding, readings.
Goal: ratio >= 0.8.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from edge.bus import BusActor
from edge.config import SiteConfig
from edge.poller import Poller
from protocols.clock import SystemClock

DEVICES = 50
ROUNDS = 3
SECONDS_PER_ROUND = 1.5


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def simulator(devices: int, profile: str = "siemens-mag6000") -> Iterator[int]:
    """``caudal sim modbus`` in a subprocess with ``devices`` meters; yields its TCP port."""
    port = free_port()
    caudal = str(Path(sys.executable).parent / "caudal")
    args = [caudal, "sim", "modbus", "--tcp", f"127.0.0.1:{port}"]
    for unit in range(1, devices + 1):
        args += ["--device", f"{profile}:{unit}"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    try:
        _wait_listening(port)
        yield port
    finally:
        process.terminate()
        process.wait(10)


def _wait_listening(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"simulator did not listen on port {port} within {timeout_s} s")


def site(port: int, devices: int) -> SiteConfig:
    return SiteConfig.model_validate({
        "gateway": {"id": "gw-bench", "central_url": "http://127.0.0.1:9", "token_file": "/dev/null",
                    "buffer_path": "/tmp/caudal-bench.db"},
        "buses": [{"name": "plc", "type": "tcp", "host": "127.0.0.1", "port": port, "pause_ms": 0, "timeout_s": 2}],
        "devices": [{"name": f"d{u}", "bus": "plc", "unit_id": u, "point": f"P{u}", "profile": "siemens-mag6000"}
                    for u in range(1, devices + 1)],
    })


async def bare_rate(port: int, devices: int, seconds: float) -> float:
    """A plain pymodbus loop: the same requests, nothing else."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=2)
    await client.connect()
    done, deadline = 0, time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for unit in range(1, devices + 1):
            await client.read_holding_registers(3002, count=2, device_id=unit)
            await client.read_holding_registers(3014, count=4, device_id=unit)
            done += 2
    elapsed = time.perf_counter() - started
    client.close()
    return done / elapsed


async def agent_rate(port: int, devices: int, seconds: float) -> float:
    """The agent's path: Poller.poll_all through one BusActor (queue, pacing, decoding)."""
    config, clock, stop = site(port, devices), SystemClock(), asyncio.Event()
    actor = BusActor(config.buses[0], clock)
    task = asyncio.create_task(actor.run(stop))
    poller = Poller(config, {"plc": actor}, clock, sink=lambda readings: None)
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        await poller.poll_all()
    elapsed = time.perf_counter() - started
    transactions = actor.transactions
    stop.set()
    await task
    return transactions / elapsed


async def measure(port: int) -> tuple[float, float]:
    bare, agent = [], []
    for _ in range(ROUNDS):
        bare.append(await bare_rate(port, DEVICES, SECONDS_PER_ROUND))
        agent.append(await agent_rate(port, DEVICES, SECONDS_PER_ROUND))
    return max(bare), max(agent)


def main() -> None:
    with simulator(DEVICES) as port:
        bare, agent = asyncio.run(measure(port))
    print(f"   bare pymodbus loop : {bare:8.0f} transactions/s ({DEVICES} devices, Modbus TCP, server in a subprocess)")
    print(f"   agent bus actor    : {agent:8.0f} transactions/s")
    print(f"   ratio agent/bare   : {agent / bare:8.2f}  (goal >= 0.8)")


if __name__ == "__main__":
    main()
