"""Modbus register words <-> values: where a variable lives, scale, 4-20 mA loops, units, quality.

Pure code: the poller hands in the 16-bit words a device answered, this module says what they
mean. Byte/word order confusion ("CDAB floats") and 1-based manual addresses are the two most
common commissioning mistakes, so both are explicit in :class:`RegisterSpec`; a raw read can
show every interpretation (:func:`protocols.registerwords.interpretations`), and a bad reply
becomes a quality flag (:func:`decode_reading`), never a crash or a made-up number. How words
make a number (types, word order, byte swap) is :mod:`protocols.registerwords`; this module adds
the rest, and plans the reads (:func:`plan_reads`).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator, model_validator

from protocols import units
from protocols.plausible import Limits, implausibility, limits_for
from protocols.registerwords import (
    FLOAT_TYPES,
    WORD_COUNTS,
    DataType,
    DecodeError,
    WordOrder,
    encode_number,
    number_reader,
)
from protocols.uplink import Quality

MAX_ADDRESS_SPACE = 65536
MAX_READ_COUNT = 125  # FC3/FC4 limit of the Modbus specification


class Table(StrEnum):
    HOLDING = "holding"  # FC3
    INPUT = "input"  # FC4


class LoopScaling(BaseModel):
    """A 4-20 mA current loop: ``low`` at 4 mA, ``high`` at 20 mA; outside the fault band the sensor is broken."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    low: float
    high: float
    fault_below_ma: float = Field(default=3.8, le=4.0)
    fault_above_ma: float = Field(default=20.5, ge=20.0)

    @model_validator(mode="after")
    def _distinct_ends(self) -> LoopScaling:
        if self.low == self.high:
            raise ValueError(f"low y high del loop valen ambos {self.low:g}: el rango no puede quedar vacío")
        return self

    def engineering(self, milliamps: float) -> float | None:
        """The engineering value of a loop current, or None when the current signals a fault."""
        if not self.fault_below_ma <= milliamps <= self.fault_above_ma:
            return None
        return self.low + (milliamps - 4.0) / 16.0 * (self.high - self.low)


VariableName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=32)]

_MANUAL_RANGES = (  # (first manual number, last, table)
    (400001, 465536, Table.HOLDING),
    (300001, 365536, Table.INPUT),
    (40001, 49999, Table.HOLDING),
    (30001, 39999, Table.INPUT),
)


def convert_manual_address(manual: int) -> tuple[Table, int]:
    """A manual's 1-based "40001"/"400001"-style number -> (table, 0-based wire address)."""
    for first, last, table in _MANUAL_RANGES:
        if first <= manual <= last:
            return table, manual - first
    raise ValueError(
        f"manual_address {manual} no es un número de registro 3xxxx/4xxxx (o 3xxxxx/4xxxxx); "
        "indique en su lugar table y address (contada desde 0)"
    )


class _Decoding(NamedTuple):
    """What decoding a spec's words needs besides the words, worked out once when the spec is
    validated: every poll decodes with it, and each private attribute of a pydantic model
    costs microseconds to read (benchmarks/RESULTS.md, "Figures cited by the code").
    ``decode`` is :func:`decode` for this spec, which a poller keeps and calls directly."""

    convert: Callable[[float], float]
    canonical_unit: str
    limits: Limits | None
    decode: Callable[[Sequence[int]], Decoded]


