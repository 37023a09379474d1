"""Peak memory (max RSS) of the real agent polling 50 devices, against a bare interpreter.

The agent runs as ``caudal edge run`` in a subprocess for a few one-second poll cycles
against ``caudal sim modbus`` (50 Siemens MAG 6000 meters over Modbus TCP), is stopped with
SIGTERM, and its ``ru_maxrss`` is read from ``wait4``. The baseline is a python process that
only imports the same modules, measured the same way in the same run: the difference is what
polling, buffering and uploading cost on a gateway.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from benchmarks.bench_polling import free_port, simulator

DEVICES = 50
RUN_S = 5.0
IMPORTS = "import edge.agent, edge.cli, edge.uploader, edge.buffer, pymodbus.client, aiohttp, serial"


def max_rss_mb(args: list[str], run_s: float | None = None) -> float:
    """Run ``args`` (stopping it with SIGTERM after ``run_s`` if given) and return its max RSS in MB."""
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if run_s is not None:
        time.sleep(run_s)
        process.send_signal(signal.SIGTERM)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{args[:3]} exited with {process.returncode}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def write_site(folder: Path, port: int) -> Path:
    (folder / "token").write_text("bench-token")
    config = {
        "gateway": {
            "id": "gw-bench",
            "central_url": f"http://127.0.0.1:{free_port()}",
            "token_file": str(folder / "token"),
            "buffer_path": str(folder / "buffer.db"),
        },
        "buses": [{"name": "plc", "type": "tcp", "host": "127.0.0.1", "port": port, "pause_ms": 0}],
        "devices": [
            {
                "name": f"pozo-{u}",
                "bus": "plc",
                "unit_id": u,
                "point": f"OB-{u:04d}",
                "interval_s": 1,
                "profile": "siemens-mag6000",
            }
            for u in range(1, DEVICES + 1)
        ],
    }
    path = folder / "site.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def main() -> None:
    caudal = str(Path(sys.executable).parent / "caudal")
    baseline = max_rss_mb([sys.executable, "-c", IMPORTS])
    with tempfile.TemporaryDirectory() as folder, simulator(DEVICES) as port:
        site = write_site(Path(folder), port)
        agent = max_rss_mb([caudal, "edge", "run", "-c", str(site)], run_s=RUN_S)
        state = json.loads((Path(folder) / "buffer.db.state.json").read_text())
    readings = sum(device["ok"] for device in state["devices"]) * 2
    print(f"   baseline (imports only) : {baseline:6.1f} MB max RSS")
    print(
        f"   agent, {DEVICES} devices     : {agent:6.1f} MB max RSS after {state['cycles']} cycles, {readings} readings"
    )
    print(
        f"   ratio agent/baseline    : {agent / baseline:6.2f}  (+{agent - baseline:.1f} MB for polling, buffer, uplink)"
    )


if __name__ == "__main__":
    main()
