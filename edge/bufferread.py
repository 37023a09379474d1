"""The buffer as ``caudal edge status`` reads it: read-only, without the agent's lock (issue 14).

A technician runs ``status`` as themself, not as the service user. The package makes that
possible (the agent's folder and files belong to group ``caudal`` and are group-readable:
``UMask=0027`` in ``caudal-edge.service``); this module must then never need to write, and
every expected failure becomes one line that says what to do, never a traceback.
"""

from __future__ import annotations

import errno
import grp
import os
import sqlite3
from pathlib import Path

from edge.bufferfiles import lost_path, read_lost
from edge.bufferstats import BufferStats, read_stats_from

# SQLite's primary result codes for "this user may not open or would have to write"
NOT_PERMITTED = frozenset({sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM})


class BufferUnreadable(RuntimeError):
    """``caudal edge status`` cannot read the buffer; the message says what to do."""


def read_stats(path: Path | str) -> BufferStats:
    """For ``caudal edge status``, while the agent holds the buffer or not: read-only, no lock.

    Raises FileNotFoundError without a buffer, and :class:`BufferUnreadable` (saying what to
    do) when this user may not read it or SQLite cannot.
    """
    path = Path(path)
    try:
        conn = open_read_only(path)
        try:
            return read_stats_from(conn, read_lost(lost_path(path)))
        finally:
            conn.close()
    except PermissionError as exc:
        raise BufferUnreadable(permission_hint(Path(exc.filename or path))) from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise BufferUnreadable(disk_hint(Path(exc.filename or path), exc)) from None
    except sqlite3.Error as exc:
        if (getattr(exc, "sqlite_errorcode", None) or 0) & 0xFF in NOT_PERMITTED:
            raise BufferUnreadable(permission_hint(path)) from None
        raise BufferUnreadable(
            f"no se puede leer el buffer del gateway {path}: {exc}; repita el comando y,"
            " si sigue, vea journalctl -u caudal-edge"
        ) from None


def open_read_only(path: Path) -> sqlite3.Connection:
    """``mode=ro`` reads the WAL through the agent's WAL index (group-readable ``-wal``/``-shm``).

    With no WAL (the agent stopped cleanly) a reader would have to create one, which a
    technician may not do in the agent's folder; the file is then whole, so it is read as
    immutable instead.
    """
    try:
        path.stat()
    except FileNotFoundError:
        raise FileNotFoundError(f"no hay un buffer del gateway en {path}") from None
    if not os.access(path, os.R_OK):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
    no_wal = not path.with_name(path.name + "-wal").exists() and not os.access(path.parent, os.W_OK)
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro{'&immutable=1' if no_wal else ''}", uri=True, timeout=5)


def permission_hint(path: Path) -> str:
    """One line for a technician who may not read ``path``: join the group that owns it."""
    group = "caudal"
    for candidate in (path, path.parent):
        try:
            group = grp.getgrgid(candidate.stat().st_gid).gr_name
            break
        except (OSError, KeyError):
            continue
    return (
        f"no se puede leer {path}: permiso denegado; los miembros del grupo {group} pueden leer el buffer"
        f" (sudo adduser $USER {group}, y vuelva a entrar), o use sudo"
    )


def disk_hint(path: Path, exc: OSError) -> str:
    """One line for any other OS error reading ``path`` (an I/O error of a failing SD card...)."""
    return (
        f"no se puede leer {path}: {exc.strerror or exc}; revise el disco (dmesg | tail, df -h {path.parent})"
        " y el registro del agente (journalctl -u caudal-edge)"
    )
