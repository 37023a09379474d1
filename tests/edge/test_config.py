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
BASE = (
    GATEWAY_NORTE
    + """\
buses:
  - name: rs485-1
    type: rtu
    port: {serial}
    baud: 9600
"""
    + PLC_BUS
    + """\
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
"""
    + LOOP_REGISTERS
)


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
    """Every problem as the whole line ``caudal edge check site.yaml`` prints from the file's folder."""
    with pytest.raises(ConfigError) as caught:
        load_site_config(Path(path.name))
    return [str(problem) for problem in caught.value.problems]


@pytest.fixture(autouse=True)
def in_site_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def test_the_base_file_loads_with_profile_overrides_applied(tmp_path: Path, serial_port: str) -> None:
    config = load_site_config(write(tmp_path, BASE.format(serial=serial_port)))
    assert [bus.type for bus in config.buses] == [BusType.RTU, BusType.TCP]
    assert [(s.variable, s.address, s.unit) for s in config.devices[0].specs] == [
        ("flow", 3002, "L/s"),
        ("totalizer", 3014, "m3"),
    ]
    assert [(s.variable, s.table.value, s.address) for s in config.devices[1].specs] == [("flow", "input", 5016)]


ACCEPTED_FLOW = "se aceptan: L/s, L/min, L/h, m3/s, m3/h, m3/d, gpm"
PROFILES = "abb-aquamaster3, generic-4-20ma, keller-series30, krohne-ifc300, siemens-mag6000, xylem-magflux"
NAME = "^[A-Za-z0-9][A-Za-z0-9_.:\\-]*$"
SECOND_FLOW = "      - variable: flow\n        address: 7\n        type: float32\n        unit: L/s\n"

