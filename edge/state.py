"""The agent's state file, read by ``caudal edge status`` while the agent runs.

The agent owns the buffer exclusively, so everything else it knows (per-device counters,
overruns, the uploader's state) is published as a small JSON file next to the buffer,
replaced atomically every cycle: a reader sees the previous or the new file, never half.
It is readable by the agent's group (``STATE_MODE``), like the buffer, so a technician in
that group runs ``caudal edge status`` without sudo.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from edge.bufferread import BufferUnreadable, disk_hint, permission_hint, read_stats
from edge.setaside import count_set_aside

STATE_MODE = 0o640  # mkstemp makes 0600: the agent's group must read it too


@dataclass
class DeviceCounters:
    """What ``caudal edge status`` shows per device: the poller counts in it, the state file carries it."""

    polls: int = 0
    ok: int = 0
    timeouts: int = 0
    errors: int = 0
    decode_errors: int = 0
    skipped: int = 0
    last_ok: datetime | None = None
    last_error: str | None = None
    backoff_until: datetime | None = None


@dataclass(kw_only=True)
class DeviceStatus(DeviceCounters):
    """One device in the state file: which it is, and its counters as the poller left them."""

    name: str
    bus: str
    point: str


class AgentState(BaseModel):
    pid: int
    started_at: datetime
    updated_at: datetime
    cycles: int = 0
    clock_synced: bool = True
    overruns: dict[str, int] = Field(default_factory=dict)
    last_upload: datetime | None = None
    uploaded_total: int = 0
    uploader_error: str | None = None
    devices: list[DeviceStatus] = Field(default_factory=list)
    config_source: str | None = None  # local, or central: from the central server (edge.managed)
    config_version: int | None = None  # the central configuration version running
    config_published: int | None = None  # the version the server publishes for this gateway
    config_result: str | None = None  # the last apply result: applied, refused (its errors), rolled back


def state_path(buffer_path: Path) -> Path:
    """Where the agent using ``buffer_path`` publishes its state."""
    return buffer_path.with_name(buffer_path.name + ".state.json")


def write_state(path: Path, state: AgentState) -> None:
    """Replace ``path`` atomically (write a temporary file beside it, then rename)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        os.fchmod(fd, STATE_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(state.model_dump_json(indent=1))
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_state(path: Path) -> AgentState | None:
    """The last published state, or None when no agent has run with this buffer;
    :class:`BufferUnreadable` when this user may not read it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except PermissionError:
        raise BufferUnreadable(permission_hint(path)) from None
    except OSError as exc:
        raise BufferUnreadable(disk_hint(path, exc)) from None
    try:
        return AgentState.model_validate_json(text)
    except ValidationError:
        raise BufferUnreadable(
            f"el archivo de estado del agente {path} está dañado; el agente lo reescribe en"
            " su próximo ciclo de lectura: repita el comando"
        ) from None


class BufferReport(BaseModel):
    path: Path
    depth: int
    oldest_unsent: datetime | None
    dropped_total: int
    set_aside: int = 0  # refused by the server for good, kept in the .setaside file (edge.setaside)
    size_bytes: int


class StatusReport(BaseModel):
    """``caudal edge status``: the buffer as it is on disk, the agent as it last described itself."""

    buffer: BufferReport
    agent: AgentState | None
    agent_running: bool


def status_report(buffer_path: Path) -> StatusReport:
    """Read the buffer read-only (the agent keeps running) and the state file; FileNotFoundError
    without a buffer, :class:`BufferUnreadable` (saying what to do) when it cannot be read."""
    stats = read_stats(buffer_path)
    state = read_state(state_path(buffer_path))
    buffer = BufferReport(
        path=buffer_path,
        depth=stats.depth,
        oldest_unsent=stats.oldest_ts,
        dropped_total=stats.dropped_total,
        set_aside=count_set_aside(buffer_path),
        size_bytes=stats.size_bytes,
    )
    return StatusReport(buffer=buffer, agent=state, agent_running=state is not None and process_alive(state.pid))


def process_alive(pid: int) -> bool:
    """Whether the agent that wrote the state file still runs (else its figures are the last known)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it runs as another user (the service user)
    return True
