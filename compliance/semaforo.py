"""The compliance semáforo of each work: one colour that says how its DGA reporting stands.

green: the last due slot is accepted (or, in shadow mode, built as it would be sent);
yellow: the last due slot is on its way (pending, being sent, held for a person, or
waiting for a confirmation) and its one-hour deadline has not passed;
red: the last due slot is late (past its deadline and not accepted), refused, without
data, or the regulator refused the informant (sending stopped).

The console shows it; the app factory hands :func:`dga_lights` to the console by name, so
``central`` does not import this package.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Literal, NamedTuple

from central.core import lookups
from central.db import Connection
from compliance.dga import NAME
from compliance.dga.slots import deadline
from compliance.ledger import State

Colour = Literal["green", "yellow", "red"]

ON_TIME_OK = frozenset({State.ACCEPTED, State.SHADOWED})
REFUSED = frozenset({State.REJECTED, State.RETRY_SCHEDULED, State.UNRECOVERABLE, State.NO_DATA})


class Light(NamedTuple):
    colour: Colour
    reason: str  # blocked, no_slot_yet, late, or the slot's state
    slot: datetime | None
    state: str | None


def light(state: str | None, slot: datetime | None, blocked: bool, now: datetime) -> Light:
    """The colour of one work from its last due DGA slot (pure)."""
    if blocked:
        return Light("red", "blocked", slot, state)
    if state is None or slot is None:
        return Light("yellow", "no_slot_yet", slot, state)
    if state in ON_TIME_OK:
        return Light("green", state, slot, state)
    if state in REFUSED:
        return Light("red", state, slot, state)
    if now > deadline(slot):
        return Light("red", "late", slot, state)
    return Light("yellow", state, slot, state)


_LAST_SLOTS = (
    f"SELECT c.point_id AS id, {lookups.point_code_sql('c.point_id')} AS code, c.blocked, s.slot, s.state"
    " FROM compliance_configs c"
    " LEFT JOIN compliance_submissions s ON s.id = (SELECT x.id FROM compliance_submissions x"
    " WHERE x.point_id = c.point_id AND x.regulator = :r AND x.slot <= :now ORDER BY x.slot DESC LIMIT 1)"
    " WHERE c.regulator = :r AND c.mode <> 'off'"
)


def dga_lights(conn: Connection, point_ids: Collection[int] | None, now: datetime) -> dict[str, Light]:
    """The light of every work with DGA reporting on, by point code (``point_ids`` None: all).

    One row per work: its newest slot at or before ``now`` (the ledger's unique index on
    point, regulator and slot answers each lookup), so the cost grows with works, not slots.
    """
    rows = conn.fetchall(_LAST_SLOTS, {"now": now, "r": NAME})
    return {
        row["code"]: light(row["state"], row["slot"], bool(row["blocked"]), now)
        for row in rows
        if point_ids is None or row["id"] in point_ids
    }
