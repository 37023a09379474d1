"""What ingest reads before it stores a batch, in one query: the gateway's points, each one's
last stored totalizer count before the batch (for reset flags), and the gateway's
configuration state (the version published for it, the report last stored). A group of small
batches (:mod:`central.telemetry.ingest_group`) reads it by their tokens, so the same query
also says which gateway each token is (:func:`states_by_token`).

One query because a fleet's small batches pay for every statement and every round trip
(``benchmarks/bench_fleet.py``); it names core's ``gateways``, ``gateway_points`` and
``points`` on purpose (``central/db/ownership.py``, ``CROSSINGS``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any, NamedTuple

from central.core.auth.models import Gateway
from central.db import Connection, in_list
from central.telemetry.parse import ParsedBatch
from central.telemetry.processing import PointProfile
from central.telemetry.stored import last_value_sql

ConfigReport = tuple[str | None, int | None, str | None]  # source, running version, result


class GatewayState(NamedTuple):
    points: dict[str, PointProfile]  # by code
    totals: dict[int, float]  # by point id: the last count before the batch's first totalizer reading
    config_published: int | None  # the configuration version published for the gateway
    report: ConfigReport  # the configuration report last stored


_ASSIGNED = (
    "SELECT p.id, p.code, p.sensor_depth_m, p.flow_cutoff_lps{last_total} FROM points p"
    " JOIN gateway_points gp ON gp.point_id = p.id{first} WHERE gp.gateway_id = :g"
)
_STATE = (
    "WITH f (gateway, code, ts) AS ({firsts})"
    " SELECT g.{key} AS state_key, g.id AS gateway_id, g.name AS gateway_name, g.config_published, g.config_source,"
    " g.config_running, g.config_result,"
    " p.id, p.code, p.sensor_depth_m, p.flow_cutoff_lps, lr.ts AS latest_ts, lr.value AS latest_total"
    " FROM gateways g LEFT JOIN gateway_points gp ON gp.gateway_id = g.id"
    " LEFT JOIN points p ON p.id = gp.point_id LEFT JOIN f ON f.gateway = g.{key} AND f.code = p.code"
    " LEFT JOIN latest_readings lr ON lr.point_id = p.id AND lr.variable = 'totalizer' AND f.code IS NOT NULL"
    " WHERE g.{key} IN ({keys}){condition}"
)
# what the state query looks gateways up by: its parameters' SQL type, and what else must hold
# (a token is its gateway's while not revoked, as core's central.core.gateways.store.gateway_with_token says)
_KEYS = {"id": ("BIGINT", ""), "token_hash": ("TEXT", " AND g.revoked_at IS NULL")}
_NO_FIRST = "SELECT CAST(NULL AS TEXT), CAST(NULL AS TIMESTAMP) WHERE FALSE"
_NO_GATEWAY_FIRST = "SELECT CAST(NULL AS {type}), CAST(NULL AS TEXT), CAST(NULL AS TIMESTAMP) WHERE FALSE"


def assigned_points(conn: Connection, gateway_id: int) -> dict[str, PointProfile]:
    return _profiles(conn.fetchall(_ASSIGNED.format(last_total="", first=""), {"g": gateway_id}))


def gateway_state(conn: Connection, gateway_id: int, batch: ParsedBatch) -> GatewayState:
    """The gateway's state before ``batch`` is stored (a gateway that is gone: no points, no state).

    The usual batch follows the last one: a point's first totalizer reading in it is newer
    than the point's latest (``latest_readings``), and that latest is the count sought. Only
    a batch reaching back before it (a late backlog) pays a second query, which searches the
    stored readings, partitions and compacted hours included, for those points."""
    first = first_totalizer_ts(batch)
    return _state(conn, gateway_id, _state_rows(conn, "id", {gateway_id: first})[gateway_id], first)


def states_by_token(conn: Connection, batches: Mapping[str, ParsedBatch]) -> dict[str, tuple[Gateway, GatewayState]]:
    """The unrevoked gateway whose token hash each key is, with its state before the batch, in
    one query for a group of uploads: the token's lookup and the state cost the group one round
    trip, not two. An unknown or revoked token is absent."""
    firsts = {digest: first_totalizer_ts(batch) for digest, batch in batches.items()}
    found = {}
    for digest, own in _state_rows(conn, "token_hash", firsts).items():
        gateway = Gateway(id=own[0]["gateway_id"], name=own[0]["gateway_name"])
        found[digest] = (gateway, _state(conn, gateway.id, own, firsts[digest]))
    return found


def _state_rows(
    conn: Connection, key: str, firsts: Mapping[Any, dict[str, datetime]]
) -> dict[Any, list[dict[str, Any]]]:
    """The state query's rows by the gateways' ``key`` (one row per point, one for a gateway
    without), for the gateways whose batches start their totalizers at ``firsts``."""
    key_type, condition = _KEYS[key]
    values, params = _gateway_first_values(firsts, key_type)
    keys, key_params = in_list("k", firsts)
    sql = _STATE.format(firsts=values, key=key, keys=keys, condition=condition)
    by_key: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for row in conn.fetchall(sql, params | key_params):
        by_key[row["state_key"]].append(row)
    return by_key


def _state(conn: Connection, gateway_id: int, rows: list[dict[str, Any]], first: dict[str, datetime]) -> GatewayState:
    totals, behind = _latest_totals(rows, first)
    if behind:
        totals.update(_last_totals_before(conn, gateway_id, behind))
    head = rows[0] if rows else {}
    return GatewayState(
        _profiles(rows),
        totals,
        head.get("config_published"),
        (head.get("config_source"), head.get("config_running"), head.get("config_result")),
    )


def _gateway_first_values(firsts: Mapping[Any, dict[str, datetime]], key_type: str) -> tuple[str, dict[str, Any]]:
    """Each gateway's ``first`` as one VALUES list (or an empty query) and its parameters."""
    params: dict[str, Any] = {}
    values: list[str] = []
    for key, first in firsts.items():
        for code, ts in first.items():
            index = len(values)
            params[f"fg{index}"], params[f"fc{index}"], params[f"ft{index}"] = key, code, ts
            values.append(f"(:fg{index}, :fc{index}, :ft{index})")
    return (f"VALUES {', '.join(values)}" if values else _NO_GATEWAY_FIRST.format(type=key_type)), params