# One row per kind of mistake: the text of BASE it replaces, its replacement, and every whole line
# it must print, in Spanish.
CASES = {
    "unknown-field": ("baud: 9600", "baud: 9600\n    speed: 9600", ["site.yaml:11: buses[0].speed: campo desconocido"]),
    "missing-field": ("  id: gw-norte-01\n", "", ["site.yaml:1: gateway.id: falta este campo"]),
    "wrong-type": ("unit_id: 2", "unit_id: two", ["site.yaml:26: devices[1].unit_id: debe ser un número entero"]),
    "out-of-range": (
        "unit_id: 2",
        "unit_id: 248",
        ["site.yaml:26: devices[1].unit_id: debe ser menor o igual que 247"],
    ),
    "below-range": (
        "interval_s: 10",
        "interval_s: 0.5",
        ["site.yaml:28: devices[1].interval_s: debe ser mayor o igual que 1"],
    ),
    "bad-enum": ("type: tcp", "type: udp", ["site.yaml:12: buses[1].type: debe ser 'rtu', 'tcp' o 'rtu-over-tcp'"]),
    "bad-literal": ("baud: 9600", "parity: X", ["site.yaml:10: buses[0].parity: debe ser 'N', 'E' o 'O'"]),
    "bad-name": (
        "point: OB-0601-445",
        "point: OB 0601",
        [f"site.yaml:27: devices[1].point: no tiene la forma esperada ({NAME})"],
    ),
    "override-typo": (
        "flow: {unit: L/s}",
        "flow: {unti: L/s}",
        ["site.yaml:23: devices[0].overrides.flow.unti: campo desconocido"],
    ),
    "bad-url": (
        "central_url: https://central.example.cl",
        "central_url: ftp://central.example.cl",
        [
            "site.yaml:3: gateway.central_url: 'ftp://central.example.cl' no es una URL https:// "
            "(por ejemplo https://central.example.cl)"
        ],
    ),
    "interval-not-aligned": (
        "interval_s: 10",
        "interval_s: 45",
        [
            "site.yaml:28: devices[1].interval_s: el intervalo de 45 s no divide a 60 ni es múltiplo de 60; las lecturas "
            "se alinean a múltiplos del intervalo en el reloj (use 1, 2, 5, 10, 15, 20, 30, 60, 120, 300...)"
        ],
    ),
    "unknown-unit": (
        "unit: m3/h",
        "unit: m3/hr2",
        [
            f"site.yaml:34: devices[1].registers[0].unit: unidad desconocida 'm3/hr2' para la variable 'flow'; "
            f"{ACCEPTED_FLOW}"
        ],
    ),
    "override-bad-unit": (
        "flow: {unit: L/s}",
        "flow: {unit: furlong}",
        [
            f"site.yaml:23: devices[0].overrides.flow.unit: unidad desconocida 'furlong' para la variable 'flow'; "
            f"{ACCEPTED_FLOW}"
        ],
    ),
    "address-beyond-65535": (
        "address: 5016",
        "address: 65535",
        [
            "site.yaml:30: devices[1].registers[0]: float32 en address 65535 necesita registros hasta el 65536, "
            "más allá de la última dirección 65535"
        ],
    ),
    "manual-address-and-table": (
        "address: 5016",
        "manual_address: 35017",
        ["site.yaml:30: devices[1].registers[0]: indique manual_address o table+address, no ambos"],
    ),
    "unknown-bus": (
        "bus: plc",
        "bus: rs485-9",
        ["site.yaml:25: devices[1].bus: no hay un bus 'rs485-9'; los buses son: rs485-1, plc"],
    ),
    "same-unit-id-on-one-bus": (
        "bus: plc\n    unit_id: 2",
        "bus: rs485-1\n    unit_id: 1",
        ["site.yaml:26: devices[1].unit_id: el unit id 1 del bus 'rs485-1' ya es del equipo 'pozo-1'"],
    ),
    "duplicate-device-name": (
        "name: pozo-2",
        "name: pozo-1",
        ["site.yaml:24: devices[1].name: el nombre 'pozo-1' está repetido (también en devices[0])"],
    ),
    "duplicate-bus-name": (
        "name: plc",
        "name: rs485-1",
        [
            "site.yaml:11: buses[1].name: el nombre 'rs485-1' está repetido (también en buses[0])",
            "site.yaml:25: devices[1].bus: no hay un bus 'plc'; los buses son: rs485-1, rs485-1",
        ],
    ),
    "variable-read-twice": (
        LOOP_REGISTERS,
        LOOP_REGISTERS + SECOND_FLOW,
        ["site.yaml:35: devices[1].registers[1].variable: la variable 'flow' ya se lee (en registers)"],
    ),
    "unknown-profile": (
        "profile: siemens-mag6000",
        "profile: siemens-mag9000",
        [f"site.yaml:21: devices[0].profile: perfil desconocido 'siemens-mag9000'; disponibles: {PROFILES}"],
    ),
    "override-unknown-variable": (
        "flow: {unit: L/s}",
        "level: {unit: m}",
        [
            "site.yaml:22: devices[0].overrides: el perfil 'siemens-mag6000' no tiene la variable level; "
            "tiene: flow, totalizer"
        ],
    ),
    "overrides-without-profile": (
        "    profile: siemens-mag6000\n",
        "",
        [
            "site.yaml:21: devices[0].overrides: overrides cambia registros de un perfil, pero este equipo no tiene "
            "profile"
        ],
    ),
    "no-registers": (
        LOOP_REGISTERS,
        "",
        ["site.yaml:24: devices[1]: sin registros: indique un profile o una lista registers"],
    ),
    "rtu-without-port": (
        "type: rtu\n    port:",
        "type: rtu\n    # port:",
        ["site.yaml:7: buses[0]: un bus rtu necesita port: el dispositivo serie (por ejemplo /dev/serial/by-id/...)"],
    ),
    "tcp-port-not-a-number": (
        "port: 1502",
        "port: http",
        ["site.yaml:14: buses[1].port: un bus tcp necesita un puerto TCP de 1 a 65535, no 'http'"],
    ),
    "tcp-without-host": (
        "    host: 127.0.0.1\n",
        "",
        ["site.yaml:11: buses[1]: un bus tcp necesita host: (y port:, por omisión 502)"],
    ),
    "duplicate-key": (
        "unit_id: 2",
        "unit_id: 2\n    bus: rs485-1",
        ["site.yaml:27: no es YAML válido: la clave 'bus' está repetida (la primera en la línea 25)"],
    ),
    "not-yaml": (
        "  - name: plc",
        "  - name: [plc",
        ["site.yaml:12: no es YAML válido: se esperaba ',' o ']', pero se encontró ':'"],
    ),
    "tab-indentation": (
        "    host: 127.0.0.1",
        "\thost: 127.0.0.1",
        ["site.yaml:13: no es YAML válido: hay una tabulación: YAML se sangra solo con espacios"],
    ),
    "bad-indentation": (
        "    host: 127.0.0.1",
        "     host: 127.0.0.1",
        [
            "site.yaml:13: no es YAML válido: aquí no cabe un «clave: valor» (¿falta el espacio después"
            " de «:» o la sangría está corrida?)"
        ],
    ),
}


