"""Site configuration: every mistake reported with file, line and field; good files load."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.config import BusType, ConfigError, load_site_config
from tests.sites import GATEWAY_NORTE, PLC_BUS

# pozo-2 reads its registers from this list, not a profile
LOOP_REGISTERS = """\
    registers:
      - variable: flow
        table: input
        address: 5016
        type: float32
        unit: m3/h
"""
BASE = GATEWAY_NORTE + """\
buses:
  - name: rs485-1
    type: rtu
    port: {serial}
    baud: 9600
""" + PLC_BUS + """\
devices:
  - name: pozo-1
    bus: rs485-1
    unit_id: 1
    point: OB-0601-444
    interval_s: 60
    profile: siemens-mag6000
    overrides:
      flow: {{unit: L/s}}
  - name: pozo-2
    bus: plc
    unit_id: 2
    point: OB-0601-445
    interval_s: 10
""" + LOOP_REGISTERS


@pytest.fixture
def serial_port(tmp_path: Path) -> str:
    """A path that exists, standing in for /dev/serial/by-id/... (only existence is checked)."""
    port = tmp_path / "ttyUSB-test"
    port.touch()
    return str(port)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.yaml"
    path.write_text(text)
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_site_config(path)
    return [str(problem).removeprefix(f"{path}:") for problem in caught.value.problems]


def test_the_base_file_loads_with_profile_overrides_applied(tmp_path: Path, serial_port: str) -> None:
    config = load_site_config(write(tmp_path, BASE.format(serial=serial_port)))
    assert [bus.type for bus in config.buses] == [BusType.RTU, BusType.TCP]
    assert [(s.variable, s.address, s.unit) for s in config.devices[0].specs] == [
        ("flow", 3002, "L/s"), ("totalizer", 3014, "m3")
    ]
    assert [(s.variable, s.table.value, s.address) for s in config.devices[1].specs] == [("flow", "input", 5016)]


ACCEPTED_FLOW = "accepted: L/s, L/min, L/h, m3/s, m3/h, m3/d, gpm"
PROFILES = "abb-aquamaster3, generic-4-20ma, keller-series30, krohne-ifc300, siemens-mag6000, xylem-magflux"

CASES = {
    "unknown-unit": (
        ("unit: m3/h", "unit: m3/hr2"),
        [f"34: devices[1].registers[0].unit: unknown unit 'm3/hr2' for variable 'flow'; {ACCEPTED_FLOW}"],
    ),
    "unknown-bus": (("bus: plc", "bus: rs485-9"), ["25: devices[1].bus: unknown bus 'rs485-9'; buses: rs485-1, plc"]),
    "same-unit-id-on-one-bus": (
        ("bus: plc\n    unit_id: 2", "bus: rs485-1\n    unit_id: 1"),
        ["26: devices[1].unit_id: unit id 1 on bus 'rs485-1' is already device 'pozo-1'"],
    ),
    "duplicate-device-name": (
        ("name: pozo-2", "name: pozo-1"),
        ["24: devices[1].name: device name 'pozo-1' is used twice (also devices[0])"],
    ),
    "duplicate-key": (
        ("unit_id: 2", "unit_id: 2\n    bus: rs485-1"),
        ["27: not valid YAML: duplicate key 'bus' (first at line 25)"],
    ),
    "unknown-profile": (
        ("profile: siemens-mag6000", "profile: siemens-mag9000"),
        [f"21: devices[0].profile: unknown profile 'siemens-mag9000'; available: {PROFILES}"],
    ),
    "address-beyond-65535": (
        ("address: 5016", "address: 65535"),
        ["30: devices[1].registers[0]: float32 at address 65535 needs registers up to 65536, "
         "beyond the last address 65535"],
    ),
    "wrong-type": (
        ("unit_id: 2", "unit_id: two"),
        ["26: devices[1].unit_id: Input should be a valid integer, unable to parse string as an integer"],
    ),
    "unit-id-range": (("unit_id: 2", "unit_id: 248"), ["26: devices[1].unit_id: Input should be less than or equal to 247"]),
    "interval-not-aligned": (
        ("interval_s: 10", "interval_s: 45"),
        ["28: devices[1].interval_s: interval 45 s neither divides 60 nor is a multiple of 60; polls align to "
         "wall-clock multiples of the interval (use 1, 2, 5, 10, 15, 20, 30, 60, 120, 300...)"],
    ),
    "interval-below-1s": (
        ("interval_s: 10", "interval_s: 0.5"),
        ["28: devices[1].interval_s: Input should be greater than or equal to 1"],
    ),
    "override-bad-unit": (
        ("flow: {unit: L/s}", "flow: {unit: furlong}"),
        [f"23: devices[0].overrides.flow.unit: unknown unit 'furlong' for variable 'flow'; {ACCEPTED_FLOW}"],
    ),
    "override-unknown-variable": (
        ("flow: {unit: L/s}", "level: {unit: m}"),
        ["22: devices[0].overrides: profile 'siemens-mag6000' has no variable level; it has: flow, totalizer"],
    ),
    "override-typo": (
        ("flow: {unit: L/s}", "flow: {unti: L/s}"),
        ["23: devices[0].overrides.flow.unti: unknown field (check the spelling)"],
    ),
    "no-registers": ((LOOP_REGISTERS, ""), ["24: devices[1]: no registers: give a profile or a registers list"]),
    "bad-url": (
        ("central_url: https://central.example.cl", "central_url: ftp://central.example.cl"),
        ["3: gateway.central_url: 'ftp://central.example.cl' is not an https:// URL "
         "(for example https://central.example.cl)"],
    ),
    "missing-field": (("  id: gw-norte-01\n", ""), ["1: gateway.id: missing (required)"]),
    "tcp-port-not-a-number": (
        ("port: 1502", "port: http"),
        ["14: buses[1].port: a tcp bus needs a TCP port number 1..65535, got 'http'"],
    ),
    "tcp-without-host": (("    host: 127.0.0.1\n", ""), ["11: buses[1]: a tcp bus needs host: (and port:, default 502)"]),
    "bad-parity": (("baud: 9600", "parity: X"), ["10: buses[0].parity: Input should be 'N', 'E' or 'O'"]),
    "not-yaml": (("  - name: plc", "  - name: [plc"), ["12: not valid YAML: expected ',' or ']', but got ':'"]),
}


@pytest.mark.parametrize("change, expected", CASES.values(), ids=CASES.keys())
def test_a_mistake_is_reported_with_line_and_field(
    tmp_path: Path, serial_port: str, change: tuple[str, str], expected: list[str]
) -> None:
    text = BASE.format(serial=serial_port)
    assert change[0] in text
    assert errors_of(write(tmp_path, text.replace(change[0], change[1], 1))) == expected


def test_a_missing_serial_port_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.format(serial="/dev/serial/by-id/usb-FTDI_gone"))
    assert errors_of(path) == [
        "9: buses[0].port: serial port /dev/serial/by-id/usb-FTDI_gone does not exist (is the adapter plugged in?)"
    ]


def test_every_mistake_is_reported_in_one_run(tmp_path: Path, serial_port: str) -> None:
    text = BASE.format(serial=serial_port)
    for old, new in (("unit_id: 2", "unit_id: 0"), ("name: pozo-2", "name: pozo-1"), ("unit: m3/h", "unit: m3/x"),
                     ("profile: siemens-mag6000", "profile: nope")):
        text = text.replace(old, new, 1)
    assert errors_of(write(tmp_path, text)) == [
        f"21: devices[0].profile: unknown profile 'nope'; available: {PROFILES}",
        "26: devices[1].unit_id: Input should be greater than or equal to 1",
        f"34: devices[1].registers[0].unit: unknown unit 'm3/x' for variable 'flow'; {ACCEPTED_FLOW}",
    ]


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_site_config(missing)
    assert str(caught.value) == f"{missing}: cannot read: No such file or directory"


@pytest.mark.parametrize("url, warned", [
    ("http://central.example.cl", True),
    ("http://127.0.0.1:8000", False),
    ("https://central.example.cl", False),
])
def test_plain_http_to_a_remote_host_is_a_warning(tmp_path: Path, serial_port: str, url: str, warned: bool) -> None:
    text = BASE.format(serial=serial_port).replace("https://central.example.cl", url)
    config = load_site_config(write(tmp_path, text))
    plain = [w for w in config.warnings() if "plain http" in w]
    assert plain == ([f"gateway.central_url {url} is plain http to a remote host: the token and readings travel "
                      "unencrypted"] if warned else [])


def test_a_missing_serial_port_is_only_a_warning_for_the_running_agent(tmp_path: Path) -> None:
    """``run``, reload and ``status`` load with check_devices=False: an unplugged adapter must not stop them."""
    config = load_site_config(write(tmp_path, BASE.format(serial="/dev/serial/by-id/usb-FTDI_gone")), check_devices=False)
    assert [w for w in config.warnings() if "serial port" in w] == [
        "buses[0].port: serial port /dev/serial/by-id/usb-FTDI_gone does not exist (is the adapter plugged in?)"
    ]


def test_baud_under_its_old_name_still_loads_with_a_warning(tmp_path: Path, serial_port: str) -> None:
    config = load_site_config(write(tmp_path, BASE.format(serial=serial_port).replace("baud: 9600", "baudrate: 19200")))
    assert config.buses[0].baud == 19200
    assert [w for w in config.warnings() if "baud" in w] == ["buses[0].baudrate: old name, write baud: 19200"]


def test_baud_given_under_both_names_is_an_error(tmp_path: Path, serial_port: str) -> None:
    text = BASE.format(serial=serial_port).replace("baud: 9600", "baud: 9600\n    baudrate: 19200")
    assert errors_of(write(tmp_path, text)) == ["7: buses[0]: give baud only (baudrate is its old name)"]


def test_a_site_narrows_a_profile_registers_plausible_range(tmp_path: Path, serial_port: str) -> None:
    text = BASE.format(serial=serial_port).replace("flow: {unit: L/s}", "flow: {unit: L/s, min_value: 0, max_value: 80}")
    flow = load_site_config(write(tmp_path, text)).devices[0].specs[0]
    assert (flow.variable, flow.min_value, flow.max_value) == ("flow", 0.0, 80.0)
