"""Two small files beside the buffer that keep working when the disk is full (issue 13).

A gateway whose disk filled up could not reopen its buffer after a restart: SQLite in WAL mode
needs 32 KiB for the WAL index (``-shm``) and room for the WAL itself, both deleted by a clean
stop. And the readings it lost while the disk was full were counted only in memory, so a kill
or a power cut erased the count. Hence:

* ``<buffer>.reserve``: space held back while the disk has plenty. When SQLite reports the disk
  full (opening, or a write such as deleting uploaded readings) the reserve is deleted, which
  gives the WAL index and the WAL room to work; it is made again once the disk has room.
* ``<buffer>.lost``: how many readings were lost because not even dropping the oldest made
  room for them. The file is written whole (pre-allocated) while there is room, then only
  overwritten in place and fsynced: counting never needs a new block. It holds two checksummed
  slots written alternately, so a write torn by a power cut leaves the previous count readable.
"""

from __future__ import annotations

import logging
import os
import struct
import zlib
from pathlib import Path

log = logging.getLogger("caudal.edge.buffer")

RESERVE_BYTES = 1024 * 1024  # WAL index (32 KiB) + a WAL of wal_autocheckpoint pages, with slack
LOST_FILE_BYTES = 4096
SLOT = struct.Struct("<8sQI")  # magic, count, crc32 of magic + count
SLOT_OFFSETS = (0, 512)  # distinct disk sectors
MAGIC = b"CDLLOST1"


def reserve_path(buffer_path: Path) -> Path:
    return buffer_path.with_name(buffer_path.name + ".reserve")


def lost_path(buffer_path: Path) -> Path:
    return buffer_path.with_name(buffer_path.name + ".lost")


def free_bytes(folder: Path) -> int:
    stats = os.statvfs(folder)
    return stats.f_bavail * stats.f_frsize


class Reserve:
    """Space set aside in a file, given back to the disk when the buffer needs it."""

    def __init__(self, path: Path, size: int = RESERVE_BYTES) -> None:
        self.path = path
        self.size = size

    def release_if_disk_full(self) -> bool:
        """Delete the reserve if the disk has less room than it holds; False when nothing was given
        (no reserve, or SQLite's "full" was the buffer's own page cap on a disk with room)."""
        if free_bytes(self.path.parent) >= self.size:
            return False
        try:
            self.path.unlink()
        except FileNotFoundError:
            return False
        log.warning(
            "disco lleno: se liberó la reserva de %d KiB %s para que el buffer siga funcionando",
            self.size // 1024,
            self.path,
        )
        return True

    def restore(self) -> None:
        """Make the reserve again, only once the disk has room for it twice over (so a nearly
        full disk does not take it back and forth)."""
        if self.path.exists() or free_bytes(self.path.parent) < 2 * self.size:
            return
        partial = self.path.with_name(self.path.name + ".new")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.posix_fallocate(fd, 0, self.size)
            finally:
                os.close(fd)
            os.replace(partial, self.path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            log.warning("no se puede apartar la reserva de disco %s: %s", self.path, exc.strerror or exc)
            return
        log.info("reserva de disco %s apartada (%d KiB)", self.path, self.size // 1024)


def encode_slot(count: int) -> bytes:
    head = MAGIC + count.to_bytes(8, "little")
    return SLOT.pack(MAGIC, count, zlib.crc32(head))


def decode_slot(raw: bytes) -> int | None:
    """The count in one slot, or None if the slot is empty or torn."""
    if len(raw) < SLOT.size:
        return None
    magic, count, crc = SLOT.unpack_from(raw)
    if magic != MAGIC or zlib.crc32(MAGIC + count.to_bytes(8, "little")) != crc:
        return None
    return count


def slot_counts(raw: bytes) -> list[int | None]:
    return [decode_slot(raw[offset : offset + SLOT.size]) for offset in SLOT_OFFSETS]


def decode_lost(raw: bytes) -> int:
    """The count a lost file holds: the higher valid slot (counts only grow), 0 if none is valid."""
    return max((count for count in slot_counts(raw) if count is not None), default=0)


def next_slot(raw: bytes) -> int:
    """The slot to write next: the one not holding the current count."""
    first, second = slot_counts(raw)
    holds_count = 0 if first is not None and (second is None or first >= second) else 1
    return 1 - holds_count


def read_lost(path: Path) -> int:
    """Read-only, for ``caudal edge status``: 0 when no reading was ever lost (no file)."""
    try:
        return decode_lost(path.read_bytes())
    except FileNotFoundError:
        return 0


class LostCounter:
    """The ``.lost`` file, open for writing in place; counts it could not write stay in memory
    (logged) and are written as soon as the file can be made."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.total = 0
        self._fd: int | None = None
        self._next_slot = 0
        self._unwritten = False
        self._open()

    def add(self, count: int) -> None:
        self.total += count
        self._unwritten = True
        self.flush()

    def flush(self) -> None:
        """Write the count if it is not on disk yet (a no-op otherwise)."""
        if not self._unwritten:
            return
        if self._fd is None:
            self._open()
        if self._fd is None:
            return
        try:
            os.pwrite(self._fd, encode_slot(self.total), SLOT_OFFSETS[self._next_slot])
            os.fsync(self._fd)
        except OSError as exc:
            log.error("no se pueden anotar %d lecturas perdidas en %s: %s", self.total, self.path, exc.strerror or exc)
            return
        self._next_slot = 1 - self._next_slot
        self._unwritten = False

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def _open(self) -> None:
        """Open (making it if needed) and add the count on disk to the one held in memory."""
        try:
            if not self.path.exists():
                self._create()
            with self.path.open("rb") as handle:
                raw = handle.read(LOST_FILE_BYTES)
            fd = os.open(self.path, os.O_RDWR)
        except OSError as exc:
            log.error("no se puede preparar el contador de lecturas perdidas %s: %s", self.path, exc.strerror or exc)
            return
        self.total += decode_lost(raw)
        self._next_slot = next_slot(raw)
        self._fd = fd

    def _create(self) -> None:
        """The whole file at once, fsynced with its folder: later writes only overwrite it."""
        partial = self.path.with_name(self.path.name + ".new")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                os.write(fd, encode_slot(0).ljust(LOST_FILE_BYTES, b"\0"))
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(partial, self.path)
        except OSError:
            partial.unlink(missing_ok=True)
            raise
        folder = os.open(self.path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
