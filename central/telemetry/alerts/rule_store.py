"""Alert rules and their evaluation state in the database.

A point or gateway gets its default rules the first time anything looks at it (its first
evaluation or the first GET of its rules): ``alert_rule_sets`` remembers that it happened,
so a person who deletes every rule is not overruled by the defaults coming back.

A ``flow_above_right`` rule follows the point's ``water_right_lps``: evaluation (and the
API) use the point's current right when it has one, so a changed right needs no rule edit.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from pydantic import ValidationError

from central.core import lookups
from central.db import Connection, in_list, json_rows

from . import store
from .rules import FlowAboveRight, Rule, Scope, default_gateway_rules, default_rules, parse_rule
from .state import RuleState

SYSTEM_ACTOR = "system"
RULE_CHANGED = "Regla modificada: la alerta se cierra y la regla vuelve a evaluarse desde cero"
RULE_REMOVED = "Regla eliminada"


@dataclass
class StoredRule:
    """One rule with where it applies and its evaluation memory."""

    id: int
    scope: Scope
    subject_id: int  # point or gateway id
    subject: str  # point code or gateway name
    rule: Rule
    state: RuleState


class _Facts(NamedTuple):
    water_right_lps: float | None
    flow_cutoff_lps: float | None
    sensor_depth_m: float | None


def effective(rule: Rule, water_right_lps: float | None) -> Rule:
    """The rule as evaluated: ``flow_above_right`` takes the point's current water right."""
    if not isinstance(rule, FlowAboveRight) or not water_right_lps or water_right_lps == rule.water_right_lps:
        return rule
    try:
        return FlowAboveRight.model_validate({**rule.model_dump(), "water_right_lps": water_right_lps})
    except ValidationError:  # e.g. a hysteresis that no longer fits under a much lower right
        return rule


# --- defaults -----------------------------------------------------------------------------------

SEED_CHUNK = 1000  # subjects per statement, far below either database's limit on parameters


def ensure_point_rules(conn: Connection, point_ids: Iterable[int], now: datetime) -> None:
    """Give each point that never had rules its defaults (once, race-free), :data:`SEED_CHUNK`
    points at a time: any number of points stays under the databases' limits on parameters."""
    wanted = sorted(set(point_ids))
    for start in range(0, len(wanted), SEED_CHUNK):
        _seed_points(conn, wanted[start : start + SEED_CHUNK], now)


def _seed_points(conn: Connection, point_ids: Sequence[int], now: datetime) -> None:
    marks, params = in_list("p", point_ids)
    seeded = {
        row["subject_id"]
        for row in conn.fetchall(
            f"SELECT subject_id FROM alert_rule_sets WHERE scope = 'point' AND subject_id IN ({marks})", params
        )
    }
    defaults = {
        row["id"]: default_rules(_Facts(row["water_right_lps"], row["flow_cutoff_lps"], row["sensor_depth_m"]))
        for row in lookups.points_by_id(conn, [point_id for point_id in point_ids if point_id not in seeded])
    }
    _seed(conn, Scope.POINT, defaults, now)


def ensure_all_rules(conn: Connection, now: datetime) -> None:
    """Defaults for every point and gateway that has none yet (the timer calls this)."""
    missing = (
        "SELECT t.id FROM {ids} t WHERE NOT EXISTS (SELECT 1 FROM alert_rule_sets s"
        " WHERE s.scope = '{scope}' AND s.subject_id = t.id)"
    )
    points = [row["id"] for row in conn.fetchall(missing.format(ids=lookups.point_ids_sql(), scope="point"))]
    if points:
        ensure_point_rules(conn, points, now)
    gateways = conn.fetchall(missing.format(ids=lookups.gateway_ids_sql(), scope="gateway"))
    _seed(conn, Scope.GATEWAY, {row["id"]: default_gateway_rules() for row in gateways}, now)


def ensure_gateway_rules(conn: Connection, gateway_id: int, now: datetime) -> None:
    """Give a gateway that never had rules its defaults (once, race-free)."""
    _seed(conn, Scope.GATEWAY, {gateway_id: default_gateway_rules()}, now)