class RegisterSpec(BaseModel):
    """Where one variable lives on a device and how to turn its words into a canonical value."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    variable: VariableName
    table: Table = Table.HOLDING
    address: int = Field(ge=0, le=MAX_ADDRESS_SPACE - 1)
    type: DataType
    word_order: WordOrder = WordOrder.BIG
    byte_swap: bool = False
    scale: float = 1.0
    offset: float = 0.0
    unit: str = Field(min_length=1, max_length=16)
    loop: LoopScaling | None = None
    min_value: float | None = None  # plausible range, canonical unit (see protocols.plausible)
    max_value: float | None = None
    converted_from: str | None = Field(default=None, exclude=True)

    _convert: Callable[[float], float] = PrivateAttr()
    _decoding: _Decoding = PrivateAttr()

    @model_validator(mode="before")
    @classmethod
    def _from_manual_address(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "manual_address" not in data:
            return data
        data = dict(data)
        manual = data.pop("manual_address")
        if "address" in data or "table" in data:
            raise ValueError("indique manual_address o table+address, no ambos")
        if not isinstance(manual, int) or isinstance(manual, bool):
            raise ValueError(f"manual_address debe ser un número entero como 40001, no {manual!r}")
        table, address = convert_manual_address(manual)
        data.update(table=table, address=address, converted_from=f"manual {manual} -> {table.value} {address}")
        return data

    @field_validator("unit")
    @classmethod
    def _known_unit(cls, unit: str, info: ValidationInfo) -> str:
        variable = info.data.get("variable")
        if variable is not None:
            units.canonical_unit(variable, unit)  # raises UnknownUnitError for canonical variables
        return units.normalize_unit(unit)

    @field_validator("scale", "offset")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("debe ser un número finito")
        return value

    @model_validator(mode="after")
    def _check(self) -> RegisterSpec:
        if self.scale == 0:
            raise ValueError("scale 0 convertiría cada lectura en el offset")
        if self.min_value is not None and self.max_value is not None and self.min_value >= self.max_value:
            raise ValueError(f"min_value {self.min_value:g} debe ser menor que max_value {self.max_value:g}")
        if self.address + self.count > MAX_ADDRESS_SPACE:
            raise ValueError(
                f"{self.type.value} en address {self.address} necesita registros hasta el "
                f"{self.address + self.count - 1}, más allá de la última dirección {MAX_ADDRESS_SPACE - 1}"
            )
        self._convert = units.converter(self.variable, self.unit)
        canonical = units.canonical_unit(self.variable, self.unit)
        limits = limits_for(self.variable, self.min_value, self.max_value)
        decoder = _decoder(
            _Arrangement(self.type, self.word_order, self.byte_swap),
            _Scaling(self.variable, self.scale, self.offset, self.loop),
            self._convert,
            canonical,
            limits,
        )
        self._decoding = _Decoding(self._convert, canonical, limits, decoder)
        return self

    @property
    def count(self) -> int:
        return WORD_COUNTS[self.type]

    @property
    def canonical_unit(self) -> str:
        return self._decoding.canonical_unit

    @property
    def end(self) -> int:
        """The first address after this register's words."""
        return self.address + self.count

    @property
    def decoder(self) -> Callable[[Sequence[int]], Decoded]:
        """:func:`decode` for this spec: ``decoder(words)``, for a caller that decodes it at every poll."""
        return self._decoding.decode


class Decoded(NamedTuple):
    """A decoded register: its canonical value (None unless read), quality, and what was wrong."""

    value: float | None
    quality: Quality
    problem: str | None = None


def decode(spec: RegisterSpec, words: Sequence[int]) -> Decoded:
    """The canonical value of ``words`` read for ``spec``, its quality and, when it is not a
    reading, why (an implausible value is named, with its unit, for the technician). Never raises."""
    return spec._decoding.decode(words)


class _Arrangement(NamedTuple):
    type: DataType
    word_order: WordOrder
    byte_swap: bool


class _Scaling(NamedTuple):
    variable: str
    scale: float
    offset: float
    loop: LoopScaling | None


@functools.lru_cache(maxsize=4096)
def _decoder(
    arrangement: _Arrangement,
    scaling: _Scaling,
    convert: Callable[[float], float],
    canonical_unit: str,
    limits: Limits | None,
) -> Callable[[Sequence[int]], Decoded]:
    """:func:`decode` for one spec, with what it reads of the spec taken once: a poll decodes
    every register of every device, and reading a model's attributes was most of that work.
    Cached, so that equal specs hold the same decoder (a model's equality compares it)."""
    number = number_reader(*arrangement)
    variable, scale, offset, loop = scaling

    def decoded(words: Sequence[int]) -> Decoded:
        try:
            value = number(words) * scale + offset
        except (DecodeError, TypeError) as exc:
            return Decoded(None, Quality.DECODE_ERROR, f"{variable}: {exc}")
        if loop is not None:
            engineering = loop.engineering(value)
            if engineering is None:
                return Decoded(
                    None, Quality.OUT_OF_RANGE, f"{variable}: la corriente del loop, {value:.4g} mA, indica una falla"
                )
            value = engineering
        value = convert(value)
        if not math.isfinite(value):
            return Decoded(None, Quality.DECODE_ERROR, f"{variable}: {value} tras aplicar la escala")
        problem = implausibility(variable, float(value), canonical_unit, limits)
        if problem is not None:
            return Decoded(None, Quality.OUT_OF_RANGE, problem)
        return Decoded(float(value), Quality.GOOD)

    return decoded


