"""Regulator configurations of points, stored with their passwords encrypted.

The stored JSON never holds the password; ``secret`` holds it encrypted with
``CAUDAL_SECRET_KEY`` (:class:`~central.crypto.SecretBox`). Answers say
``informant_password_set``/``password_set`` and never the password. A change without a
password keeps the stored one. A change that supplies credentials lifts the ``blocked``
flag the worker sets when the DGA refuses the informant, and puts the slots it refused back
in the queue. Every change writes the audit trail and the compliance log in its transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from central.core import audit
from central.crypto import SecretBox, SecretKeyMissing, UndecryptableSecret
from central.db import Connection
from central.errors import ApiError
from compliance.dga.plausibility import PlausibilityLimits
from compliance.dga.settings import CaudalMode, DgaWorkConfig, Mode, Period, Standard, WorkType
from compliance.events import record_event
from compliance.ledger_store import requeue_refused
from compliance.sma.settings import SmaParameter, SmaPointConfig
from protocols.uplink import UtcDatetime

Regulator = Literal["dga", "sma"]
C = TypeVar("C", DgaWorkConfig, SmaPointConfig)
_SECRET_FIELD = {"dga": "informant_password", "sma": "password"}
_IDENTITY_FIELD = {"dga": "informant_rut", "sma": "usuario"}


class DgaConfigIn(BaseModel):
    """A work's DGA configuration as a person sends it; leave out the password to keep the stored one."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "mode": "shadow", "work_type": "subterranea", "codigo_obra": "OB-0601-444", "standard": "mayor",
        "caudal_mode": "instant", "informant_rut": "12345678-5", "informant_password": "clave-snia",
        "valid_from": "2026-11-01T04:00:00Z",
    }]})

    mode: Mode = Mode.OFF
    work_type: WorkType
    codigo_obra: str
    standard: Standard
    period: Period | None = None
    caudal_mode: CaudalMode | None = Field(default=None, description="instant or average; default: average for"
                                           " periods longer than an hour on works with a totalizer")
    informant_rut: str
    informant_password: SecretStr | None = Field(default=None, description="Write-only; omitted keeps the stored one")
    base_url: str | None = Field(default=None, description="Default: the DGA's production address")
    valid_from: UtcDatetime
    valid_to: UtcDatetime | None = None
    grace_minutes: int | None = None
    instant_window_s: int | None = None
    mining_waters: bool = False
    meter_profile: str | None = Field(default=None, description="A meter profile (protocols/profiles) whose"
                                      " register capacity gives default plausibility limits")
    limits: PlausibilityLimits | None = Field(default=None, description="Plausible range per variable; a value"
                                              " outside it is held for a person (a flow above the right is not)")


class SmaConfigIn(BaseModel):
    """A point's SMA configuration; leave out the password to keep the stored one."""

    model_config = ConfigDict(extra="forbid")

    mode: Mode = Mode.OFF
    uf_id: str
    proceso_id: str
    dispositivo_id: str
    parameters: list[SmaParameter]
    cadence_minutes: int | None = None
    usuario: str
    password: SecretStr | None = Field(default=None, description="Write-only; omitted keeps the stored one")
    base_url: str | None = None
    timestamp_utc_offset_hours: int = Field(description="The fixed UTC offset of estampaTiempo, e.g. -4 or 0;"
                                            " confirmed with the SMA at onboarding (docs/sma.md)")


class ConfigOut(BaseModel):
    """A stored configuration: the settings, never the password."""

    point: str
    regulator: Regulator
    config: dict[str, Any] = Field(description="The settings (the password is never shown)")
    password_set: bool = Field(description="Whether a password is stored (it is never returned)")
    blocked: bool = Field(description="Sending stopped: the regulator refused the credentials")
    blocked_reason: str | None
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True)
class StoredConfig(Generic[C]):
    """A configuration as the worker uses it (password decrypted, in memory only)."""

    point_id: int
    point_code: str
    config: C
    blocked: bool
    created_at: datetime


