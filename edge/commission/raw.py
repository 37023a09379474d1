"""Reading raw registers and showing every way to read them (types, word and byte orders)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from edge.config import BusConfig
from edge.modbus import ModbusLink
from protocols.registers import MAX_ADDRESS_SPACE, MAX_READ_COUNT, Table
from protocols.registerwords import Interpretation, interpretations, register_count


@asynccontextmanager
async def opened(bus: BusConfig) -> AsyncIterator[ModbusLink]:
    """An open link to ``bus``, closed on the way out; :class:`~edge.modbus.LinkDown` if it cannot open."""
    link = ModbusLink(bus)
    try:
        await link.connect()
        yield link
    finally:
        link.close()


@dataclass(frozen=True)
class RawRead:
    """What a raw read returned and every way to read it."""

    unit_id: int
    table: Table
    address: int
    words: tuple[int, ...]
    interpretations: list[Interpretation] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "unit_id": self.unit_id,
            "table": self.table.value,
            "address": self.address,
            "count": len(self.words),
            "words": list(self.words),
            "hex": [f"0x{word:04X}" for word in self.words],
            "interpretations": [interpretation_dict(item) for item in self.interpretations],
        }


def byte_layout(interpretation: Interpretation) -> str:
    """The wire order of the value's bytes, ``A`` most significant: ABCD, CDAB, BADC, DCBA..."""
    letters = "ABCDEFGH"[: 2 * register_count(interpretation.data_type)]
    words = [letters[i : i + 2] for i in range(0, len(letters), 2)]
    if interpretation.byte_swap:
        words = [word[::-1] for word in words]
    if interpretation.word_order == "little":
        words.reverse()
    return "".join(words)


def interpretation_dict(item: Interpretation) -> dict[str, Any]:
    return {
        "type": item.data_type.value,
        "word_order": item.word_order.value,
        "byte_swap": item.byte_swap,
        "layout": byte_layout(item),
        "value": item.value,
    }


def validate_read(address: int, count: int) -> None:
    """A clear error before anything goes on the wire."""
    last = MAX_ADDRESS_SPACE - 1
    if not 0 <= address <= last:
        raise ValueError(
            f"dirección {address}: debe ser una dirección de cable 0..{last} (el 40001 del manual es la dirección 0)"
        )
    if not 1 <= count <= MAX_READ_COUNT:
        raise ValueError(f"cantidad {count}: deben ser 1..{MAX_READ_COUNT} registros")
    if address + count > MAX_ADDRESS_SPACE:
        raise ValueError(f"dirección {address} + cantidad {count} pasa del último registro ({last})")


async def raw_read(link: ModbusLink, unit_id: int, table: Table, address: int, count: int, timeout_s: float) -> RawRead:
    """Read ``count`` registers and interpret them from the first word under every type and order."""
    validate_read(address, count)
    words = tuple(await link.read(table, address, count, unit_id, timeout_s))
    return RawRead(unit_id, table, address, words, interpretations(words))