def decode_reading(spec: RegisterSpec, words: Sequence[int]) -> tuple[float | None, Quality]:
    """The canonical value of ``words`` read for ``spec``, with its quality. Never raises."""
    value, quality, _ = decode(spec, words)
    return value, quality


def encode_reading(spec: RegisterSpec, value: float) -> list[int]:
    """The words a device holds when ``value`` (canonical unit) is read through ``spec``.

    Inverse of :func:`decode_reading`, used by the device simulator and profile tests. Integer
    registers get the nearest integer; a value the register cannot hold raises ``ValueError``.
    """
    source = value / spec._convert(1.0)
    if spec.loop is not None:
        source = 4.0 + 16.0 * (source - spec.loop.low) / (spec.loop.high - spec.loop.low)
    raw = (source - spec.offset) / spec.scale
    if spec.type not in FLOAT_TYPES:
        if not math.isfinite(raw):
            raise ValueError(f"{spec.type.value} no admite {raw}")
        raw = round(raw)
    return encode_number(raw, spec.type, spec.word_order, spec.byte_swap)


@dataclass(frozen=True)
class ReadBlock:
    """One Modbus read request covering the registers of several variables."""

    table: Table
    address: int
    count: int
    members: tuple[RegisterSpec, ...]

    def words_for(self, spec: RegisterSpec, block_words: Sequence[int]) -> list[int]:
        """The slice of a block's reply that belongs to ``spec`` (short if the reply was short)."""
        if spec.table != self.table or spec.address < self.address or spec.end > self.address + self.count:
            raise ValueError(f"{spec.variable} at {spec.table.value} {spec.address} is not in this block")
        start = spec.address - self.address
        return list(block_words[start : start + spec.count])


def plan_reads(specs: Sequence[RegisterSpec], max_count: int = MAX_READ_COUNT, max_gap: int = 0) -> list[ReadBlock]:
    """Group one device's registers into as few reads as ``max_count`` allows.

    Per table, ranges that overlap or touch are merged, and holes of up to ``max_gap``
    registers are bridged (some devices refuse reads over unmapped addresses, hence 0).
    """
    if not 1 <= max_count <= MAX_READ_COUNT:
        raise ValueError(f"max_count debe estar entre 1 y {MAX_READ_COUNT}, se recibió {max_count}")
    if max_gap < 0:
        raise ValueError(f"max_gap no puede ser negativo, se recibió {max_gap}")
    blocks: list[ReadBlock] = []
    for table in Table:
        in_table = sorted((s for s in specs if s.table == table), key=lambda s: (s.address, s.count))
        blocks.extend(_plan_table(table, in_table, max_count, max_gap))
    return blocks


def _plan_table(table: Table, specs: list[RegisterSpec], max_count: int, max_gap: int) -> list[ReadBlock]:
    blocks: list[ReadBlock] = []
    group: list[RegisterSpec] = []
    start = end = 0
    for spec in specs:
        if spec.count > max_count:
            raise ValueError(f"{spec.variable} necesita {spec.count} registros, más que max_count {max_count}")
        if group and spec.address <= end + max_gap and max(end, spec.end) - start <= max_count:
            group.append(spec)
            end = max(end, spec.end)
            continue
        if group:
            blocks.append(ReadBlock(table, start, end - start, tuple(group)))
        group, start, end = [spec], spec.address, spec.end
    if group:
        blocks.append(ReadBlock(table, start, end - start, tuple(group)))
    return blocks