def _seed(conn: Connection, scope: Scope, defaults: Mapping[int, Sequence[Rule]], now: datetime) -> None:
    """Insert each subject's default rules, for the subjects whose seeding this transaction is
    the first to record: three statements per :data:`SEED_CHUNK` subjects. Two statements per
    rule kept a fresh server with 3,300 points from its first evaluation for 9 s, against under
    a second now (benchmarks/RESULTS.md, "Figures cited by the code")."""
    subjects = sorted(defaults)  # one order for every transaction: racing claims cannot deadlock
    for start in range(0, len(subjects), SEED_CHUNK):
        claimed = _claim_seedings(conn, scope, subjects[start : start + SEED_CHUNK], now)
        rules = [(subject, rule) for subject in sorted(claimed) for rule in defaults[subject]]
        _insert_rules(conn, scope, rules, SYSTEM_ACTOR, now)


def _claim_seedings(conn: Connection, scope: Scope, subject_ids: Sequence[int], now: datetime) -> set[int]:
    """The subjects among ``subject_ids`` whose seeding this transaction records (a racing
    transaction that recorded one first keeps it: this one gets none of its rows back)."""
    if not subject_ids:
        return set()
    params = {f"s{i}": subject_id for i, subject_id in enumerate(subject_ids)}
    values = ", ".join(f"(:scope, :{name}, :now)" for name in params)
    rows = conn.fetchall(
        f"INSERT INTO alert_rule_sets (scope, subject_id, seeded_at) VALUES {values}"
        " ON CONFLICT (scope, subject_id) DO NOTHING RETURNING subject_id",
        {**params, "scope": scope.value, "now": now},
    )
    return {row["subject_id"] for row in rows}


def _insert_rules(conn: Connection, scope: Scope, rules: Sequence[tuple[int, Rule]], actor: str, now: datetime) -> None:
    """Many rules, in order, each with an empty evaluation state."""
    if not rules:
        return
    column = "point_id" if scope is Scope.POINT else "gateway_id"
    conn.copy_rows(
        "alert_rules",
        ("scope", column, "kind", "config", "created_at", "updated_at", "updated_by"),
        ((scope.value, subject, rule.kind, rule.model_dump_json(), now, now, actor) for subject, rule in rules),
    )
    marks, params = in_list("s", sorted({subject for subject, _ in rules}))
    conn.execute(
        f"INSERT INTO alert_rule_states (rule_id, state, updated_at) SELECT r.id, '{{}}', :now FROM alert_rules r"
        f" WHERE r.{column} IN ({marks}) AND NOT EXISTS (SELECT 1 FROM alert_rule_states st WHERE st.rule_id = r.id)",
        {**params, "now": now},
    )


# --- rows ---------------------------------------------------------------------------------------


def insert_rule(conn: Connection, scope: Scope, subject_id: int, rule: Rule, actor: str, now: datetime) -> int:
    column = "point_id" if scope is Scope.POINT else "gateway_id"
    rule_id = conn.fetchval(
        f"INSERT INTO alert_rules (scope, {column}, kind, config, created_at, updated_at, updated_by)"
        " VALUES (:scope, :subject, :kind, :config, :now, :now, :actor) RETURNING id",
        {
            "scope": scope.value,
            "subject": subject_id,
            "kind": rule.kind,
            "config": rule.model_dump_json(),
            "now": now,
            "actor": actor,
        },
    )
    conn.execute(
        "INSERT INTO alert_rule_states (rule_id, state, updated_at) VALUES (:id, '{}', :now)",
        {"id": rule_id, "now": now},
    )
    return int(rule_id)


def update_rule(conn: Connection, rule_id: int, rule: Rule, actor: str, now: datetime) -> None:
    """New configuration: the evaluation memory starts over."""
    conn.execute(
        "UPDATE alert_rules SET kind = :kind, config = :config, updated_at = :now, updated_by = :actor WHERE id = :id",
        {"id": rule_id, "kind": rule.kind, "config": rule.model_dump_json(), "now": now, "actor": actor},
    )
    save_states(conn, [(rule_id, RuleState())], now)


def delete_rule(conn: Connection, rule_id: int) -> None:
    conn.execute("DELETE FROM alert_rules WHERE id = :id", {"id": rule_id})


