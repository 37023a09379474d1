"""The demo's wells: their points, simulated meters, the site file, and the hour of history.

Each well is one pumped-well model (:mod:`edge.simulator.well`) behind its own simulator: the
northern well on Modbus RTU over a pseudo-terminal pair (a flowmeter and a level probe on one
RS-485 line), the southern one on Modbus TCP, pumping 1.5 times its water right so an alert
fires. The history that stands for a gateway's backlog is taken from the same model and passed
through each meter's register codec, so it holds exactly what the agent would have read.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from edge.config import SiteConfig, load_site_config
from edge.simulator import DeviceConfig, Endpoint, PumpedWell, RunningSimulator, SimConfig, WellParams
from edge.simulator.device import SimulatedDevice
from protocols.registers import decode_reading, encode_reading
from protocols.uplink import MAX_BATCH_READINGS, Batch, Reading

GATEWAY = "gw-demo-01"


class DemoDevice(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    profile: str
    unit_id: int


class DemoWell(BaseModel):
    """One catchment point and the simulated devices that measure it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    name: str
    water_right_lps: float
    sensor_depth_m: float
    flow_cutoff_lps: float
    latitude: float
    longitude: float
    transport: Literal["rtu", "tcp"]
    devices: tuple[DemoDevice, ...]
    well: WellParams
    history_s: int = Field(gt=0, description="How far back the backlog starts, a whole number of pump cycles")
    informant_rut: str
    informant_password: str

    @model_validator(mode="after")
    def _history_ends_where_live_begins(self) -> DemoWell:
        """The live model starts at the beginning of a pump cycle, so the history must end at one."""
        cycle = self.well.pump_on_s + self.well.pump_off_s
        if self.history_s % cycle:
            raise ValueError(f"{self.code}: history_s {self.history_s} is not a whole number of {cycle} s cycles")
        return self

    def point_body(self) -> dict[str, Any]:
        """``POST /api/v1/points`` body."""
        return {
            "code": self.code,
            "name": self.name,
            "kind": "subterranea",
            "latitude": self.latitude,
            "longitude": self.longitude,
            "water_right_lps": self.water_right_lps,
            "sensor_depth_m": self.sensor_depth_m,
            "flow_cutoff_lps": self.flow_cutoff_lps,
        }


WELLS: tuple[DemoWell, ...] = (
    DemoWell(
        code="OB-0601-444",
        name="Pozo Norte (Modbus RTU)",
        water_right_lps=15.0,
        sensor_depth_m=60.0,
        flow_cutoff_lps=0.5,
        latitude=-34.17,
        longitude=-70.74,
        transport="rtu",
        devices=(
            DemoDevice(name="caudalimetro-norte", profile="siemens-mag6000", unit_id=1),
            DemoDevice(name="nivel-norte", profile="keller-series30", unit_id=2),
        ),
        well=WellParams(
            flow_lps=12.0,
            pump_on_s=1200,
            pump_off_s=600,
            response_s=120.0,
            sensor_depth_m=60.0,
            initial_totalizer_m3=154_000.0,
        ),
        history_s=7200,
        informant_rut="12345678-5",
        informant_password="clave-pozo-norte",
    ),
    DemoWell(
        code="OB-0601-445",
        name="Pozo Sur (Modbus TCP, over its right)",
        water_right_lps=10.0,
        sensor_depth_m=80.0,
        flow_cutoff_lps=0.5,
        latitude=-34.19,
        longitude=-70.71,
        transport="tcp",
        devices=(
            DemoDevice(name="caudalimetro-sur", profile="abb-aquamaster3", unit_id=1),
            DemoDevice(name="nivel-sur", profile="keller-series30", unit_id=2),
        ),
        well=WellParams(
            flow_lps=10.0,
            exceed_factor=1.5,
            pump_on_s=3600,
            pump_off_s=0,
            static_level_m=55.0,
            drawdown_m=12.0,
            response_s=300.0,
            sensor_depth_m=80.0,
            initial_totalizer_m3=88_000.0,
        ),
        history_s=7200,
        informant_rut="11111111-1",
        informant_password="clave-pozo-sur",
    ),
)