@pytest.mark.parametrize("old, new, expected", CASES.values(), ids=CASES.keys())
def test_a_mistake_is_reported_with_line_and_field(
    tmp_path: Path, serial_port: str, old: str, new: str, expected: list[str]
) -> None:
    text = BASE.format(serial=serial_port)
    assert old in text
    assert errors_of(write(tmp_path, text.replace(old, new, 1))) == expected


def test_a_missing_serial_port_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.format(serial="/dev/serial/by-id/usb-FTDI_gone"))
    assert errors_of(path) == [
        "site.yaml:9: buses[0].port: el puerto serie /dev/serial/by-id/usb-FTDI_gone no existe (¿está conectado el"
        " adaptador?)"
    ]


def test_every_mistake_is_reported_in_one_run(tmp_path: Path, serial_port: str) -> None:
    text = BASE.format(serial=serial_port)
    for old, new in (
        ("unit_id: 2", "unit_id: 0"),
        ("name: pozo-2", "name: pozo-1"),
        ("unit: m3/h", "unit: m3/x"),
        ("profile: siemens-mag6000", "profile: nope"),
    ):
        text = text.replace(old, new, 1)
    assert errors_of(write(tmp_path, text)) == [
        f"site.yaml:21: devices[0].profile: perfil desconocido 'nope'; disponibles: {PROFILES}",
        "site.yaml:26: devices[1].unit_id: debe ser mayor o igual que 1",
        f"site.yaml:34: devices[1].registers[0].unit: unidad desconocida 'm3/x' para la variable 'flow'; {ACCEPTED_FLOW}",
    ]


def test_a_file_not_in_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "site.yaml"
    path.write_bytes(GATEWAY_NORTE.encode() + "# pozo de la señora\n".encode("latin-1"))
    assert errors_of(path) == ["site.yaml:6: no es texto UTF-8: guárdelo como UTF-8"]


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as caught:
        load_site_config(missing)
    assert str(caught.value) == f"{missing}: no se puede leer: no existe"


@pytest.mark.parametrize(
    "url, warned",
    [
        ("http://central.example.cl", True),
        ("http://127.0.0.1:8000", False),
        ("https://central.example.cl", False),
    ],
)
def test_plain_http_to_a_remote_host_is_a_warning(tmp_path: Path, serial_port: str, url: str, warned: bool) -> None:
    text = BASE.format(serial=serial_port).replace("https://central.example.cl", url)
    config = load_site_config(write(tmp_path, text))
    plain = [w for w in config.warnings() if "sin cifrar" in w]
    assert plain == (
        [f"gateway.central_url {url} es http sin cifrar a un equipo remoto: el token y las lecturas viajan sin cifrar"]
        if warned
        else []
    )


def test_a_missing_serial_port_is_only_a_warning_for_the_running_agent(tmp_path: Path) -> None:
    """``run``, reload and ``status`` load with check_devices=False: an unplugged adapter must not stop them."""
    config = load_site_config(
        write(tmp_path, BASE.format(serial="/dev/serial/by-id/usb-FTDI_gone")), check_devices=False
    )
    assert [w for w in config.warnings() if "puerto serie" in w] == [
        "buses[0].port: el puerto serie /dev/serial/by-id/usb-FTDI_gone no existe (¿está conectado el adaptador?)"
    ]


def test_baud_under_its_old_name_still_loads_with_a_warning(tmp_path: Path, serial_port: str) -> None:
    config = load_site_config(write(tmp_path, BASE.format(serial=serial_port).replace("baud: 9600", "baudrate: 19200")))
    assert config.buses[0].baud == 19200
    assert [w for w in config.warnings() if "baud" in w] == ["buses[0].baudrate: nombre antiguo, escriba baud: 19200"]


def test_baud_given_under_both_names_is_an_error(tmp_path: Path, serial_port: str) -> None:
    text = BASE.format(serial=serial_port).replace("baud: 9600", "baud: 9600\n    baudrate: 19200")
    assert errors_of(write(tmp_path, text)) == [
        "site.yaml:7: buses[0]: indique solo baud (baudrate es su nombre antiguo)"
    ]


def test_a_site_narrows_a_profile_registers_plausible_range(tmp_path: Path, serial_port: str) -> None:
    text = BASE.format(serial=serial_port).replace(
        "flow: {unit: L/s}", "flow: {unit: L/s, min_value: 0, max_value: 80}"
    )
    flow = load_site_config(write(tmp_path, text)).devices[0].specs[0]
    assert (flow.variable, flow.min_value, flow.max_value) == ("flow", 0.0, 80.0)