def _latest_totals(
    rows: list[dict[str, Any]], first: dict[str, datetime]
) -> tuple[dict[int, float], dict[str, datetime]]:
    """The counts the latest readings answer for, and the points (with their first time) they don't."""
    totals: dict[int, float] = {}
    behind: dict[str, datetime] = {}
    for row in rows:
        ts = first.get(row["code"])
        if ts is None or row["latest_ts"] is None:  # no totalizer in the batch, or none stored yet
            continue
        if row["latest_ts"] < ts and row["latest_total"] is not None:
            totals[row["id"]] = row["latest_total"]
        else:
            behind[row["code"]] = ts
    return totals, behind


def _first_values(first: dict[str, datetime]) -> tuple[str, dict[str, Any]]:
    """``first`` as a VALUES list (or an empty query) and its parameters."""
    if not first:
        return _NO_FIRST, {}
    params: dict[str, Any] = {}
    values = []
    for index, (code, ts) in enumerate(first.items()):
        params[f"c{index}"], params[f"t{index}"] = code, ts
        values.append(f"(:c{index}, :t{index})")
    return f"VALUES {', '.join(values)}", params


def _last_totals_before(conn: Connection, gateway_id: int, first: dict[str, datetime]) -> dict[int, float]:
    """Each point's last stored totalizer count before its time in ``first``, searched in the readings."""
    values, params = _first_values(first)
    params["g"] = gateway_id
    last_total = f", {last_value_sql(conn.dialect, 'p.id', 'totalizer', 'f.ts')} AS last_total"
    rows = conn.fetchall(
        f"WITH f (code, ts) AS ({values}) "
        + _ASSIGNED.format(last_total=last_total, first=" JOIN f ON f.code = p.code"),
        params,
    )
    return {row["id"]: row["last_total"] for row in rows if row["last_total"] is not None}


def _profiles(rows: list[dict[str, Any]]) -> dict[str, PointProfile]:
    return {
        row["code"]: PointProfile(row["id"], row["code"], row["sensor_depth_m"], row["flow_cutoff_lps"] or 0.0)
        for row in rows
        if row["id"] is not None
    }


def first_totalizer_ts(batch: ParsedBatch) -> dict[str, datetime]:
    """Each point's earliest totalizer reading in the batch."""
    first: dict[str, datetime] = {}
    for code, ts in sorted(((r.point, r.ts) for r in batch.readings if r.variable == "totalizer"), reverse=True):
        first[code] = ts  # descending: each point's earliest is written last
    return first