def _validated(model: type[C], values: dict[str, Any]) -> C:
    """Build the worker's model; its refusals become a request validation error (central/errors.py formats it)."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise RequestValidationError([{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]) from None


def _stored_row(conn: Connection, point_id: int, regulator: Regulator) -> dict[str, Any] | None:
    return conn.fetchone(
        "SELECT * FROM compliance_configs WHERE point_id = :p AND regulator = :r", {"p": point_id, "r": regulator}
    )


def _secret(box: SecretBox, supplied: SecretStr | None, row: dict[str, Any] | None, regulator: Regulator) -> str:
    if supplied is None:
        if row is None:
            raise ApiError(422, f"{_SECRET_FIELD[regulator]}: required for a new configuration",
                           details=[{"loc": ["body", _SECRET_FIELD[regulator]], "msg": "required"}])
        return box.decrypt(row["secret"])
    return supplied.get_secret_value()


def _model_for(regulator: Regulator) -> type[DgaWorkConfig] | type[SmaPointConfig]:
    return DgaWorkConfig if regulator == "dga" else SmaPointConfig


def put_config(
    conn: Connection, box: SecretBox, point: dict[str, Any], regulator: Regulator,
    change: DgaConfigIn | SmaConfigIn, actor: str, now: datetime,
) -> ConfigOut:
    """Create or replace a point's configuration; 409 when no secret key is set, 422 when invalid."""
    row = _stored_row(conn, point["id"], regulator)
    supplied = change.model_dump(exclude_none=True)
    secret_field = _SECRET_FIELD[regulator]
    try:
        supplied[secret_field] = _secret(box, getattr(change, secret_field), row, regulator)
        config = _validated(_model_for(regulator), supplied)
        ciphertext = box.encrypt(supplied[secret_field])
    except SecretKeyMissing as exc:
        raise ApiError(409, f"{exc}: the server cannot store or use regulator passwords",
                       code="secret_key_missing") from None
    except UndecryptableSecret as exc:
        raise ApiError(409, f"{exc}; send the password again", code="secret_undecryptable") from None
    _check_fits_point(config, point)
    credentials_given = getattr(change, secret_field) is not None or (
        row is not None and json.loads(row["config"]).get(_IDENTITY_FIELD[regulator]) != getattr(config, _IDENTITY_FIELD[regulator])
    )
    _write(conn, point, regulator, config, ciphertext, row, credentials_given, actor, now)
    return get_config(conn, point, regulator)


def _check_fits_point(config: DgaWorkConfig | SmaPointConfig, point: dict[str, Any]) -> None:
    if isinstance(config, DgaWorkConfig) and point["kind"] not in ("other", config.work_type.value):
        raise ApiError(422, f"work_type: {config.work_type.value} does not match point {point['code']} of kind "
                       f"{point['kind']}", details=[{"loc": ["body", "work_type"], "msg": "does not match the point"}])


def _public(config: DgaWorkConfig | SmaPointConfig, regulator: Regulator) -> dict[str, Any]:
    return config.model_dump(mode="json", exclude={_SECRET_FIELD[regulator]})


def _write(
    conn: Connection, point: dict[str, Any], regulator: Regulator, config: DgaWorkConfig | SmaPointConfig,
    ciphertext: str, row: dict[str, Any] | None, unblock: bool, actor: str, now: datetime,
) -> None:
    public = _public(config, regulator)
    values = {"p": point["id"], "r": regulator, "mode": config.mode.value, "config": json.dumps(public),
              "secret": ciphertext, "now": now, "actor": actor}
    if row is None:
        conn.execute(
            "INSERT INTO compliance_configs (point_id, regulator, mode, config, secret, created_at, updated_at,"
            " updated_by) VALUES (:p, :r, :mode, :config, :secret, :now, :now, :actor)", values)
    else:
        blocked = bool(row["blocked"]) and not unblock
        conn.execute(
            "UPDATE compliance_configs SET mode = :mode, config = :config, secret = :secret, blocked = :blocked,"
            " blocked_reason = :reason, updated_at = :now, updated_by = :actor WHERE point_id = :p AND regulator = :r",
            {**values, "blocked": blocked, "reason": row["blocked_reason"] if blocked else None})
        if row["blocked"] and not blocked:
            requeue_refused(conn, point["id"], regulator, actor, now)
    action = f"compliance.{regulator}.{'created' if row is None else 'changed'}"
    audit.record(conn, actor, action, f"point:{point['code']}", now, **public)
    record_event(conn, now, "config.changed", f"{regulator.upper()} configuration of {point['code']} "
                 f"{'created' if row is None else 'changed'} (mode {config.mode.value})", point_id=point["id"],
                 regulator=regulator, actor=actor, **public)