_SAVE_JSON = (
    "UPDATE alert_rule_states AS st SET state = r->>1, updated_at = :now"
    " FROM jsonb_array_elements(CAST(:states AS JSONB)) AS r WHERE st.rule_id = CAST(r->>0 AS BIGINT)"
)


def save_states(conn: Connection, states: Sequence[tuple[int, RuleState]], now: datetime) -> None:
    """Store each rule's new evaluation memory. PostgreSQL: one statement over a JSON array of
    (rule id, state) pairs. A batch's evaluation changes the state of most of its rules, and
    an ``executemany`` of one UPDATE per rule, the driver's work for each statement, was a
    third of an evaluation's time (benchmarks/RESULTS.md, "Figures cited by the code")."""
    if not states:
        return
    pairs = [(rule_id, state.model_dump_json(exclude_defaults=True)) for rule_id, state in states]
    if conn.dialect == "postgresql":
        conn.execute(_SAVE_JSON, {"states": json_rows(pairs), "now": now})
        return
    conn.executemany(
        "UPDATE alert_rule_states SET state = :state, updated_at = :now WHERE rule_id = :id",
        [{"id": rule_id, "state": state, "now": now} for rule_id, state in pairs],
    )


_SELECT = (
    "SELECT r.id, r.scope, r.config, st.state, COALESCE(r.point_id, r.gateway_id) AS subject_id,"
    f" COALESCE({lookups.point_code_sql('r.point_id')}, {lookups.gateway_name_sql('r.gateway_id')}) AS subject,"
    f" {lookups.point_field_sql('water_right_lps', 'r.point_id')} AS water_right_lps FROM alert_rules r"
    " JOIN alert_rule_states st ON st.rule_id = r.id"
)


RULES_KEPT = 16_384
"""Validated rules kept, about 0.9 KB each (15 MB at most): the defaults of some 5,500 points
with their own water right, flow cut-off and sensor depth (about three distinct rule texts
each; the others are the same text for every point). Past that, the least recently evaluated
are validated again when next read."""


@functools.lru_cache(maxsize=RULES_KEPT)
def parsed_rule(config: str) -> Rule:
    """The rule stored as ``config``, validated once per text.

    Every batch's evaluation reads its rules again (they may have been edited since), and
    validating each one's JSON took an eighth of an evaluation's time under a fleet's small
    batches (benchmarks/RESULTS.md, "Figures cited by the code"). A rule is immutable (a
    frozen model), so one validated copy serves every evaluation that reads the same text;
    an edited rule is new text, validated anew. Keyed by the text alone: the point's water
    right is applied after (:func:`effective`), so it does not multiply the entries.
    """
    return parse_rule(config)


def _stored(row: dict[str, Any]) -> StoredRule:
    return StoredRule(
        id=row["id"],
        scope=Scope(row["scope"]),
        subject_id=row["subject_id"],
        subject=row["subject"],
        rule=effective(parsed_rule(row["config"]), row["water_right_lps"]),
        state=RuleState.model_validate_json(row["state"]),
    )


def rules_for_points(
    conn: Connection, point_ids: Sequence[int], kinds: Iterable[str], *, lock: bool = False
) -> list[StoredRule]:
    """The rules of ``kinds`` for these points; ``lock`` holds their state rows (PostgreSQL)
    until the transaction ends, so two evaluations of one point run one after the other."""
    points, params = in_list("p", sorted(set(point_ids)))
    wanted, kind_params = in_list("k", sorted(kinds))
    lock_clause = " FOR UPDATE OF st" if lock and conn.dialect == "postgresql" else ""
    rows = conn.fetchall(
        f"{_SELECT} WHERE r.point_id IN ({points}) AND r.kind IN ({wanted}) ORDER BY r.id{lock_clause}",
        {**params, **kind_params},
    )
    return [_stored(row) for row in rows]


