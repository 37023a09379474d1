"""The ``.lost`` counter file: two checksummed slots, so a torn write never loses the count."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge.bufferfiles import (
    LOST_FILE_BYTES,
    SLOT_OFFSETS,
    LostCounter,
    decode_lost,
    encode_slot,
    read_lost,
    slot_counts,
)

TORN = b"\xff" * 20


def image(first: bytes, second: bytes) -> bytes:
    raw = bytearray(LOST_FILE_BYTES)
    raw[SLOT_OFFSETS[0] : SLOT_OFFSETS[0] + len(first)] = first
    raw[SLOT_OFFSETS[1] : SLOT_OFFSETS[1] + len(second)] = second
    return bytes(raw)


@pytest.mark.parametrize(
    ("first", "second", "count"),
    [
        (b"", b"", 0),  # never written
        (encode_slot(0), b"", 0),  # as created
        (encode_slot(40), encode_slot(60), 60),  # the higher one is the newer
        (encode_slot(80), encode_slot(60), 80),
        (TORN, encode_slot(60), 60),  # a power cut tore the newer write: the older count stands
        (encode_slot(60), encode_slot(80)[:10] + b"\0" * 10, 60),
        (encode_slot(60)[:-1] + b"\0", encode_slot(5), 5),  # a checksum that does not match
    ],
)
def test_the_count_is_the_higher_valid_slot(first: bytes, second: bytes, count: int):
    assert decode_lost(image(first, second)) == count


def test_counts_alternate_slots_and_survive_reopening(tmp_path: Path):
    path = tmp_path / "buffer.db.lost"
    counter = LostCounter(path)
    for count in (50, 50, 7):
        counter.add(count)
    counter.close()
    raw = path.read_bytes()
    assert (len(raw), slot_counts(raw)) == (LOST_FILE_BYTES, [100, 107])  # 0 as created, then 50, 100, 107 alternately
    reopened = LostCounter(path)
    reopened.add(3)
    reopened.close()
    assert (reopened.total, read_lost(path)) == (110, 110)


def test_a_folder_where_the_file_cannot_be_made_keeps_the_count_in_memory_and_writes_it_later(tmp_path: Path):
    folder = tmp_path / "not-yet"
    counter = LostCounter(folder / "buffer.db.lost")
    counter.add(50)
    assert (counter.total, read_lost(folder / "buffer.db.lost")) == (50, 0)
    folder.mkdir()
    counter.flush()
    counter.close()
    assert read_lost(folder / "buffer.db.lost") == 50


def test_no_file_means_nothing_was_lost(tmp_path: Path):
    assert read_lost(tmp_path / "buffer.db.lost") == 0
