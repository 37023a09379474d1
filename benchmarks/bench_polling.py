"""Agent CPU per poll vs a bare pymodbus loop paced the same, the buffer write included.

Issue 16, goal 5. Both read the same registers (a Siemens MAG 6000 map: 2 requests per
device) of 50 simulated devices (unit ids 1..50) from one Modbus TCP server running in a
subprocess, one poll of every device each PACE_S, in the same run, alternating rounds so
drift on the machine affects both alike. The agent path is what production does per poll:
queue through the bus actor, pacing checks, decoding, readings, and the poll's readings
written to a real edge buffer (one SQLite transaction, ``synchronous=FULL``). Figure: CPU
seconds of this process per poll (the simulator is another process); ratio agent / bare
per round, median of the rounds (goal <= 1.5).
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pymodbus.client import AsyncModbusTcpClient

from benchmarks.figures import Figures, spread
from edge.buffer import Buffer
from edge.bus import BusActor
from edge.config import SiteConfig
from edge.poller import Poller
from protocols.clock import SystemClock

DEVICES = 50
ROUNDS = 5
POLLS_PER_ROUND = 20
PACE_S = 0.25


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
    return SiteConfig.model_validate(
        {
            "gateway": {
                "id": "gw-bench",
                "central_url": "http://127.0.0.1:9",
                "token_file": "/dev/null",
                "buffer_path": "/tmp/caudal-bench.db",
            },
            "buses": [{"name": "plc", "type": "tcp", "host": "127.0.0.1", "port": port, "pause_ms": 0, "timeout_s": 2}],
            "devices": [
                {"name": f"d{u}", "bus": "plc", "unit_id": u, "point": f"P{u}", "profile": "siemens-mag6000"}
                for u in range(1, devices + 1)
            ],
        }
    )


async def paced(poll, polls: int) -> float:
    """CPU seconds of this process per ``poll()``, one poll every PACE_S."""
    cpu = time.process_time()
    for _ in range(polls):
        started = time.perf_counter()
        await poll()
        await asyncio.sleep(max(0.0, PACE_S - (time.perf_counter() - started)))
    return (time.process_time() - cpu) / polls


async def bare_cpu(port: int, devices: int, polls: int) -> float:
    """A plain pymodbus loop: the same requests, nothing else."""
    client = AsyncModbusTcpClient("127.0.0.1", port=port, retries=0, timeout=2)
    await client.connect()

    async def poll() -> None:
        for unit in range(1, devices + 1):
            await client.read_holding_registers(3002, count=2, device_id=unit)
            await client.read_holding_registers(3014, count=4, device_id=unit)

    try:
        return await paced(poll, polls)
    finally:
        client.close()


async def agent_cpu(port: int, devices: int, polls: int, buffer: Buffer) -> float:
    """The agent's path: Poller.poll_all through one BusActor (queue, pacing, decoding), into the buffer."""
    config, clock, stop = site(port, devices), SystemClock(), asyncio.Event()
    actor = BusActor(config.buses[0], clock)
    task = asyncio.create_task(actor.run(stop))
    poller = Poller(config, {"plc": actor}, clock, sink=buffer.append)

    async def poll() -> None:
        buffer.append(await poller.poll_all())

    try:
        return await paced(poll, polls)
    finally:
        stop.set()
        await task


async def measure(port: int, buffer: Buffer) -> tuple[list[float], list[float]]:
    bare, agent = [], []
    for _ in range(ROUNDS):
        bare.append(await bare_cpu(port, DEVICES, POLLS_PER_ROUND))
        agent.append(await agent_cpu(port, DEVICES, POLLS_PER_ROUND, buffer))
    return bare, agent


def main() -> Figures:
    with (
        simulator(DEVICES) as port,
        tempfile.TemporaryDirectory() as folder,
        Buffer.open(f"{folder}/buffer.db") as buffer,
    ):
        bare, agent = asyncio.run(measure(port, buffer))
    print(
        f"   {DEVICES} devices over Modbus TCP (server in a subprocess), one poll every {PACE_S:g} s,"
        f" {POLLS_PER_ROUND} polls per round"
    )
    print(f"   bare pymodbus loop   CPU ms per poll {spread([s * 1000 for s in bare])}")
    print(f"   agent + buffer write CPU ms per poll {spread([s * 1000 for s in agent])}")
    figures = Figures("edge CPU per poll")
    figures.ratio("agent CPU per poll (buffer write included) / bare pymodbus loop (goal <= 1.5)", agent, bare)
    return figures


if __name__ == "__main__":
    main()