def get_config(conn: Connection, point: dict[str, Any], regulator: Regulator) -> ConfigOut:
    row = _stored_row(conn, point["id"], regulator)
    if row is None:
        raise ApiError(404, f"point {point['code']} has no {regulator.upper()} configuration")
    return ConfigOut(point=point["code"], regulator=regulator, config=json.loads(row["config"]), password_set=True,
                     blocked=bool(row["blocked"]), blocked_reason=row["blocked_reason"],
                     updated_at=row["updated_at"], updated_by=row["updated_by"])


def delete_config(conn: Connection, point: dict[str, Any], regulator: Regulator, actor: str, now: datetime) -> None:
    """Remove the configuration (the ledger and its history stay)."""
    get_config(conn, point, regulator)
    conn.execute("DELETE FROM compliance_configs WHERE point_id = :p AND regulator = :r",
                 {"p": point["id"], "r": regulator})
    audit.record(conn, actor, f"compliance.{regulator}.deleted", f"point:{point['code']}", now)
    record_event(conn, now, "config.deleted", f"{regulator.upper()} configuration of {point['code']} deleted",
                 point_id=point["id"], regulator=regulator, actor=actor)


def is_blocked(conn: Connection, point_id: int, regulator: Regulator = "dga") -> bool:
    """Whether sending for the work is stopped because the regulator refused its credentials."""
    row = _stored_row(conn, point_id, regulator)
    return row is not None and bool(row["blocked"])


def block_work(conn: Connection, point_id: int, regulator: Regulator, reason: str) -> None:
    """Stop every send of the work until a person supplies credentials again."""
    conn.execute("UPDATE compliance_configs SET blocked = :t, blocked_reason = :reason"
                 " WHERE point_id = :p AND regulator = :r", {"t": True, "reason": reason, "p": point_id, "r": regulator})


def load_configs(conn: Connection, box: SecretBox, regulator: Regulator) -> tuple[list[StoredConfig], list[str]]:
    """Every configuration in shadow or live mode, decrypted; and a problem per one that failed."""
    rows = conn.fetchall(
        "SELECT c.*, p.code FROM compliance_configs c JOIN points p ON p.id = c.point_id"
        " WHERE c.regulator = :r AND c.mode IN ('shadow', 'live') ORDER BY p.code", {"r": regulator})
    loaded, problems = [], []
    for row in rows:
        try:
            values = {**json.loads(row["config"]), _SECRET_FIELD[regulator]: box.decrypt(row["secret"])}
            config = _model_for(regulator)(**values)
        except (SecretKeyMissing, UndecryptableSecret, ValidationError) as exc:
            problems.append(f"{regulator.upper()} configuration of {row['code']} unusable: {exc}")
            continue
        loaded.append(StoredConfig(row["point_id"], row["code"], config, bool(row["blocked"]), row["created_at"]))
    return loaded, problems


def stored_dga_settings(conn: Connection, point_id: int) -> tuple[DgaWorkConfig, str] | None:
    """A work's DGA settings and mode for reports, WITHOUT its password (a placeholder stands
    in: this object is never used to send)."""
    row = conn.fetchone("SELECT config, mode FROM compliance_configs WHERE point_id = :p AND regulator = 'dga'",
                        {"p": point_id})
    if row is None:
        return None
    return DgaWorkConfig(**json.loads(row["config"]), informant_password="not-loaded"), row["mode"]