def timer_rules(conn: Connection, point_kinds: Iterable[str], gateway_kinds: Iterable[str]) -> list[StoredRule]:
    """Every point rule of ``point_kinds`` and gateway rule of ``gateway_kinds``."""
    point_marks, params = in_list("pk", sorted(point_kinds))
    gateway_marks, more = in_list("gk", sorted(gateway_kinds))
    rows = conn.fetchall(
        f"{_SELECT} WHERE (r.scope = 'point' AND r.kind IN ({point_marks}))"
        f" OR (r.scope = 'gateway' AND r.kind IN ({gateway_marks})) ORDER BY r.id",
        {**params, **more},
    )
    return [_stored(row) for row in rows]


def rules_of(conn: Connection, scope: Scope, subject_id: int) -> list[StoredRule]:
    column = "point_id" if scope is Scope.POINT else "gateway_id"
    rows = conn.fetchall(f"{_SELECT} WHERE r.{column} = :id ORDER BY r.id", {"id": subject_id})
    return [_stored(row) for row in rows]


# --- replacing and editing (the API) -------------------------------------------------------------


SCOPE_NAMES = {"point": "punto", "gateway": "gateway"}


class RuleProblem(ValueError):
    """A change the rules of a subject cannot take; ``loc`` points into the request body."""

    def __init__(self, loc: list[str | int], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def _raw(conn: Connection, scope: Scope, subject_id: int) -> dict[int, Rule]:
    column = "point_id" if scope is Scope.POINT else "gateway_id"
    rows = conn.fetchall(f"SELECT id, config FROM alert_rules WHERE {column} = :id", {"id": subject_id})
    return {row["id"]: parse_rule(row["config"]) for row in rows}


def _changed(conn: Connection, rule_id: int, old: tuple[Rule, Rule], new: Rule, actor: str, now: datetime) -> bool:
    """Store ``new`` unless it equals the stored or the effective form (a GET sent back as is)."""
    if new in old:
        return False
    store.retire(conn, [rule_id], RULE_CHANGED, now)
    update_rule(conn, rule_id, new, actor, now)
    return True


def replace_rules(
    conn: Connection,
    scope: Scope,
    subject_id: int,
    wanted: Sequence[tuple[int | None, Rule]],
    actor: str,
    now: datetime,
) -> None:
    """Make the subject's rules exactly ``wanted`` (items with an id keep that rule and its
    state if unchanged). Changed and deleted rules retire their live alert, silently."""
    current = {stored.id: stored.rule for stored in rules_of(conn, scope, subject_id)}
    raw = _raw(conn, scope, subject_id)
    kept: set[int] = set()
    for index, (rule_id, _) in enumerate(wanted):
        if rule_id is not None and (rule_id not in current or rule_id in kept):
            raise RuleProblem(
                [index, "id"],
                f"la regla {rule_id} no es una regla de este {SCOPE_NAMES[scope.value]} (o está dos veces)",
            )
        if rule_id is not None:
            kept.add(rule_id)
    gone = [rule_id for rule_id in current if rule_id not in kept]
    store.retire(conn, gone, RULE_REMOVED, now)
    for rule_id in gone:
        delete_rule(conn, rule_id)
    for rule_id, rule in wanted:
        if rule_id is None:
            insert_rule(conn, scope, subject_id, rule, actor, now)
        else:
            _changed(conn, rule_id, (raw[rule_id], current[rule_id]), rule, actor, now)


def patch_rule(
    conn: Connection, scope: Scope, subject_id: int, rule_id: int, change: dict[str, Any], actor: str, now: datetime
) -> None:
    """Change some fields of one rule; the result is validated as a whole (ValidationError)."""
    current = {stored.id: stored.rule for stored in rules_of(conn, scope, subject_id)}
    if rule_id not in current:
        raise LookupError(f"la regla {rule_id} no es una regla de este {SCOPE_NAMES[scope.value]}")
    raw = _raw(conn, scope, subject_id)[rule_id]
    if change.get("kind", raw.kind) != raw.kind:
        raise RuleProblem(["kind"], f"el kind de una regla no cambia ({raw.kind}); reemplace las reglas para cambiarlo")
    if "id" in change and change["id"] != rule_id:
        raise RuleProblem(["id"], "el id de una regla no cambia")
    fields = {key: value for key, value in change.items() if key != "id"}
    new = parse_rule({**raw.model_dump(mode="json"), **fields})
    _changed(conn, rule_id, (raw, current[rule_id]), new, actor, now)
