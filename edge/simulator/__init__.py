"""Simulated Modbus meters and level sensors on a simulated pumped well.

Used by the tests, by ``caudal demo`` and by technicians for training (``caudal sim modbus``).
"""

from __future__ import annotations

from edge.simulator.device import DEFAULT_LOOP, DeviceConfig, Fault, SimulatedDevice
from edge.simulator.pty import open_pty_pair
from edge.simulator.runner import Endpoint, RunningSimulator, SimConfig, run_simulator
from edge.simulator.server import SimServerError
from edge.simulator.well import PumpedWell, WellParams, WellReading

__all__ = [
    "DEFAULT_LOOP",
    "DeviceConfig",
    "Endpoint",
    "Fault",
    "PumpedWell",
    "RunningSimulator",
    "SimConfig",
    "SimServerError",
    "SimulatedDevice",
    "WellParams",
    "WellReading",
    "open_pty_pair",
    "run_simulator",
]
