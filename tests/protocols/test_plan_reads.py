"""plan_reads: one device's registers grouped into as few Modbus requests as the limits allow."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols.registers import ReadBlock, RegisterSpec, Table, plan_reads

TYPES = {1: "uint16", 2: "float32", 4: "float64"}


def reg(name: str, address: int, count: int = 2, table: str = "holding") -> RegisterSpec:
    return RegisterSpec(variable=name, table=table, address=address, type=TYPES[count], unit="x")


def shape(blocks: list[ReadBlock]) -> list[tuple[str, int, int, list[str]]]:
    return [(b.table.value, b.address, b.count, [m.variable for m in b.members]) for b in blocks]


@pytest.mark.parametrize(
    ("registers", "max_count", "max_gap", "expected"),
    [
        ([], 125, 0, []),
        ([reg("a", 10)], 125, 0, [("holding", 10, 2, ["a"])]),
        ([reg("a", 10), reg("b", 12)], 125, 0, [("holding", 10, 4, ["a", "b"])]),
        ([reg("b", 12), reg("a", 10)], 125, 0, [("holding", 10, 4, ["a", "b"])]),
        ([reg("a", 10), reg("b", 13)], 125, 0, [("holding", 10, 2, ["a"]), ("holding", 13, 2, ["b"])]),
        ([reg("a", 10), reg("b", 13)], 125, 1, [("holding", 10, 5, ["a", "b"])]),
        ([reg("a", 10), reg("b", 20)], 125, 8, [("holding", 10, 12, ["a", "b"])]),
        ([reg("a", 10), reg("b", 20)], 125, 7, [("holding", 10, 2, ["a"]), ("holding", 20, 2, ["b"])]),
        ([reg("a", 10, 4), reg("b", 11, 1)], 125, 0, [("holding", 10, 4, ["a", "b"])]),
        ([reg("a", 10, 4), reg("b", 12, 4)], 125, 0, [("holding", 10, 6, ["a", "b"])]),
        ([reg("a", 10), reg("b", 10, 1)], 125, 0, [("holding", 10, 2, ["b", "a"])]),
        (
            [reg("a", 10), reg("b", 10, table="input")],
            125,
            0,
            [("holding", 10, 2, ["a"]), ("input", 10, 2, ["b"])],
        ),
        ([reg("a", 0), reg("b", 2), reg("c", 4)], 4, 0, [("holding", 0, 4, ["a", "b"]), ("holding", 4, 2, ["c"])]),
        ([reg("a", 0), reg("b", 123)], 125, 200, [("holding", 0, 125, ["a", "b"])]),
        ([reg("a", 0), reg("b", 124)], 125, 200, [("holding", 0, 2, ["a"]), ("holding", 124, 2, ["b"])]),
        (
            [reg("q", 3002), reg("vol", 3014, 4)],
            125,
            0,
            [("holding", 3002, 2, ["q"]), ("holding", 3014, 4, ["vol"])],
        ),
        ([reg("q", 3002), reg("vol", 3014, 4)], 125, 10, [("holding", 3002, 16, ["q", "vol"])]),
        ([reg("a", 65532, 4)], 125, 0, [("holding", 65532, 4, ["a"])]),
    ],
)
def test_plan_reads(registers: list[RegisterSpec], max_count: int, max_gap: int, expected: list) -> None:
    assert shape(plan_reads(registers, max_count=max_count, max_gap=max_gap)) == expected


def test_one_hundred_twenty_five_adjacent_registers_fit_one_request() -> None:
    registers = [reg(f"r{i}", i, 1) for i in range(126)]
    assert [(b.address, b.count) for b in plan_reads(registers)] == [(0, 125), (125, 1)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_count": 0}, "max_count debe estar entre 1 y 125, se recibió 0"),
        ({"max_count": 126}, "max_count debe estar entre 1 y 125, se recibió 126"),
        ({"max_gap": -1}, "max_gap no puede ser negativo, se recibió -1"),
        ({"max_count": 2}, "a necesita 4 registros, más que max_count 2"),
    ],
)
def test_plan_reads_refuses_bad_limits(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError) as raised:
        plan_reads([reg("a", 0, 4)], **kwargs)
    assert str(raised.value) == message


def test_words_for_slices_a_members_words() -> None:
    (block,) = plan_reads([reg("a", 10), reg("b", 12, 1), reg("c", 13, 4)])
    words = list(range(100, 107))
    assert [block.words_for(m, words) for m in block.members] == [[100, 101], [102], [103, 104, 105, 106]]


def test_words_for_a_short_reply_is_short() -> None:
    (block,) = plan_reads([reg("a", 10), reg("b", 12)])
    assert block.words_for(block.members[1], [1, 2, 3]) == [3]


def test_words_for_refuses_a_register_outside_the_block() -> None:
    (block,) = plan_reads([reg("a", 10)])
    with pytest.raises(ValueError) as raised:
        block.words_for(reg("z", 10, table="input"), [1, 2])
    assert str(raised.value) == "z at input 10 is not in this block"


registers_strategy = st.lists(
    st.builds(
        reg,
        name=st.just("v"),
        address=st.integers(0, 400),
        count=st.sampled_from([1, 2, 4]),
        table=st.sampled_from(["holding", "input"]),
    ),
    max_size=30,
)


@given(registers=registers_strategy, max_count=st.integers(4, 125), max_gap=st.integers(0, 10))
def test_every_register_lands_in_exactly_one_block_within_limits(
    registers: list[RegisterSpec], max_count: int, max_gap: int
) -> None:
    blocks = plan_reads(registers, max_count=max_count, max_gap=max_gap)
    assert sorted(id(m) for b in blocks for m in b.members) == sorted(id(r) for r in registers)
    for block in blocks:
        assert 1 <= block.count <= max_count
        assert all(
            m.table == block.table and block.address <= m.address and m.end <= block.address + block.count
            for m in block.members
        )
        assert block.address == min(m.address for m in block.members)
        assert block.address + block.count == max(m.end for m in block.members)


@given(registers=registers_strategy, max_count=st.integers(4, 125), max_gap=st.integers(0, 10))
def test_next_block_could_not_have_joined_the_previous(
    registers: list[RegisterSpec], max_count: int, max_gap: int
) -> None:
    blocks = plan_reads(registers, max_count=max_count, max_gap=max_gap)
    for table in Table:
        in_table = [b for b in blocks if b.table == table]
        for previous, following in pairwise(in_table):
            end = previous.address + previous.count
            too_far = following.address > end + max_gap
            too_long = max(end, following.members[0].end) - previous.address > max_count
            assert too_far or too_long
