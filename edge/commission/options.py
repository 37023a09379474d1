"""What a technician types, turned into the line settings a scan or a read tries.

Option parsing only (no I/O): each parser raises ValueError naming the option and an example.
"""

from __future__ import annotations

from collections.abc import Sequence

from edge.config import MAX_BAUDRATE, MAX_UNIT_ID, MIN_BAUDRATE, BusConfig, BusType

DEFAULT_BAUDRATES = (9600, 19200)
DEFAULT_PARITIES = ("N", "E")


def line_label(bus: BusConfig) -> str:
    """``19200 8E1`` for a serial bus, ``tcp 10.0.0.5:502`` otherwise."""
    if bus.is_serial:
        return f"{bus.baud} {bus.bytesize}{bus.parity}{bus.stopbits}"
    return f"{bus.type.value} {bus.endpoint}"


def parse_units(text: str) -> list[int]:
    """``"1-5,10,20-22"`` -> the unit ids, each 1..MAX_UNIT_ID, in the order given, without repeats."""
    units: list[int] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        first, _, last = part.partition("-")
        try:
            low, high = int(first), int(last or first)
        except ValueError:
            raise ValueError(f"--units: {part!r} no es un unit id ni un rango como 1-{MAX_UNIT_ID}") from None
        if not 1 <= low <= high <= MAX_UNIT_ID:
            raise ValueError(f"--units: {part!r} debe estar dentro de 1-{MAX_UNIT_ID}, de menor a mayor")
        units.extend(unit for unit in range(low, high + 1) if unit not in units)
    if not units:
        raise ValueError(f"--units: indique al menos un unit id, por ejemplo 1-{MAX_UNIT_ID}")
    return units


def parse_baudrates(text: str) -> list[int]:
    """``"9600,19200"`` -> [9600, 19200]."""
    try:
        rates = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise ValueError(f"--baud: {text!r} no es una lista de números separados por comas, como 9600,19200") from None
    if not rates or any(not MIN_BAUDRATE <= rate <= MAX_BAUDRATE for rate in rates):
        raise ValueError(f"--baud: {text!r}: los baudios van de {MIN_BAUDRATE} a {MAX_BAUDRATE}")
    return rates


def parse_parities(text: str) -> list[str]:
    """``"N,E"`` -> ["N", "E"] (N none, E even, O odd)."""
    parities = [part.strip().upper() for part in text.split(",") if part.strip()]
    if not parities or any(parity not in ("N", "E", "O") for parity in parities):
        raise ValueError(f"--parity: {text!r} debe listar N, E y/u O, por ejemplo N,E")
    return parities


def serial_buses(
    port: str, baudrates: Sequence[int], parities: Sequence[str], timeout_s: float, stopbits: int = 1
) -> list[BusConfig]:
    """One bus per line setting to try on ``port``, most common first (as listed)."""
    return [
        BusConfig(
            name="scan", type=BusType.RTU, port=port, baud=rate, parity=parity, stopbits=stopbits, timeout_s=timeout_s
        )
        for rate in baudrates
        for parity in parities
    ]


def tcp_bus(host: str, tcp_port: int = 502, timeout_s: float = 1.0, rtu_over_tcp: bool = False) -> BusConfig:
    """A TCP gateway or meter (``rtu_over_tcp`` for a transparent serial-to-Ethernet bridge)."""
    kind = BusType.RTU_OVER_TCP if rtu_over_tcp else BusType.TCP
    return BusConfig(name="scan", type=kind, host=host, port=str(tcp_port), timeout_s=timeout_s)