def live_params(well: DemoWell, start: datetime, seed: int) -> WellParams:
    """The live model carries on where the history ended: same count, same water column.

    The live model starts at rest, so the history's last level becomes its resting level and the
    pumping level stays where it was (a well that never stops is already at its pumping level).
    """
    params = well.well
    end = PumpedWell(params, start - timedelta(seconds=well.history_s), seed).advance_to(start)
    pumping_level = params.static_level_m - params.drawdown_m
    return params.model_copy(
        update={
            "initial_totalizer_m3": end.totalizer,
            "static_level_m": end.level,
            "drawdown_m": max(0.0, end.level - pumping_level),
        }
    )


def sim_config(well: DemoWell, start: datetime, seed: int) -> SimConfig:
    devices = [DeviceConfig(profile=device.profile, unit_id=device.unit_id) for device in well.devices]
    return SimConfig(
        devices=devices,
        well=live_params(well, start, seed),
        seed=seed,
        tcp=Endpoint() if well.transport == "tcp" else None,
        pty=well.transport == "rtu",
    )


def backlog(well: DemoWell, start: datetime, seed: int, interval_s: int = 60) -> list[Reading]:
    """What a gateway would have buffered for ``well`` before ``start``, one reading per interval."""
    model = PumpedWell(well.well, start - timedelta(seconds=well.history_s), seed)
    devices = [
        (device.name, SimulatedDevice(DeviceConfig(profile=device.profile, unit_id=device.unit_id)))
        for device in well.devices
    ]
    first = math.ceil(model.start.timestamp() / interval_s) * interval_s
    readings: list[Reading] = []
    for epoch in range(first, math.ceil(start.timestamp()), interval_s):
        state = model.advance_to(datetime.fromtimestamp(epoch, start.tzinfo))
        for name, device in devices:
            for spec in device.specs:
                shown = state.value(spec.variable)
                if shown is None:
                    continue
                value, quality = decode_reading(spec, encode_reading(spec, shown))
                readings.append(
                    Reading(
                        seq=len(readings) + 1,
                        device=name,
                        point=well.code,
                        variable=spec.variable,
                        ts=state.ts,
                        value=value,
                        unit=spec.canonical_unit,
                        quality=quality,
                    )
                )
    return readings


def backlog_batches(readings: list[Reading], sent_at: datetime) -> list[Batch]:
    """The backlog cut into uploads no larger than the uplink allows."""
    return [
        Batch(gateway=GATEWAY, sent_at=sent_at, readings=readings[i : i + MAX_BATCH_READINGS])
        for i in range(0, len(readings), MAX_BATCH_READINGS)
    ]


def write_site(
    workdir: Path, central_url: str, token: str, sims: dict[str, RunningSimulator], interval_s: int
) -> SiteConfig:
    """Write ``site.yaml`` and the token file the agent reads, and validate them as ``caudal edge`` would."""
    token_file = workdir / "gateway.token"
    token_file.write_text(token + "\n", encoding="utf-8")
    token_file.chmod(0o600)
    site = {
        "gateway": {
            "id": GATEWAY,
            "central_url": central_url,
            "token_file": str(token_file),
            "buffer_path": str(workdir / "buffer.db"),
            "heartbeat_s": 30,
            "config_source": "central",
        },
        "buses": [_bus(well, sims[well.code]) for well in WELLS],
        "devices": [
            {
                "name": device.name,
                "bus": _bus_name(well),
                "unit_id": device.unit_id,
                "point": well.code,
                "interval_s": interval_s,
                "profile": device.profile,
            }
            for well in WELLS
            for device in well.devices
        ],
    }
    path = workdir / "site.yaml"
    path.write_text(yaml.safe_dump(site, sort_keys=False), encoding="utf-8")
    return load_site_config(path)


def _bus_name(well: DemoWell) -> str:
    return f"{well.transport}-{well.code.rsplit('-', 1)[-1]}"


def _bus(well: DemoWell, sim: RunningSimulator) -> dict[str, Any]:
    common = {"name": _bus_name(well), "type": well.transport, "timeout_s": 0.5, "pause_ms": 20}
    if well.transport == "rtu":
        return {**common, "port": sim.client_port, "baud": 19200}
    return {**common, "host": "127.0.0.1", "port": sim.tcp_port}
