"""Modbus register words <-> numbers: data types, word order and byte swap, and no more.

The layer under :mod:`protocols.registers`: it knows nothing of variables, units, scale or
quality, only how 16-bit words make an integer or a float. Kept apart so the arithmetic every
poll runs (:func:`number_reader`) and the technician's raw read, which shows every way the words
could be meant (:func:`interpretations`), do not need a :class:`~protocols.registers.RegisterSpec`.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class DataType(StrEnum):
    INT16 = "int16"
    UINT16 = "uint16"
    INT32 = "int32"
    UINT32 = "uint32"
    INT64 = "int64"
    UINT64 = "uint64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"


class WordOrder(StrEnum):
    BIG = "big"  # high word first
    LITTLE = "little"  # low word first


class DecodeError(ValueError):
    """Words that do not make a number (wrong count, not 16-bit, NaN or infinity)."""


_STRUCT = {
    DataType.INT16: ">h",
    DataType.UINT16: ">H",
    DataType.INT32: ">i",
    DataType.UINT32: ">I",
    DataType.INT64: ">q",
    DataType.UINT64: ">Q",
    DataType.FLOAT32: ">f",
    DataType.FLOAT64: ">d",
}
FLOAT_TYPES = frozenset({DataType.FLOAT32, DataType.FLOAT64})


WORD_COUNTS = {data_type: struct.calcsize(code) // 2 for data_type, code in _STRUCT.items()}
_WORDS = {count: struct.Struct(f">{count}H") for count in set(WORD_COUNTS.values())}


def register_count(data_type: DataType) -> int:
    """How many 16-bit registers a value of ``data_type`` occupies."""
    return WORD_COUNTS[DataType(data_type)]


def _swap_bytes(word: int) -> int:
    return ((word & 0xFF) << 8) | (word >> 8)


def _arrange(words: Sequence[int], word_order: WordOrder, byte_swap: bool) -> list[int]:
    """Wire order <-> big-endian order; the mapping is its own inverse."""
    arranged = [_swap_bytes(word) for word in words] if byte_swap else list(words)
    return arranged[::-1] if word_order == WordOrder.LITTLE else arranged


def decode_number(
    words: Sequence[int],
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
    byte_swap: bool = False,
) -> float:
    """The number ``words`` hold as ``data_type`` (an ``int`` for integer types, exact)."""
    data_type = DataType(data_type)
    count = WORD_COUNTS[data_type]
    if len(words) != count:
        raise DecodeError(f"{data_type.value} necesita {count} registro(s), se recibieron {len(words)}")
    for word in words:
        if not isinstance(word, int) or not 0 <= word <= 0xFFFF:
            raise DecodeError(f"el valor de registro {word!r} no es una palabra de 16 bits")
    raw = _WORDS[count].pack(*_arrange(words, WordOrder(word_order), byte_swap))
    value: float
    (value,) = struct.unpack(_STRUCT[data_type], raw)
    if data_type in FLOAT_TYPES and not math.isfinite(value):
        raise DecodeError(f"{data_type.value} vale {value} (el equipo indica que no tiene un valor válido)")
    return value


def encode_number(
    value: float,
    data_type: DataType,
    word_order: WordOrder = WordOrder.BIG,
    byte_swap: bool = False,
) -> list[int]:
    """The register words of ``value``; inverse of :func:`decode_number` (NaN allowed for floats)."""
    data_type = DataType(data_type)
    if data_type not in FLOAT_TYPES:
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{data_type.value} no admite la fracción {value!r}")
        value = int(value)
    try:
        raw = struct.pack(_STRUCT[data_type], value)
    except (struct.error, OverflowError) as exc:
        raise ValueError(f"{value!r} no cabe en {data_type.value}") from exc
    words = list(struct.unpack(f">{len(raw) // 2}H", raw))
    return _arrange(words, WordOrder(word_order), byte_swap)


def number_reader(data_type: DataType, word_order: WordOrder, byte_swap: bool) -> Callable[[Sequence[int]], float]:
    """:func:`decode_number` for one type and arrangement, its structs looked up once. Packing
    the words as 16-bit words checks them; any that fail go through :func:`decode_number`,
    which raises the :class:`DecodeError` that says what is wrong."""
    words_struct, number_struct = _WORDS[WORD_COUNTS[data_type]], struct.Struct(_STRUCT[data_type])
    arranged = word_order != WordOrder.BIG or byte_swap
    is_float = data_type in FLOAT_TYPES

    def number(words: Sequence[int]) -> float:
        try:
            raw = words_struct.pack(*words)
        except struct.error:
            return decode_number(words, data_type, word_order, byte_swap)
        if arranged:
            raw = words_struct.pack(*_arrange(words, word_order, byte_swap))
        value: float = number_struct.unpack(raw)[0]
        if is_float and not math.isfinite(value):
            raise DecodeError(f"{data_type.value} vale {value} (el equipo indica que no tiene un valor válido)")
        return value

    return number


@dataclass(frozen=True)
class Interpretation:
    """One way to read raw words, for the technician's ``caudal edge read``."""

    data_type: DataType
    word_order: WordOrder
    byte_swap: bool
    value: float | None


def interpretations(words: Sequence[int]) -> list[Interpretation]:
    """Every type that fits ``words`` (from word 0) under every word order and byte swap.

    Single-register types have no word order, so they are listed once per byte swap.
    """
    found = []
    for data_type in DataType:
        count = register_count(data_type)
        if count > len(words):
            continue
        orders = (WordOrder.BIG,) if count == 1 else tuple(WordOrder)
        for word_order in orders:
            for byte_swap in (False, True):
                value = _try_decode(words[:count], data_type, word_order, byte_swap)
                found.append(Interpretation(data_type, word_order, byte_swap, value))
    return found


def _try_decode(words: Sequence[int], data_type: DataType, word_order: WordOrder, byte_swap: bool) -> float | None:
    try:
        return decode_number(words, data_type, word_order, byte_swap)
    except DecodeError:
        return None
